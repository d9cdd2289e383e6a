from .mask_prompt_head import MaskPromptGenerator, SAM2MaskPromptHead
from .mask_refiner import ImageGuidedMaskRefiner

__all__ = [
    'ImageGuidedMaskRefiner', 'MaskPromptGenerator', 'SAM2MaskPromptHead'
]
