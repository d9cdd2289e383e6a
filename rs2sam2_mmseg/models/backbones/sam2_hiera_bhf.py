"""SAM2's image encoder (frozen) adapted by BHF adapters."""
from functools import partial
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..utils.checkpoint import (SAM2_IMAGE_ENCODER, SAM2WeightsMixin,
                                load_prefixed_weights)
from ..utils.resize import resize_square
from ..utils.sam2_parts import build_sam2_image_encoder, load_sam2_model_cfg
from .bhf_adapter import BHFAdapter, TextVisualGate


@MODELS.register_module()
class SAM2HieraBHF(SAM2WeightsMixin, BaseModule):
    """SAM2 Hiera trunk + FPN neck with bidirectional hierarchical fusion.

    The image encoder is built by the ``sam2`` package from one of its
    configs and kept frozen (``requires_grad=False``, eval mode). Trainable
    :class:`BHFAdapter` s sit in the chosen Hiera blocks (by default every
    block, as the official code): visual tokens attend to the running text
    and the text is updated from the visual tokens and carried to the next
    block and stage. After the neck, :class:`TextVisualGate` fuses the
    stride-16 embedding with the text and the union encoder's visual
    tokens. Adapters and gate are identity at initialisation, so the
    adapted encoder starts as exactly SAM2.

    The official RS2-SAM2 layout (``hieradet.py``) is selected by
    ``adapter_layout='official', text_norm=False, zero_init=False,
    with_gate=False`` and ``text_dims=256``: adapters on the attention
    output before its residual and MLP adapters in parallel on norm2(x)
    (see :class:`BHFAdapter`), no text LayerNorm, PyTorch's default init
    and no post-trunk fusion (the official fusion sits in the decoder,
    ``SAM2MaskPromptHead(text_fusion=True)``). As there, the updated text
    is returned but nothing downstream needs it.

    Inputs of another size than the SAM2 config's ``image_size`` are resized
    to it (bilinear, antialiased), as SAM2's own transforms do: the demo
    encodes its 96 px images at 64 px.

    Blocks before the first adapted block run without autograd; with
    ``with_cp`` the later blocks are activation-checkpointed (their frozen
    weights never get an autograd graph of their own either way).

    Credit: RS2-SAM2 (Rong et al., 2025); SAM2 (Ravi et al., 2024, Apache
    2.0, https://github.com/facebookresearch/sam2).

    Args:
        sam2_cfg (str): SAM2 config name (``'sam2.1_hiera_l'``,
            ``'sam2.1_hiera_t'``, ...) or YAML path.
        sam2_overrides (dict, optional): Merged into the config's ``model``
            node (e.g. ``image_size`` or a tiny trunk). Defaults to None.
        sam2_checkpoint (str, optional): Official SAM2 checkpoint whose
            ``image_encoder.*`` keys are loaded in :meth:`init_weights`.
            Defaults to None.
        text_dims (int): Width of the union encoder tokens. Defaults to 256.
        adapter_blocks (str | Sequence[int]): ``'all'`` or Hiera block
            indices that get an adapter. Defaults to 'all'.
        adapter_ratio (float): Adapter width / block width. Defaults to 0.25.
        adapter_heads (int): Adapter attention heads. Defaults to 4.
        attn_scale (float): Residual scale of the attention adapter.
            Defaults to 1.0.
        mlp_scale (float): Residual scale of the MLP adapter.
            Defaults to 0.5.
        text_update (float): Text update rate a. Defaults to 0.2.
        gate_heads (int): Heads of the post-trunk fusion. Defaults to 8.
        adapter_layout (str): ``'post_residual'`` (ours) or
            ``'official'``, see :class:`BHFAdapter`. Defaults to
            'post_residual'.
        text_norm (bool): LayerNorm on the text each adapter reads (ours).
            Defaults to True.
        zero_init (bool): Zero-initialise the adapters' output layers
            (ours). Defaults to True.
        with_gate (bool): The post-trunk :class:`TextVisualGate` (ours;
            ``gate`` is None without it, and the last adapter's text update,
            which then reaches nothing, is frozen). Defaults to True.
        freeze_image_encoder (bool): Keep SAM2's encoder frozen (the
            RS2-SAM2 recipe; the CPU demo keeps even its random init
            frozen). False fine-tunes it too. Defaults to True.
        with_cp (bool): Activation checkpointing of the trunk blocks from
            the first adapted block on (training only). Defaults to False.
        init_cfg (dict or list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 sam2_cfg: str = 'sam2.1_hiera_l',
                 sam2_overrides: Optional[dict] = None,
                 sam2_checkpoint: Optional[str] = None,
                 text_dims: int = 256,
                 adapter_blocks: Union[str, Sequence[int]] = 'all',
                 adapter_ratio: float = 0.25,
                 adapter_heads: int = 4,
                 attn_scale: float = 1.0,
                 mlp_scale: float = 0.5,
                 text_update: float = 0.2,
                 gate_heads: int = 8,
                 adapter_layout: str = 'post_residual',
                 text_norm: bool = True,
                 zero_init: bool = True,
                 with_gate: bool = True,
                 freeze_image_encoder: bool = True,
                 with_cp: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.sam2_checkpoint = sam2_checkpoint
        self.with_cp = with_cp
        model_cfg = load_sam2_model_cfg(sam2_cfg, sam2_overrides)
        self.image_size = int(model_cfg.image_size)
        self.image_encoder = build_sam2_image_encoder(model_cfg)
        self.freeze_image_encoder = freeze_image_encoder
        self.image_encoder.requires_grad_(not freeze_image_encoder)
        if freeze_image_encoder:
            self.image_encoder.eval()
        blocks = self.image_encoder.trunk.blocks
        if adapter_blocks == 'all':
            adapter_blocks = range(len(blocks))
        elif isinstance(adapter_blocks, str) or any(not 0 <= i < len(blocks)
                                                    for i in adapter_blocks):
            raise ValueError(
                f"adapter_blocks must be 'all' or indices in [0, "
                f'{len(blocks)}) for {sam2_cfg}; got {adapter_blocks!r}')
        adapter = partial(
            BHFAdapter,
            text_dims=text_dims,
            ratio=adapter_ratio,
            num_heads=adapter_heads,
            attn_scale=attn_scale,
            mlp_scale=mlp_scale,
            text_update=text_update,
            layout=adapter_layout,
            text_norm=text_norm,
            zero_init=zero_init)
        self.adapters = nn.ModuleDict({
            str(i): adapter(blocks[i].dim_out)
            for i in sorted(set(adapter_blocks))
        })
        self.first_adapted = min(map(int, self.adapters), default=len(blocks))
        self.gate = TextVisualGate(self.image_encoder.neck.d_model, text_dims,
                                   gate_heads) if with_gate else None
        if self.gate is None and len(self.adapters):
            # nothing reads the text the last adapter updates (as in the
            # official code): freeze that update, so every trainable
            # parameter gets a gradient (which DDP requires)
            last = self.adapters[max(self.adapters, key=int)]
            last.text_to_vision.requires_grad_(False)
            last.text_out.requires_grad_(False)

    def load_sam2_weights(self, state_dict: Dict[str, Tensor],
                          source: str) -> Dict[str, List[str]]:
        """Load ``image_encoder.*`` of an official SAM2 state dict.

        Returns:
            dict: ``matched`` / ``missing`` / ``unexpected`` key lists.
        """
        return load_prefixed_weights(self.image_encoder, state_dict,
                                     SAM2_IMAGE_ENCODER, source)

    def train(self, mode: bool = True) -> 'SAM2HieraBHF':
        """Keep the frozen SAM2 image encoder in eval mode."""
        super().train(mode)
        if self.freeze_image_encoder:
            self.image_encoder.eval()
        return self

    def _block(self, index: int, x: Tensor, text: Tensor,
               text_mask: Tensor) -> tuple:
        """Run Hiera block ``index`` with its adapter (if any)."""
        block = self.image_encoder.trunk.blocks[index]
        adapter = self.adapters[str(index)] if str(
            index) in self.adapters else None
        if adapter is None:
            return block(x), text
        return adapter(block, x, text, text_mask)

    def forward(self, inputs: Tensor,
                union_out: Dict[str, Tensor]) -> Dict[str, List[Tensor]]:
        """Encode the image with language-adapted SAM2.

        Args:
            inputs (Tensor): Images normalised for SAM2, (B, 3, H, W);
                resized to S x S, S = the SAM2 config's ``image_size``.
            union_out (dict[str, Tensor]): Union encoder output; uses
                ``txt`` (B, L, Ct), ``txt_mask`` (B, L) and, with the gate,
                ``vis`` (B, Nv, Ct).

        Returns:
            dict:

            - backbone_fpn (list[Tensor]): (B, D, S/4, S/4),
              (B, D, S/8, S/8), (B, D, S/16, S/16) (D = 256 for SAM2); the
              last one gated by language (with the gate).
            - vision_pos_enc (list[Tensor]): Same shapes.
            - txt (Tensor): The BHF-updated text, (B, L, Ct).
        """
        encoder, trunk = self.image_encoder, self.image_encoder.trunk
        text, text_mask = union_out['txt'], union_out['txt_mask']
        use_cp = self.with_cp and self.training and torch.is_grad_enabled()
        inputs = resize_square(inputs, self.image_size)
        stage_outputs = []
        # a frozen encoder needs no autograd before the first adapter
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.freeze_image_encoder):
            x = trunk.patch_embed(inputs)  # (B, S/4, S/4, C)
            x = x + trunk._get_pos_embed(x.shape[1:3])
            for i in range(self.first_adapted):
                x = self._collect(i, trunk.blocks[i](x), stage_outputs)
        for i in range(self.first_adapted, len(trunk.blocks)):
            if use_cp:
                x, text = checkpoint(
                    self._block, i, x, text, text_mask, use_reentrant=False)
            else:
                x, text = self._block(i, x, text, text_mask)
            self._collect(i, x, stage_outputs)
        features, pos = encoder.neck(stage_outputs)
        if encoder.scalp > 0:
            features, pos = features[:-encoder.scalp], pos[:-encoder.scalp]
        if self.gate is not None:
            features[-1] = self.gate(features[-1], pos[-1], text, text_mask,
                                     union_out['vis'])
        return dict(backbone_fpn=features, vision_pos_enc=pos, txt=text)

    def _collect(self, index: int, x: Tensor, outputs: List[Tensor]) -> Tensor:
        """Keep block ``index``'s output if it ends a stage (as Hiera)."""
        trunk = self.image_encoder.trunk
        if index == trunk.stage_ends[-1] or (index in trunk.stage_ends
                                             and trunk.return_interm_layers):
            outputs.append(x.permute(0, 3, 1, 2))  # (B, C, H, W)
        return x
