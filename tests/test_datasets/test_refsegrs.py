"""RefSegRSDataset on a tiny tree in the published RefSegRS format."""
import os
import os.path as osp

import numpy as np
import pytest

from mmseg.registry import DATASETS
from rs2sam2_mmseg.datasets import RefSegRSDataset
from .fixtures import REFSEGRS_MASKS, refsegrs_mask, write_image

LOAD_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferringAnnotations')
]


def test_one_sample_per_line(refsegrs_root):
    dataset = DATASETS.build(
        dict(type='RefSegRSDataset', data_root=refsegrs_root, split='train'))
    assert len(dataset) == 3  # the blank line 3 is skipped
    expected = [(1, '0', 'road on the left side'), (2, '1', 'the building'),
                (4, '0', 'vehicle near the road')]
    for idx, (line_no, image_id, text) in enumerate(expected):
        info = dataset.get_data_info(idx)
        assert info['text'] == text
        assert info['line_no'] == line_no
        assert info['sent_id'] == f'train_{line_no}'
        assert info['ref_id'] == info['image_id'] == image_id
        assert info['img_path'] == osp.join(refsegrs_root, 'images',
                                            f'{image_id}.tif')
        assert info['seg_map_path'] == osp.join(refsegrs_root, 'masks',
                                                f'{image_id}.tif')
        assert info['mask_threshold'] == 50
        assert info['seg_fields'] == []
        assert info['reduce_zero_label'] is False


@pytest.mark.parametrize('split,length', [('val', 1), ('test', 2)])
def test_split_lengths(refsegrs_root, split, length):
    dataset = RefSegRSDataset(split=split, data_root=refsegrs_root)
    assert len(dataset) == length
    assert dataset.get_data_info(0)['sent_id'] == f'{split}_1'


def test_masks_thresholded(refsegrs_root):
    for split in ('train', 'val', 'test'):
        dataset = RefSegRSDataset(
            split=split, data_root=refsegrs_root, pipeline=LOAD_PIPELINE)
        for idx in range(len(dataset)):
            results = dataset[idx]
            expected = refsegrs_mask(results['image_id'])
            np.testing.assert_array_equal(results['gt_seg_map'], expected)
            assert results['img'].shape[:2] == expected.shape
    # the faint background (40) counts as foreground under threshold 30
    dataset = RefSegRSDataset(
        split='val',
        data_root=refsegrs_root,
        mask_threshold=30,
        pipeline=LOAD_PIPELINE)
    assert dataset[0]['gt_seg_map'].all()
    # the object value of image 1 (60) is background under threshold 100
    dataset = RefSegRSDataset(
        split='test',
        data_root=refsegrs_root,
        mask_threshold=100,
        pipeline=LOAD_PIPELINE)
    assert REFSEGRS_MASKS['1'][2] == 60 and not dataset[1]['gt_seg_map'].any()


def test_custom_ann_file_and_prefix(refsegrs_root, tmp_path):
    phrases = tmp_path / 'phrases_val.txt'
    phrases.write_text('3 the lot\n')
    dataset = RefSegRSDataset(
        split='val',
        data_root=refsegrs_root,
        ann_file=str(phrases),
        data_prefix=dict(img_path='images', seg_map_path='masks'))
    assert dataset.get_data_info(0)['text'] == 'the lot'


def test_unknown_split(refsegrs_root):
    with pytest.raises(ValueError, match=r"'trainval'.*\['train', 'val'"):
        RefSegRSDataset(split='trainval', data_root=refsegrs_root)


def test_bad_mask_threshold(refsegrs_root):
    with pytest.raises(TypeError, match='mask_threshold'):
        RefSegRSDataset(
            split='val', data_root=refsegrs_root, mask_threshold='50')


def test_missing_phrase_file(refsegrs_root):
    os.remove(osp.join(refsegrs_root, 'output_phrase_test.txt'))
    with pytest.raises(
            FileNotFoundError,
            match=r'ann_file not found: .*output_phrase_test.txt'):
        RefSegRSDataset(split='test', data_root=refsegrs_root)


@pytest.mark.parametrize('line', ['7', '7   ', '7\t'])
def test_malformed_line_names_file_and_line(refsegrs_root, line):
    path = osp.join(refsegrs_root, 'output_phrase_val.txt')
    with open(path, 'a') as file:
        file.write(f'\n{line}\n')
    with pytest.raises(
            ValueError, match=r'output_phrase_val.txt:3: malformed line'):
        RefSegRSDataset(split='val', data_root=refsegrs_root)


def test_all_missing_files_in_one_error(refsegrs_root):
    os.remove(osp.join(refsegrs_root, 'images', '0.tif'))
    os.remove(osp.join(refsegrs_root, 'masks', '1.tif'))
    with pytest.raises(FileNotFoundError) as err:
        RefSegRSDataset(split='train', data_root=refsegrs_root)
    message = str(err.value)
    assert '2 of 4 image/mask files are missing' in message
    assert 'images/0.tif [' in message and 'phrase_train.txt:1,' in message
    assert 'masks/1.tif [' in message and 'phrase_train.txt:2,' in message


def test_empty_split(refsegrs_root):
    with open(osp.join(refsegrs_root, 'output_phrase_val.txt'), 'w') as file:
        file.write('\n  \n')
    with pytest.raises(ValueError, match='No sample in split "val"'):
        RefSegRSDataset(split='val', data_root=refsegrs_root)


def test_mask_size_differs_from_image(refsegrs_root):
    write_image(osp.join(refsegrs_root, 'images', '2.tif'), 16, 16)
    dataset = RefSegRSDataset(
        split='val', data_root=refsegrs_root, pipeline=LOAD_PIPELINE)
    with pytest.raises(
            ValueError,
            match=r'masks/2.tif has size \(20, 28\).*images/2.tif '
            r'has size \(16, 16\)'):
        dataset[0]


def test_corrupt_mask_names_the_file(refsegrs_root):
    path = osp.join(refsegrs_root, 'masks', '2.tif')
    with open(path, 'wb') as file:
        file.write(b'II*\x00garbage')
    dataset = RefSegRSDataset(
        split='val', data_root=refsegrs_root, pipeline=LOAD_PIPELINE)
    with pytest.raises(
            ValueError, match=f'failed to decode the mask file '
            f'{path}'):
        dataset[0]
