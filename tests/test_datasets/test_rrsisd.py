"""RRSISDDataset on a tiny tree in the published RRSIS-D format."""
import os
import os.path as osp
import pickle
from unittest import mock

import numpy as np
import pytest

from mmseg.registry import DATASETS
from rs2sam2_mmseg.datasets import RRSISDDataset
from rs2sam2_mmseg.utils import UserInputError
from .fixtures import (RRSISD_CATEGORIES, RRSISD_IMAGES, RRSISD_MASKS,
                       RRSISD_REFS, RRSISD_SEGMENTATIONS, rrsisd_image_path,
                       rrsisd_instances, rrsisd_refs, write_image,
                       write_instances, write_refs)

LOAD_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferringAnnotations')
]


def _expected_sentences(split):
    """(ref_id, ann_id, sent_id, sentence) of the split, in file order."""
    return [(ref_id, ann_id, sent_id, sent)
            for ref_id, ann_id, ref_split, sentences in RRSISD_REFS
            if ref_split == split for sent_id, sent in sentences]


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_one_sample_per_sentence(rrsisd_root, split):
    dataset = DATASETS.build(
        dict(type='RRSISDDataset', data_root=rrsisd_root, split=split))
    expected = _expected_sentences(split)
    assert len(dataset) == len(expected) == dict(train=5, val=2, test=4)[split]
    for idx, (ref_id, ann_id, sent_id, sent) in enumerate(expected):
        info = dataset.get_data_info(idx)
        image_id = RRSISD_MASKS[ann_id][0]
        name, height, width = RRSISD_IMAGES[image_id]
        assert info['img_path'] == rrsisd_image_path(rrsisd_root, image_id)
        assert info['text'] == sent
        assert (info['ref_id'], info['sent_id'], info['ann_id'],
                info['image_id']) == (ref_id, sent_id, ann_id, image_id)
        assert (info['height'], info['width']) == (height, width)
        assert info['category'] == RRSISD_CATEGORIES[ann_id]
        assert info['segmentation'] == RRSISD_SEGMENTATIONS[ann_id]
        assert info['seg_fields'] == []
        assert info['reduce_zero_label'] is False
    assert dataset.metainfo['classes'] == ('background', 'target')


def test_decoded_masks_match_every_encoding(rrsisd_root):
    seen = set()
    for split in ('train', 'val', 'test'):
        dataset = RRSISDDataset(
            split=split, data_root=rrsisd_root, pipeline=LOAD_PIPELINE)
        for idx in range(len(dataset)):
            results = dataset[idx]
            image_id, mask = RRSISD_MASKS[results['ann_id']]
            np.testing.assert_array_equal(results['gt_seg_map'], mask)
            assert results['gt_seg_map'].dtype == np.uint8
            assert results['img'].shape[:2] == mask.shape
            seen.add(results['ann_id'])
    assert seen == set(RRSISD_MASKS)  # polygons, RLEs, list-of-RLE, empty
    assert RRSISD_MASKS[15][1].sum() == 8 * 10 + 10 * 16  # two-part polygon


def test_paths_resolve_against_data_root_unless_absolute(
        rrsisd_root, tmp_path):
    moved = str(tmp_path / 'elsewhere')
    os.makedirs(moved)
    ann_file = osp.join(moved, 'coco.json')
    os.rename(osp.join(rrsisd_root, 'rrsisd', 'instances.json'), ann_file)
    dataset = RRSISDDataset(
        split='val',
        data_root=rrsisd_root,
        ann_file=ann_file,
        refs_file='rrsisd/refs(unc).p',
        data_prefix=dict(img_path='images/rrsisd/JPEGImages'))
    assert dataset.ann_file == ann_file
    assert dataset.refs_file == osp.join(rrsisd_root, 'rrsisd', 'refs(unc).p')
    assert len(dataset) == 2


def test_lazy_init_reads_nothing(tmp_path):
    dataset = RRSISDDataset(
        split='train', data_root=str(tmp_path), lazy_init=True)
    with pytest.raises(FileNotFoundError, match='refs_file'):
        dataset.full_init()


