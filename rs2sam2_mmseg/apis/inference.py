"""Inference API: a config + checkpoint in, masks for sentences out."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.model import BaseTTAModel
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from torch import nn

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from ..datasets.utils import resize_to_nothing
from ..utils import check_checkpoint_fits, load_config, tta_model_config
from ..utils.errors import UserInputError

ImageType = Union[str, np.ndarray]
TextType = Union[str, Sequence[str]]
ResultType = Union[SegDataSample, List[SegDataSample]]
#: Pipeline steps that read annotations; inference has none.
ANNOTATION_LOADERS = ('LoadReferringAnnotations', 'LoadAnnotations')


def init_referring_model(config: Union[str, Config],
                         checkpoint: Optional[str] = None,
                         device: str = 'cpu',
                         cfg_options: Optional[dict] = None,
                         tta: bool = False,
                         allow_partial: bool = False) -> nn.Module:
    """Build a referring segmentor from a config and load a checkpoint.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): A checkpoint saved by tools/train.py
            (or an init checkpoint of tools/convert_weights.py). Without it
            the model is initialised from the config's pretrained files
            (``sam2_checkpoint``, ``clip_checkpoint``), i.e. it is untrained
            for the task. Defaults to None.
        device (str): 'cpu', 'cuda', 'cuda:1', ... Defaults to 'cpu'.
        cfg_options (dict, optional): Config overrides. Defaults to None.
        tta (bool): Wrap the model in the config's ``tta_model``:
            :func:`inference_referring_model` then averages the views of
            its ``tta_pipeline`` (the image as is and flipped, each with its
            sentence flipped). Defaults to False.
        allow_partial (bool): Load a checkpoint that does not fit the
            model (mismatched tensors keep their initialisation); by
            default it is refused (:func:`check_checkpoint_fits`).
            Defaults to False.

    Returns:
        nn.Module: The model in eval mode, with ``model.cfg`` attached.
    """
    cfg = load_config(config, cfg_options) if isinstance(config, str) \
        else config
    if (cfg.model.get('test_cfg') or {}).get('pred_scale') == 'input':
        # the official protocol scores masks at the model input; users get
        # them at their image's resolution
        cfg.model.test_cfg.pred_scale = 'original'
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not exist')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(tta_model_config(cfg) if tta else cfg.model)
    if checkpoint is None:
        model.init_weights()
    else:
        if not allow_partial:
            check_checkpoint_fits(model, checkpoint)
        load_checkpoint(model, checkpoint, map_location='cpu')
    model.cfg = cfg
    return model.to(device).eval()


def referring_tta_model(model: nn.Module) -> BaseTTAModel:
    """Wrap a loaded model in its config's ``tta_model``, sharing weights.

    Args:
        model (nn.Module): From :func:`init_referring_model` (without
            ``tta``).

    Returns:
        BaseTTAModel: The wrapper in eval mode on the model's device, with
        ``cfg`` attached; :func:`inference_referring_model` averages its
        ``tta_pipeline`` views.
    """
    device = next(model.parameters()).device
    wrapper = MODELS.build(dict(tta_model_config(model.cfg), module=model))
    wrapper.cfg = model.cfg
    return wrapper.to(device).eval()


def inference_pipeline(cfg: Config, tta: bool = False) -> Compose:
    """The config's test pipeline for an in-memory image, no annotation.

    Args:
        cfg (Config): The model's config.
        tta (bool): Use its ``tta_pipeline`` (views of the image) instead.
            Defaults to False.

    Returns:
        Compose: The pipeline; its input is
        ``dict(img=BGR array, text=str, sent_id=int)``.
    """
    steps = cfg.tta_pipeline if tta else cfg.test_dataloader.dataset.pipeline
    return Compose(_without_annotations(steps))


def _without_annotations(steps: Sequence[dict]) -> List[dict]:
    """Pipeline steps for an array: no annotation loader, no file read."""
    kept = []
    for step in steps:
        if step['type'] in ANNOTATION_LOADERS:
            continue
        if step['type'] == 'LoadImageFromFile':
            step = dict(type='LoadImageFromNDArray')
        elif step['type'] == 'TestTimeAug':
            views = [
                _without_annotations(group) for group in step['transforms']
            ]
            step = dict(step, transforms=[group for group in views if group])
        kept.append(step)
    return kept


def read_image(image: ImageType) -> np.ndarray:
    """Check or read an image for inference.

    Args:
        image (str | np.ndarray): An image file (anything OpenCV reads) or
            a BGR array of shape (H, W, 3).

    Returns:
        np.ndarray: The BGR image, (H, W, 3) uint8.
    """
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise UserInputError(
                'Image arrays must be (H, W, 3) BGR, got shape '
                f'{image.shape}')
        return image
    if not osp.isfile(image):
        raise FileNotFoundError(f'Image {image!r} does not exist')
    try:
        array = mmcv.imread(image)
    except cv2.error:  # an empty file
        array = None
    if array is None:
        raise UserInputError(
            f'Image {image!r} cannot be read (not an image or '
            'corrupt)')
    return array


def check_sentences(text: TextType) -> List[str]:
    """Validate referring expressions.

    Args:
        text (str | Sequence[str]): One sentence or several.

    Returns:
        list[str]: The sentences.
    """
    texts = [text] if isinstance(text, str) else list(text)
    if not texts:
        raise UserInputError('No sentence given')
    for i, sentence in enumerate(texts):
        if not isinstance(sentence, str) or not sentence.strip():
            raise UserInputError(
                f'Sentence {i} is empty: give a referring '
                'expression such as "the red car on the left"')
    return texts


def inference_referring_model(model: nn.Module,
                              image: ImageType,
                              text: TextType,
                              threshold: Optional[float] = None) -> ResultType:
    """Segment the object each sentence refers to.

    All sentences of the image run as one batch.

    Args:
        model (nn.Module): From :func:`init_referring_model` (with
            ``tta=True``, each sentence's views are merged into one mask).
        image (str | np.ndarray): Image path or BGR array (H, W, 3).
        text (str | Sequence[str]): One referring expression, or several
            for the same image.
        threshold (float, optional): Probability above which a pixel is
            in the mask, in (0, 1); the decode head's ``threshold`` is set
            to it for this call (one call at a time per model). Defaults to
            None (the config's).

    Returns:
        SegDataSample | list[SegDataSample]: For each sentence,
        ``pred_sem_seg`` (1, H, W) 0/1 and ``seg_logits`` (1, H, W) at the
        image's original resolution, and ``metainfo['text']``; a list when
        ``text`` is a sequence.
    """
    texts = check_sentences(text)
    if threshold is not None and not 0 < threshold < 1:
        raise UserInputError(f'Threshold {threshold} is not in (0, 1)')
    array = read_image(image)
    path = image if isinstance(image, str) else ''
    tta = isinstance(model, BaseTTAModel)
    pipeline = inference_pipeline(model.cfg, tta)
    scale = resize_to_nothing(pipeline, array.shape[:2])
    if scale is not None:
        raise UserInputError(
            f'Image {path or "array"} is {array.shape[1]}x{array.shape[0]} '
            f'px: resized to fit {scale} with its aspect ratio, a side '
            'becomes 0 px; crop it')
    data = []
    for i, sentence in enumerate(texts):
        item = pipeline(dict(img=array.copy(), text=sentence, sent_id=i))
        # LoadImageFromNDArray sets img_path None; keep the file name
        for sample in item['data_samples'] if tta else [item['data_samples']]:
            sample.set_metainfo(dict(img_path=path))
        data.append(item)
    head = (model.module if tta else model).decode_head
    default = head.threshold
    head.threshold = default if threshold is None else threshold
    try:
        with torch.no_grad():
            results = model.test_step(pseudo_collate(data))
    finally:
        head.threshold = default
    return results[0] if isinstance(text, str) else results
