"""Referring segmentation datasets and transforms (registry DATASETS)."""
from .basereferdataset import BaseReferSegDataset
from .refsegrs import RefSegRSDataset
from .rrsisd import RRSISDDataset
from .text_ablation import TextAblationDataset
from .transforms import (LoadReferringAnnotations, PackReferSegInputs,
                         RandomBoxErase, ReferringRandomFlip, flip_text)

__all__ = [
    'BaseReferSegDataset', 'RRSISDDataset', 'RefSegRSDataset',
    'TextAblationDataset', 'LoadReferringAnnotations', 'ReferringRandomFlip',
    'RandomBoxErase', 'PackReferSegInputs', 'flip_text'
]