def test_logs_length_and_per_split_counts(rrsisd_root):
    target = 'rs2sam2_mmseg.datasets.basereferdataset.print_log'
    with mock.patch(target) as print_log:
        RRSISDDataset(split='test', data_root=rrsisd_root)
    message = print_log.call_args[0][0]
    assert "split 'test' has 4 samples" in message
    assert 'test 3/4, train 2/5, val 1/2' in message


def test_unknown_split(rrsisd_root):
    with pytest.raises(ValueError, match=r"'testA'.*\['train', 'val', 'test"):
        RRSISDDataset(split='testA', data_root=rrsisd_root)


@pytest.mark.parametrize('name,arg', [('refs(unc).p', 'refs_file'),
                                      ('instances.json', 'ann_file')])
def test_missing_annotation_file(rrsisd_root, name, arg):
    os.remove(osp.join(rrsisd_root, 'rrsisd', name))
    with pytest.raises(FileNotFoundError, match=rf'{arg} not found: .*rrsisd'):
        RRSISDDataset(split='train', data_root=rrsisd_root)


def test_all_missing_images_in_one_error(rrsisd_root):
    os.remove(rrsisd_image_path(rrsisd_root, 3))
    os.remove(rrsisd_image_path(rrsisd_root, 4))
    with pytest.raises(FileNotFoundError) as err:
        RRSISDDataset(split='test', data_root=rrsisd_root)
    message = str(err.value)
    assert '2 of 3 image files are missing' in message
    assert '00003.jpg [image_id 3, ref_id 6]' in message
    assert '00004.jpg [image_id 4, ref_id 4]' in message


def test_image_size_differs_from_instances(rrsisd_root):
    path = rrsisd_image_path(rrsisd_root, 3)
    write_image(path, 20, 20)  # instances.json says 48 x 40
    dataset = RRSISDDataset(
        split='val', data_root=rrsisd_root, pipeline=LOAD_PIPELINE)
    with pytest.raises(ValueError, match=r'size \(48, 40\).*\(20, 20\)'):
        dataset[0]


def _damage_refs(root, damage):
    refs = rrsisd_refs()
    damage(refs)
    write_refs(root, refs)


def _damage_instances(root, damage):
    instances = rrsisd_instances()
    damage(instances)
    write_instances(root, instances)


def _set(path, value):
    """A damage function setting ``obj[k0][k1]... = value``."""

    def damage(obj):
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value

    return damage


@pytest.mark.parametrize('damage_refs,damage_instances,match', [
    (_set([2, 'ann_id'], 99), None,
     r'ref_id 3 refers to ann_id 99, which is not in .*instances.json'),
    (_set([2, 'image_id'], 4), None,
     r'ref_id 3 has image_id 4 but its ann_id 12 belongs to image_id 3'),
    (None, _set(['images', 2, 'id'],
                77), r'ref_id 3: image_id 3 is not in the images'),
    (_set([2, 'sentences', 1, 'sent'],
          '  '), None, r'ref_id 3, sent_id 106: empty sentence'),
    (_set([2, 'sentences', 1, 'sent_id'],
          105), None, r'sent_id 105 \(ref_id 3\) appears twice'),
    (_set([2, 'sentences'], []), None, r'ref_id 3 has no sentence'),
    (_set([2, 'sentences', 0], dict(sent_id=105)), None,
     r'ref_id 3 has a sentence without sent_id/sent'),
    (lambda refs: refs[2].pop('ann_id'), None,
     r"ref #2 \(ref_id 3\) lacks \['ann_id'\]"),
    (lambda refs: [ref.update(split='train') for ref in refs], None,
     r'No sample in split "val" of .*refs\(unc\).p'),
    (None, _set(['annotations', 2, 'segmentation'], [[1, 2, 3, 4, 5]]),
     r'malformed segmentation of ann_id 12 \(ref_id 3\): a polygon'),
    (None, _set(['annotations', 2, 'segmentation', 0, 'size'],
                [9, 9]), r'ann_id 12 \(ref_id 3\): RLE size \[9, 9\] differs'),
    (None, _set(['annotations', 2, 'category_id'],
                42), r'ann_id 12 \(ref_id 3\) has category_id 42'),
    (None, _set(['annotations', 1, 'id'],
                12), r'id 12 appears twice in "annotations"'),
])
def test_bad_annotations_raise_naming_file_and_ids(rrsisd_root, damage_refs,
                                                   damage_instances, match):
    if damage_refs:
        _damage_refs(rrsisd_root, damage_refs)
    if damage_instances:
        _damage_instances(rrsisd_root, damage_instances)
    with pytest.raises(ValueError, match=match):
        RRSISDDataset(split='val', data_root=rrsisd_root)


