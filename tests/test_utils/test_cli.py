"""Command-line plumbing: one-line errors, shared arguments."""
import os

import pytest

from rs2sam2_mmseg.utils import (add_runner_arguments, parse_tool_args,
                                 run_cli, tool_parser)


def fail(error: Exception):
    """A tool ``main`` raising ``error``."""

    def main() -> None:
        raise error

    return main


@pytest.mark.parametrize('error, line', [
    (FileNotFoundError("Config file 'x.py' does not exist"),
     "error: Config file 'x.py' does not exist"),
    (KeyError('no "sent_id"'), 'error: no "sent_id"'),
    (ValueError('first line\nsecond line'),
     'error: first line (RS2SAM2_DEBUG=1 shows more)'),
])
def test_run_cli_user_errors(monkeypatch, capsys, error, line):
    monkeypatch.delenv('RS2SAM2_DEBUG', raising=False)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(fail(error))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == line + '\n'


def test_run_cli_other_errors(monkeypatch):
    # bugs keep their traceback; RS2SAM2_DEBUG shows user errors' too
    with pytest.raises(RuntimeError):
        run_cli(fail(RuntimeError('bug')))
    monkeypatch.setenv('RS2SAM2_DEBUG', '1')
    with pytest.raises(ValueError):
        run_cli(fail(ValueError('bad value')))
    run_cli(lambda: None)


def test_tool_parser(monkeypatch):
    parser = tool_parser('Do a thing.\n\nExample:\n    do it\n')
    add_runner_arguments(parser, 'where it goes')
    text = parser.format_help()
    assert text.startswith('usage:') and 'Do a thing.' in text
    assert text.rstrip().endswith('do it')
    for option in ('--work-dir', '--cfg-options', '--launcher',
                   '--local-rank'):
        assert option in text
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    monkeypatch.setattr(
        'sys.argv',
        ['tool', '--local_rank', '1', '--cfg-options', 'a.b=1', 'c=[1,2]'])
    args = parse_tool_args(parser)
    assert os.environ['LOCAL_RANK'] == '1'
    assert args.cfg_options == {'a.b': 1, 'c': [1, 2]}
    assert args.launcher == 'none' and args.work_dir is None
