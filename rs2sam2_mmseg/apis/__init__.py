from .inference import inference_referring_model, init_referring_model

__all__ = ['init_referring_model', 'inference_referring_model']
