"""Mask prompt generator + SAM2 prompt encoder and mask decoder."""
import math
from functools import partial
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor, nn

from ..utils.checkpoint import (SAM2_MASK_DECODER, SAM2_NO_MEM_EMBED,
                                SAM2_PROMPT_ENCODER, SAM2WeightsMixin,
                                load_prefixed_weights)
from ..utils.sam2_parts import (build_sam2_heads, decode_sam2_masks,
                                load_sam2_model_cfg)
from .language_prompts import (DecoderTextFusion, MaskPromptGenerator,
                               mask_prompt)


@MODELS.register_module()
class SAM2MaskPromptHead(SAM2WeightsMixin, BaseModule):
    """Decode head of RS2-SAM2: prompts SAM2's mask decoder with language.

    .. code:: text

        union (cls, vis) --MPG--> pseudo-mask P (B, 1, gh, gw)
        sigmoid(P) resized to 4x the embedding grid --prompt encoder-->
            dense prompt (B, D, h, w)
        MLP(cls) --> sparse prompt (B, 1, D)
        E = embedding + no_mem_embed
        [text_fusion] E = E * MHA(E + PE, txt, txt)
        SAM2 mask decoder(E, dense, sparse, high-res features)
            --> mask logits (B, 1, 4h, 4w) = S / 4
        [prompt_residual] + P resized to (4h, 4w), gradient stopped

    Prompt encoder and mask decoder are SAM2's own modules (``sam2``
    package, Apache 2.0), built like ``SAM2Base`` builds them so official
    checkpoints load; ``no_mem_embed`` is added to the embedding as SAM2's
    image predictor does. Losses: ``loss_decode`` on the mask (BCE + Dice
    by default), ``loss_boundary`` (text-guided boundary loss) and
    ``loss_pseudo`` (auxiliary supervision of the pseudo-mask; the official
    code has none - set it to None to ablate). Each term is logged.

    The official RS2-SAM2 head (``lib/evf_sam.py``, ``mask_decoder.py``,
    ``loss/loss.py``) is selected by ``text_fusion=True`` (its
    :class:`DecoderTextFusion`), ``mpg_dims=1024`` (the MPG and the sparse
    prompt read the BEiT-3 ``cls`` / ``vis``; ``text_dims=256`` is the
    projected text), ``sparse_hidden_dims=1024``,
    ``sparse_act=dict(type='ReLU')``, ``logit_threshold=0.5`` (its
    prediction is the argmax of ``[1 - z, z]``), the losses
    ``TwoClassCrossEntropyLoss`` (0.9), ``TwoClassDiceLoss`` (0.1) and
    ``TextGuidedBoundaryLoss(mode='official', text_dims=256)`` (0.2), and
    ``loss_pseudo=None``. The losses see the S/4 logits bilinearly resized
    to the target (official: 256 -> 1024), the boundary loss the first
    projected text token for its per-sample weight
    (``loss_boundary.text_weight``, the official ``text2one_linear``).

    Args:
        sam2_cfg (str): SAM2 config name or YAML path.
        sam2_overrides (dict, optional): Merged into the config's ``model``
            node. Defaults to None.
        sam2_checkpoint (str, optional): Official SAM2 checkpoint whose
            ``sam_prompt_encoder.*``, ``sam_mask_decoder.*`` and
            ``no_mem_embed`` are loaded in :meth:`init_weights`.
            Defaults to None.
        decoder_cfg (dict, optional): Decoder transformer overrides (see
            :func:`build_sam2_heads`). Defaults to None.
        text_dims (int): Width of the union encoder's ``txt`` (and, by
            default, of its ``cls`` / ``vis``). Defaults to 256.
        mpg_dims (int, optional): Width of ``cls`` / ``vis``, read by the
            mask prompt generator and the sparse prompt, when it differs
            from ``text_dims`` (official: 1024). Defaults to None.
        mpg_heads (int): Heads of the mask prompt generator. Defaults to 8.
        sparse_hidden_dims (int, optional): Hidden width of the sparse
            prompt MLP. Defaults to None (the SAM2 width D; official:
            1024).
        sparse_act (dict): Its activation. Defaults to
            ``dict(type='GELU')`` (official: ReLU).
        text_fusion (bool): The official decoder-side fusion
            (:class:`DecoderTextFusion` on ``txt``, which must then be D
            wide). Defaults to False.
        text_fusion_heads (int): Its heads. Defaults to 8.
        train_prompt_encoder (bool): Fine-tune SAM2's prompt encoder.
            Defaults to True.
        train_mask_decoder (bool): Fine-tune SAM2's mask decoder.
            Defaults to True.
        prompt_residual (bool): A general option for decoders trained from
            scratch (the demo sets it). Add the pseudo-mask logits, bilinearly
            resized to the decoder's S/4 grid and with their gradient
            stopped, to the decoder's mask logits: SAM2's decoder then
            learns a correction of the language prior. Trained from
            scratch, the decoder otherwise ignores its dense prompt until a
            late, seed-dependent point of training, or never (see README);
            a pretrained SAM2 decoder follows mask prompts already, so the
            paper configs leave it off. The pseudo-mask still learns from
            ``loss_pseudo`` and the dense prompt only. Defaults to False.
        refiner (dict, optional): Config of a module that refines the S/4
            mask logits to the input resolution with the image
            (``ImageGuidedMaskRefiner``; ``feat_dims`` is filled in); the
            head then outputs (B, 1, S, S). A general option for small
            inputs, where S/4 is coarse (the demo's 96 px); the paper
            configs leave it off. Defaults to None (S/4 output, as SAM2).
        threshold (float): Sigmoid threshold of the binary prediction.
            Defaults to 0.5.
        logit_threshold (float, optional): The threshold on the logit
            instead; ``threshold`` becomes ``sigmoid(logit_threshold)``
            (official: 0.5, i.e. z > 0.5; mmseg compares probabilities, so
            a logit within float rounding of it may fall either way).
            Defaults to None.
        loss_decode (dict | Sequence[dict]): Mask losses, each called as
            ``loss(logits, target, ignore_index=...)``.
        loss_boundary (dict, optional): Text-guided boundary loss.
        loss_pseudo (dict, optional): Pseudo-mask auxiliary loss.
        ignore_index (int): Label of padding pixels. Defaults to 255.
        align_corners (bool): For resizing logits. Defaults to False.
        init_cfg (dict or list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 sam2_cfg: str = 'sam2.1_hiera_l',
                 sam2_overrides: Optional[dict] = None,
                 sam2_checkpoint: Optional[str] = None,
                 decoder_cfg: Optional[dict] = None,
                 text_dims: int = 256,
                 mpg_dims: Optional[int] = None,
                 mpg_heads: int = 8,
                 sparse_hidden_dims: Optional[int] = None,
                 sparse_act: ConfigType = dict(type='GELU'),
                 text_fusion: bool = False,
                 text_fusion_heads: int = 8,
                 train_prompt_encoder: bool = True,
                 train_mask_decoder: bool = True,
                 prompt_residual: bool = False,
                 refiner: OptConfigType = None,
                 threshold: float = 0.5,
                 logit_threshold: Optional[float] = None,
                 loss_decode: ConfigType = (
                     dict(type='CrossEntropyLoss', use_sigmoid=True,
                          avg_non_ignore=True, loss_weight=0.9),
                     dict(type='BinaryDiceLoss', loss_weight=0.1)),
                 loss_boundary: OptConfigType = dict(
                     type='TextGuidedBoundaryLoss', loss_weight=0.2),
                 loss_pseudo: OptConfigType = dict(
                     type='CrossEntropyLoss', use_sigmoid=True,
                     avg_non_ignore=True, loss_weight=0.1,
                     loss_name='loss_pseudo'),
                 ignore_index: int = 255,
                 align_corners: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.sam2_checkpoint = sam2_checkpoint
        self.out_channels = 1
        self.prompt_residual = prompt_residual
        if logit_threshold is not None:
            threshold = 1 / (1 + math.exp(-logit_threshold))
        if not 0 < threshold < 1:
            raise ValueError('SAM2MaskPromptHead threshold must lie in '
                             f'(0, 1), got {threshold}')
        self.threshold = threshold
        self.logit_threshold = math.log(threshold / (1 - threshold))
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        model_cfg = load_sam2_model_cfg(sam2_cfg, sam2_overrides)
        self.prompt_encoder, self.mask_decoder = build_sam2_heads(
            model_cfg, decoder_cfg)
        self.prompt_encoder.requires_grad_(train_prompt_encoder)
        self.mask_decoder.requires_grad_(train_mask_decoder)
        self._freeze_unused_sam2_parts()
        dims = model_cfg.image_encoder.neck.d_model
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, dims))
        mpg_dims = mpg_dims or text_dims
        self.mpg = MaskPromptGenerator(mpg_dims, mpg_heads)
        self.refiner = MODELS.build(dict(
            refiner, feat_dims=dims)) if refiner else None
        sparse_hidden_dims = sparse_hidden_dims or dims
        self.sparse_proj = nn.Sequential(
            nn.Linear(mpg_dims, sparse_hidden_dims),
            build_activation_layer(sparse_act),
            nn.Linear(sparse_hidden_dims, dims))
        if text_fusion and text_dims != dims:
            raise ValueError(
                f'SAM2MaskPromptHead text_fusion needs text_dims = the SAM2 '
                f'width {dims} (the official projected text), got '
                f'text_dims={text_dims}')
        self.text_fusion = DecoderTextFusion(
            dims, text_fusion_heads) if text_fusion else None
        if isinstance(loss_decode, dict):
            loss_decode = [loss_decode]
        self.loss_decode = nn.ModuleList(
            MODELS.build(cfg) for cfg in loss_decode)
        self.loss_boundary = MODELS.build(
            loss_boundary) if loss_boundary else None
        self.loss_pseudo = MODELS.build(loss_pseudo) if loss_pseudo else None

    def _freeze_unused_sam2_parts(self) -> None:
        """Freeze SAM2 parts that never reach the loss here.

        Only the mask prompt is used (no points or boxes), and neither the
        IoU nor the object-score prediction is: their parameters would get
        no gradient, which DDP rejects unless ``find_unused_parameters``.
        """
        unused = [
            self.prompt_encoder.point_embeddings,
            self.prompt_encoder.not_a_point_embed,
            self.prompt_encoder.no_mask_embed,
            self.mask_decoder.iou_prediction_head,
            getattr(self.mask_decoder, 'pred_obj_score_head', None),
        ]
        for module in filter(None, unused):
            module.requires_grad_(False)

    def load_sam2_weights(self, state_dict: Dict[str, Tensor],
                          source: str) -> Dict[str, dict]:
        """Load the SAM heads and ``no_mem_embed`` of a SAM2 state dict.

        Returns:
            dict: Per part, ``matched`` / ``missing`` / ``unexpected``.
        """
        report = dict(
            prompt_encoder=load_prefixed_weights(self.prompt_encoder,
                                                 state_dict,
                                                 SAM2_PROMPT_ENCODER,
                                                 source),
            mask_decoder=load_prefixed_weights(self.mask_decoder, state_dict,
                                               SAM2_MASK_DECODER, source))
        if SAM2_NO_MEM_EMBED in state_dict:
            self.no_mem_embed.data.copy_(state_dict[SAM2_NO_MEM_EMBED])
        return report

    def forward(self,
                feats: Dict[str, List[Tensor]],
                union_out: Dict[str, Tensor],
                inputs: Optional[Tensor] = None,
                sam2_union_out: Optional[Dict[str, Tensor]] = None
                ) -> Dict[str, Tensor]:
        """Predict the mask.

        Args:
            feats (dict): Backbone output; ``backbone_fpn`` (3 maps at
                S/4, S/8, S/16 with D channels).
            union_out (dict): Union encoder output; ``cls`` (B, C) and
                ``vis`` (B, Nv, C), with ``text_fusion`` also ``txt``
                (B, L, D) and ``txt_mask`` (B, L); feeds the mask prompt
                generator.
            inputs (Tensor, optional): The normalised images (B, 3, S, S);
                required with a ``refiner``. Defaults to None.
            sam2_union_out (dict, optional): What feeds the sparse prompt
                and the fusion: ``union_out`` with a scaled gradient (see
                ``RS2SAM2.union_grad_scale``). Defaults to None
                (``union_out``).

        Returns:
            dict[str, Tensor]: ``seg_logits`` (B, 1, S/4, S/4), or
            (B, 1, S, S) with a ``refiner``, and ``pseudo_logits``
            (B, 1, gh, gw).
        """
        fpn = feats['backbone_fpn']
        cls = union_out['cls']
        pseudo = self.mpg(cls, union_out['vis'])
        sparse, dense = self.prompt_encoder(
            points=None,
            boxes=None,
            masks=mask_prompt(pseudo, self.prompt_encoder.mask_input_size))
        sam2_side = union_out if sam2_union_out is None else sam2_union_out
        sparse = torch.cat(
            [sparse, self.sparse_proj(sam2_side['cls'])[:, None]], dim=1)
        fuse = None
        if self.text_fusion is not None:
            fuse = partial(
                self.text_fusion,
                text=sam2_side['txt'],
                text_mask=sam2_side['txt_mask'])
        masks = decode_sam2_masks(self.prompt_encoder, self.mask_decoder, fpn,
                                  self.no_mem_embed, sparse, dense, fuse)
        if self.prompt_residual:
            masks = masks + F.interpolate(
                pseudo.detach(),
                masks.shape[-2:],
                mode='bilinear',
                align_corners=False)
        if self.refiner is not None:
            if inputs is None:
                raise ValueError(
                    'SAM2MaskPromptHead has a refiner, which needs the input '
                    'images: call it as head(feats, union_out, inputs).')
            masks = self.refiner(masks, inputs, fpn[0])
        return dict(seg_logits=masks.float(), pseudo_logits=pseudo.float())

    def loss(self,
             feats: Dict[str, List[Tensor]],
             union_out: Dict[str, Tensor],
             data_samples: SampleList,
             inputs: Optional[Tensor] = None,
             sam2_union_out: Optional[Dict[str, Tensor]] = None
             ) -> Dict[str, Tensor]:
        """Forward and compute every loss term.

        Args:
            feats (dict): Backbone output.
            union_out (dict): Union encoder output.
            data_samples (list[SegDataSample]): With ``gt_sem_seg``
                (1, S, S), 0/1 and ``ignore_index`` on padding.
            inputs (Tensor, optional): The normalised images (B, 3, S, S);
                required with a ``refiner``. Defaults to None.
            sam2_union_out (dict, optional): See :meth:`forward`; it also
                weighs the boundary loss. Defaults to None (``union_out``).

        Returns:
            dict[str, Tensor]: One entry per loss term (``loss_ce``,
            ``loss_dice``, ``loss_boundary``, ``loss_pseudo``) plus
            ``acc_seg`` (pixel accuracy in percent, not a loss).
        """
        out = self.forward(feats, union_out, inputs, sam2_union_out)
        if sam2_union_out is None:
            sam2_union_out = union_out
        target = torch.stack(
            [ds.gt_sem_seg.data[0] for ds in data_samples]).long()  # (B,S,S)
        size = target.shape[-2:]
        logits = resize(out['seg_logits'], size, mode='bilinear',
                        align_corners=self.align_corners)
        losses = {}
        for loss in self.loss_decode:
            losses[loss.loss_name] = loss(
                logits, target, ignore_index=self.ignore_index)
        if self.loss_boundary is not None:
            losses[self.loss_boundary.loss_name] = self.loss_boundary(
                logits,
                target,
                vis=sam2_union_out['vis'],
                cls=sam2_union_out['cls'],
                text_token=sam2_union_out['txt'][:, 0],
                ignore_index=self.ignore_index)
        if self.loss_pseudo is not None:
            pseudo = resize(out['pseudo_logits'], size, mode='bilinear',
                            align_corners=self.align_corners)
            losses[self.loss_pseudo.loss_name] = self.loss_pseudo(
                pseudo, target, ignore_index=self.ignore_index)
        valid = target != self.ignore_index
        correct = ((logits[:, 0] > self.logit_threshold).long()
                   == target) & valid
        losses['acc_seg'] = correct.sum() * 100. / valid.sum().clamp(min=1)
        return losses
