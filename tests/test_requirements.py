"""The install ranges (requirements/runtime.txt) and the tested lock."""
import os.path as osp
import runpy
from importlib.metadata import PackageNotFoundError, version
from unittest import mock

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The lock installs mmcv-lite, which provides the ``mmcv`` package.
PROVIDERS = {'mmcv': 'mmcv-lite'}


def read(name: str) -> list:
    """Requirement lines of requirements/<name>.txt, comments dropped."""
    with open(osp.join(REPO, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def lock() -> dict:
    """The lock as {canonical name: version}; every line must pin."""
    pins = {}
    for line in read('lock'):
        name, sep, pinned = line.partition('==')
        assert sep and pinned, f'lock line {line!r} is not NAME==VERSION'
        pins[canonicalize_name(name)] = pinned
    return pins


@pytest.mark.parametrize('name', ['runtime', 'mminstall', 'web'])
def test_ranges_are_satisfied_by_the_lock(name):
    pins = lock()
    for line in read(name):
        req = Requirement(line)
        assert '==' not in str(req.specifier), (
            f'{line!r} in requirements/{name}.txt pins a version: state a '
            'range there and pin in requirements/lock.txt')
        locked = canonicalize_name(PROVIDERS.get(req.name, req.name))
        assert locked in pins, f'{req.name} is not in requirements/lock.txt'
        assert req.specifier.contains(pins[locked], prereleases=True), (
            f'lock pins {locked}=={pins[locked]}, outside {line!r}')


def test_setup_installs_the_ranges():
    with mock.patch('setuptools.setup') as setup:
        runpy.run_path(osp.join(REPO, 'setup.py'), run_name='__main__')
    kwargs = setup.call_args.kwargs
    assert kwargs['install_requires'] == read('runtime')
    assert kwargs['extras_require']['mim'] == read('mminstall')
    assert kwargs['extras_require']['web'] == read('web')


def test_environment_is_the_lock():
    """The running environment has the locked runtime versions."""
    pins = lock()
    for line in read('runtime'):
        name = canonicalize_name(Requirement(line).name)
        try:
            installed = version(name)
        except PackageNotFoundError:
            pytest.fail(f'{name} is not installed: run make install')
        assert installed == pins[name], (
            f'{name} {installed} installed, lock says {pins[name]}: '
            'run make install')
