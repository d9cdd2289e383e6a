"""tools/demo.py: how it launches training, its steps and its numbers."""
import argparse
import json
import os
import os.path as osp
import sys

import pytest
import torch

from rs2sam2_mmseg.synthetic import SyntheticParams, load_scene_sentences
from rs2sam2_mmseg.utils import load_config
from .utils import TINY_CONFIG, TOOLS, tool_module


def _train_command(nproc):
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    args = argparse.Namespace(
        config=TINY_CONFIG, work_dir='work_dirs/x', nproc=nproc)
    return (*demo['train_command'](cfg, args), cfg)


def test_one_process_runs_train_py_with_the_config_batch():
    cmd, env, cfg = _train_command(1)
    assert cmd == [
        sys.executable,
        osp.join(TOOLS, 'train.py'), TINY_CONFIG, '--work-dir', 'work_dirs/x',
        '--resume', '--cfg-options', 'train_dataloader.batch_size=32',
        f'custom_hooks.1.minutes={cfg.train_minutes}'
    ]
    assert env == {} and cfg.train_dataloader.batch_size == 32


def test_two_processes_split_the_batch_through_torchrun():
    cmd, env, cfg = _train_command(2)
    assert cmd[:4] == [
        'bash', osp.join(TOOLS, 'dist_train.sh'), TINY_CONFIG, '2'
    ]
    assert cmd[-3:-1] == ['--cfg-options', 'train_dataloader.batch_size=16']
    assert '--resume' in cmd
    # the recipe check compares the batch each process really trains with
    assert cfg.train_dataloader.batch_size == 16
    assert env['PYTHON'] == sys.executable
    assert int(env['OMP_NUM_THREADS']) >= 1 and int(env['PORT']) > 0


def test_a_process_count_that_does_not_divide_the_batch_is_refused():
    with pytest.raises(ValueError, match='must divide the batch size 32'):
        _train_command(3)
    with pytest.raises(ValueError, match='--nproc must be at least 1'):
        _train_command(0)


def test_summary_names_the_time_budget_and_the_iterations(tmp_path):
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    minutes = cfg.train_minutes
    assert demo['budget_note'](cfg) == (
        f'as many as fit {minutes:g} min, at most {cfg.max_iters} iterations')
    cfg.custom_hooks = []
    assert demo['budget_note'](cfg) == f'at most {cfg.max_iters} iterations'
    checkpoint = str(tmp_path / 'iter_7.pth')
    torch.save(dict(meta=dict(iter=7), state_dict={}), checkpoint)
    assert demo['trained_iterations'](checkpoint) == 7


def test_time_after_training_follows_the_measured_speed():
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    assert demo['tta_views'](cfg) == 3  # as is, flipped both ways
    speed = demo['Speed'](startup_s=10., expression_s=0.1)
    sentences = dict(train=2000, val=100, test=200)
    # val once, test 2 + 3 passes, 12 overlays; 5 start-ups; slack 2
    minutes = demo['after_training_minutes'](cfg, speed, sentences, 12)
    assert minutes == pytest.approx(2.0 * (5 * 10. + 1112 * 0.1) / 60)
    # a machine half as fast reserves twice the time
    slow = demo['Speed'](startup_s=20., expression_s=0.2)
    assert demo['after_training_minutes'](cfg, slow, sentences,
                                          12) == pytest.approx(2 * minutes)


def test_training_gets_the_time_the_demo_has_left():
    demo = tool_module('demo.py')
    cfg = load_config(TINY_CONFIG)
    fit = demo['fit_time_budget']
    after = 1.5
    budget = cfg.train_minutes
    # time enough: the config's budget stays
    assert fit(cfg, 10., 10. - after - budget, after) is None
    assert fit(cfg, 0., 9., after) is None  # no limit on the whole demo
    assert cfg.custom_hooks[1].minutes == budget
    # a set-up of 3 minutes (a fresh .venv) comes out of training ...
    note = fit(cfg, 10., 3., after)
    assert cfg.custom_hooks[1].minutes == pytest.approx(7. - after)
    assert note == (f'3.0 of the demo\'s 10 minutes spent before training '
                    f'and {after:.1f} needed after it: training gets '
                    f'{7. - after:.1f} instead of {budget:g} min')
    # ... and the command passes the shortened budget on
    cmd, _ = demo['train_command'](cfg,
                                   argparse.Namespace(
                                       config=TINY_CONFIG,
                                       work_dir='x',
                                       nproc=1))
    assert cmd[-1] == f'custom_hooks.1.minutes={7. - after}'
    # past the limit, training still gets its least time, and says so
    note = fit(cfg, 10., 9.8, after)
    assert cfg.custom_hooks[1].minutes == demo['MIN_TRAIN_MINUTES']
    assert 'will take longer than 10 minutes' in note
    cfg.custom_hooks = []
    assert fit(cfg, 10., 9., after) is None  # no budget to shorten
    with pytest.raises(ValueError, match='--total-minutes must be >= 0'):
        fit(cfg, -1., 0., after)


