"""SentenceTypeWeightedSampler on a generated synthetic split."""
import itertools
from collections import Counter

import pytest

from rs2sam2_mmseg.datasets import RRSISDDataset
from rs2sam2_mmseg.synthetic import (SENTENCE_TYPES,
                                     SentenceTypeWeightedSampler,
                                     SyntheticParams,
                                     generate_synthetic_rrsisd,
                                     load_scene_sentences)


@pytest.fixture(scope='module')
def train_split(tmp_path_factory) -> RRSISDDataset:
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_rrsisd(
        root, SyntheticParams(seed=3, num_train=12, num_val=1, num_test=1))
    return RRSISDDataset(split='train', data_root=root, pipeline=[])


def drawn_types(dataset, sampler, num):
    sentences = load_scene_sentences(dataset.data_root, dataset.split)
    return [
        sentences[str(dataset.get_data_info(i)['sent_id'])]['type']
        for i in itertools.islice(iter(sampler), num)
    ]


def test_draws_follow_the_type_weights(train_split):
    present = Counter(drawn_types(train_split, range(len(train_split)),
                                  len(train_split)))
    assert len(present) >= 3
    only = dict.fromkeys(SENTENCE_TYPES, 0.)
    only['position'] = 1.
    sampler = SentenceTypeWeightedSampler(train_split, only, seed=0)
    assert set(drawn_types(train_split, sampler, 200)) == {'position'}
    # a 9:1 weighting: the favoured type dominates the draws
    favour = dict(colour=9.)
    sampler = SentenceTypeWeightedSampler(train_split, favour, seed=0)
    counts = Counter(drawn_types(train_split, sampler, 4000))
    share = present['colour'] * 9 / (
        present['colour'] * 9 + len(train_split) - present['colour'])
    assert counts['colour'] / 4000 == pytest.approx(share, abs=0.05)


def test_same_seed_same_draws_other_seed_differs(train_split):
    weights = dict(position=3.)

    def draws(seed):
        return list(
            itertools.islice(
                SentenceTypeWeightedSampler(train_split, weights, seed=seed),
                100))

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


@pytest.mark.parametrize('weights,match', [
    (dict(adjective=1.), 'sentence types'),
    (dict(colour=-1.), 'weights >= 0'),
    (dict.fromkeys(SENTENCE_TYPES, 0.), 'weight 0'),
])
def test_bad_weights_are_clear_errors(train_split, weights, match):
    with pytest.raises(ValueError, match=match):
        SentenceTypeWeightedSampler(train_split, weights)


def test_needs_the_synthetic_scene_record(rrsisd_root):
    dataset = RRSISDDataset(split='train', data_root=rrsisd_root, pipeline=[])
    with pytest.raises(FileNotFoundError, match='make_synthetic'):
        SentenceTypeWeightedSampler(dataset, dict(position=2.))
