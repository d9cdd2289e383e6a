"""Checkpoint key mapping: inspect foreign weights, merge init checkpoints.

These checkpoint layouts fill our model (``RS2SAM2``); their keys map onto
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
    unilm BEiT-3 {"model": state_dict} (BEiT3Wrapper keys; training loads
    it through the union encoder's ``pretrained``)
        beit3.*               -> union_encoder.beit3.*
    RS2-SAM2 official (rongfu-dsb/RS2-SAM2 EvfSamModel: a save_pretrained
    directory, or a zero_to_fp32 bin with module.evf_model.* keys)
        mm_extractor.beit3.*  -> union_encoder.beit3.*
        text_feat_linear.*    -> union_encoder.text_proj.*
        visual_model.image_encoder.trunk.blocks.N.
            MLP_Adapter.D_fc1 / D_fc2 -> backbone.adapters.N.mlp_adapter.0 / .2
            Space_Adapter.D_fc1 / D_fc2 -> backbone.adapters.N.down / up
            Space_Adapter.text_in_linear / text_out_linear
                                      -> backbone.adapters.N.text_in / text_out
            Space_Adapter.vlfusion_module.multihead_attn
                                      -> backbone.adapters.N.vision_to_text
            Space_Adapter.lvfusion_module.multihead_attn
                                      -> backbone.adapters.N.text_to_vision
        visual_model.sam_mask_decoder.vlfusion_module.multihead_attn.*
                              -> decode_head.text_fusion.attn.*
        visual_model.{image_encoder, sam_prompt_encoder, sam_mask_decoder,
            no_mem_embed}     -> as SAM2 official above
        vmtoken.multihead_attn.*  -> decode_head.mpg.attn.*
        mask_linear.*, mask_product.* -> decode_head.mpg.gate.*, .out.*
        text_hidden_fcs.0.0 / .0.2 -> decode_head.sparse_proj.0 / .2
        text2one_linear.*     -> decode_head.loss_boundary.text_weight.*
        meo_linear.* (never used), visual_model.<SAM2 memory parts>: ignored
    rs2sam2 (mmengine, {"state_dict": ..., "meta": ...})
        union_encoder.*, backbone.*, decode_head.*: unchanged

:func:`inspect_checkpoints` reports, per model component, how many of its
tensors a checkpoint fills (matched), leaves out (missing), names that the
model lacks (unexpected) or gives with another shape (shape mismatch).
:func:`save_init_checkpoint` writes the matched tensors of one or more
checkpoints as an mmengine checkpoint for ``load_from`` / tools/test.py.
Files and directories are read by :mod:`.checkpoint_files`.
"""
import copy
import os
import os.path as osp
import re
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import (Dict, Iterator, List, Optional, Pattern, Sequence, Tuple,
                    Union)
from unittest import mock

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from open_clip.model import convert_to_custom_text_state_dict

from mmseg.registry import MODELS
from ..models.utils.checkpoint import (SAM2_IMAGE_ENCODER, SAM2_MASK_DECODER,
                                       SAM2_NO_MEM_EMBED, SAM2_PROMPT_ENCODER)
from .checkpoint_files import CheckpointError, StateDict, load_state_dict
from .errors import UserInputError
from .report import format_table

#: Model config keys naming pretrained files, which
#: :func:`model_state_for_config` does not read.
PRETRAINED_KEYS = ('sam2_checkpoint', 'backbone.sam2_checkpoint',
                   'decode_head.sam2_checkpoint', 'union_encoder.pretrained')
#: A rule's source: a prefix (ends in '.'), an exact key, or a regex
#: matched at the start of the key.
Source = Union[str, Pattern]


def _matches(key: str, pattern: str) -> bool:
    """``pattern`` ending in '.' is a prefix, otherwise an exact key."""
    return key.startswith(pattern) if pattern.endswith('.') \
        else key == pattern


@dataclass(frozen=True)
class KeyLayout:
    """How the keys of one checkpoint layout map onto our model's keys.

    Args:
        name (str): Shown in reports, e.g. ``'SAM2 official'``.
        rules (tuple[tuple[str | Pattern, str], ...]): ``(source,
            target)`` pairs, the first covering a key applies. A string
            source ending in '.' is a prefix replaced by ``target``,
            otherwise an exact key renamed to ``target``; a compiled regex
            source replaces what it matches at the key's start by
            ``target`` expanded with its groups (``\\1``).
        ignored (tuple[str, ...]): Source prefixes / keys that our model
            does not use by design. Defaults to ().
        ignored_reason (str): Why, for reports. Defaults to ''.
    """
    name: str
    rules: Tuple[Tuple[Source, str], ...]
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
            if isinstance(source, str):
                if _matches(key, source):
                    return target + key[len(source):]
                continue
            found = source.match(key)
            if found:
                return found.expand(target) + key[found.end():]
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
BEIT3_LAYOUT = KeyLayout(
    name='BEiT-3 (unilm)', rules=(('beit3.', 'union_encoder.beit3.'), ))
