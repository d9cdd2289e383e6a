"""ReferSegMetric against hand-computed values for every protocol switch."""
import csv
import math

import pytest
import torch

import rs2sam2_mmseg  # noqa: F401  (installs the shims)
import rs2sam2_mmseg.evaluation  # noqa: F401  (registers the metric)
from mmseg.registry import METRICS
from rs2sam2_mmseg.evaluation import ReferSegMetric


def _sample(sent_id,
            pred_pixels,
            gt_pixels,
            size=(4, 4),
            ignore=(),
            text='a sentence'):
    """A data sample dict with 0/1 maps set at the given (row, col)s."""
    pred = torch.zeros((1, ) + size, dtype=torch.int64)
    gt = torch.zeros((1, ) + size, dtype=torch.int64)
    for row, col in pred_pixels:
        pred[0, row, col] = 1
    for row, col in gt_pixels:
        gt[0, row, col] = 1
    for row, col in ignore:
        gt[0, row, col] = 255
    return dict(
        pred_sem_seg=dict(data=pred),
        gt_sem_seg=dict(data=gt),
        sent_id=sent_id,
        img_path=f'/data/images/{sent_id}.jpg',
        text=text)


SQUARE = [(0, 0), (0, 1), (1, 0), (1, 1)]
#: IoU 1 (I=4, U=4), 0.5 exactly (I=2, U=4), 0 (I=0, U=4), empty (U=0)
SAMPLES = [
    _sample('a', SQUARE, SQUARE),
    _sample('b', SQUARE[:2], SQUARE),
    _sample('c', [(3, 3), (3, 2)], [(2, 2), (2, 3)]),
    _sample('d', [], []),
]


def _evaluate(samples=SAMPLES, **kwargs):
    metric = METRICS.build(dict(type='ReferSegMetric', **kwargs))
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def _pr(metrics):
    return [metrics[f'Pr@{t}'] for t in (0.5, 0.6, 0.7, 0.8, 0.9)]


def test_empty_iou_zero_default():
    metrics = _evaluate()
    assert metrics['mIoU'] == pytest.approx(37.5)  # (1 + .5 + 0 + 0) / 4
    assert metrics['oIoU'] == pytest.approx(50.0)  # 6 / 12
    assert metrics['mIoU+oIoU'] == pytest.approx(87.5)
    assert _pr(metrics) == pytest.approx([50, 25, 25, 25, 25])
    assert metrics['num_expressions'] == 4
    assert metrics['num_empty_union'] == 1


def test_empty_iou_one():
    metrics = _evaluate(empty_iou='one')
    assert metrics['mIoU'] == pytest.approx(62.5)  # (1 + .5 + 0 + 1) / 4
    assert metrics['oIoU'] == pytest.approx(50.0)
    assert _pr(metrics) == pytest.approx([75, 50, 50, 50, 50])


def test_empty_iou_skip():
    metrics = _evaluate(empty_iou='skip')
    assert metrics['mIoU'] == pytest.approx(50.0)  # (1 + .5 + 0) / 3
    assert metrics['oIoU'] == pytest.approx(50.0)
    assert _pr(metrics) == pytest.approx([200 / 3] + [100 / 3] * 4)
    assert metrics['num_expressions'] == 4
    assert metrics['num_empty_union'] == 1


def test_threshold_exclusive_at_exactly_half():
    metrics = _evaluate(iou_thr_inclusive=False)
    assert metrics['Pr@0.5'] == pytest.approx(25.0)  # 0.5 is not > 0.5
    assert _evaluate(iou_thrs=(0.25, ))['Pr@0.25'] == pytest.approx(50.0)


def test_ignore_index_is_excluded():
    # pred also covers the 3 ignored pixels, which are left out: I=2, U=3
    sample = _sample(
        'x',
        SQUARE + [(3, 3)],
        SQUARE[:2] + [(2, 0)],
        ignore=[(1, 0), (1, 1), (3, 3)])
    assert ReferSegMetric.intersect_and_union(
        sample['pred_sem_seg']['data'], sample['gt_sem_seg']['data']) == (2, 3)
    assert _evaluate([sample])['mIoU'] == pytest.approx(200 / 3)


