"""The commands and links of README.md and docs/*.md stay true to the code.

Every line of a ```bash block is a command a reader may paste. The lines
that run a tool of this repository (``python tools/X.py``,
``.venv/bin/python tools/X.py``, ``tools/dist_{train,test}.sh``) are parsed
by that tool's own argument parser; the config each names must exist and
hold every key its ``--cfg-options`` overrides (mmengine would silently add
a misspelt one). Another ``tools/`` script must exist, ``make`` lines must
name a Makefile target; other commands (pip, torchrun, ...) are not
checked. Links and backquoted repository paths must name existing files.
The commands are not run here: the tool tests and ``make demo`` run them.
"""
import glob
import os.path as osp
import re
import runpy
import shlex
from typing import Dict, List, NamedTuple, Optional, Tuple

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = ['README.md'] + sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'docs', '*.md')))
#: Stands in for ``$(cat work_dirs/.../last_checkpoint)``.
CHECKPOINT = 'CKPT'
#: Python interpreters a doc runs the tools with.
PYTHONS = ('python', '.venv/bin/python')
#: Keys that ``--cfg-options`` may add: mmengine reads them, but configs
#: leave them out at their defaults.
ADDED_KEYS = ('optim_wrapper.accumulative_counts', )


class Command(NamedTuple):
    """A tool command of the docs: where it is and what it runs.

    ``args`` is None for a script without a Python parser (``*.sh``).
    """
    doc: str
    line: str
    tool: str
    args: Optional[List[str]]


def read_doc(doc: str) -> str:
    """The text of a doc, by its path relative to the repository."""
    with open(osp.join(REPO, doc), encoding='utf-8') as f:
        return f.read()


def bash_lines(text: str) -> List[str]:
    """The logical lines of the ```bash blocks (continuations joined)."""
    lines = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        lines += [
            ' '.join(line.split())
            for line in block.replace('\\\n', '').split('\n')
            if line.strip() and not line.strip().startswith('#')
        ]
    return lines


def expand(line: str, variables: Dict[str, str]) -> str:
    """Substitute ``$(cat ...)`` and the block's ``$NAME`` variables."""
    line = re.sub(r'\$\(cat [^)]*\)', CHECKPOINT, line)
    return re.sub(r'\$(\w+)', lambda m: variables.get(m[1], m[0]), line)


def to_command(doc: str, line: str) -> Optional[Command]:
    """The tool and arguments of a line; None for ``make`` and others.

    Raises:
        AssertionError: A ``make`` line without a Makefile target, or
            a dist script without its process count.
    """
    words = shlex.split(line, comments=True)
    # NAME=value command ...: the command
    while len(words) > 1 and re.fullmatch(r'\w+=\S*', words[0]):
        words = words[1:]
    if words[0] in PYTHONS and words[1:2] and words[1].startswith('tools/'):
        return Command(doc, line, words[1], words[2:])
    if words[0] == 'tools/dist_train.sh':
        assert words[2].isdigit(), f'{doc}: no process count in {line!r}'
        return Command(doc, line, 'tools/train.py', [words[1]] + words[3:])
    if words[0] == 'tools/dist_test.sh':
        assert words[3].isdigit(), f'{doc}: no process count in {line!r}'
        return Command(doc, line, 'tools/test.py', words[1:3] + words[4:])
    if words[0] == 'make':
        with open(osp.join(REPO, 'Makefile')) as f:
            targets = re.findall(r'^([\w-]+):', f.read(), re.M)
        assert words[1] in targets, f'{doc}: no make target in {line!r}'
        return None
    if words[0].startswith('tools/'):
        return Command(doc, line, words[0], None)
    return None


def doc_commands() -> List[Command]:
    """Every tool command of the docs, variables expanded."""
    commands = []
    for doc in DOCS:
        variables = {}
        for line in bash_lines(read_doc(doc)):
            assignment = re.fullmatch(r'(\w+)="(.*)"', line)
            if assignment:
                variables[assignment[1]] = expand(assignment[2], variables)
                continue
            command = to_command(doc, expand(line, variables))
            if command:
                commands.append(command)
    return commands


def check_available(name: str) -> bool:
    """Whether ``name`` (a path, or ``config:key``) exists."""
    path, _, key = name.partition(':')
    return osp.exists(osp.join(REPO, path)) and (not key or has_key(
        Config.fromfile(osp.join(REPO, path)), key))


def has_key(cfg: Config, key: str) -> bool:
    """Whether a dotted key (list indices as numbers) is in a config."""
    node = cfg.to_dict()
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


COMMANDS = doc_commands()


@pytest.mark.parametrize(
    'command', COMMANDS, ids=[f'{c.doc}:{c.line[:60]}' for c in COMMANDS])
def test_command_parses(command):
    assert check_available(command.tool), f'{command.doc}: no {command.tool}'
    if command.args is None:
        return
    tool = runpy.run_path(osp.join(REPO, command.tool))
    # tools/make_synthetic.py has parse_args(argv) instead of build_parser()
    parse = tool['build_parser']().parse_args if 'build_parser' in tool \
        else tool['parse_args']
    try:
        args = parse(command.args)
    except SystemExit:
        pytest.fail(f'{command.doc}: {command.tool} rejects '
                    f'{command.line!r} (see the error above)')
    config = getattr(args, 'config', None)
    if config is None:
        return
    assert check_available(config), f'{command.doc}: no {config}'
    for key in set(args.cfg_options or {}) - set(ADDED_KEYS):
        assert check_available(f'{config}:{key}'), (
            f'{command.doc}: {config} has no key {key} ({command.line!r})')


def test_commands_found():
    """The parser of the docs finds the commands it should."""
    tools = {c.tool for c in COMMANDS}
    assert {
        'tools/train.py', 'tools/test.py', 'tools/infer.py',
        'tools/benchmark.py'
    } <= tools


def doc_paths() -> List[Tuple[str, str]]:
    """``(doc, path)`` for every relative link and backquoted repo path."""
    paths = []
    for doc in DOCS:
        text = read_doc(doc)
        paths += [(doc, osp.normpath(osp.join(osp.dirname(doc), target)))
                  for target in re.findall(r'\]\(([^)#\s:]+)[^)]*\)', text)]
        paths += [(doc, path) for path in re.findall(
            r'`((?:configs|tools|docs|requirements|tests|rs2sam2_mmseg)/'
            r'[\w./-]+)`', text)]
    return paths


LINKS = doc_paths()


@pytest.mark.parametrize(
    'doc, path', LINKS, ids=[f'{d}->{p}' for d, p in LINKS])
def test_link_exists(doc, path):
    assert check_available(path), f'{doc} names {path}, which is missing'
