"""Inference API."""
from .inference import (check_sentences, inference_pipeline,
                        inference_referring_model, init_referring_model,
                        read_image, referring_tta_model)
from .raster import RasterImage, read_raster, to_display_rgb

__all__ = [
    'init_referring_model', 'inference_referring_model', 'inference_pipeline',
    'read_image', 'check_sentences', 'referring_tta_model', 'RasterImage',
    'read_raster', 'to_display_rgb'
]
