"""Text tables and metric files."""
import json

from rs2sam2_mmseg.utils import format_metric_table, format_table, save_metrics


def test_format_table():
    text = format_table(('name', 'count'), [('backbone', 12), ('x', 3)],
                        title='report')
    assert text.splitlines() == [
        'report',
        'name      count',
        '---------------',
        'backbone     12',
        'x             3',
    ]


def test_format_metric_table():
    lines = format_metric_table(dict(mIoU=52.346,
                                     num_expressions=7)).splitlines()
    assert lines[0].split() == ['metric', 'value']
    assert lines[2].split() == ['mIoU', '52.35']
    assert lines[3].split() == ['num_expressions', '7']


def test_save_metrics(tmp_path):
    path = str(tmp_path / 'new' / 'metrics.json')
    assert save_metrics(dict(mIoU=1.5, num_expressions=7), path) == path
    with open(path) as f:
        assert json.load(f) == dict(mIoU=1.5, num_expressions=7)
