"""Inference API: a config + checkpoint in, masks for sentences out."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import nn

from ..utils import load_config

ImageType = Union[str, np.ndarray]


def init_referring_model(config: Union[str, Config],
                         checkpoint: Optional[str] = None,
                         device: str = 'cpu',
                         cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a referring segmentor from a config and load a checkpoint.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): A checkpoint saved by tools/train.py.
            Without it the model is initialised from the config's
            pretrained files (``sam2_checkpoint``, ``clip_checkpoint``),
            i.e. it is untrained for the task. Defaults to None.
        device (str): 'cpu', 'cuda', 'cuda:1', ... Defaults to 'cpu'.
        cfg_options (dict, optional): Config overrides. Defaults to None.

    Returns:
        nn.Module: The model in eval mode, with ``model.cfg`` attached.
    """
    cfg = load_config(config, cfg_options) if isinstance(config, str) \
        else config
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        model.init_weights()
    elif not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not exist')
    else:
        load_checkpoint(model, checkpoint, map_location='cpu')
    model.cfg = cfg
    return model.to(device).eval()


def _inference_pipeline(cfg: Config) -> Compose:
    """The test pipeline for an in-memory image and no annotation."""
    steps = []
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'LoadReferringAnnotations':
            continue
        if step['type'] == 'LoadImageFromFile':
            step = dict(type='LoadImageFromNDArray')
        steps.append(step)
    return Compose(steps)


def _read_image(image: ImageType) -> tuple:
    """(BGR array, path or '') with clear errors for unreadable files."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError('Image arrays must be (H, W, 3) BGR, got shape '
                             f'{image.shape}')
        return image, ''
    if not osp.isfile(image):
        raise FileNotFoundError(f'Image {image!r} does not exist')
    array = mmcv.imread(image)
    if array is None:
        raise ValueError(f'Image {image!r} cannot be read (not an image '
                         'or corrupt)')
    return array, image


def inference_referring_model(
    model: nn.Module, image: ImageType, text: Union[str, Sequence[str]]
) -> Union[SegDataSample, List[SegDataSample]]:
    """Segment the object each sentence refers to.

    Args:
        model (nn.Module): From :func:`init_referring_model`.
        image (str | np.ndarray): Image path or BGR array (H, W, 3).
        text (str | Sequence[str]): One referring expression, or several
            for the same image (run as one batch).

    Returns:
        SegDataSample | list[SegDataSample]: For each sentence,
        ``pred_sem_seg`` (1, H, W) 0/1 and ``seg_logits`` (sigmoid) at the
        image's original resolution, and ``metainfo['text']``.
    """
    texts = [text] if isinstance(text, str) else list(text)
    if not texts:
        raise ValueError('No sentence given')
    for i, sentence in enumerate(texts):
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f'Sentence {i} is empty: give a referring '
                             'expression such as "the red car on the left"')
    array, path = _read_image(image)
    pipeline = _inference_pipeline(model.cfg)
    data = [
        pipeline(dict(img=array.copy(), img_path=path, text=sentence,
                      sent_id=i)) for i, sentence in enumerate(texts)
    ]
    with torch.no_grad():
        results = model.test_step(pseudo_collate(data))
    return results[0] if isinstance(text, str) else results
