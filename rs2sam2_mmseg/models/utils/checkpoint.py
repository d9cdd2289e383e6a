"""Load parts of official SAM2 checkpoints into our modules.

Official SAM2 checkpoints are ``{"model": state_dict}`` with keys
``image_encoder.trunk.*``, ``image_encoder.neck.*``, ``sam_prompt_encoder.*``,
``sam_mask_decoder.*``, ``no_mem_embed`` and memory parts (ignored here).
"""
import os.path as osp
from typing import Dict, List

from mmengine.logging import print_log
from torch import Tensor, nn

from ...utils.checkpoint_io import load_checkpoint_file
from ...utils.errors import UserInputError

#: Keys of official SAM2 checkpoints for the parts RS2-SAM2 uses (prefixes
#: end with '.'); also the source side of ``utils.weights.SAM2_LAYOUT``.
SAM2_IMAGE_ENCODER = 'image_encoder.'
SAM2_PROMPT_ENCODER = 'sam_prompt_encoder.'
SAM2_MASK_DECODER = 'sam_mask_decoder.'
SAM2_NO_MEM_EMBED = 'no_mem_embed'


def load_sam2_state_dict(path: str) -> Dict[str, Tensor]:
    """Read an official SAM2 checkpoint (tensors and plain containers only:
    :func:`~rs2sam2_mmseg.utils.load_checkpoint_file`).

    Args:
        path (str): Local ``.pt`` file.

    Returns:
        dict[str, Tensor]: The ``model`` state dict.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'SAM2 checkpoint {path!r} does not exist. Download e.g. '
            'sam2.1_hiera_large.pt and pass its local path (configs: '
            '--cfg-options model.sam2_checkpoint=/path/to/file.pt).')
    ckpt = load_checkpoint_file(path)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get('model'), dict):
        raise UserInputError(
            f'{path} is not an official SAM2 checkpoint: expected a dict '
            'with a "model" state dict, got '
            f'{type(ckpt).__name__} with keys {list(ckpt)[:5]}'
            if isinstance(ckpt, dict) else f'{type(ckpt).__name__}')
    return ckpt['model']


def load_prefixed_weights(module: nn.Module, state_dict: Dict[str, Tensor],
                          prefix: str, source: str) -> Dict[str, List[str]]:
    """Load the ``prefix``-ed entries of ``state_dict`` into ``module``.

    Missing and unexpected keys are logged; a shape mismatch or zero matched
    keys raises an error naming ``source``.

    Args:
        module (nn.Module): The target module.
        state_dict (dict[str, Tensor]): A full checkpoint state dict.
        prefix (str): E.g. ``'image_encoder.'``.
        source (str): The file the state dict came from, for messages.

    Returns:
        dict: ``matched``, ``missing`` and ``unexpected`` key lists (names
        relative to ``module``).
    """
    sub = {
        k[len(prefix):]: v
        for k, v in state_dict.items() if k.startswith(prefix)
    }
    try:
        result = module.load_state_dict(sub, strict=False)
    except RuntimeError as err:  # shapes that do not fit
        raise UserInputError(f'Loading {prefix}* from {source} failed: '
                             f'{err}') from err
    matched = sorted(set(sub) - set(result.unexpected_keys))
    if not matched:
        raise UserInputError(
            f'No key of {source} matched {type(module).__name__} under '
            f'prefix {prefix!r}: is it an official SAM2 checkpoint of a '
            'model with the same config?')
    print_log(
        f'Loaded {len(matched)} tensors for {prefix}* from {source}; '
        f'missing: {result.missing_keys or "none"}; '
        f'unexpected: {result.unexpected_keys or "none"}',
        logger='current')
    return dict(
        matched=matched,
        missing=list(result.missing_keys),
        unexpected=list(result.unexpected_keys))


class SAM2WeightsMixin:
    """``init_weights()`` loads ``self.sam2_checkpoint`` when it is set.

    For modules that hold SAM2 parts: they define ``sam2_checkpoint`` and
    ``load_sam2_weights(state_dict, source)``.
    """

    def init_weights(self) -> None:
        """Initialise, then load the official SAM2 checkpoint if given."""
        super().init_weights()
        if self.sam2_checkpoint:
            self.load_sam2_weights(
                load_sam2_state_dict(self.sam2_checkpoint),
                self.sam2_checkpoint)
