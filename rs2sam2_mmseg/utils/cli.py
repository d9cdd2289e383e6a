"""Command-line plumbing shared by the tools: arguments and errors."""
import argparse
import gc
import os
import os.path as osp
import pickle
import socket
import sys
from typing import Callable

import torch.distributed as torch_dist
from mmengine.config import DictAction

from .config import LAUNCHERS
from .errors import UserInputError

#: Errors caused by what the user gave or the machine (our own checks'
#: :class:`UserInputError`; files that are missing, unreadable, cut short or
#: refused; a full or read-only disk; a diverged training run); the tools
#: print their message without a traceback. Anything else is a bug and keeps
#: its traceback.
USER_ERRORS = (UserInputError, OSError, EOFError, pickle.UnpicklingError,
               FloatingPointError)


def free_port() -> int:
    """A local TCP port nobody listens on now (torchrun's ``PORT``)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def tool_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose help shows a tool's module docstring.

    Args:
        doc (str): The docstring: a one-line summary, a blank line, then
            details and examples (shown after the arguments).

    Returns:
        argparse.ArgumentParser: The parser.
    """
    summary, _, details = doc.strip().partition('\n')
    return argparse.ArgumentParser(
        description=summary,
        epilog=details.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """Add MMSeg's ``--cfg-options KEY=VALUE ...`` config overrides.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        metavar='KEY=VALUE',
        help='override config keys, e.g. '
        'train_dataloader.dataset.data_root=data/x model.sam2_checkpoint=x.pt '
        'train_dataloader.batch_size=4 (lists as key="[a,b]")')


def add_allow_partial(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-partial``: load a checkpoint that does not fit.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='load a checkpoint that does not fit the model (tensors of '
        'another shape or name keep their initialisation); without it '
        'such a checkpoint is refused')


def add_runner_arguments(parser: argparse.ArgumentParser,
                         work_dir_help: str) -> None:
    """Add the MMSeg Runner options: work dir, overrides, launcher.

    ``--work-dir``, ``--cfg-options`` (:func:`add_cfg_options`),
    ``--launcher`` and ``--local-rank`` (``torch.distributed.launch``
    passes it; it is exported as ``LOCAL_RANK`` unless torchrun already
    did).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        work_dir_help (str): What the tool writes to its work dir.
    """
    parser.add_argument(
        '--work-dir',
        help=f"{work_dir_help} (default: the config's work_dir, else "
        './work_dirs/<config name>)')
    add_cfg_options(parser)
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='none',
        help='job launcher: pytorch = torchrun (tools/dist_*.sh; gloo on '
        'machines without CUDA) (default: %(default)s)')
    parser.add_argument(
        '--local-rank',
        '--local_rank',
        type=int,
        default=0,
        help='process index on the node, set by torch.distributed.launch '
        '(torchrun sets LOCAL_RANK instead)')


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse ``sys.argv`` and export ``--local-rank`` as ``LOCAL_RANK``.

    Args:
        parser (argparse.ArgumentParser): A parser given
            :func:`add_runner_arguments`.

    Returns:
        argparse.Namespace: The arguments.
    """
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def shutdown_distributed() -> None:
    """Release the process group before the interpreter exits.

    Left to interpreter shutdown, gloo's threads are destroyed while still
    joinable and the process aborts now and then ('terminate called without
    an active exception', exit -6) after its work is done. The runner's
    reference cycles (its DDP wrapper holds the group) are collected first.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        gc.collect()
        torch_dist.destroy_process_group()


def check_output_path(path: str, what: str, folder: bool = False) -> str:
    """Check, before any work, that an output file or folder can be made.

    The nearest existing folder above ``path`` must be writable and no
    file may stand where a folder is needed, so that results computed for
    minutes are not lost to a bad path at the end.

    Args:
        path (str): The output file (or folder, see ``folder``).
        what (str): The option it came from, e.g. '--out'.
        folder (bool): ``path`` is a folder. Defaults to False.

    Returns:
        str: ``path``.
    """
    target = osp.abspath(path)
    if folder and osp.exists(target) and not osp.isdir(target):
        raise UserInputError(f'{what} {path}: a file of that name exists; '
                             'give a folder')
    if not folder and osp.isdir(target):
        raise UserInputError(f'{what} {path} is a folder; give a file name')
    parent = target if folder else osp.dirname(target)
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        raise UserInputError(f'{what} {path} cannot be written: {parent} is '
                             'a file, not a folder')
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserInputError(f'{what} {path} cannot be written: no '
                             f'permission to write in {parent}')
    return path


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's ``main``; user errors become ``error: ...`` + exit 1.

    :data:`USER_ERRORS` are printed as ``error: <the whole message>`` on
    stderr, without a traceback; every other exception (a bug) keeps its
    traceback. Set ``RS2SAM2_DEBUG=1`` to get the traceback of user errors
    too. A distributed process group is destroyed when ``main`` returns.

    Args:
        main (Callable[[], None]): The tool's entry point.
    """
    try:
        main()
        shutdown_distributed()
    except USER_ERRORS as err:
        if os.environ.get('RS2SAM2_DEBUG'):
            raise
        text = str(err).strip() or type(err).__name__
        print(f'error: {text}', file=sys.stderr)
        sys.exit(1)