def test_malformed_compressed_rle_fails_when_decoded(rrsisd_root):
    _damage_instances(
        rrsisd_root,
        _set(['annotations', 2, 'segmentation', 0, 'counts'], 'P13'))
    dataset = RRSISDDataset(
        split='val', data_root=rrsisd_root, pipeline=LOAD_PIPELINE)
    with pytest.raises(ValueError, match=r'ann_id 12\): RLE run lengths'):
        dataset[0]


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned', ))


def test_pickle_with_a_foreign_global_is_refused(rrsisd_root):
    refs = rrsisd_refs()
    refs[0]['payload'] = _Evil()
    write_refs(rrsisd_root, refs)
    with pytest.raises(
            pickle.UnpicklingError,
            match=r'refs\(unc\).p: refusing to load global '
            r'(posix|nt).system'):
        RRSISDDataset(split='train', data_root=rrsisd_root)


def test_raw_text_field(rrsisd_root):
    dataset = DATASETS.build(
        dict(
            type='RRSISDDataset',
            data_root=rrsisd_root,
            split='train',
            text_field='raw'))
    expected = _expected_sentences('train')
    assert [dataset.get_data_info(i)['text'] for i in range(len(dataset))
            ] == [sent.capitalize() for *_, sent in expected]


def test_one_sample_per_ref_draws_a_sentence_per_load(rrsisd_root):
    pipeline = [dict(type='RandomRefSentence')]
    dataset = DATASETS.build(
        dict(
            type='RRSISDDataset',
            data_root=rrsisd_root,
            split='train',
            sample_per='ref',
            pipeline=pipeline))
    refs = [(ref_id, sentences)
            for ref_id, _, split, sentences in RRSISD_REFS
            if split == 'train']
    assert len(dataset) == len(refs)
    for idx, (ref_id, sentences) in enumerate(refs):
        info = dataset.get_data_info(idx)
        assert 'text' not in info and 'sent_id' not in info
        assert info['ref_id'] == ref_id
        assert info['texts'] == [sent for _, sent in sentences]
        assert info['sent_ids'] == [sent_id for sent_id, _ in sentences]
    multi = next(i for i, (_, s) in enumerate(refs) if len(s) > 1)
    np.random.seed(0)
    drawn = {(sample['sent_id'], sample['text'])
             for sample in (dataset[multi] for _ in range(20))}
    assert drawn == set(refs[multi][1])


