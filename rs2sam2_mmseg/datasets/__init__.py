"""Referring segmentation datasets and transforms (registries DATASETS,
TRANSFORMS)."""
from .basereferdataset import BaseReferSegDataset
from .refsegrs import RefSegRSDataset
from .rrsisd import RRSISDDataset
from .text_ablation import TextAblationDataset
from .transforms import (LoadReferringAnnotations, PackReferSegInputs,
                         RandomBoxErase, RandomRefSentence,
                         ReferringRandomFlip, UnionImageResize, flip_text)

__all__ = [
    'BaseReferSegDataset', 'RRSISDDataset', 'RefSegRSDataset',
    'TextAblationDataset', 'LoadReferringAnnotations', 'ReferringRandomFlip',
    'RandomBoxErase', 'RandomRefSentence', 'UnionImageResize',
    'PackReferSegInputs', 'flip_text'
]
