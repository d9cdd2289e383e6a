"""Shared helpers of the model tests: the tiny config and demo batches."""
import os.path as osp
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import rs2sam2_mmseg  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(REPO, 'configs', '_base_', 'models', 'rs2sam2_tiny.py')
TEXTS = ('the red car on the left', 'the large storage tank',
         'the white ship at the top', 'the small building')


def tiny_cfg() -> Config:
    """The tiny model config (the one the demo trains)."""
    return Config.fromfile(TINY_CFG)


def build_tiny(component: Optional[str] = None, **overrides):
    """Build the tiny segmentor, or one of its components by key."""
    init_default_scope('mmseg')
    cfg = tiny_cfg().model
    if component is not None:
        cfg = cfg[component]
    cfg.update(overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def demo_batch(num: int = 2,
               texts: Optional[Sequence[str]] = None,
               size: int = 96,
               ori_shape: Sequence[int] = (96, 96),
               seed: int = 0) -> dict:
    """A dataloader-style batch: uint8 images, samples with text and GT."""
    gen = torch.Generator().manual_seed(seed)
    texts = texts or [TEXTS[i % len(TEXTS)] for i in range(num)]
    samples: List[SegDataSample] = []
    for i, text in enumerate(texts):
        sample = SegDataSample()
        sample.set_metainfo(
            dict(text=text, sent_id=i, ori_shape=tuple(ori_shape),
                 img_shape=(size, size)))
        gt = torch.zeros(1, size, size, dtype=torch.long)
        gt[:, 10 + 5 * i:40 + 5 * i, 20:50] = 1
        sample.gt_sem_seg = PixelData(data=gt)
        samples.append(sample)
    inputs = [
        torch.randint(0, 256, (3, size, size), generator=gen,
                      dtype=torch.uint8) for _ in texts
    ]
    return dict(inputs=inputs, data_samples=samples)


def sam2_hydra_overrides(overrides: dict, prefix: str = 'model') -> list:
    """Nested dict -> ``++model.a.b=value`` strings for sam2's builder."""
    items = []
    for key, value in overrides.items():
        if isinstance(value, dict):
            items += sam2_hydra_overrides(value, f'{prefix}.{key}')
        else:
            text = str(list(value)).replace(' ', '') if isinstance(
                value, (list, tuple)) else str(value)
            items.append(f'++{prefix}.{key}={text}')
    return items


def official_tiny_sam2(path: str):
    """Build the tiny SAM2 with sam2's own builder, save it officially.

    Returns:
        The ``SAM2Base`` model (random init), saved to ``path`` as
        ``{"model": state_dict}``.
    """
    from sam2.build_sam import build_sam2
    torch.manual_seed(0)
    model = build_sam2(
        'configs/sam2.1/sam2.1_hiera_t.yaml',
        ckpt_path=None,
        device='cpu',
        hydra_overrides_extra=sam2_hydra_overrides(
            tiny_cfg().sam2_overrides),
        apply_postprocessing=False)
    # random non-zero values everywhere, so a missed key cannot hide
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.02)
    torch.save({'model': model.state_dict()}, path)
    return model


def sam2_mask_decoder_size(dim: int, mlp_dim: int, iou_hidden: int) -> int:
    """Parameters of SAM2's ``MaskDecoder``, summed from its architecture.

    Two-way transformer of depth 2 (self-attention, two cross-attentions
    at half width, MLP, four LayerNorms per block; a final cross-attention
    and LayerNorm), the iou / 4 mask / object-score tokens, the 4x
    transposed-conv upscaling, the two 1x1 convs of the high-resolution
    features, 4 hypernetwork MLPs, the IoU head and the object-score MLP
    (SAM2.1 configs: ``pred_obj_scores_mlp``, ``use_high_res_features``).

    Args:
        dim (int): Transformer width (SAM2: 256).
        mlp_dim (int): Transformer MLP width (SAM2: 2048).
        iou_hidden (int): IoU head width (SAM2: 256).

    Returns:
        int: The parameter count.
    """

    def linear(n_in, n_out):
        return n_in * n_out + n_out

    def attention(internal):
        return 3 * linear(dim, internal) + linear(internal, dim)

    def mlp3(n_in, hidden, n_out):
        return linear(n_in, hidden) + linear(hidden, hidden) + linear(
            hidden, n_out)

    norm = 2 * dim
    block = (attention(dim) + 2 * attention(dim // 2) +
             linear(dim, mlp_dim) + linear(mlp_dim, dim) + 4 * norm)
    transformer = 2 * block + attention(dim // 2) + norm
    tokens = (1 + 4 + 1) * dim
    c4, c8 = dim // 4, dim // 8
    upscaling = (dim * c4 * 4 + c4) + 2 * c4 + (c4 * c8 * 4 + c8)
    high_res = linear(dim, c8) + linear(dim, c4)
    return (transformer + tokens + upscaling + high_res +
            4 * mlp3(dim, dim, c8) + mlp3(dim, iou_hidden, 4) +
            mlp3(dim, dim, 1))
