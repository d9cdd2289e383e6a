"""tools/dist_train.sh and tools/dist_test.sh: 2 CPU processes (gloo).

Distributed evaluation must count every expression exactly once although
the sampler pads the odd-sized test split to an even number of samples.
"""
import json
import os
import os.path as osp
import pickle
import subprocess

from rs2sam2_mmseg.utils import free_port
from .utils import TINY_CONFIG, TOOLS, data_options, run, tool_env


def test_dist_train(tmp_path, synthetic):
    """Both ranks train and evaluate; every val expression counted once."""
    work_dir = tmp_path / 'work_dir'
    result = run([
        'bash', 'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir',
        str(work_dir), *data_options(synthetic.root),
        'val_dataloader.dataset.split=test'
    ],
                 PORT=str(free_port()))
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log
    assert 'Iter(train) [2/2]' in log
    assert synthetic.sentences['test'] % 2, 'an odd split gets padded'
    assert f'num_expressions: {synthetic.sentences["test"]}' in log
    assert (work_dir / 'iter_2.pth').is_file()


def test_dist_test(tmp_path, synthetic, trained):
    """Text ablation, --out .pkl and --show-dir over 2 ranks."""
    work_dir, show_dir = tmp_path / 'work_dir', tmp_path / 'vis'
    out = tmp_path / 'predictions.pkl'
    result = run([
        'bash', 'tools/dist_test.sh', TINY_CONFIG, trained.checkpoint, '2',
        '--work-dir',
        str(work_dir), '--text-ablation', 'shuffle', '--out',
        str(out), '--show-dir',
        str(show_dir), *data_options(synthetic.root)
    ],
                 PORT=str(free_port()))
    num = synthetic.sentences['test']
    assert 'text ablation: shuffle' in result.stdout
    with open(work_dir / 'test_metrics_shuffle.json') as f:
        assert json.load(f)['num_expressions'] == num
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len({p['sent_id'] for p in predictions}) == len(predictions) == num
    # each rank draws its own samples
    assert len(os.listdir(show_dir)) == num


def test_dist_usage():
    """Too few arguments: a usage line and exit status 2."""
    for script in ('dist_train.sh', 'dist_test.sh', 'dist_run.sh'):
        result = subprocess.run(['bash', osp.join(TOOLS, script)],
                                env=tool_env(),
                                capture_output=True,
                                text=True)
        assert result.returncode == 2
        assert result.stderr.startswith('usage:')
