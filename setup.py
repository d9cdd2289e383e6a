"""Installation of the rs2sam2-mmseg plugin.

``install_requires`` states what the code needs, as ranges
(``requirements/runtime.txt``), so that ``pip install -e .`` fits into an
existing MMSegmentation environment without replacing its torch or mmcv.
mmcv itself is not required here, as mmsegmentation does not require it
(``requirements/mminstall.txt`` gives its range). The exact tested set is
``requirements/lock.txt``: ``make install`` installs with it as pip
constraints, plus mmcv-lite (full mmcv does not build against torch 2.14;
see ``rs2sam2_mmseg/compat.py``). SAM2 must be built with
``SAM2_BUILD_CUDA=0`` where no CUDA toolkit is present.
"""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list:
    """The requirement lines of ``requirements/<name>.txt``.

    Args:
        name (str): File stem, e.g. ``'runtime'``.

    Returns:
        list[str]: Requirements, comments and blank lines dropped.
    """
    with open(osp.join(HERE, 'requirements', f'{name}.txt'),
              encoding='utf-8') as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='rs2sam2-mmseg',
    version='0.1.0',
    description='RS2-SAM2 referring remote-sensing segmentation as an '
    'MMSegmentation plugin',
    long_description=open(
        osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['rs2sam2_mmseg', 'rs2sam2_mmseg.*']),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime'),
    extras_require={
        'test': read_requirements('tests'),
        'mim': read_requirements('mminstall'),
        'web': read_requirements('web'),
        # ZeRO configs (configs/*_zero2.py) only; needs CUDA to run
        'deepspeed': read_requirements('deepspeed'),
    },
    license='Apache-2.0',
)