#: Official per-block adapter names -> ours (under backbone.adapters.N.).
OFFICIAL_ADAPTER_NAMES = {
    'MLP_Adapter.D_fc1': 'mlp_adapter.0',
    'MLP_Adapter.D_fc2': 'mlp_adapter.2',
    'Space_Adapter.D_fc1': 'down',
    'Space_Adapter.D_fc2': 'up',
    'Space_Adapter.text_in_linear': 'text_in',
    'Space_Adapter.text_out_linear': 'text_out',
    'Space_Adapter.vlfusion_module.multihead_attn': 'vision_to_text',
    'Space_Adapter.lvfusion_module.multihead_attn': 'text_to_vision',
}
#: Where the official SAM2 model sits in EvfSamModel.
OFFICIAL_SAM2 = 'visual_model.'
#: Official keys outside SAM2 -> ours.
OFFICIAL_HEADS = {
    'mm_extractor.beit3.': 'union_encoder.beit3.',
    'text_feat_linear.': 'union_encoder.text_proj.',
    'vmtoken.multihead_attn.': 'decode_head.mpg.attn.',
    'mask_linear.': 'decode_head.mpg.gate.',
    'mask_product.': 'decode_head.mpg.out.',
    'text_hidden_fcs.0.0.': 'decode_head.sparse_proj.0.',
    'text_hidden_fcs.0.2.': 'decode_head.sparse_proj.2.',
    'text2one_linear.': 'decode_head.loss_boundary.text_weight.',
}


def _official_rules() -> Tuple[Tuple[Source, str], ...]:
    """Adapters (by block), decoder fusion, SAM2 parts, the rest."""
    blocks = re.escape(f'{OFFICIAL_SAM2}image_encoder.trunk.blocks.')
    adapters = tuple((re.compile(rf'{blocks}(\d+)\.{re.escape(name)}\.'),
                      rf'backbone.adapters.\1.{ours}.')
                     for name, ours in OFFICIAL_ADAPTER_NAMES.items())
    fusion = f'{OFFICIAL_SAM2}{SAM2_MASK_DECODER}vlfusion_module.' \
        'multihead_attn.'
    sam2 = tuple((OFFICIAL_SAM2 + source, target)
                 for source, target in SAM2_LAYOUT.rules)
    return adapters + ((fusion, 'decode_head.text_fusion.attn.'), ) + \
        sam2 + tuple(OFFICIAL_HEADS.items())


OFFICIAL_LAYOUT = KeyLayout(
    name='RS2-SAM2 official',
    rules=_official_rules(),
    ignored=('meo_linear.', ) + tuple(OFFICIAL_SAM2 + key
                                      for key in SAM2_LAYOUT.ignored),
    ignored_reason='SAM2 memory / video parts; meo_linear, never used')
RS2SAM2_LAYOUT = KeyLayout(
    name='rs2sam2 (mmengine)',
    rules=(('union_encoder.', 'union_encoder.'), ('backbone.', 'backbone.'),
           ('decode_head.', 'decode_head.')))
#: The known layouts; a checkpoint gets the one covering most of its keys.
LAYOUTS = (SAM2_LAYOUT, OPEN_CLIP_LAYOUT, BEIT3_LAYOUT, OFFICIAL_LAYOUT,
           RS2SAM2_LAYOUT)


def read_checkpoint(
        path: str,
        expected: Optional[KeyLayout] = None) -> Tuple[KeyLayout, StateDict]:
    """Read a checkpoint and recognise its layout.

    Files and ``save_pretrained`` directories are read by
    :func:`~.checkpoint_files.load_state_dict`. The layout is the one of
    :data:`LAYOUTS` whose rules cover the most keys; open_clip state dicts
    in the classic CLIP text layout (``token_embedding``, ``transformer.*``,
    ...) are first converted with open_clip's
    ``convert_to_custom_text_state_dict``.

    Args:
        path (str): The checkpoint file or directory.
        expected (KeyLayout, optional): Refuse checkpoints of any other
            layout. Defaults to None (any of :data:`LAYOUTS`).

    Returns:
        tuple[KeyLayout, dict[str, Tensor]]: The layout and the state dict
        (in the layout's own key names).
    """
    state = load_state_dict(path)
    candidates = [(layout, convert_to_custom_text_state_dict(state)
                   if layout is OPEN_CLIP_LAYOUT else state)
                  for layout in LAYOUTS]
    covered = [
        sum(layout.target(k) is not None for k in sd)
        for layout, sd in candidates
    ]
    best = max(range(len(LAYOUTS)), key=covered.__getitem__)
    if not covered[best]:
        names = ', '.join(layout.name for layout in LAYOUTS)
        raise CheckpointError(f'{path}: no key is a key of a known layout '
                              f'({names}; first keys: {list(state)[:3]})')
    layout = LAYOUTS[best]
    if expected is not None and layout is not expected:
        raise CheckpointError(
            f'{path} holds {layout.name} keys ({covered[best]} of '
            f'{len(state)}), not {expected.name} ones')
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