def _fake_evaluation(cmd, index, keys):
    """What tools/test.py leaves: the metrics JSON and the per-expression
    CSV, each evaluation with its own numbers (metric k of evaluation i is
    ``10 i + k + 0.25``, ``100 + i`` expressions; every IoU is
    ``(i + 1) / 8``)."""
    work_dir = cmd[cmd.index('--work-dir') + 1]
    suffix = '_tta' if '--tta' in cmd else (
        '_shuffle' if '--text-ablation' in cmd else '')
    metrics = {key: 10 * index + k + 0.25 for k, key in enumerate(keys)}
    metrics['num_expressions'] = 100 + index
    with open(osp.join(work_dir, f'test_metrics{suffix}.json'), 'w') as f:
        json.dump(metrics, f)
    return metrics, (index + 1) / 8


def test_demo_runs_its_steps_in_order_and_prints_the_saved_numbers(
        tmp_path, monkeypatch, capsys, synthetic):
    """tools/demo.py main() with training and tools/test.py replaced.

    Training leaves an untrained checkpoint saved "at iteration 7"; each
    evaluation leaves distinct metrics. The printed tables must show each
    evaluation's saved numbers in its own column, the per-type table the
    mIoU of its own CSV, and the overlays come from the trained checkpoint
    after the three evaluations.
    """
    demo = tool_module('demo.py')
    glob = demo['main'].__globals__
    work_dir = str(tmp_path / 'work_dir')
    steps, saved = [], {}

    def load_config(path, *args):
        cfg = real_load_config(path, *args)
        for loader in ('train', 'val', 'test'):
            cfg[f'{loader}_dataloader'].dataset.data_root = synthetic.root
        return cfg

    def generate(root, params, progress=None):
        steps.append('generate')
        assert root == synthetic.root
        # the tool-test data (cached): the demo's own size takes seconds
        return real_generate(
            root, SyntheticParams(num_train=8, num_val=4, num_test=4))

    def run(step, cmd, env=None):
        tool = osp.basename(cmd[1])
        if tool == 'train.py':  # its options: the tests above
            steps.append(tool)
            os.makedirs(work_dir)
            cfg = load_config(TINY_CONFIG)
            checkpoint = osp.join(work_dir, 'iter_7.pth')
            model = glob['init_referring_model'](cfg)
            torch.save(dict(meta=dict(iter=7), state_dict=model.state_dict()),
                       checkpoint)
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(checkpoint)
            return
        assert tool == 'test.py' and cmd[3] == osp.join(work_dir, 'iter_7.pth')
        steps.append(' '.join([tool, *cmd[cmd.index('--work-dir') + 2:]]))
        index = sum(s.startswith('test.py') for s in steps) - 1
        name = list(EVALUATIONS)[index]
        saved[name], iou = _fake_evaluation(cmd, index, METRICS)
        csv_path = cmd[cmd.index('--out') + 1]
        with open(csv_path, 'w') as f:
            f.write('sent_id,image,text,IoU,I,U\n')
            for sent_id in load_scene_sentences(synthetic.root, 'test'):
                f.write(f'{sent_id},x.png,a sentence,{iou},1,8\n')

    def draw(cfg, checkpoint, out_dir, num):
        steps.append('overlays')
        return real_draw(cfg, checkpoint, out_dir, num)

    real_load_config, real_generate = glob['load_config'], glob[
        'generate_synthetic_rrsisd']
    real_draw = glob['draw_examples']
    EVALUATIONS, METRICS = glob['EVALUATIONS'], glob['METRICS']
    monkeypatch.setitem(glob, 'load_config', load_config)
    monkeypatch.setitem(glob, 'generate_synthetic_rrsisd', generate)
    monkeypatch.setitem(glob, 'run', run)
    monkeypatch.setitem(glob, 'draw_examples', draw)
    monkeypatch.setattr(sys, 'argv', [
        'demo.py', '--config', TINY_CONFIG, '--work-dir', work_dir,
        '--nproc', '1', '--total-minutes', '0', '--num-vis', '2'
    ])
    demo['main']()
    out = capsys.readouterr().out

    assert steps == [
        'generate', 'train.py',
        f'test.py --out {work_dir}/test_expressions.csv',
        f'test.py --out {work_dir}/test_expressions_tta.csv --tta',
        f'test.py --out {work_dir}/test_expressions_shuffle.csv '
        '--text-ablation shuffle', 'overlays'
    ]
    assert len(os.listdir(osp.join(work_dir, 'vis'))) == 2
    assert list(saved) == ['sentences', 'flip TTA', 'shuffled']
    rows = {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines() if line.split()
    }
    for key in METRICS:
        assert rows[key][:3] == [f'{saved[name][key]:.2f}'
                                 for name in saved], key
    assert '(100 expressions)' in out
    # mIoU per sentence type: every IoU 1/8 with the sentences, 2/8 with
    # flip TTA
    types = {s['type'] for s in load_scene_sentences(synthetic.root,
                                                     'test').values()}
    assert len(types) > 1
    for kind in types:
        assert rows[kind] == ['12.50', '25.00'], kind
    assert 'training:     7 iterations' in out
