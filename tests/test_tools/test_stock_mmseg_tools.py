"""MMSeg's own tools/train.py and tools/test.py on a config of the user's.

The plugin is an OpenMMLab plugin: a config outside this repository that
lists ``custom_imports = dict(imports=['rs2sam2_mmseg'])`` must train and
test with the tools that ship inside the installed mmsegmentation package
(its ``.mim/tools/``), with pretrained weights given as model keys and
loaded through MMEngine's init path (``init_weights``), not by anything
our own tools add.
"""
import os.path as osp
import subprocess
import sys
import textwrap

import mmseg
import pytest
import torch

from ..test_models.utils import official_tiny_sam2
from .utils import REPO, data_options, tool_env

STOCK_TOOLS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools')


def run_stock(tool: str, *args: str, cwd: str) -> str:
    """Run mmseg's ``tools/<tool>`` in ``cwd``; return stdout + stderr."""
    result = subprocess.run([sys.executable,
                             osp.join(STOCK_TOOLS, tool), *args],
                            cwd=cwd,
                            env=tool_env(),
                            capture_output=True,
                            text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f'mmseg tools/{tool} exited {result.returncode}:\n'
                    f'{output[-5000:]}')
    return output


def test_stock_train_and_test_load_the_sam2_checkpoint(tmp_path, synthetic):
    sam2_file = str(tmp_path / 'sam2_tiny.pt')
    official_tiny_sam2(sam2_file)
    config = tmp_path / 'my_rs2sam2.py'
    config.write_text(
        textwrap.dedent(f"""\
        _base_ = [{osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic.py')!r}]
        custom_imports = dict(imports=['rs2sam2_mmseg'],
                              allow_failed_imports=False)
        # SAM2's own decoder widths, as the checkpoint file has them
        model = dict(sam2_checkpoint={sam2_file!r},
                     decode_head=dict(decoder_cfg=None))
        """))
    work_dir = str(tmp_path / 'work')
    log = run_stock(
        'train.py',
        str(config),
        '--work-dir',
        work_dir,
        *data_options(synthetic.root, max_iters=2),
        cwd=str(tmp_path))
    assert f'from {sam2_file}' in log  # the components' loading report
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    sam2 = torch.load(sam2_file, weights_only=True)['model']
    # frozen or never trained: exactly the file's values after training
    for ours, official in [
        ('decode_head.prompt_encoder.point_embeddings.0.weight',
         'sam_prompt_encoder.point_embeddings.0.weight'),
        ('decode_head.prompt_encoder.pe_layer.'
         'positional_encoding_gaussian_matrix',
         'sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'),
        ('decode_head.mask_decoder.iou_prediction_head.layers.0.weight',
         'sam_mask_decoder.iou_prediction_head.layers.0.weight'),
    ]:
        torch.testing.assert_close(state[ours], sam2[official])
    log = run_stock(
        'test.py',
        str(config),
        checkpoint,
        '--work-dir',
        work_dir,
        *data_options(synthetic.root),
        cwd=str(tmp_path))
    assert 'mIoU' in log and 'oIoU' in log  # the metric's table