@pytest.mark.parametrize('kwargs, match', [
    (dict(text_field='tokens'), 'text_field'),
    (dict(sample_per='image'), 'sample_per'),
])
def test_bad_text_options_are_errors(rrsisd_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        RRSISDDataset(data_root=rrsisd_root, split='train', **kwargs)


@pytest.mark.parametrize('damage_refs,match', [
    (_set([2, 'sentences', 1, 'sent'], 'the \ud800 car'),
     r'ref_id 3, sent_id 106: the sentence holds invalid Unicode '
     r'\(surrogates not allowed at character 4\)'),
    (_set([2, 'sentences', 1, 'sent'], b'the car'),
     r"ref_id 3, sent_id 106: the sentence is a bytes, not text: b'the car'"),
    (_set([2, 'ann_id'], [12]),
     r'ref #2 ann_id: an id must be an int or a str, got list \[12\]'),
    (_set([2, 'sentences', 1, 'sent_id'], [106]),
     r'ref_id 3, sent_id \[106\]: an id must be an int or a str, got list'),
])
def test_bad_ids_and_sentences_rejected_at_load(rrsisd_root, damage_refs,
                                                match):
    refs = rrsisd_refs()
    damage_refs(refs)
    # protocol 4: bytes need no global (protocol 2 pickles them through
    # _codecs.encode, which the restricted unpickler refuses)
    with open(osp.join(rrsisd_root, 'rrsisd', 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f, protocol=4)
    with pytest.raises(UserInputError, match=match):
        RRSISDDataset(split='val', data_root=rrsisd_root)


@pytest.mark.parametrize('name,content,match', [
    ('instances.json', '{"images": [', r'instances.json is not complete JSON '
     r'\(Expecting value: line 1 column 13'),
    ('instances.json', '[]', r'instances.json: expected a COCO dict with '
     r'"images", "annotations" and "categories", got a list'),
    ('refs(unc).p', None, r'refs\(unc\).p is not a complete pickle '
     r'\(it ends too early\)'),
])
def test_damaged_annotation_files_named(rrsisd_root, name, content, match):
    path = osp.join(rrsisd_root, 'rrsisd', name)
    if content is None:  # cut short
        with open(path, 'rb') as f:
            data = f.read()
        with open(path, 'wb') as f:
            f.write(data[:len(data) // 2])
    else:
        with open(path, 'w') as f:
            f.write(content)
    with pytest.raises(UserInputError, match=match):
        RRSISDDataset(split='val', data_root=rrsisd_root)


@pytest.mark.parametrize('suffix', ['.pkl', '.yaml'])
def test_ann_file_read_as_json_only(rrsisd_root, tmp_path, suffix):
    marker = tmp_path / 'payload_ran'
    ann_file = str(tmp_path / f'instances{suffix}')
    with open(ann_file, 'wb') as f:
        if suffix == '.pkl':
            pickle.dump(_Payload(str(marker)), f)
        else:
            f.write(b'!!python/object/apply:os.system ["touch %s"]\n' %
                    str(marker).encode())
    with pytest.raises(UserInputError, match=rf'instances{suffix}: ann_file '
                       'must be a COCO .json file'):
        RRSISDDataset(split='val', data_root=rrsisd_root, ann_file=ann_file)
    assert not marker.exists()


class _Payload:

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_polygon_outside_its_image_warns(rrsisd_root):
    _damage_instances(
        rrsisd_root,
        _set(['annotations', 0, 'segmentation'],
             [[100, 100, 120, 100, 120, 110]]))
    with pytest.warns(UserWarning, match=r'instances.json: the polygons of '
                      r'ann_id 10 \(ref_id 1\) lie entirely outside its '
                      r'\d+x\d+ image'):
        RRSISDDataset(split='train', data_root=rrsisd_root)


@pytest.mark.parametrize('damage', ['empty', 'cut', 'garbage'])
def test_undecodable_image_named(rrsisd_root, damage):
    dataset = RRSISDDataset(
        split='val', data_root=rrsisd_root, pipeline=LOAD_PIPELINE)
    path = dataset.get_data_info(0)['img_path']
    with open(path, 'rb') as f:
        data = f.read()
    content = dict(
        empty=b'', cut=data[:len(data) // 3], garbage=bytes(range(256)))
    with open(path, 'wb') as f:
        f.write(content[damage])
    with pytest.raises(UserInputError, match=f'{path} \\(sent_id 105\\) '
                       'cannot be decoded: the image file is empty, cut'):
        dataset[0]


@pytest.mark.parametrize('pipeline', [
    [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(96, 96), keep_ratio=True)
    ],
    [  # as tools/test.py --tta builds it: the Resize inside TestTimeAug
        dict(type='LoadImageFromFile'),
        dict(
            type='TestTimeAug',
            transforms=[[dict(type='Resize', scale=(96, 96),
                              keep_ratio=True)]])
    ],
])
def test_image_resized_to_nothing_named(rrsisd_root, pipeline):
    dataset = RRSISDDataset(
        split='val', data_root=rrsisd_root, pipeline=pipeline)
    path = dataset.get_data_info(0)['img_path']
    write_image(path, 1, 400)  # 400 x 1 px: 96 x 0.24 after the resize
    with pytest.raises(UserInputError, match=f'{path} \\(sent_id 105\\) is '
                       r'400x1 px: resized to fit \(96, 96\) with its '
                       'aspect ratio, a side becomes 0 px'):
        dataset[0]
