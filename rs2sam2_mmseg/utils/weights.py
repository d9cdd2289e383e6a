"""Checkpoint key mapping: inspect foreign weights, merge init checkpoints.

Three checkpoint layouts fill our model (``RS2SAM2``); their keys map onto
ours as follows (:data:`LAYOUTS`, the one place this mapping is written):

.. code-block:: none

    SAM2 official .pt  {"model": state_dict}
        image_encoder.*       -> backbone.image_encoder.*
        sam_prompt_encoder.*  -> decode_head.prompt_encoder.*
        sam_mask_decoder.*    -> decode_head.mask_decoder.*
        no_mem_embed          -> decode_head.no_mem_embed
        memory_attention.*, memory_encoder.*, maskmem_tpos_enc, ...: ignored
    open_clip .pt / .bin / .safetensors (custom-text layout; the classic
    CLIP layout is converted by open_clip's convert_to_custom_text_state_dict)
        visual.*              -> union_encoder.visual.*
        text.*                -> union_encoder.text.*
        logit_scale, logit_bias, visual.proj, text.text_projection: ignored
    rs2sam2 (mmengine, {"state_dict": ..., "meta": ...})
        union_encoder.*, backbone.*, decode_head.*: unchanged

:func:`inspect_checkpoints` reports, per model component, how many of its
tensors a checkpoint fills (matched), leaves out (missing), names that the
model lacks (unexpected) or gives with another shape (shape mismatch).
:func:`save_init_checkpoint` writes the matched tensors of one or more
checkpoints as an mmengine checkpoint for ``load_from`` / tools/test.py.
"""
import copy
import os
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from open_clip.model import convert_to_custom_text_state_dict
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors
from torch import Tensor

from mmseg.registry import MODELS
from ..models.utils.checkpoint import (SAM2_IMAGE_ENCODER, SAM2_MASK_DECODER,
                                       SAM2_NO_MEM_EMBED, SAM2_PROMPT_ENCODER)
from .checkpoint_io import load_checkpoint_file
from .config import PRETRAINED_PATHS
from .errors import UserInputError
from .report import format_table

StateDict = Dict[str, Tensor]


def _matches(key: str, pattern: str) -> bool:
    """``pattern`` ending in '.' is a prefix, otherwise an exact key."""
    return key.startswith(pattern) if pattern.endswith('.') \
        else key == pattern


@dataclass(frozen=True)
class KeyLayout:
    """How the keys of one checkpoint layout map onto our model's keys.

    Args:
        name (str): Shown in reports, e.g. ``'SAM2 official'``.
        rules (tuple[tuple[str, str], ...]): ``(source, target)`` pairs; a
            source ending in '.' is a prefix replaced by ``target``,
            otherwise an exact key renamed to ``target``.
        ignored (tuple[str, ...]): Source prefixes / keys that our model
            does not use by design. Defaults to ().
        ignored_reason (str): Why, for reports. Defaults to ''.
    """
    name: str
    rules: Tuple[Tuple[str, str], ...]
    ignored: Tuple[str, ...] = ()
    ignored_reason: str = ''

    def target(self, key: str) -> Optional[str]:
        """Our key for a source key, or None when no rule covers it.

        Args:
            key (str): A key of the source checkpoint.

        Returns:
            str, optional: The model key.
        """
        for source, target in self.rules:
            if _matches(key, source):
                return target + key[len(source):]
        return None

    def is_ignored(self, key: str) -> bool:
        """Whether ``key`` is a part our model leaves out by design.

        Args:
            key (str): A key of the source checkpoint.

        Returns:
            bool: True for ignored keys.
        """
        return any(_matches(key, pattern) for pattern in self.ignored)


SAM2_LAYOUT = KeyLayout(
    name='SAM2 official',
    rules=((SAM2_IMAGE_ENCODER, 'backbone.image_encoder.'),
           (SAM2_PROMPT_ENCODER, 'decode_head.prompt_encoder.'),
           (SAM2_MASK_DECODER, 'decode_head.mask_decoder.'),
           (SAM2_NO_MEM_EMBED, 'decode_head.no_mem_embed')),
    ignored=('memory_attention.', 'memory_encoder.', 'maskmem_tpos_enc',
             'no_mem_pos_enc', 'no_obj_ptr', 'no_obj_embed_spatial',
             'mask_downsample.', 'obj_ptr_proj.', 'obj_ptr_tpos_proj.'),
    ignored_reason='SAM2 memory / video parts')
