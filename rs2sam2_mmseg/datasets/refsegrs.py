"""RefSegRS: referring segmentation of remote sensing images."""
from numbers import Real
from typing import Dict, List, Optional

import mmengine
import mmengine.fileio as fileio

from mmseg.registry import DATASETS
from ..utils.errors import UserInputError
from .basereferdataset import BaseReferSegDataset


@DATASETS.register_module()
class RefSegRSDataset(BaseReferSegDataset):
    """RefSegRS in its published format, one sample per phrase line.

    RefSegRS (Yuan et al., "RRSIS: Referring Remote Sensing Image
    Segmentation", TGRS 2024, https://github.com/zhu-xlab/rrsis):

    .. code-block:: none

        data_root
        ├── images
        │   └── <id>.tif                 (512x512)
        ├── masks
        │   └── <id>.tif                 foreground: pixel > mask_threshold
        └── output_phrase_{train,val,test}.txt

    Every line of a phrase file is ``<id> <sentence ...>``: the image id, a
    space, and the sentence (which may contain spaces). An id may appear on
    several lines, one per sentence. Blank (whitespace-only) lines are
    skipped; any other line without a sentence raises ValueError naming the
    file and the line number. All missing image and mask files are reported
    at once.

    Each sample (data_info) holds:

    - img_path (str): ``images/<id><img_suffix>``.
    - seg_map_path (str): ``masks/<id><seg_map_suffix>``.
    - text (str): The sentence, without surrounding whitespace.
    - sent_id (str): ``f'{split}_{line_no}'``, unique across the splits.
    - ref_id, image_id (str): The image id (one target per image).
    - line_no (int): The 1-based line number in the phrase file.
    - mask_threshold (int | float): Foreground threshold of the mask.
    - seg_fields (list): Empty; filled by the loading transform.
    - reduce_zero_label (bool): Always False.

    Args:
        split (str): 'train', 'val' or 'test'.
        ann_file (str): The phrase file, relative to ``data_root`` unless
            absolute; ``{split}`` is replaced by the split.
            Defaults to 'output_phrase_{split}.txt'.
        data_prefix (dict, optional): ``img_path`` and ``seg_map_path``
            folders, relative to ``data_root`` unless absolute. Defaults to
            None, meaning ``dict(img_path='images', seg_map_path='masks')``.
        img_suffix (str): Image file suffix. Defaults to '.tif'.
        seg_map_suffix (str): Mask file suffix. Defaults to '.tif'.
        mask_threshold (int | float): A mask pixel is foreground when its
            value is greater than this. Defaults to 50.
        **kwargs: Other keyword arguments of :class:`BaseReferSegDataset`
            and :class:`mmengine.dataset.BaseDataset` (``data_root``,
            ``pipeline``, ``test_mode``, ``lazy_init``, ``backend_args``...).
    """

    def __init__(self,
                 split: str,
                 ann_file: str = 'output_phrase_{split}.txt',
                 data_prefix: Optional[dict] = None,
                 img_suffix: str = '.tif',
                 seg_map_suffix: str = '.tif',
                 mask_threshold: float = 50,
                 **kwargs) -> None:
        if not isinstance(mask_threshold, Real) or isinstance(
                mask_threshold, bool):
            raise TypeError('mask_threshold must be a number, got '
                            f'{mask_threshold!r}')
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.mask_threshold = mask_threshold
        super().__init__(
            split=split,
            ann_file=ann_file.format(split=split),
            data_prefix=data_prefix
            or dict(img_path='images', seg_map_path='masks'),
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load one data_info per non-blank line of the phrase file.

        Returns:
            list[dict]: The samples, in file order.
        """
        self.check_file_exists(self.ann_file, 'ann_file')
        lines = mmengine.list_from_file(
            self.ann_file, backend_args=self.backend_args)
        data_list: List[dict] = []
        files: Dict[str, str] = {}
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            if len(parts) < 2 or not parts[1].strip():
                raise UserInputError(
                    f'{self.ann_file}:{line_no}: malformed line {line!r}, '
                    'expected "<image id> <sentence>"')
            image_id, text = parts[0], parts[1].strip()
            img_path = fileio.join_path(self.data_prefix['img_path'],
                                        image_id + self.img_suffix)
            seg_map_path = fileio.join_path(self.data_prefix['seg_map_path'],
                                            image_id + self.seg_map_suffix)
            source = f'{self.ann_file}:{line_no}, id {image_id}'
            files.setdefault(img_path, source)
            files.setdefault(seg_map_path, source)
            data_list.append(
                dict(
                    img_path=img_path,
                    seg_map_path=seg_map_path,
                    text=text,
                    sent_id=f'{self.split}_{line_no}',
                    ref_id=image_id,
                    image_id=image_id,
                    line_no=line_no,
                    mask_threshold=self.mask_threshold,
                    seg_fields=[],
                    reduce_zero_label=False))
        self.check_files_exist(files, 'image/mask')
        num_images = len({info['image_id'] for info in data_list})
        return self.finish_data_list(
            data_list, self.ann_file,
            f'{len(data_list)} sentences on {num_images} images in '
            f'{self.ann_file}')
