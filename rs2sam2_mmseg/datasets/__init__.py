"""Referring segmentation datasets, samplers and transforms (registries
DATASETS, DATA_SAMPLERS, TRANSFORMS)."""
from .basereferdataset import BaseReferSegDataset
from .refsegrs import RefSegRSDataset
from .rrsisd import RRSISDDataset
from .samplers import SentenceTypeWeightedSampler
from .text_ablation import TextAblationDataset
from .transforms import (LoadReferringAnnotations, PackReferSegInputs,
                         RandomBoxErase, RandomRefSentence,
                         ReferringRandomFlip, UnionImageResize, flip_text)

__all__ = [
    'BaseReferSegDataset', 'RRSISDDataset', 'RefSegRSDataset',
    'TextAblationDataset', 'SentenceTypeWeightedSampler',
    'LoadReferringAnnotations', 'ReferringRandomFlip',
    'RandomBoxErase', 'RandomRefSentence', 'UnionImageResize',
    'PackReferSegInputs', 'flip_text'
]