OPEN_CLIP_LAYOUT = KeyLayout(
    name='open_clip',
    rules=(('visual.', 'union_encoder.visual.'), ('text.',
                                                  'union_encoder.text.')),
    ignored=('logit_scale', 'logit_bias', 'visual.proj',
             'text.text_projection'),
    ignored_reason='CLIP contrastive head: the union encoder takes tokens')
RS2SAM2_LAYOUT = KeyLayout(
    name='rs2sam2 (mmengine)',
    rules=(('union_encoder.', 'union_encoder.'), ('backbone.', 'backbone.'),
           ('decode_head.', 'decode_head.')))
#: The known layouts; a checkpoint gets the one covering most of its keys.
LAYOUTS = (SAM2_LAYOUT, OPEN_CLIP_LAYOUT, RS2SAM2_LAYOUT)


def _unwrap(obj: object, path: str) -> StateDict:
    """The tensors of a loaded checkpoint (``model`` / ``state_dict``)."""
    for key in ('model', 'state_dict'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(v, Tensor) for v in obj.values()):
        raise UserInputError(f'{path} holds no state dict (expected tensors, '
                             'directly or under "model" / "state_dict")')
    return {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in obj.items()
    }


def read_checkpoint(path: str) -> Tuple[KeyLayout, StateDict]:
    """Read a checkpoint and recognise its layout.

    ``.safetensors`` files are read with safetensors, anything else with
    :func:`load_checkpoint_file` (tensors only). The layout is the one of
    :data:`LAYOUTS` whose rules cover the most keys; open_clip state dicts
    in the classic CLIP text layout (``token_embedding``, ``transformer.*``,
    ...) are first converted with open_clip's
    ``convert_to_custom_text_state_dict``.

    Args:
        path (str): The checkpoint file.

    Returns:
        tuple[KeyLayout, dict[str, Tensor]]: The layout and the state dict
        (in the layout's own key names).
    """
    if not path.endswith('.safetensors'):
        obj = load_checkpoint_file(path)
    elif not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path!r} does not exist')
    else:
        try:
            obj = load_safetensors(path)
        except (SafetensorError, OSError) as err:
            raise UserInputError(f'{path} is not a complete checkpoint '
                                 f'(safetensors: {err})') from err
    state = _unwrap(obj, path)
    candidates = [(layout, convert_to_custom_text_state_dict(state)
                   if layout is OPEN_CLIP_LAYOUT else state)
                  for layout in LAYOUTS]
    covered = [
        sum(layout.target(k) is not None for k in sd)
        for layout, sd in candidates
    ]
    best = max(range(len(LAYOUTS)), key=covered.__getitem__)
    if not covered[best]:
        raise UserInputError(f'{path}: no key is a SAM2, open_clip or rs2sam2 '
                             f'key (first keys: {list(state)[:3]})')
    return candidates[best]


@dataclass
class ComponentReport:
    """How a checkpoint fills one model component (``backbone``, ...).

    Args:
        matched (list[str]): Model keys filled with the right shape.
        missing (list[str]): Model keys the checkpoint does not give.
        unexpected (list[str]): Mapped keys the model lacks.
        shape_mismatch (list[str]): Model keys given with another shape,
            as ``'key: checkpoint shape vs model shape'``.
    """
    matched: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shape_mismatch: List[str] = field(default_factory=list)


@dataclass
class CheckpointReport:
    """What one checkpoint holds for a model.

    Args:
        path (str): The checkpoint file.
        layout (KeyLayout): Its recognised layout.
        num_tensors (int): Tensors in its state dict.
        components (dict[str, ComponentReport]): Per model component.
        ignored (list[str]): Source keys left out by design.
        unmapped (list[str]): Source keys no rule covers.
        state_dict (dict[str, Tensor]): The matched tensors, in model keys.
    """
    path: str
    layout: KeyLayout
    num_tensors: int
    components: Dict[str, ComponentReport]
    ignored: List[str]
    unmapped: List[str]
    state_dict: StateDict


def model_state_for_config(cfg: Config) -> StateDict:
    """Build a config's model (no pretrained files) and return its state.

    Args:
        cfg (Config): A config with a ``model``.

    Returns:
        dict[str, Tensor]: The randomly initialised model's state dict.
    """
    model_cfg = copy.deepcopy(cfg.model)
    for keys in PRETRAINED_PATHS.values():
        for key in keys:
            component, arg = key.split('.')
            if arg in model_cfg.get(component, {}):
                model_cfg[component][arg] = None
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return MODELS.build(model_cfg).state_dict()