def test_eval_scale_resizes_nearest_as_pil():
    # original: I=2, U=4 (IoU .5); at 2x2 PIL's nearest keeps the pixels
    # under the output centres, (1, 1) (1, 3) (3, 1) (3, 3): IoU 1
    sample = _sample('s', [(1, 0), (1, 1)], SQUARE)
    assert _evaluate([sample])['mIoU'] == pytest.approx(50.0)
    assert _evaluate([sample], eval_scale=2)['mIoU'] == pytest.approx(100.0)
    # torch's legacy 'nearest' would keep (0, 0) of this one: IoU 1, not 0
    sample = _sample('s', [(0, 0), (0, 1)], SQUARE)
    assert _evaluate([sample], eval_scale=2)['mIoU'] == pytest.approx(0.0)
    metric = ReferSegMetric(eval_scale=(8, 8))
    metric.process({}, [sample])
    assert (metric.results[0]['I'], metric.results[0]['U']) == (8, 16)


def test_eval_scale_reconciles_sizes():
    sample = _sample('s', SQUARE, SQUARE)
    sample['gt_sem_seg']['data'] = torch.ones(1, 8, 8, dtype=torch.int64)
    with pytest.raises(ValueError, match='/data/images/s.jpg differ in shape'):
        _evaluate([sample])
    assert _evaluate([sample], eval_scale=4)['mIoU'] == pytest.approx(25.0)


def test_output_file_csv(tmp_path):
    path = tmp_path / 'out' / 'rows.csv'
    _evaluate(empty_iou='skip', output_file=str(path))
    with open(path, newline='') as file:
        rows = list(csv.DictReader(file))
    assert [r['sent_id'] for r in rows] == ['a', 'b', 'c', 'd']
    assert rows[1] == dict(
        sent_id='b',
        image='b.jpg',
        text='a sentence',
        IoU='0.500000',
        I='2',
        U='4')
    assert rows[3]['IoU'] == ''  # skipped


def test_exact_duplicate_counted_once_with_warning():
    with pytest.warns(UserWarning, match=r"1 repeated sent_id\(s\).*'a'"):
        metrics = _evaluate(SAMPLES + [_sample('a', SQUARE, SQUARE)])
    assert metrics['num_expressions'] == 4
    assert metrics['mIoU'] == pytest.approx(37.5)


def test_conflicting_duplicate_raises():
    with pytest.raises(ValueError, match="sent_id 'a' was evaluated twice"):
        _evaluate(SAMPLES + [_sample('a', [], SQUARE)])


def test_nothing_scored_gives_nan():
    metrics = _evaluate([_sample('d', [], [])], empty_iou='skip')
    assert math.isnan(metrics['mIoU']) and math.isnan(metrics['Pr@0.5'])
    assert math.isnan(metrics['oIoU'])
    assert metrics['num_empty_union'] == 1
    metrics = _evaluate([_sample('d', [], [])], empty_iou='one')
    assert metrics['oIoU'] == metrics['mIoU'] == 100.0


def test_prefix():
    assert 'refer/mIoU' in _evaluate(prefix='refer')


@pytest.mark.parametrize('field,value,error,match', [
    ('sent_id', None, KeyError, 'has no "sent_id"'),
    ('pred', 2, ValueError, 'prediction of .* is not binary'),
    ('gt', 7, ValueError, 'other than 0, 1 and 255'),
])
def test_bad_samples(field, value, error, match):
    sample = _sample('z', SQUARE, SQUARE)
    if field == 'sent_id':
        del sample['sent_id']
    else:
        key = dict(pred='pred_sem_seg', gt='gt_sem_seg')[field]
        sample[key]['data'][0, 3, 3] = value
    with pytest.raises(error, match=match):
        ReferSegMetric().process({}, [sample])


@pytest.mark.parametrize('kwargs,match', [
    (dict(iou_thrs=0.5), 'iou_thrs'),
    (dict(iou_thrs=()), 'iou_thrs'),
    (dict(iou_thrs=(0.5, 1.5)), 'iou_thrs'),
    (dict(empty_iou='nan'), 'empty_iou'),
    (dict(iou_thr_inclusive='yes'), 'iou_thr_inclusive'),
    (dict(eval_scale='1024'), 'eval_scale'),
    (dict(eval_scale=(1024, )), 'eval_scale'),
    (dict(eval_scale=0), 'eval_scale'),
    (dict(collect_device='cuda'), 'collect_device'),
])
def test_arguments_validated(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ReferSegMetric(**kwargs)


def test_pil_nearest_upsampling_800_to_1024():
    # the official GT: PIL NEAREST from 800 to 1024 pixels (pinned indices)
    gt = torch.arange(800)[None, None, :].expand(1, 1, 800)
    resized = ReferSegMetric.resize_nearest(gt, (1, 1024))[0, 0]
    source = ((torch.arange(1024) + 0.5) * 800 / 1024).floor().long()
    assert torch.equal(resized, source)
    assert resized[:6].tolist() == [0, 1, 1, 2, 3, 4]
