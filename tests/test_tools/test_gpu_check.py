"""tools/gpu_check.sh: without CUDA one line saying so (the check itself
runs on a GPU machine; its output format is in docs/distributed.md)."""
import subprocess

import pytest
import torch

from .utils import REPO, tool_env


@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA present')
def test_gpu_check_needs_cuda(tmp_path):
    result = subprocess.run(['bash', 'tools/gpu_check.sh'],
                            cwd=REPO,
                            env=dict(tool_env(), OUT=str(tmp_path)),
                            capture_output=True,
                            text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'error: tools/gpu_check.sh needs CUDA '
        '(torch.cuda.is_available() is False)'
    ]
    assert not list(tmp_path.iterdir())
