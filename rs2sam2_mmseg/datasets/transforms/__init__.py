"""Transforms of referring segmentation samples (registry TRANSFORMS)."""
from .box_erase import RandomBoxErase
from .flip import ReferringRandomFlip, flip_text
from .formatting import PackReferSegInputs
from .loading import LoadReferringAnnotations
from .sentence import RandomRefSentence
from .union_image import UnionImageResize

__all__ = [
    'LoadReferringAnnotations', 'ReferringRandomFlip', 'RandomBoxErase',
    'PackReferSegInputs', 'RandomRefSentence', 'UnionImageResize',
    'flip_text'
]
