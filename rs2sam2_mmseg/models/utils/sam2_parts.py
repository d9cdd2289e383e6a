"""Build SAM2 parts from the ``sam2`` package's own YAML configs.

``sam2`` describes a model as a Hydra YAML file (``configs/sam2.1/*.yaml``)
whose ``model`` node holds ``_target_`` entries. We read that file with
OmegaConf (no ``hydra.compose``: importing ``sam2`` already initialised Hydra
globally), merge the user's overrides and instantiate only the parts RS2-SAM2
needs: the image encoder (Hiera trunk + FPN neck) and the SAM heads (prompt
encoder + mask decoder). The memory modules used for video are never built.
"""
import os.path as osp
from collections.abc import Mapping
from typing import Callable, Dict, List, Optional, Tuple

import sam2
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sam2.modeling.sam.mask_decoder import MaskDecoder
from sam2.modeling.sam.prompt_encoder import PromptEncoder
from sam2.modeling.sam.transformer import TwoWayTransformer
from torch import Tensor, nn

SAM2_CONFIG_DIR = osp.join(osp.dirname(sam2.__file__), 'configs')

#: SAM2's prompt-encoder mask channels (hard-coded in ``SAM2Base``).
MASK_IN_CHANS = 16


def resolve_sam2_config(name: str) -> str:
    """Find the YAML file of a SAM2 config name.

    Args:
        name (str): A name such as ``'sam2.1_hiera_l'``, ``'sam2_hiera_t'``
            (looked up in the ``sam2`` package's ``configs/``), or a path to
            a YAML file.

    Returns:
        str: The path of the YAML file.
    """
    if osp.isfile(name):
        return name
    family = 'sam2.1' if name.startswith('sam2.1') else 'sam2'
    path = osp.join(SAM2_CONFIG_DIR, family, f'{name}.yaml')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Unknown SAM2 config {name!r}: neither a file nor one of the '
            f'configs in {SAM2_CONFIG_DIR} (e.g. sam2.1_hiera_t, '
            'sam2.1_hiera_s, sam2.1_hiera_b+, sam2.1_hiera_l).')
    return path


def _plain(obj):
    """Nested mappings/sequences (e.g. mmengine ConfigDict) as dict/list."""
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def load_sam2_model_cfg(name: str,
                        overrides: Optional[dict] = None) -> DictConfig:
    """Read the ``model`` node of a SAM2 config and merge overrides.

    Args:
        name (str): See :func:`resolve_sam2_config`.
        overrides (dict, optional): Nested keys merged into the ``model``
            node, e.g. ``dict(image_size=256, image_encoder=dict(trunk=dict(
            embed_dim=16)))``. Defaults to None.

    Returns:
        DictConfig: The resolved ``model`` node.
    """
    model_cfg = OmegaConf.load(resolve_sam2_config(name)).model
    if overrides:
        model_cfg = OmegaConf.merge(model_cfg,
                                    OmegaConf.create(_plain(overrides)))
    OmegaConf.resolve(model_cfg)
    return model_cfg


def build_sam2_image_encoder(model_cfg: DictConfig) -> nn.Module:
    """Instantiate ``sam2.modeling.backbones.image_encoder.ImageEncoder``.

    Args:
        model_cfg (DictConfig): The ``model`` node of a SAM2 config.

    Returns:
        nn.Module: The image encoder (``trunk`` = Hiera, ``neck`` = FpnNeck).
    """
    return instantiate(model_cfg.image_encoder, _recursive_=True)


def sam2_embedding_size(model_cfg: DictConfig) -> int:
    """Side of the stride-16 image embedding, e.g. 64 for 1024 input."""
    return model_cfg.image_size // model_cfg.get('backbone_stride', 16)


