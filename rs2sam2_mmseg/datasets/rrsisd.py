"""RRSIS-D: referring remote sensing image segmentation dataset."""
from collections import Counter
from typing import Dict, List, Optional

import mmengine.fileio as fileio

from mmseg.registry import DATASETS
from .basereferdataset import BaseReferSegDataset
from .utils import check_coco_segmentation, load_restricted_pickle

REF_KEYS = ('ref_id', 'ann_id', 'image_id', 'split', 'sentences')
#: The sentence fields ``text_field`` may name.
TEXT_FIELDS = ('sent', 'raw')
#: What one sample is, by ``sample_per``.
SAMPLE_UNITS = ('sentence', 'ref')


@DATASETS.register_module()
class RRSISDDataset(BaseReferSegDataset):
    """RRSIS-D in its published format, one sample per sentence (or ref).

    RRSIS-D (Liu et al., "Rotated Multi-Scale Interaction Network for
    Referring Remote Sensing Image Segmentation", CVPR 2024,
    https://github.com/Lsan2401/RMSIN) follows the refCOCO layout:

    .. code-block:: none

        data_root
        ├── rrsisd
        │   ├── refs(unc).p        pickle: list of refs
        │   └── instances.json     COCO images / annotations / categories
        └── images
            └── rrsisd
                └── JPEGImages
                    └── <file_name>  (800x800 .jpg)

    A ref is ``dict(ref_id, ann_id, image_id, split, sentences=[dict(sent_id,
    sent, raw, tokens), ...])`` (extra keys are ignored); its ``ann_id``
    selects the COCO annotation whose ``segmentation`` (polygons, an RLE dict
    or a list of RLE dicts) is the target mask. The pickle is read with a
    restricted unpickler (builtin containers and scalars only).

    Everything is checked while loading and every problem raises, naming the
    file and the ref/sentence: missing files, a ref whose ``ann_id`` or
    ``image_id`` is unknown, a malformed segmentation (structure, RLE size
    and run lengths of uncompressed RLEs; compressed strings are checked
    when decoded), an empty sentence, a ``sent_id`` used twice in the split,
    and all missing image files at once. Masks are decoded later, by
    :class:`LoadReferringAnnotations`.

    Each sample (data_info) holds:

    - img_path (str): The image file.
    - segmentation (list | dict): The raw COCO segmentation (not decoded).
    - height, width (int): Image size from ``instances.json``.
    - text (str): The referring sentence (its ``text_field``).
    - ref_id, sent_id, ann_id, image_id (int): Identifiers.
    - texts, sent_ids (list): Instead of ``text`` and ``sent_id`` with
      ``sample_per='ref'``: all the ref's sentences and their ids, one of
      which :class:`RandomRefSentence` draws per iteration.
    - category (str): Category name of the annotation.
    - seg_fields (list): Empty; filled by the loading transform.
    - reduce_zero_label (bool): Always False.

    Args:
        split (str): 'train', 'val' or 'test'.
        ann_file (str): The COCO instances file, relative to ``data_root``
            unless absolute. Defaults to 'rrsisd/instances.json'.
        refs_file (str): The refs pickle, relative to ``data_root`` unless
            absolute. Defaults to 'rrsisd/refs(unc).p'.
        data_prefix (dict, optional): ``img_path``: the image folder,
            relative to ``data_root`` unless absolute. Defaults to None,
            meaning ``dict(img_path='images/rrsisd/JPEGImages')``.
        text_field (str): The sentence field used as text: 'sent' (the
            refer toolkit's cleaned sentence) or 'raw' (as written, which
            the official RS2-SAM2 code reads). Defaults to 'sent'.
        sample_per (str): 'sentence' (every sentence is a sample, for
            evaluation) or 'ref' (one sample per ref holding all its
            sentences, the official RS2-SAM2 training: an epoch visits each
            ref once; add :class:`RandomRefSentence` to the pipeline).
            Defaults to 'sentence'.
        **kwargs: Other keyword arguments of :class:`BaseReferSegDataset`
            and :class:`mmengine.dataset.BaseDataset` (``data_root``,
            ``pipeline``, ``test_mode``, ``lazy_init``, ``backend_args``...).
    """

    def __init__(self,
                 split: str,
                 ann_file: str = 'rrsisd/instances.json',
                 refs_file: str = 'rrsisd/refs(unc).p',
                 data_prefix: Optional[dict] = None,
                 text_field: str = 'sent',
                 sample_per: str = 'sentence',
                 **kwargs) -> None:
        if text_field not in TEXT_FIELDS:
            raise ValueError(f'RRSISDDataset: text_field must be one of '
                             f'{TEXT_FIELDS}, got {text_field!r}')
        if sample_per not in SAMPLE_UNITS:
            raise ValueError(f'RRSISDDataset: sample_per must be one of '
                             f'{SAMPLE_UNITS}, got {sample_per!r}')
        self.refs_file = refs_file
        self.text_field = text_field
        self.sample_per = sample_per
        super().__init__(
            split=split,
            ann_file=ann_file,
            data_prefix=data_prefix
            or dict(img_path='images/rrsisd/JPEGImages'),
            **kwargs)

    def _join_prefix(self) -> None:
        """Also resolve ``refs_file`` relative to ``data_root``."""
        super()._join_prefix()
        self.refs_file = self.join_data_root(self.refs_file)

    def _index_by_id(self, coco: dict, key: str) -> Dict[int, dict]:
        """Map ``id`` -> entry for the COCO list ``key``; reject duplicates.

        Args:
            coco (dict): The loaded ``instances.json``.
            key (str): 'images', 'annotations' or 'categories'.

        Returns:
            dict[int, dict]: The entries by id.
        """
        entries = coco.get(key)
        if not isinstance(entries, list):
            raise ValueError(f'{self.ann_file}: expected a list under '
                             f'"{key}", got {type(entries).__name__}')
        index: Dict[int, dict] = {}
        for entry in entries:
            if not isinstance(entry, dict) or 'id' not in entry:
                raise ValueError(f'{self.ann_file}: an entry of "{key}" has '
                                 f'no "id": {entry!r:.80}')
            if entry['id'] in index:
                raise ValueError(f'{self.ann_file}: id {entry["id"]} appears '
                                 f'twice in "{key}"')
            index[entry['id']] = entry
        return index

    def _load_refs(self) -> List[dict]:
        """Load the refs pickle and check each ref has the required keys.

        Returns:
            list[dict]: All refs of all splits.
        """
        refs = load_restricted_pickle(self.refs_file, self.backend_args)
        if not isinstance(refs, list):
            raise ValueError(f'{self.refs_file}: expected a list of refs, '
                             f'got {type(refs).__name__}')
        for idx, ref in enumerate(refs):
            if not isinstance(ref, dict):
                raise ValueError(f'{self.refs_file}: ref #{idx} is a '
                                 f'{type(ref).__name__}, not a dict')
            missing = [key for key in REF_KEYS if key not in ref]
            if missing:
                raise ValueError(f'{self.refs_file}: ref #{idx} (ref_id '
                                 f'{ref.get("ref_id")}) lacks {missing}')
            if not isinstance(ref['sentences'], list):
                raise ValueError(f'{self.refs_file}: ref_id {ref["ref_id"]}: '
                                 '"sentences" must be a list, got '
                                 f'{type(ref["sentences"]).__name__}')
        return refs

    def _parse_ref(self, ref: dict, images: Dict[int, dict],
                   anns: Dict[int, dict], categories: Dict[int, dict]) -> dict:
        """Resolve one ref against ``instances.json`` into the shared fields.

        Args:
            ref (dict): The ref.
            images (dict[int, dict]): COCO images by id.
            anns (dict[int, dict]): COCO annotations by id.
            categories (dict[int, dict]): COCO categories by id.

        Returns:
            dict: The data_info fields common to the ref's sentences.
        """
        where = f'{self.refs_file}: ref_id {ref["ref_id"]}'
        ann = anns.get(ref['ann_id'])
        if ann is None:
            raise ValueError(f'{where} refers to ann_id {ref["ann_id"]}, '
                             f'which is not in {self.ann_file}')
        if ann.get('image_id') != ref['image_id']:
            raise ValueError(
                f'{where} has image_id {ref["image_id"]} but its ann_id '
                f'{ref["ann_id"]} belongs to image_id {ann.get("image_id")} '
                f'in {self.ann_file}')
        img = images.get(ref['image_id'])
        if img is None:
            raise ValueError(f'{where}: image_id {ref["image_id"]} is not in '
                             f'the images of {self.ann_file}')
        category = categories.get(ann.get('category_id'))
        if category is None:
            raise ValueError(
                f'{self.ann_file}: ann_id {ref["ann_id"]} (ref_id '
                f'{ref["ref_id"]}) has category_id {ann.get("category_id")}, '
                'which is not in "categories"')
        if 'segmentation' not in ann:
            raise ValueError(f'{self.ann_file}: ann_id {ref["ann_id"]} '
                             f'(ref_id {ref["ref_id"]}) has no segmentation')
        try:
            check_coco_segmentation(ann['segmentation'], img['height'],
                                    img['width'])
        except ValueError as err:
            raise ValueError(
                f'{self.ann_file}: malformed segmentation of ann_id '
                f'{ref["ann_id"]} (ref_id {ref["ref_id"]}): {err}') from err
        return dict(
            img_path=fileio.join_path(self.data_prefix['img_path'],
                                      img['file_name']),
            segmentation=ann['segmentation'],
            height=img['height'],
            width=img['width'],
            ref_id=ref['ref_id'],
            ann_id=ref['ann_id'],
            image_id=ref['image_id'],
            category=category['name'])

    def _sentence_text(self, ref: dict, sentence: dict) -> str:
        """Return a sentence's text; reject a malformed or empty one."""
        where = f'{self.refs_file}: ref_id {ref["ref_id"]}'
        if not isinstance(sentence, dict) or not {
                'sent_id', self.text_field
        } <= set(sentence):
            raise ValueError(f'{where} has a sentence without sent_id/'
                             f'{self.text_field}: {sentence!r:.80}')
        text = sentence[self.text_field]
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f'{where}, sent_id {sentence["sent_id"]}: empty '
                             f'sentence {text!r}')
        return text

    def load_data_list(self) -> List[dict]:
        """Load one data_info per sentence (or ref) of ``self.split``.

        Returns:
            list[dict]: The samples, in the order of the refs file.
        """
        self.check_file_exists(self.refs_file, 'refs_file')
        self.check_file_exists(self.ann_file, 'ann_file')
        refs = self._load_refs()
        coco = fileio.load(self.ann_file, backend_args=self.backend_args)
        images = self._index_by_id(coco, 'images')
        anns = self._index_by_id(coco, 'annotations')
        categories = self._index_by_id(coco, 'categories')

        data_list: List[dict] = []
        image_files: Dict[str, str] = {}
        sent_ids = set()
        for ref in refs:
            if ref['split'] != self.split:
                continue
            shared = self._parse_ref(ref, images, anns, categories)
            image_files.setdefault(
                shared['img_path'],
                f'image_id {ref["image_id"]}, ref_id {ref["ref_id"]}')
            if not ref['sentences']:
                raise ValueError(f'{self.refs_file}: ref_id {ref["ref_id"]} '
                                 'has no sentence')
            sentences = []
            for sentence in ref['sentences']:
                text = self._sentence_text(ref, sentence)
                if sentence['sent_id'] in sent_ids:
                    raise ValueError(
                        f'{self.refs_file}: sent_id {sentence["sent_id"]} '
                        f'(ref_id {ref["ref_id"]}) appears twice in split '
                        f'{self.split!r}')
                sent_ids.add(sentence['sent_id'])
                sentences.append(dict(text=text, sent_id=sentence['sent_id']))
            if self.sample_per == 'ref':
                sentences = [
                    dict(
                        texts=[s['text'] for s in sentences],
                        sent_ids=[s['sent_id'] for s in sentences])
                ]
            data_list.extend(
                dict(shared, **s, seg_fields=[], reduce_zero_label=False)
                for s in sentences)
        self.check_files_exist(image_files, 'image')

        num_refs = Counter(ref['split'] for ref in refs)
        num_sents = Counter()
        for ref in refs:
            num_sents[ref['split']] += len(ref['sentences'])
        summary = 'refs/sentences per split in {}: {}'.format(
            self.refs_file, ', '.join(f'{s} {num_refs[s]}/{num_sents[s]}'
                                      for s in sorted(num_refs)))
        return self.finish_data_list(data_list, self.refs_file, summary)