def match_checkpoint(path: str, model_state: StateDict) -> CheckpointReport:
    """Map a checkpoint's keys onto a model and compare shapes.

    Args:
        path (str): The checkpoint file.
        model_state (dict[str, Tensor]): The model's state dict (see
            :func:`model_state_for_config`).

    Returns:
        CheckpointReport: The per-component report and matched tensors.
    """
    layout, source = read_checkpoint(path)
    components = OrderedDict(
        (key.split('.')[0], ComponentReport()) for key in model_state)
    ignored, unmapped, given = [], [], set()
    matched: StateDict = OrderedDict()
    for key, value in source.items():
        if layout.is_ignored(key):
            ignored.append(key)
            continue
        target = layout.target(key)
        if target is None:
            unmapped.append(key)
            continue
        report = components.setdefault(target.split('.')[0], ComponentReport())
        if target not in model_state:
            report.unexpected.append(target)
            continue
        given.add(target)
        shape = tuple(model_state[target].shape)
        if tuple(value.shape) == shape:
            report.matched.append(target)
            matched[target] = value
        else:
            report.shape_mismatch.append(
                f'{target}: {tuple(value.shape)} vs {shape}')
    for key in model_state:
        if key not in given:
            components[key.split('.')[0]].missing.append(key)
    return CheckpointReport(path, layout, len(source), components, ignored,
                            unmapped, matched)


def inspect_checkpoints(paths: Sequence[str],
                        model_state: StateDict) -> List[CheckpointReport]:
    """:func:`match_checkpoint` for each file.

    Args:
        paths (Sequence[str]): Checkpoint files.
        model_state (dict[str, Tensor]): The model's state dict.

    Returns:
        list[CheckpointReport]: One report per file, in order.
    """
    return [match_checkpoint(path, model_state) for path in paths]


def merge_state_dicts(reports: Sequence[CheckpointReport]) -> StateDict:
    """The matched tensors of all reports; later files win on overlaps.

    Args:
        reports (Sequence[CheckpointReport]): From
            :func:`inspect_checkpoints`.

    Returns:
        dict[str, Tensor]: Model key -> tensor.
    """
    for report in reports:
        if not report.state_dict:
            raise UserInputError(
                f'{report.path} ({report.layout.name}) fills '
                'no tensor of the model; see the report above')
    merged: StateDict = OrderedDict()
    for report in reports:
        merged.update(report.state_dict)
    return merged


def save_init_checkpoint(reports: Sequence[CheckpointReport], out: str,
                         config: str) -> StateDict:
    """Write the merged matched tensors as an mmengine checkpoint.

    The file is ``{'state_dict': ..., 'meta': {'config', 'sources'}}``;
    ``load_from`` (or ``tools/test.py``) loads it, leaving the tensors it
    lacks (new layers) at their initialisation.

    Args:
        reports (Sequence[CheckpointReport]): From
            :func:`inspect_checkpoints`.
        out (str): The output file (folders are created).
        config (str): The config the tensors were matched against.

    Returns:
        dict[str, Tensor]: The state dict written.
    """
    state_dict = merge_state_dicts(reports)
    meta = dict(
        config=config,
        sources=[
            dict(path=r.path, layout=r.layout.name, tensors=len(r.state_dict))
            for r in reports
        ])
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), out)
    return state_dict


def format_checkpoint_report(report: CheckpointReport,
                             examples: int = 3) -> str:
    """Render a :class:`CheckpointReport` as a text table.

    Args:
        report (CheckpointReport): The report.
        examples (int): Keys listed per non-empty unexpected / shape
            mismatch / unmapped group. Defaults to 3.

    Returns:
        str: The table and notes.
    """
    header = ('component', 'matched', 'missing', 'unexpected',
              'shape_mismatch')
    rows = [(name, len(c.matched), len(c.missing), len(c.unexpected),
             len(c.shape_mismatch)) for name, c in report.components.items()]
    lines = [
        format_table(
            header, rows, f'{report.path}: {report.layout.name}, '
            f'{report.num_tensors} tensors')
    ]
    if report.ignored:
        lines.append(f'ignored: {len(report.ignored)} '
                     f'({report.layout.ignored_reason})')
    groups = [(f'{name} {kind}', getattr(c, kind))
              for name, c in report.components.items()
              for kind in ('unexpected', 'shape_mismatch')]
    groups.append(('unmapped (no rule)', report.unmapped))
    for title, keys in groups:
        if keys:
            lines.append(f'{title} ({len(keys)}):')
            lines += [f'  {key}' for key in keys[:examples]]
            if len(keys) > examples:
                lines.append('  ...')
    return '\n'.join(lines)
