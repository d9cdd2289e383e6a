"""Installation of the rs2sam2-mmseg plugin.

The runtime stack is pinned: torch 2.14 needs setuptools>=77, mmengine needs
``pkg_resources`` (removed from setuptools 81), and full mmcv does not build
against torch 2.14, so the plugin runs on mmcv-lite (see
``rs2sam2_mmseg/compat.py``). Install everything in ONE pip command so the
resolver sees every pin at once; SAM2 must be built with SAM2_BUILD_CUDA=0.
"""
from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    'torch==2.14.1',
    'torchvision==0.29.1',
    'mmengine==0.10.7',
    'mmcv-lite==2.1.0',
    'mmsegmentation==1.2.2',
    'sam2==1.1.0',
    'open-clip-torch==3.3.0',
    'safetensors',
    'pycocotools',
    'ftfy',
    'regex',
    'sentencepiece',
    'setuptools>=77.0.3,<81',
]

setup(
    name='rs2sam2-mmseg',
    version='0.1.0',
    description='RS2-SAM2 referring remote-sensing segmentation as an '
    'MMSegmentation plugin',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['rs2sam2_mmseg', 'rs2sam2_mmseg.*']),
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require={'test': ['pytest']},
    license='Apache-2.0',
)
