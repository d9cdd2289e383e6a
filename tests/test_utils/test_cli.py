"""Command-line plumbing: one-line errors, shared arguments."""
import os

import pytest

from rs2sam2_mmseg.utils import (UserInputError, add_runner_arguments,
                                 check_output_path, parse_tool_args, run_cli,
                                 tool_parser)


def fail(error: Exception):
    """A tool ``main`` raising ``error``."""

    def main() -> None:
        raise error

    return main


@pytest.mark.parametrize('error, line', [
    (FileNotFoundError("Config file 'x.py' does not exist"),
     "error: Config file 'x.py' does not exist"),
    (UserInputError('3 of 200 image files are missing:\n  a.jpg\n  b.jpg'),
     'error: 3 of 200 image files are missing:\n  a.jpg\n  b.jpg'),
    (PermissionError(13, 'Permission denied', 'w/iter_2.pth'),
     "error: [Errno 13] Permission denied: 'w/iter_2.pth'"),
    (OSError(28, 'No space left on device'),
     'error: [Errno 28] No space left on device'),
    (EOFError('Ran out of input'), 'error: Ran out of input'),
    (FloatingPointError('Non-finite loss (nan) at iteration 3'),
     'error: Non-finite loss (nan) at iteration 3'),
])
def test_run_cli_user_errors(monkeypatch, capsys, error, line):
    # the whole message, every line of it, and no traceback
    monkeypatch.delenv('RS2SAM2_DEBUG', raising=False)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(fail(error))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == line + '\n'


@pytest.mark.parametrize(
    'error', [RuntimeError('bug'),
              ValueError('bug'),
              KeyError('bug'),
              TypeError('bug')])
def test_run_cli_bugs_keep_traceback(monkeypatch, error):
    monkeypatch.delenv('RS2SAM2_DEBUG', raising=False)
    with pytest.raises(type(error)):
        run_cli(fail(error))


def test_run_cli_debug(monkeypatch):
    monkeypatch.setenv('RS2SAM2_DEBUG', '1')
    with pytest.raises(UserInputError):
        run_cli(fail(UserInputError('bad value')))
    run_cli(lambda: None)


def test_check_output_path(tmp_path):
    assert check_output_path(str(tmp_path / 'a' / 'b.csv'), '--out')
    assert check_output_path(str(tmp_path / 'vis'), '--show-dir', True)
    (tmp_path / 'file').write_text('x')
    with pytest.raises(UserInputError, match='file, not a folder'):
        check_output_path(str(tmp_path / 'file' / 'b.csv'), '--out')
    with pytest.raises(UserInputError, match='a file of that name exists'):
        check_output_path(str(tmp_path / 'file'), '--out-dir', True)
    with pytest.raises(UserInputError, match='is a folder'):
        check_output_path(str(tmp_path), '--out')
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    if not os.access(locked, os.W_OK):  # root writes anywhere
        with pytest.raises(UserInputError, match='no permission'):
            check_output_path(str(locked / 'x' / 'b.csv'), '--out')


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
