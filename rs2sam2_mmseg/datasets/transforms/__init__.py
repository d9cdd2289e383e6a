"""Transforms of referring segmentation samples (registry TRANSFORMS)."""
from .box_erase import RandomBoxErase
from .flip import ReferringRandomFlip, flip_text
from .formatting import PackReferSegInputs
from .loading import LoadReferringAnnotations

__all__ = [
    'LoadReferringAnnotations', 'ReferringRandomFlip', 'RandomBoxErase',
    'PackReferSegInputs', 'flip_text'
]
