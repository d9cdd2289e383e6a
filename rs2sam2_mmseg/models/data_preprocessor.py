"""Data preprocessor: SAM2 normalisation and fixed-size padding."""
from typing import Any, Dict, Sequence

from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.utils import stack_batch

SAM2_MEAN = (123.675, 116.28, 103.53)
SAM2_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class ReferSegDataPreProcessor(SegDataPreProcessor):
    """Normalise for SAM2 and pad every batch to SAM2's input size.

    SAM2's prompt encoder has a fixed embedding grid, so the model input is
    always ``size`` x ``size``, in training AND testing. mmseg's
    ``SegDataPreProcessor`` pads at test time only when all images of the
    batch already share a shape; here each image (resized with
    ``keep_ratio=True`` by the pipeline) is padded bottom/right on its own,
    and ``img_padding_size`` goes into its metainfo so predictions are
    cropped back before resizing to ``ori_shape``. Data samples, and the
    sentence in ``metainfo['text']``, pass through unchanged, except for
    the union encoder's own image ``union_img`` (3, s, s) uint8 (see
    ``UnionImageResize``), which gets the channel order and normalisation
    of the main image (float, on the device, not padded).

    Args:
        size (Sequence[int]): ``(S, S)``, SAM2's input size.
        mean (Sequence[float]): Defaults to SAM2's (ImageNet) mean.
        std (Sequence[float]): Defaults to SAM2's (ImageNet) std.
        bgr_to_rgb (bool): Images are loaded BGR. Defaults to True.
        pad_val (float): Image padding value. Defaults to 0.
        seg_pad_val (int): Label padding value. Defaults to 255.
        **kwargs: Other arguments of ``SegDataPreProcessor``.
    """

    def __init__(self,
                 size: Sequence[int],
                 mean: Sequence[float] = SAM2_MEAN,
                 std: Sequence[float] = SAM2_STD,
                 bgr_to_rgb: bool = True,
                 pad_val: float = 0,
                 seg_pad_val: int = 255,
                 **kwargs) -> None:
        super().__init__(
            mean=mean,
            std=std,
            size=tuple(size),
            bgr_to_rgb=bgr_to_rgb,
            pad_val=pad_val,
            seg_pad_val=seg_pad_val,
            **kwargs)

    def normalise(self, img: Tensor) -> Tensor:
        """Convert the channel order (if set) and normalise one image.

        Args:
            img (Tensor): (C, H, W), uint8 or float.

        Returns:
            Tensor: (C, H, W) float.
        """
        if self.channel_conversion and img.size(0) == 3:
            img = img[[2, 1, 0], ...]
        return (img.float() - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Normalise, pad to ``size`` and stack.

        Args:
            data (dict): ``inputs`` (list of (3, H, W) uint8 tensors) and
                ``data_samples`` from the dataloader.
            training (bool): Pads ``gt_sem_seg`` too when True.

        Returns:
            dict: ``inputs`` (B, 3, S, S) float and ``data_samples``
            (``union_img`` normalised where present).
        """
        data = self.cast_data(data)
        data_samples = data.get('data_samples')
        inputs = []
        for i, img in enumerate(data['inputs']):
            if img.shape[-2] > self.size[0] or img.shape[-1] > self.size[1]:
                name = data_samples[i].metainfo.get(
                    'img_path', f'batch index {i}') if data_samples else i
                raise ValueError(
                    f'Image {name} is {tuple(img.shape[-2:])} after the '
                    f'pipeline, larger than the model input {self.size}: '
                    'resize it with Resize(scale=size, keep_ratio=True).')
            inputs.append(self.normalise(img))
        for sample in data_samples or []:
            if 'union_img' in sample:
                sample.union_img = PixelData(
                    data=self.normalise(sample.union_img.data))
        if training:
            inputs, data_samples = stack_batch(
                inputs, data_samples, size=self.size, pad_val=self.pad_val,
                seg_pad_val=self.seg_pad_val)
        else:
            inputs, pad_infos = stack_batch(
                inputs, size=self.size, pad_val=self.pad_val)
            for sample, pad_info in zip(data_samples or [], pad_infos):
                sample.set_metainfo(pad_info)
        return dict(inputs=inputs, data_samples=data_samples)
