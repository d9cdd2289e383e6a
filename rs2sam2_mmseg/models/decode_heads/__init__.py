from .mask_prompt_head import MaskPromptGenerator, SAM2MaskPromptHead

__all__ = ['MaskPromptGenerator', 'SAM2MaskPromptHead']
