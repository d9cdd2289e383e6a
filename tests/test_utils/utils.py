"""Checkpoints built with the real builders, for the weight tests."""
import open_clip
import torch
from safetensors.torch import save_file

from ..test_models.utils import tiny_cfg


def save_open_clip(path: str, custom_text: bool) -> dict:
    """Save the tiny config's open_clip towers as open_clip would.

    The model is created by ``open_clip.create_model`` from the tiny
    config's ``union_encoder`` arguments, so its keys are open_clip's own.

    Args:
        path (str): ``.pt`` / ``.bin`` (torch) or ``.safetensors``.
        custom_text (bool): ``force_custom_text``: ``text.*`` keys; False
            gives the classic CLIP layout (``token_embedding``,
            ``transformer.*``, ``ln_final``, ``text_projection``).

    Returns:
        dict[str, Tensor]: The saved state dict.
    """
    cfg = tiny_cfg().model.union_encoder
    torch.manual_seed(0)
    model = open_clip.create_model(
        cfg.model_name,
        force_custom_text=custom_text,
        force_image_size=cfg.image_size,
        force_context_length=cfg.context_length,
        **cfg.model_kwargs)
    state = model.state_dict()
    if path.endswith('.safetensors'):
        save_file(state, path)
    else:
        torch.save(state, path)
    return state
