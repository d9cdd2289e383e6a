"""Inference API: a config + checkpoint in, masks for sentences out."""
import os.path as osp
import pickle
import re
from typing import Dict, List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.model import BaseTTAModel
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader, load_state_dict
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor, nn

from ..utils import load_config, tta_model_config

ImageType = Union[str, np.ndarray]
TextType = Union[str, Sequence[str]]
ResultType = Union[SegDataSample, List[SegDataSample]]
#: Pipeline steps that read annotations; inference has none.
ANNOTATION_LOADERS = ('LoadReferringAnnotations', 'LoadAnnotations')
#: What ``torch.load`` raises on a file that is no (complete) checkpoint.
UNREADABLE_CHECKPOINT = (EOFError, pickle.UnpicklingError, RuntimeError,
                         AttributeError, UnicodeDecodeError)
#: Model keys named per kind of misfit in the error message.
MISFIT_EXAMPLES = 2


def init_referring_model(config: Union[str, Config],
                         checkpoint: Optional[str] = None,
                         device: str = 'cpu',
                         cfg_options: Optional[dict] = None,
                         tta: bool = False,
                         strict: bool = False) -> nn.Module:
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

    Returns:
        nn.Module: The model in eval mode, with ``model.cfg`` attached.
    """
    cfg = load_config(config, cfg_options) if isinstance(config, str) \
        else config
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not exist')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(tta_model_config(cfg) if tta else cfg.model)
    if checkpoint is None:
        model.init_weights()
    else:
        load_referring_checkpoint(model, checkpoint, strict)
    model.cfg = cfg
    return model.to(device).eval()


def load_referring_checkpoint(model: nn.Module,
                              checkpoint: str,
                              strict: bool = False) -> None:
    """Load a checkpoint's weights into a model (or its TTA wrapper's).

    Args:
        model (nn.Module): A referring segmentor, or a ``BaseTTAModel``
            wrapping one (the weights go to its ``module``).
        checkpoint (str): An mmengine checkpoint (``state_dict`` inside)
            or a bare state dict; DDP's ``module.`` prefixes are dropped.
        strict (bool): Fail unless every tensor of the model is given with
            its shape and no other tensor is. Defaults to False (what is
            missing keeps its initial value; mmengine logs it).

    Raises:
        ValueError: The file is no PyTorch checkpoint (or is truncated), or
            ``strict`` and it does not fit the model.
    """
    try:
        loaded = CheckpointLoader.load_checkpoint(
            checkpoint, map_location='cpu')
    except UNREADABLE_CHECKPOINT as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() \
            else type(err).__name__
        raise ValueError(f'Checkpoint {checkpoint!r} cannot be read ('
                         f'{reason}): give a .pth file saved by '
                         'tools/train.py') from err
    state = loaded.get('state_dict', loaded) \
        if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'Checkpoint {checkpoint!r} holds no state dict: '
                         'give a .pth file saved by tools/train.py')
    state = {
        re.sub(r'^module\.', '', key): value
        for key, value in state.items()
    }
    target = model.module if isinstance(model, BaseTTAModel) else model
    misfit = strict and checkpoint_misfit(target.state_dict(), state)
    if misfit:
        raise ValueError(f'Checkpoint {checkpoint!r} does not fit the model '
                         f'of the config: {misfit}; give a checkpoint that '
                         'tools/train.py saved with this config')
    load_state_dict(target, state, strict=False)


def checkpoint_misfit(model_state: Dict[str, Tensor],
                      state: Dict[str, Tensor]) -> Optional[str]:
    """What keeps a state dict from filling a model exactly.

    Args:
        model_state (dict[str, Tensor]): The model's state dict.
        state (dict[str, Tensor]): The checkpoint's, in model keys.

    Returns:
        str | None: e.g. ``'3 of 120 model tensors missing (a.b, a.c,
        ...), 1 of another shape (d.e: (3, 3) vs (8, 3))'``; None when
        every key and shape matches.
    """
    missing = [key for key in model_state if key not in state]
    unexpected = [key for key in state if key not in model_state]
    reshaped = [
        f'{key}: {tuple(state[key].shape)} vs {tuple(value.shape)}'
        for key, value in model_state.items()
        if key in state and hasattr(state[key], 'shape')
        and tuple(state[key].shape) != tuple(value.shape)
    ]
    parts = []
    for keys, what in ((missing, f'of {len(model_state)} model tensors '
                        'missing'), (reshaped, 'of another shape'),
                       (unexpected, 'unknown to the model')):
        if keys:
            shown = ', '.join(keys[:MISFIT_EXAMPLES])
            more = ', ...' if len(keys) > MISFIT_EXAMPLES else ''
            parts.append(f'{len(keys)} {what} ({shown}{more})')
    return ', '.join(parts) or None


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
            raise ValueError('Image arrays must be (H, W, 3) BGR, got shape '
                             f'{image.shape}')
        return image
    if not osp.isfile(image):
        raise FileNotFoundError(f'Image {image!r} does not exist')
    array = mmcv.imread(image)
    if array is None:
        raise ValueError(f'Image {image!r} cannot be read (not an image or '
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
        raise ValueError('No sentence given')
    for i, sentence in enumerate(texts):
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f'Sentence {i} is empty: give a referring '
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
        raise ValueError(f'Threshold {threshold} is not in (0, 1)')
    array = read_image(image)
    path = image if isinstance(image, str) else ''
    tta = isinstance(model, BaseTTAModel)
    pipeline = inference_pipeline(model.cfg, tta)
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
