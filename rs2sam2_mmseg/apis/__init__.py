"""Inference API."""
from .inference import (check_sentences, checkpoint_misfit, inference_pipeline,
                        inference_referring_model, init_referring_model,
                        load_referring_checkpoint, read_image,
                        referring_tta_model)
from .raster import RasterImage, read_raster, to_display_rgb

__all__ = [
    'init_referring_model', 'inference_referring_model', 'inference_pipeline',
    'read_image', 'check_sentences', 'load_referring_checkpoint',
    'checkpoint_misfit', 'referring_tta_model', 'RasterImage', 'read_raster',
    'to_display_rgb'
]