@contextmanager
def _build_on(device: str) -> Iterator[None]:
    """Create new tensors on ``device`` (``'meta'``: shapes, no memory).

    SAM2's Hiera takes ``.item()`` of a ``torch.linspace`` (its drop-path
    rates), which a meta tensor cannot give: that one stays on the CPU.
    """
    if device == 'cpu':
        yield
        return
    linspace = torch.linspace

    def cpu_linspace(*args, **kwargs):
        return linspace(*args, **dict(kwargs, device='cpu'))

    with torch.device(device), mock.patch('torch.linspace', cpu_linspace):
        yield


def model_state_for_config(cfg: Config,
                           device: str = 'cpu',
                           **component_args: dict) -> StateDict:
    """Build a config's model (no pretrained files) and return its state.

    Args:
        cfg (Config): A config with a ``model``.
        device (str): Where its tensors are made; ``'meta'`` gives the
            key / shape list of a large model in seconds and no memory.
            Defaults to 'cpu'.
        **component_args (dict): Arguments to set, per model component,
            e.g. ``union_encoder=dict(spm_file=...)``.

    Returns:
        dict[str, Tensor]: The randomly initialised model's state dict.
    """
    model_cfg = copy.deepcopy(cfg.model)
    for key in PRETRAINED_KEYS:
        *components, arg = key.split('.')
        node = model_cfg
        for component in components:
            node = node.get(component, {})
        if arg in node:
            node[arg] = None
    for component, args in component_args.items():
        model_cfg[component].update(args)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    with _build_on(device):
        return MODELS.build(model_cfg).state_dict()


def match_checkpoint(path: str,
                     model_state: StateDict,
                     expected: Optional[KeyLayout] = None) -> CheckpointReport:
    """Read a checkpoint, map its keys onto a model and compare shapes.

    Args:
        path (str): The checkpoint file or directory.
        model_state (dict[str, Tensor]): The model's state dict (see
            :func:`model_state_for_config`).
        expected (KeyLayout, optional): See :func:`read_checkpoint`.
            Defaults to None.

    Returns:
        CheckpointReport: The per-component report and matched tensors.
    """
    return match_state_dict(path, *read_checkpoint(path, expected),
                            model_state)


def match_state_dict(path: str, layout: KeyLayout, source: StateDict,
                     model_state: StateDict) -> CheckpointReport:
    """Map a state dict's keys onto a model and compare shapes.

    Args:
        path (str): Where the state dict came from, for reports.
        layout (KeyLayout): Its layout.
        source (dict[str, Tensor]): Its tensors (meta tensors are enough
            to check a key / shape list).
        model_state (dict[str, Tensor]): The model's state dict.

    Returns:
        CheckpointReport: The per-component report and matched tensors.
    """
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


def check_complete(report: CheckpointReport) -> None:
    """Raise unless a checkpoint fills the whole model and nothing else.

    The error names the first model key not filled (missing, then given
    with another shape), else the first source key that found no place
    (a model key the model lacks, then a key no rule covers).

    Args:
        report (CheckpointReport): From :func:`match_checkpoint`.
    """
    gaps = [(kind, key) for kind in ('missing', 'shape_mismatch')
            for component in report.components.values()
            for key in getattr(component, kind)]
    gaps += [('unexpected', key) for component in report.components.values()
             for key in component.unexpected]
    gaps += [('unmapped', key) for key in report.unmapped]
    if gaps:
        kind, key = gaps[0]
        what = dict(
            missing='the model needs {} but the checkpoint does not give it',
            shape_mismatch='the checkpoint gives {} with another shape',
            unexpected='the model has no {} (mapped from the checkpoint)',
            unmapped='no rule maps the checkpoint key {}')[kind]
        raise CheckpointError(
            f'{report.path} ({report.layout.name}): '
            f'{what.format(key)} ({len(gaps)} such keys; see the report)')


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
