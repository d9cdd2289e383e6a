"""The RS2-SAM2 segmentor."""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList, add_prefix)
from torch import Tensor

from ..utils.grad_scale import scale_grad_dict
from ..utils.param_summary import format_parameter_table, parameter_table
from ..utils.regions import keep_strongest_region

#: Keys ``test_cfg`` accepts.
TEST_CFG_KEYS = ('mode', 'single_region', 'pred_scale')
#: Values of ``test_cfg.pred_scale``.
PRED_SCALES = ('original', 'input')


@MODELS.register_module()
class RS2SAM2(BaseSegmentor):
    """RS2-SAM2: referring remote-sensing segmentation with SAM2.

    .. code:: text

        inputs (B, 3, S, S), metainfo['text'] (B sentences)
          -> union_encoder(inputs, texts)   vis (B, Nv, C), txt (B, L, C),
                                            txt_mask (B, L), cls (B, C)
          -> backbone(inputs, union_out')   SAM2 Hiera + BHF: backbone_fpn
                                            at S/4, S/8, S/16
          -> decode_head(feats, union_out,  mask logits (B, 1, S/4, S/4);
                 inputs, union_out')        (B, 1, S, S) with its refiner
          loss():    decode_head.loss (keys prefixed 'decode.')
          predict(): logits resized to S, padding cropped, resized to each
                     sample's ori_shape (or kept at S x S with
                     test_cfg.pred_scale='input');
                     pred_sem_seg = sigmoid > threshold
                     (with test_cfg.single_region: only its connected
                     region of largest summed squared probability)

    ``union_out'`` is ``union_out`` with its gradient scaled by
    ``union_grad_scale``: what SAM2's side (BHF adapters, post-encoding
    fusion, sparse prompt, boundary loss) sends back into the union encoder.
    The mask prompt generator (pseudo-mask loss and dense prompt) always
    trains it with the full gradient.

    Sentences travel in ``data_sample.metainfo['text']``; ``sent_id`` (or
    the image name) identifies a sample in messages.

    Credit: Rong et al., "RS2-SAM2: Customized SAM2 for Referring Remote
    Sensing Image Segmentation", 2025 (arXiv:2503.07266).

    Args:
        union_encoder (ConfigType): The union encoder (text neck).
        backbone (ConfigType): SAM2 image encoder with BHF adapters.
        decode_head (ConfigType): Mask prompt generator + SAM2 decoder.
        sam2_checkpoint (str, optional): An official SAM2 checkpoint
            (``{"model": state_dict}``, e.g. ``sam2_hiera_large.pt``) for
            the SAM2 parts of both ``backbone`` (image encoder) and
            ``decode_head`` (prompt encoder, mask decoder, no_mem_embed):
            it becomes their ``sam2_checkpoint``, which they load in
            ``init_weights()``, MMEngine's init path, so MMSeg's own tools
            load it too (``--cfg-options model.sam2_checkpoint=PATH``).
            Defaults to None (the components' own setting).
        union_grad_scale (float): Factor on the gradient the SAM2 side sends
            into the union encoder; 1 trains end to end as the paper does,
            0 leaves the union encoder to the mask prompt generator. A
            general option for union encoders trained from scratch: the
            demo sets 0 (trained end to end from scratch, its union encoder
            never learns the position and relation words, see README); the
            paper configs keep 1. Defaults to 1.
        train_cfg (OptConfigType): Unused, kept for the mmseg contract.
            Defaults to None.
        test_cfg (OptConfigType): ``mode`` (only ``'whole'``: whole-image
            inference), ``single_region`` (bool): keep only the
            8-connected region of each predicted mask with the largest
            summed squared probability, a general option for data where
            every expression names one connected object (the demo sets it;
            the paper configs leave it off), and ``pred_scale``: 'original'
            (predictions at each sample's ``ori_shape``) or 'input' (at the
            S x S model input, thresholded there and never resized: the
            official RS2-SAM2 protocol, with images stretched to S by the
            pipeline and ``ReferSegMetric(eval_scale=S)``). Defaults to
            None (whole, every region kept, original scale).
        data_preprocessor (OptConfigType): Defaults to None.
        init_cfg (OptMultiConfig): Defaults to None.
    """

    def __init__(self,
                 union_encoder: ConfigType,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 sam2_checkpoint: Optional[str] = None,
                 union_grad_scale: float = 1.,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if sam2_checkpoint is not None:
            backbone = dict(backbone, sam2_checkpoint=sam2_checkpoint)
            decode_head = dict(decode_head, sam2_checkpoint=sam2_checkpoint)
        self.union_encoder = MODELS.build(union_encoder)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        if not 0 <= union_grad_scale <= 1:
            raise ValueError('union_grad_scale must lie in [0, 1], got '
                             f'{union_grad_scale}')
        self.union_grad_scale = union_grad_scale
        self.align_corners = self.decode_head.align_corners
        self.out_channels = self.decode_head.out_channels
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.single_region, self.pred_scale = self._parse_test_cfg(test_cfg)
        print_log(
            'RS2SAM2 parameters:\n' +
            format_parameter_table(parameter_table(self, depth=2)),
            logger='current')

    @staticmethod
    def _parse_test_cfg(test_cfg: OptConfigType) -> Tuple[bool, str]:
        """Check ``test_cfg``; return ``single_region`` and ``pred_scale``."""
        test_cfg = test_cfg or {}
        unknown = sorted(set(test_cfg) - set(TEST_CFG_KEYS))
        if unknown:
            raise KeyError(f'RS2SAM2 test_cfg has unknown keys {unknown}; '
                           f'it accepts {list(TEST_CFG_KEYS)}.')
        if test_cfg.get('mode', 'whole') != 'whole':
            raise ValueError("RS2SAM2 only infers on the whole image: "
                             f"test_cfg.mode must be 'whole', got "
                             f"{test_cfg['mode']!r}.")
        pred_scale = test_cfg.get('pred_scale', 'original')
        if pred_scale not in PRED_SCALES:
            raise ValueError(f'RS2SAM2 test_cfg.pred_scale must be one of '
                             f'{PRED_SCALES}, got {pred_scale!r}.')
        return bool(test_cfg.get('single_region', False)), pred_scale

    @staticmethod
    def _texts(data_samples: OptSampleList) -> Tuple[List[str], List[str]]:
        """Sentences and sample names (sent_id or image) of a batch."""
        if not data_samples:
            raise ValueError('RS2SAM2 needs data_samples with '
                             "metainfo['text'] (the referring expressions)")
        texts, names = [], []
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            name = meta.get('sent_id')
            if name is None:  # img_path is None for in-memory images
                name = osp.basename(meta.get('img_path') or f'batch index {i}')
            name = str(name)
            if 'text' not in meta:
                raise KeyError(f"Sample {name} has no metainfo['text']: pack "
                               'it with PackReferSegInputs.')
            texts.append(meta['text'])
            names.append(name)
        return texts, names

    @staticmethod
    def _union_inputs(data_samples: SampleList,
                      names: List[str]) -> Optional[Tensor]:
        """The samples' ``union_img`` stacked, or None when they have none.

        Returns:
            Tensor, optional: (B, 3, s, s), normalised by the data
            preprocessor.
        """
        has = ['union_img' in sample for sample in data_samples]
        if not any(has):
            return None
        if not all(has):
            missing = [name for name, ok in zip(names, has) if not ok]
            raise ValueError(
                f'Samples {missing[:5]} have no union_img while others of '
                'the batch do: use UnionImageResize in every pipeline.')
        return torch.stack([sample.union_img.data for sample in data_samples])

    def extract_feat(self,
                     inputs: Tensor,
                     data_samples: OptSampleList = None
                     ) -> Tuple[dict, dict, dict]:
        """Union encoder then language-adapted SAM2 image encoder.

        The union encoder gets ``union_inputs=``, the stacked
        ``data_sample.union_img`` (its own image, made from the original
        by the pipeline), when the samples carry one; else it makes its
        input from ``inputs``.

        Args:
            inputs (Tensor): (B, 3, S, S), normalised for SAM2.
            data_samples (list[SegDataSample]): With ``metainfo['text']``
                and optionally ``union_img`` (3, s, s).

        Returns:
            tuple[dict, dict, dict]: Backbone features, union encoder output
            and what SAM2's side reads of it: the union encoder output
            itself, or its gradient-scaled copy with ``union_grad_scale``
            < 1.
        """
        texts, names = self._texts(data_samples)
        union_inputs = self._union_inputs(data_samples, names)
        if union_inputs is None:
            union_out = self.union_encoder(inputs, texts, names)
        else:
            union_out = self.union_encoder(
                inputs, texts, names, union_inputs=union_inputs)
        sam2_union_out = union_out
        if self.union_grad_scale != 1:
            sam2_union_out = scale_grad_dict(union_out, self.union_grad_scale)
        return (self.backbone(inputs, sam2_union_out), union_out,
                sam2_union_out)

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Not used: language comes with the data samples.

        ``BaseSegmentor`` declares ``encode_decode(inputs, metas)``; metas
        carry no sentences here, so :meth:`predict` and :meth:`_forward`
        take data samples instead.
        """
        raise NotImplementedError(
            'RS2SAM2 needs the sentences: call predict(inputs, data_samples) '
            "or forward(inputs, data_samples, mode='tensor').")

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Loss terms, prefixed ``decode.``.

        Args:
            inputs (Tensor): (B, 3, S, S).
            data_samples (list[SegDataSample]): With ``gt_sem_seg`` and
                ``metainfo['text']``.

        Returns:
            dict[str, Tensor]: E.g. ``decode.loss_ce``, ``decode.loss_dice``,
            ``decode.loss_boundary``, ``decode.loss_pseudo``,
            ``decode.acc_seg``.
        """
        feats, union_out, sam2_union_out = self.extract_feat(
            inputs, data_samples)
        return add_prefix(
            self.decode_head.loss(
                feats,
                union_out,
                data_samples,
                inputs,
                sam2_union_out=sam2_union_out), 'decode')

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict masks at each sample's original resolution.

        Args:
            inputs (Tensor): (B, 3, S, S).
            data_samples (list[SegDataSample]): With ``metainfo['text']``,
                ``ori_shape`` and ``img_padding_size``.

        Returns:
            list[SegDataSample]: With ``seg_logits`` (sigmoid, (1, H, W))
            and ``pred_sem_seg`` (0/1, (1, H, W)) at ``ori_shape`` (at
            (S, S) with ``test_cfg.pred_scale='input'``), flips of the
            input undone ('horizontal', 'vertical' and, unlike mmseg,
            'diagonal').
        """
        logits = self._forward(inputs, data_samples)
        logits = resize(
            logits,
            inputs.shape[-2:],
            mode='bilinear',
            align_corners=self.align_corners)
        # mmseg undoes one direction: let it undo the horizontal half of a
        # diagonal flip (after cropping the padding), the vertical half is
        # undone here at the original resolution
        diagonal = [
            sample.metainfo.get('flip')
            and sample.metainfo.get('flip_direction') == 'diagonal'
            for sample in data_samples or []
        ]
        for sample, flipped in zip(data_samples or [], diagonal):
            if flipped:
                sample.set_metainfo(dict(flip_direction='horizontal'))
        results = self._postprocess(logits, data_samples)
        for sample, flipped in zip(results, diagonal):
            if flipped:
                sample.set_metainfo(dict(flip_direction='diagonal'))
                for field in (sample.seg_logits, sample.pred_sem_seg):
                    field.data = field.data.flip(-2)
        if self.single_region:
            for sample in results:
                pred = sample.pred_sem_seg.data
                pred[0] = keep_strongest_region(sample.seg_logits.data[0],
                                                pred[0])
        return results

    def _postprocess(self, logits: Tensor,
                     data_samples: OptSampleList) -> SampleList:
        """``postprocess_result`` at ``ori_shape`` or at the input scale.

        Args:
            logits (Tensor): (B, 1, S, S) mask logits.
            data_samples (list[SegDataSample], optional): The samples.

        Returns:
            list[SegDataSample]: The samples with their predictions.
        """
        if self.pred_scale == 'original' or not data_samples:
            return self.postprocess_result(logits, data_samples)
        # the same steps (flip undone, sigmoid, threshold) on views whose
        # ori_shape is the input: the resize to it is the identity
        views = []
        for sample in data_samples:
            if any(sample.metainfo.get('img_padding_size', ())):
                raise ValueError(
                    f"RS2SAM2 test_cfg.pred_scale='input': the image "
                    f'{sample.metainfo.get("img_path")} was padded to the '
                    'model input; stretch it with Resize(keep_ratio=False) '
                    'to the input size.')
            views.append(
                SegDataSample(
                    metainfo=dict(
                        sample.metainfo, ori_shape=tuple(logits.shape[-2:]))))
        for sample, view in zip(data_samples,
                                self.postprocess_result(logits, views)):
            sample.set_data(
                dict(
                    seg_logits=view.seg_logits,
                    pred_sem_seg=view.pred_sem_seg))
        return data_samples

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Mask logits at S / 4, or at S with the head's refiner.

        Returns:
            Tensor: (B, 1, S/4, S/4) or (B, 1, S, S).
        """
        feats, union_out, sam2_union_out = self.extract_feat(
            inputs, data_samples)
        return self.decode_head(
            feats, union_out, inputs,
            sam2_union_out=sam2_union_out)['seg_logits']
