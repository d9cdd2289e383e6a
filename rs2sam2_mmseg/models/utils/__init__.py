from .checkpoint import load_prefixed_weights, load_sam2_state_dict
from .grad_scale import scale_grad, scale_grad_dict
from .param_summary import (count_parameters, format_parameter_table,
                            parameter_table)
from .regions import keep_strongest_region
from .resize import resize_square
from .sam2_parts import (build_sam2_heads, build_sam2_image_encoder,
                         decode_sam2_masks, load_sam2_model_cfg,
                         resolve_sam2_config)
from .xlmr_tokenizer import XLMRobertaSentencePieceTokenizer

__all__ = [
    'load_prefixed_weights', 'load_sam2_state_dict', 'count_parameters',
    'format_parameter_table', 'parameter_table', 'keep_strongest_region',
    'build_sam2_heads', 'build_sam2_image_encoder', 'decode_sam2_masks',
    'load_sam2_model_cfg', 'resize_square', 'resolve_sam2_config',
    'scale_grad', 'scale_grad_dict', 'XLMRobertaSentencePieceTokenizer'
]
