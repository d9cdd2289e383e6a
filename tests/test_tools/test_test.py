"""tools/test.py: metrics, per-expression CSV, one drawing per expression.
"""
import csv
import json
import os
import os.path as osp
from collections import Counter

import pytest
import torch

from .utils import (METRIC_KEYS, TINY_CONFIG, assert_cli_error,
                    assert_documented, data_options, run_tool)


def test_test_outputs(tmp_path, synthetic, trained):
    """Table + JSON, --out CSV and --show-dir PNGs, one per expression."""
    work_dir, show_dir = tmp_path / 'work_dir', tmp_path / 'vis'
    out = tmp_path / 'expressions.csv'
    result = run_tool('test.py', TINY_CONFIG, trained.checkpoint, '--work-dir',
                      str(work_dir), '--out', str(out), '--show-dir',
                      str(show_dir), *data_options(synthetic.root))
    num = synthetic.sentences['test']
    table = result.stdout.splitlines()
    for key in METRIC_KEYS:
        assert any(line.split()[:1] == [key] for line in table), key
    with open(work_dir / 'test_metrics.json') as f:
        metrics = json.load(f)
    assert set(METRIC_KEYS) <= set(metrics)
    assert metrics['num_expressions'] == num

    # the printed numbers are the saved ones
    printed = {line.split()[0]: line.split()[1:] for line in table
               if line.split()}
    for key in METRIC_KEYS:
        value = metrics[key]
        assert printed[key] == [
            f'{value:.2f}' if isinstance(value, float) else str(value)], key

    with open(out, newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len({row['sent_id'] for row in rows}) == num
    assert Counter(row['image'] for row in rows) == synthetic.test_images
    # ... and they are the per-expression results' (mIoU: mean IoU of the
    # expressions scored; oIoU: total intersection / total union)
    ious = [float(row['IoU']) for row in rows if row['IoU']]
    assert metrics['mIoU'] == pytest.approx(100 * sum(ious) / len(ious),
                                            abs=1e-3)
    assert metrics['oIoU'] == pytest.approx(
        100 * sum(int(row['I']) for row in rows) /
        sum(int(row['U']) for row in rows), abs=1e-3)

    # several sentences of one image: one drawing each, none overwritten
    assert max(synthetic.test_images.values()) > 1
    drawings = sorted(os.listdir(show_dir))
    assert drawings == sorted(
        f'{osp.splitext(row["image"])[0]}_{row["sent_id"]}.png'
        for row in rows)


def test_test_tta(tmp_path, synthetic, trained):
    """--tta: every expression once, with its sentence as written."""
    work_dir, out = tmp_path / 'work_dir', tmp_path / 'expressions.csv'
    show_dir = tmp_path / 'vis'
    result = run_tool('test.py',
                      TINY_CONFIG, trained.checkpoint, '--tta', '--work-dir',
                      str(work_dir), '--out', str(out), '--show-dir',
                      str(show_dir), *data_options(synthetic.root))
    assert '(flip TTA)' in result.stdout
    with open(work_dir / 'test_metrics_tta.json') as f:
        metrics = json.load(f)
    assert set(METRIC_KEYS) <= set(metrics)
    assert metrics['num_expressions'] == synthetic.sentences['test']
    with open(osp.join(synthetic.root, 'rrsisd',
                       'synthetic_scenes.json')) as f:
        written = {
            str(sent['sent_id']): sent['sent']
            for image in json.load(f)['images'] if image['split'] == 'test'
            for sent in image['sentences']
        }
    with open(out, newline='') as f:
        assert {
            row['sent_id']: row['text']
            for row in csv.DictReader(f)
        } == written
    assert len(os.listdir(show_dir)) == len(written)


def test_test_help():
    assert_documented('test.py')


def test_test_errors(monkeypatch, capsys, tmp_path):
    missing = str(tmp_path / 'missing.pth')
    assert_cli_error(monkeypatch, capsys, 'test.py',
                     [str(tmp_path / 'missing.py'), missing], 'does not exist')
    assert_cli_error(monkeypatch, capsys, 'test.py', [TINY_CONFIG, missing],
                     f'Checkpoint {missing!r} does not exist')
    checkpoint = tmp_path / 'x.pth'
    checkpoint.write_bytes(b'')
    assert_cli_error(
        monkeypatch, capsys, 'test.py',
        [TINY_CONFIG, str(checkpoint), '--out', 'x.json'],
        'use a .csv or .pkl file')


def test_test_refuses_what_would_be_lost_or_wrong(monkeypatch, capsys,
                                                  tmp_path, synthetic,
                                                  trained):
    """Checked before any inference: a checkpoint of another model, a
    damaged one, outputs that cannot be written."""
    common = ['--work-dir', str(tmp_path), *data_options(synthetic.root)]
    state = torch.load(trained.checkpoint, map_location='cpu')
    key = next(iter(state['state_dict']))
    state['state_dict'][key] = torch.zeros(1)
    other = str(tmp_path / 'other.pth')
    torch.save(state, other)
    assert_cli_error(monkeypatch, capsys, 'test.py',
                     [TINY_CONFIG, other, *common],
                     f'{other} does not fit the model (1 tensors differ; '
                     f'{key}: (1,) in the checkpoint')
    cut = str(tmp_path / 'cut.pth')
    with open(trained.checkpoint, 'rb') as f:
        data = f.read()
    with open(cut, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert_cli_error(monkeypatch, capsys, 'test.py',
                     [TINY_CONFIG, cut, *common],
                     f'{cut} is not a complete checkpoint')
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    for option in (['--out', str(blocker / 'x.csv')],
                   ['--show-dir', str(blocker / 'vis')]):
        assert_cli_error(monkeypatch, capsys, 'test.py',
                         [TINY_CONFIG, trained.checkpoint, *option, *common],
                         f'cannot be written: {blocker} is a file')
