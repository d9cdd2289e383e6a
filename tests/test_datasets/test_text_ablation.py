"""TextAblationDataset: every sample gets another sample's sentence."""
from collections import Counter

import numpy as np
import pytest

from rs2sam2_mmseg.datasets import RRSISDDataset, TextAblationDataset
from .fixtures import RRSISD_REFS

LOAD_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadReferringAnnotations')
]
#: The test split's sentences, all different.
TEST_SENTENCES = [s for *_, split, sents in RRSISD_REFS if split == 'test'
                  for _, s in sents]


def test_each_sample_gets_another_sentence(rrsisd_root):
    # 4 samples: a random permutation keeps some sentences in place for 7
    # of these 10 seeds (seed 1 of numpy's default_rng: all four)
    dataset = RRSISDDataset(
        split='test', data_root=rrsisd_root, pipeline=LOAD_PIPELINE)
    own = [dataset.get_data_info(i)['text'] for i in range(4)]
    assert sorted(own) == sorted(TEST_SENTENCES)
    for seed in range(10):
        ablated = TextAblationDataset(dataset, seed=seed)
        assert len(ablated) == len(dataset) == 4
        new = [ablated.get_data_info(i)['text'] for i in range(4)]
        assert sum(a != b for a, b in zip(own, new)) == 4, seed
        assert Counter(new) == Counter(own)  # each sentence used once


def test_only_the_sentence_changes(rrsisd_root):
    dataset = RRSISDDataset(
        split='test', data_root=rrsisd_root, pipeline=LOAD_PIPELINE)
    ablated = TextAblationDataset(dataset, seed=0)
    assert ablated.metainfo == dataset.metainfo
    for idx in range(len(dataset)):
        original, shuffled = dataset[idx], ablated[idx]
        assert shuffled['text'] == ablated.get_data_info(idx)['text']
        assert shuffled['text'] != original['text']
        np.testing.assert_array_equal(shuffled['img'], original['img'])
        np.testing.assert_array_equal(shuffled['gt_seg_map'],
                                      original['gt_seg_map'])
        for key in ('img_path', 'sent_id', 'ann_id', 'ref_id'):
            assert shuffled[key] == original[key], key
    # the same seed, the same sentences; the dataset is not modified
    again = TextAblationDataset(dataset, seed=0)
    assert [again.get_data_info(i)['text'] for i in range(4)] == [
        ablated.get_data_info(i)['text'] for i in range(4)]
    assert dataset.get_data_info(0)['text'] == TEST_SENTENCES[0]


class _OneSample:
    """A dataset of a single sentence."""

    def __len__(self):
        return 1

    def get_data_info(self, idx):
        return dict(text='the only sentence', img_path='a.jpg')


def test_a_single_sentence_cannot_be_shuffled():
    with pytest.raises(ValueError, match='at least 2 samples, got 1'):
        TextAblationDataset(_OneSample())