def build_sam2_heads(
        model_cfg: DictConfig,
        transformer_cfg: Optional[Dict[str, int]] = None
) -> Tuple[PromptEncoder, MaskDecoder]:
    """Build SAM2's prompt encoder and mask decoder as ``SAM2Base`` does.

    Mirrors ``SAM2Base._build_sam_heads`` so that the parameter names and
    shapes match the official checkpoints' ``sam_prompt_encoder.*`` and
    ``sam_mask_decoder.*`` keys.

    Args:
        model_cfg (DictConfig): The ``model`` node of a SAM2 config.
        transformer_cfg (dict, optional): Overrides of the decoder's
            two-way transformer (``depth``, ``mlp_dim``, ``num_heads``;
            SAM2 uses 2, 2048, 8) and ``iou_head_hidden_dim`` (256), for tiny
            CPU models. Defaults to None.

    Returns:
        tuple: ``(PromptEncoder, MaskDecoder)``.
    """
    cfg = dict(depth=2, mlp_dim=2048, num_heads=8, iou_head_hidden_dim=256)
    unknown = set(transformer_cfg or {}) - set(cfg)
    if unknown:
        raise KeyError(f'Unknown SAM2 decoder option(s) {sorted(unknown)}; '
                       f'valid: {sorted(cfg)}')
    cfg.update(transformer_cfg or {})
    embed_dim = model_cfg.image_encoder.neck.d_model
    size = sam2_embedding_size(model_cfg)
    prompt_encoder = PromptEncoder(
        embed_dim=embed_dim,
        image_embedding_size=(size, size),
        input_image_size=(model_cfg.image_size, model_cfg.image_size),
        mask_in_chans=MASK_IN_CHANS)
    extra = OmegaConf.to_container(
        model_cfg.get('sam_mask_decoder_extra_args') or DictConfig({}))
    mask_decoder = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(
            depth=cfg['depth'],
            embedding_dim=embed_dim,
            mlp_dim=cfg['mlp_dim'],
            num_heads=cfg['num_heads']),
        transformer_dim=embed_dim,
        iou_head_depth=3,
        iou_head_hidden_dim=cfg['iou_head_hidden_dim'],
        use_high_res_features=model_cfg.get('use_high_res_features_in_sam',
                                            False),
        iou_prediction_use_sigmoid=model_cfg.get('iou_prediction_use_sigmoid',
                                                 False),
        pred_obj_scores=model_cfg.get('pred_obj_scores', False),
        pred_obj_scores_mlp=model_cfg.get('pred_obj_scores_mlp', False),
        use_multimask_token_for_obj_ptr=model_cfg.get(
            'use_multimask_token_for_obj_ptr', False),
        **extra)
    return prompt_encoder, mask_decoder


def decode_sam2_masks(
        prompt_encoder: PromptEncoder,
        mask_decoder: MaskDecoder,
        fpn: List[Tensor],
        no_mem_embed: Tensor,
        sparse: Tensor,
        dense: Tensor,
        fuse: Optional[Callable[[Tensor, Tensor], Tensor]] = None) -> Tensor:
    """Run SAM2's mask decoder on one image's features, as SAM2 does.

    As ``SAM2Base`` for an image without memory: ``no_mem_embed`` is added
    to the stride-16 embedding and, when the decoder uses them, the
    stride-4 and stride-8 maps go through its ``conv_s0`` / ``conv_s1`` as
    high-resolution features. Single-mask output. ``fuse`` transforms the
    embedding first, where the official RS2-SAM2 decoder fuses it with
    text (before the two-way transformer).

    Args:
        prompt_encoder (PromptEncoder): Gives the dense positional encoding.
        mask_decoder (MaskDecoder): SAM2's mask decoder.
        fpn (list[Tensor]): Image encoder maps (B, D, S/4, S/4),
            (B, D, S/8, S/8) and (B, D, S/16, S/16).
        no_mem_embed (Tensor): (1, 1, D).
        sparse (Tensor): Sparse prompt embeddings, (B, N, D) (N may be 0).
        dense (Tensor): Dense prompt embeddings, (B, D, S/16, S/16).
        fuse (callable, optional): ``fuse(embedding, pe)`` -> embedding,
            all (B, D, S/16, S/16) (pe (1, D, S/16, S/16)). Defaults to
            None.

    Returns:
        Tensor: Mask logits, (B, 1, S/4, S/4).
    """
    high_res = None
    if mask_decoder.use_high_res_features:
        high_res = [mask_decoder.conv_s0(fpn[0]), mask_decoder.conv_s1(fpn[1])]
    embedding = fpn[-1] + no_mem_embed.view(1, -1, 1, 1)
    image_pe = prompt_encoder.get_dense_pe()
    if fuse is not None:
        embedding = fuse(embedding, image_pe)
    return mask_decoder(
        image_embeddings=embedding,
        image_pe=image_pe,
        sparse_prompt_embeddings=sparse,
        dense_prompt_embeddings=dense,
        multimask_output=False,
        repeat_image=False,
        high_res_features=high_res)[0]
