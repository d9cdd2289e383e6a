from .language_prompts import DecoderTextFusion, MaskPromptGenerator
from .mask_prompt_head import SAM2MaskPromptHead
from .mask_refiner import ImageGuidedMaskRefiner

__all__ = [
    'DecoderTextFusion', 'ImageGuidedMaskRefiner', 'MaskPromptGenerator',
    'SAM2MaskPromptHead'
]
