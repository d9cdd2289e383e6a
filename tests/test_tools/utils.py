"""Helpers of the tool tests: run a tool as a subprocess or in-process."""
import os
import os.path as osp
import runpy
import subprocess
import sys
from typing import Dict, List, Sequence

import pytest
from mmengine.logging import MMLogger

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
TINY_CONFIG = osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic.py')
#: The metric names tools/test.py prints.
METRIC_KEYS = ('mIoU', 'oIoU', 'Pr@0.5', 'Pr@0.6', 'Pr@0.7', 'Pr@0.8',
               'Pr@0.9', 'num_expressions')


def tool_env() -> Dict[str, str]:
    """The environment of a tool subprocess.

    One intra-op thread per process: the test machine's cores are shared
    and oversubscribed OpenMP threads slow the tiny model down 50x.
    """
    return dict(
        os.environ,
        PYTHONWARNINGS='ignore',
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHON=sys.executable)


def run(command: Sequence[str], **env: str) -> subprocess.CompletedProcess:
    """Run a command in the repository root; fail the test if it fails.

    Args:
        command (Sequence[str]): The command.
        **env (str): Extra environment variables.

    Returns:
        subprocess.CompletedProcess: With text ``stdout`` and ``stderr``.
    """
    result = subprocess.run(
        list(command),
        cwd=REPO,
        env=dict(tool_env(), **env),
        capture_output=True,
        text=True,
        timeout=600)
    if result.returncode != 0:
        pytest.fail(f'{" ".join(command)} exited {result.returncode}\n'
                    f'--- stdout ---\n{result.stdout[-3000:]}\n'
                    f'--- stderr ---\n{result.stderr[-5000:]}')
    return result


def run_tool(tool: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``python tools/<tool> ARGS`` (see :func:`run`)."""
    return run([sys.executable, osp.join('tools', tool), *args])


def data_options(data_root: str, max_iters: int = 2) -> List[str]:
    """``--cfg-options`` for the tiny config on a small synthetic set.

    Args:
        data_root (str): The synthetic dataset.
        max_iters (int): Training iterations (checkpoint and validation
            every 2). Defaults to 2.

    Returns:
        list[str]: ``['--cfg-options', 'key=value', ...]``.
    """
    options = [
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1'
    ]
    for loader in ('train', 'val', 'test'):
        options += [
            f'{loader}_dataloader.dataset.data_root={data_root}',
            f'{loader}_dataloader.batch_size=4',
            f'{loader}_dataloader.num_workers=0'
        ]
    return ['--cfg-options', *options]


def tool_module(tool: str) -> dict:
    """Import ``tools/<tool>`` (not as ``__main__``).

    Returns:
        dict: The module's globals (``build_parser``, ``main``, ...).
    """
    return runpy.run_path(osp.join(TOOLS, tool))


def assert_documented(tool: str) -> None:
    """Every argument of the tool has a help text shown by ``--help``."""
    parser = tool_module(tool)['build_parser']()
    text = parser.format_help()
    for action in parser._actions:
        assert action.help, f'{tool}: {action.dest} has no help'
        names = action.option_strings or [action.metavar or action.dest]
        assert names[0] in text, f'{tool}: {names[0]} not in --help'


def assert_cli_error(monkeypatch, capsys, tool: str, args: Sequence[str],
                     match: str) -> None:
    """The tool fails with exit 1 and a single ``error: ...`` line.

    Runs ``tools/<tool>`` in this process (no import cost) as
    ``__main__``: an error that escaped ``run_cli`` would raise here
    instead of exiting.

    Args:
        monkeypatch: pytest's fixture.
        capsys: pytest's fixture.
        tool (str): E.g. ``'train.py'``.
        args (Sequence[str]): Command-line arguments.
        match (str): Text the error line must contain.
    """
    monkeypatch.setattr(sys, 'argv', [tool, *args])
    # loggers the tool creates write to this call's captured stderr, which
    # pytest closes later: forget them, or later logging fails
    loggers = set(MMLogger._instance_dict)
    try:
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(osp.join(TOOLS, tool), run_name='__main__')
    finally:
        for name in set(MMLogger._instance_dict) - loggers:
            del MMLogger._instance_dict[name]
    err = capsys.readouterr().err
    assert exit_info.value.code == 1, err
    lines = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and match in lines[0], err
    assert 'Traceback' not in err
