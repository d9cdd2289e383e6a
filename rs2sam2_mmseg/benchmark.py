"""Speed and memory of RS2-SAM2 against the SAM2 set-ups users would pick.

One run measures five phases of the same config, batch and input size:

.. code:: text

    rs2sam2_infer     RS2-SAM2 forward, eval + no_grad (mask logits S/4,
                      or S with the head's refiner)
    sam2_infer        bare SAM2 (image encoder + prompt encoder + mask
                      decoder of the same SAM2 config), same input
    rs2sam2_train     RS2-SAM2 forward + backward + AdamW step over its
                      trainable parameters, backbone with_cp=False
    rs2sam2_train_cp  the same with activation checkpointing (with_cp=True)
    sam2_train        full fine-tuning of that SAM2 (every parameter
                      trainable, image encoder included), BCE on the mask

Each phase runs in a fresh process (``forkserver``: the imports are done
once, then every phase forks a clean interpreter that builds its model), so
one phase's allocations cannot hide in another's numbers and a phase that
runs out of memory is reported instead of ending the run. Times are the
median of ``iters`` iterations after ``warmup`` excluded ones, as wall
clock and as CPU time of the process (all its threads; on a machine shared
with other jobs it moves less than the wall clock). With ``amp`` every
model runs under bf16 ``torch.autocast`` (weights and optimizer in fp32).
Memory is the phase's peak above the process before the model was built:

- CUDA: ``torch.cuda.max_memory_allocated`` (tensors: weights, gradients,
  optimizer state, activations).
- CPU: peak resident set size, read as ``VmHWM`` from ``/proc/self/status``
  (the kernel's exact high-water mark, ``ru_maxrss``); it is reset through
  ``/proc/self/clear_refs`` once the model is built, so the peak covers the
  measured iterations only, not the transient memory of the build.

Models are randomly initialised: no checkpoint is read.
"""
import copy
import logging
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from .models.utils import (build_sam2_heads, build_sam2_image_encoder,
                           decode_sam2_masks, format_parameter_table,
                           load_sam2_model_cfg, parameter_table, resize_square)
from .utils import configure_denormals, load_config
from .utils.errors import UserInputError

#: Sentences of the synthetic batch (typical RRSIS-D lengths).
SENTENCES = ('the large white storage tank at the bottom left of the image',
             'a red car parked next to the grey building on the right',
             'the ship at the top', 'the small green tree near the road')


@dataclass(frozen=True)
class Phase:
    """One measured set-up.

    Args:
        key (str): Name in the JSON report.
        label (str): Name in the table.
        model (str): 'rs2sam2' or 'sam2'.
        mode (str): 'infer' or 'train'.
        with_cp (bool, optional): RS2-SAM2 backbone activation
            checkpointing; None keeps the config's. Defaults to None.
    """
    key: str
    label: str
    model: str
    mode: str
    with_cp: Optional[bool] = None


PHASES = (
    Phase('rs2sam2_infer', 'RS2-SAM2 inference', 'rs2sam2', 'infer'),
    Phase('sam2_infer', 'bare SAM2 inference', 'sam2', 'infer'),
    Phase('rs2sam2_train', 'RS2-SAM2 train step, with_cp=False', 'rs2sam2',
          'train', False),
    Phase('rs2sam2_train_cp', 'RS2-SAM2 train step, with_cp=True', 'rs2sam2',
          'train', True),
    Phase('sam2_train', 'full SAM2 fine-tuning train step', 'sam2', 'train'),
)
#: ``(label, numerator phase, denominator phase)`` of the printed ratios.
RATIOS = (
    ('inference: RS2-SAM2 / bare SAM2', 'rs2sam2_infer', 'sam2_infer'),
    ('train: RS2-SAM2 / full SAM2 FT', 'rs2sam2_train', 'sam2_train'),
    ('train: RS2-SAM2 with_cp / full SAM2 FT', 'rs2sam2_train_cp',
     'sam2_train'),
    ('train: with_cp=True / with_cp=False', 'rs2sam2_train_cp',
     'rs2sam2_train'),
)
MODES = ('infer', 'train')


@dataclass(frozen=True)
class BenchmarkOptions:
    """What to measure.

    Args:
        config (str): Model config file.
        device (str): 'cpu' or 'cuda'. Defaults to 'cpu'.
        batch_size (int): Images per step. Defaults to 1.
        amp (bool): bf16 autocast for every model. Defaults to False.
        iters (int): Timed iterations (the median is reported).
            Defaults to 5.
        warmup (int): Iterations run first and excluded. Defaults to 1.
        input_size (int, optional): SAM2 input side overriding the
            config's (see :func:`set_sam2_input_size`). Defaults to None.
        threads (int, optional): CPU threads of each phase
            (``torch.set_num_threads``); None keeps torch's default.
            Defaults to None.
        modes (tuple[str]): Phases to run, of :data:`MODES`.
            Defaults to both.
        cfg_options (dict): ``--cfg-options`` merged into the config.
            Defaults to empty.
    """
    config: str
    device: str = 'cpu'
    batch_size: int = 1
    amp: bool = False
    iters: int = 5
    warmup: int = 1
    input_size: Optional[int] = None
    threads: Optional[int] = None
    modes: Tuple[str, ...] = MODES
    cfg_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.device not in ('cpu', 'cuda'):
            raise UserInputError(f"device must be 'cpu' or 'cuda', got "
                                 f'{self.device!r}')
        if self.device == 'cuda' and not torch.cuda.is_available():
            raise UserInputError('--device cuda, but CUDA is not available')
        if min(self.batch_size, self.iters, self.threads or 1) < 1 or \
                self.warmup < 0:
            raise UserInputError(
                'need batch_size, iters and threads >= 1 and warmup >= 0, '
                f'got {self.batch_size}, {self.iters}, {self.threads}, '
                f'{self.warmup}')
        if not self.modes or set(self.modes) - set(MODES):
            raise UserInputError(
                f'modes must be a non-empty subset of {MODES}, '
                f'got {self.modes}')


def set_sam2_input_size(cfg: Config, size: int) -> Config:
    """Change the SAM2 input side of an RS2-SAM2 model config.

    Sets the data preprocessor's padding size and SAM2's ``image_size`` in
    the ``sam2_overrides`` of the backbone and of the decode head, so the
    Hiera position embedding, the prompt encoder's embedding grid and mask
    input size follow. The union encoder keeps its own image size. Data
    pipelines are not changed.

    Args:
        cfg (Config): A config with an RS2-SAM2 ``model``.
        size (int): The new side, a multiple of 32 (Hiera's stride 32 and
            its 8 x 8 windows at stride 4 must tile the image).

    Returns:
        Config: The same config, modified in place.
    """
    if size <= 0 or size % 32:
        raise UserInputError(
            f'SAM2 input size must be a positive multiple of 32, got {size}')
    model = cfg.model
    model.data_preprocessor.size = (size, size)
    for key in ('backbone', 'decode_head'):
        overrides = model[key].get('sam2_overrides') or {}
        model[key].sam2_overrides = dict(overrides, image_size=size)
    return cfg


def load_benchmark_config(options: BenchmarkOptions) -> Config:
    """The config of ``options``, input size applied."""
    cfg = load_config(options.config, options.cfg_options)
    if options.input_size:
        set_sam2_input_size(cfg, options.input_size)
    return cfg


class SAM2Baseline(nn.Module):
    """Bare SAM2 on single images: what a user without RS2-SAM2 runs.

    Image encoder, prompt encoder and mask decoder built by
    :mod:`rs2sam2_mmseg.models.utils.sam2_parts` from SAM2's own config
    (the same parts and sizes as the RS2-SAM2 model), prompted as
    ``SAM2ImagePredictor`` does with a mask input only: a dense prompt of
    zeros, no points, single-mask output. Images are resized to SAM2's
    ``image_size`` first, as SAM2's transforms (and RS2-SAM2's encoder) do.

    Args:
        backbone (dict): The RS2-SAM2 backbone config (``sam2_cfg``,
            ``sam2_overrides``): the image encoder.
        decode_head (dict): The RS2-SAM2 head config (``sam2_cfg``,
            ``sam2_overrides``, ``decoder_cfg``): the SAM heads.
    """

    def __init__(self, backbone: dict, decode_head: dict) -> None:
        super().__init__()
        encoder_cfg = load_sam2_model_cfg(backbone['sam2_cfg'],
                                          backbone.get('sam2_overrides'))
        self.image_size = int(encoder_cfg.image_size)
        self.image_encoder = build_sam2_image_encoder(encoder_cfg)
        heads_cfg = load_sam2_model_cfg(decode_head['sam2_cfg'],
                                        decode_head.get('sam2_overrides'))
        self.prompt_encoder, self.mask_decoder = build_sam2_heads(
            heads_cfg, decode_head.get('decoder_cfg'))
        self.no_mem_embed = nn.Parameter(
            torch.zeros(1, 1, heads_cfg.image_encoder.neck.d_model))

    def forward(self, images: Tensor) -> Tensor:
        """Predict one mask per image.

        Args:
            images (Tensor): (B, 3, H, W), normalised for SAM2.

        Returns:
            Tensor: Mask logits, (B, 1, S/4, S/4), S = SAM2's image_size.
        """
        images = resize_square(images, self.image_size)
        fpn = self.image_encoder(images)['backbone_fpn']
        mask_prompt = images.new_zeros(
            len(images), 1, *self.prompt_encoder.mask_input_size)
        sparse, dense = self.prompt_encoder(
            points=None, boxes=None, masks=mask_prompt)  # (B, 0, D) sparse
        return decode_sam2_masks(self.prompt_encoder, self.mask_decoder, fpn,
                                 self.no_mem_embed, sparse, dense)


def synthetic_batch(batch_size: int, size: int) -> dict:
    """A dataloader-style batch: random images, a sentence and a box mask.

    Args:
        batch_size (int): Samples.
        size (int): Image side.

    Returns:
        dict: ``inputs`` (list of (3, S, S) uint8) and ``data_samples``
        (with ``metainfo['text']``, ``sent_id`` and a (1, S, S) 0/1
        ``gt_sem_seg``).
    """
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(
            torch.randint(
                0, 256, (3, size, size), generator=gen, dtype=torch.uint8))
        gt = torch.zeros(1, size, size, dtype=torch.long)
        gt[:, size // 4:size // 2, size // 8 * (i % 4 + 1):size // 2] = 1
        sample = SegDataSample(gt_sem_seg=PixelData(data=gt))
        sample.set_metainfo(
            dict(
                text=SENTENCES[i % len(SENTENCES)],
                sent_id=i,
                img_shape=(size, size),
                ori_shape=(size, size)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


class Workload:
    """A model with one prepared batch: what a phase repeats.

    Args:
        cfg (Config): The RS2-SAM2 config.
        phase (Phase): Which model to build.
        batch_size (int): Samples in the batch.
        device (torch.device): Where the model and batch live.
    """

    def __init__(self, cfg: Config, phase: Phase, batch_size: int,
                 device: torch.device) -> None:
        model_cfg = copy.deepcopy(cfg.model)
        if phase.with_cp is not None:
            model_cfg.backbone.with_cp = phase.with_cp
        preprocessor = MODELS.build(model_cfg.data_preprocessor).to(device)
        size = preprocessor.size[0]
        data = preprocessor(synthetic_batch(batch_size, size), training=True)
        self.inputs, self.samples = data['inputs'], data['data_samples']
        self.is_rs2sam2 = phase.model == 'rs2sam2'
        if self.is_rs2sam2:
            self.model = MODELS.build(model_cfg)
        else:
            self.model = SAM2Baseline(model_cfg.backbone,
                                      model_cfg.decode_head)
            self.target = torch.stack(
                [s.gt_sem_seg.data for s in self.samples]).float()
        self.model.to(device)

    def predict(self) -> Tensor:
        """Mask logits, (B, 1, S/4, S/4) (S x S with a refiner)."""
        if self.is_rs2sam2:
            return self.model(self.inputs, self.samples, mode='tensor')
        return self.model(self.inputs)

    def loss(self) -> Tensor:
        """The training loss: RS2-SAM2's own, BCE for the baseline."""
        if self.is_rs2sam2:
            losses = self.model(self.inputs, self.samples, mode='loss')
            return self.model.parse_losses(losses)[0]
        logits = F.interpolate(
            self.model(self.inputs),
            self.target.shape[-2:],
            mode='bilinear',
            align_corners=False)
        return F.binary_cross_entropy_with_logits(logits, self.target)


class MemoryMeter:
    """Memory of this process on a device, in bytes (see module doc).

    Args:
        device (torch.device): 'cuda' reads the caching allocator, 'cpu'
            the resident set size from ``/proc/self/status``.
    """

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == 'cuda'
        if not self.cuda and not os.path.isfile('/proc/self/status'):
            raise OSError('CPU memory is read from /proc/self/status '
                          '(Linux); use --device cuda elsewhere')
        self.peak_reset = True

    def _status_kib(self, key: str) -> int:
        with open('/proc/self/status', encoding='ascii') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) * 1024
        raise OSError(f'no {key} in /proc/self/status')

    def current(self) -> int:
        """Allocated (CUDA) or resident (CPU) bytes now."""
        if self.cuda:
            return torch.cuda.memory_allocated()
        return self._status_kib('VmRSS')

    def reset_peak(self) -> None:
        """Start a new peak; on CPU ``peak_reset`` says if it worked."""
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
            return
        try:
            with open('/proc/self/clear_refs', 'w', encoding='ascii') as f:
                f.write('5')  # resets VmHWM to the current RSS
        except OSError:
            self.peak_reset = False

    def peak(self) -> int:
        """The peak since :meth:`reset_peak`, in bytes."""
        if self.cuda:
            return torch.cuda.max_memory_allocated()
        return self._status_kib('VmHWM')

    def method(self) -> str:
        """How memory is measured, for the report."""
        if self.cuda:
            return 'CUDA max_memory_allocated'
        return ('peak RSS (VmHWM, reset after the model build)'
                if self.peak_reset else
                'peak RSS (VmHWM since process start: clear_refs failed)')


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _step_function(workload: Workload, mode: str, amp: bool,
                   device: torch.device) -> Callable[[], None]:
    """The repeated step: inference, or forward + backward + AdamW."""

    def autocast():
        return torch.autocast(device.type, torch.bfloat16, enabled=amp)

    model = workload.model
    if mode == 'infer':
        model.eval()

        def infer() -> None:
            with torch.no_grad(), autocast():
                workload.predict()

        return infer
    model.train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def train() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = workload.loss()
        loss.backward()
        optimizer.step()

    return train


def measure_phase(options: BenchmarkOptions, phase: Phase) -> dict:
    """Build the phase's model and time its step (in a fresh process).

    Returns:
        dict: ``times_s`` (wall time of the timed iterations),
        ``median_s``, ``cpu_median_s`` (median CPU time of the process,
        all threads: robust to other load on a shared machine),
        ``images_per_s``, ``peak_mb`` and ``resident_mb`` (after the build,
        before the first step; both above the pre-build baseline),
        ``memory_method``, ``threads`` and ``params`` (rows of
        :func:`parameter_table`).
    """
    # models are randomly initialised on purpose: keep their logs quiet
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    init_default_scope('mmseg')
    if options.threads:
        torch.set_num_threads(options.threads)
    torch.manual_seed(0)
    device = torch.device(options.device)
    cfg = load_benchmark_config(options)
    configure_denormals(cfg)  # as the tools do, before the model is built
    meter = MemoryMeter(device)
    baseline = meter.current()
    workload = Workload(cfg, phase, options.batch_size, device)
    step = _step_function(workload, phase.mode, options.amp, device)
    _synchronize(device)
    resident = meter.current() - baseline
    meter.reset_peak()
    times, cpu_times = [], []
    for _ in range(options.warmup + options.iters):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        _synchronize(device)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    times, cpu_times = times[options.warmup:], cpu_times[options.warmup:]
    median = statistics.median(times)
    return dict(
        times_s=times,
        median_s=median,
        cpu_median_s=statistics.median(cpu_times),
        images_per_s=options.batch_size / median,
        peak_mb=(meter.peak() - baseline) / 2**20,
        resident_mb=resident / 2**20,
        memory_method=meter.method(),
        threads=torch.get_num_threads(),
        params=parameter_table(
            workload.model, depth=2 if phase.model == 'rs2sam2' else 1))


def _child(conn: Connection, options: BenchmarkOptions, phase: Phase) -> None:
    """Process entry: send the phase's result, or the error it raised."""
    try:
        result = measure_phase(options, phase)
    except (RuntimeError, MemoryError) as err:  # e.g. out of memory
        result = dict(error=f'{type(err).__name__}: {err}')
    conn.send(result)
    conn.close()


def run_isolated(options: BenchmarkOptions, phase: Phase) -> dict:
    """:func:`measure_phase` in a fresh process (see module doc).

    Returns:
        dict: Its result, or ``error`` when it raised or died (e.g. killed
        by the out-of-memory killer).
    """
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context('forkserver' if 'forkserver' in
                                      methods else 'spawn')
    if 'forkserver' in methods:
        ctx.set_forkserver_preload(['rs2sam2_mmseg.benchmark'])
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, options, phase))
    process.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        result = None
    process.join()
    if result is None:
        result = dict(error=f'the phase process died (exit code '
                      f'{process.exitcode}; -9 is usually out of memory)')
    return result


def _ratio(report: dict, numerator: str, denominator: str,
           key: str) -> Optional[float]:
    phases = report['phases']
    values = [
        phases.get(name, {}).get(key) for name in (numerator, denominator)
    ]
    return None if None in values else values[0] / values[1]


def run_benchmark(options: BenchmarkOptions,
                  progress: Callable[[str], None] = lambda _: None) -> dict:
    """Measure every phase of ``options.modes`` and the ratios.

    Args:
        options (BenchmarkOptions): What to measure.
        progress (Callable[[str], None]): Called with each phase label
            before it runs. Defaults to a no-op.

    Returns:
        dict: The settings (``config``, ``device``, ``batch_size``,
        ``input_size`` used, ``config_input_size``, ``sam2_image_size``,
        ``union_encoder_image_size``, ``config_with_cp``, ``amp``,
        ``iters``, ``warmup``, ``torch``), ``phases`` (key -> result of
        :func:`measure_phase` plus ``label``), ``params`` (model -> rows)
        and ``ratios`` (label -> ``time``, ``cpu_time`` and ``memory``, None
        where a phase is missing or failed).
    """
    cfg = load_config(options.config, options.cfg_options)
    config_size = cfg.model.data_preprocessor.size[0]
    if options.input_size:  # a bad size fails here, not in every phase
        set_sam2_input_size(cfg, options.input_size)
    report = dict(
        config=options.config,
        device=options.device,
        device_name=torch.cuda.get_device_name()
        if options.device == 'cuda' else 'cpu',
        batch_size=options.batch_size,
        input_size=cfg.model.data_preprocessor.size[0],
        config_input_size=config_size,
        sam2_image_size=int(
            load_sam2_model_cfg(
                cfg.model.backbone.sam2_cfg,
                cfg.model.backbone.get('sam2_overrides')).image_size),
        union_encoder_image_size=cfg.model.union_encoder.image_size,
        config_with_cp=cfg.model.backbone.get('with_cp', False),
        amp=options.amp,
        iters=options.iters,
        warmup=options.warmup,
        torch=torch.__version__,
        phases={},
        params={})
    for phase in PHASES:
        if phase.mode not in options.modes:
            continue
        progress(phase.label)
        result = run_isolated(options, phase)
        report['params'].setdefault(phase.model, result.pop('params', None))
        report['phases'][phase.key] = dict(label=phase.label, **result)
    report['params'] = {k: v for k, v in report['params'].items() if v}
    report['ratios'] = {
        label:
        dict(
            time=_ratio(report, num, den, 'median_s'),
            cpu_time=_ratio(report, num, den, 'cpu_median_s'),
            memory=_ratio(report, num, den, 'peak_mb'))
        for label, num, den in RATIOS
    }
    return report


def _ratio_text(value: Optional[float]) -> str:
    return f'{"-":>6}' if value is None else f'{value:>6.2f}'


def format_report(report: dict) -> str:
    """Render a :func:`run_benchmark` report as text tables."""
    phases = report['phases'].values()
    methods = {p['memory_method'] for p in phases if 'memory_method' in p}
    threads = {p['threads'] for p in phases if 'threads' in p}
    size = report['input_size']
    lines = [
        f'config {report["config"]} | {report["device_name"]}'
        f'{f" ({min(threads)} threads)" if threads else ""} | batch '
        f'{report["batch_size"]} | input {size} px (config '
        f'{report["config_input_size"]}) | SAM2 encodes it at '
        f'{report["sam2_image_size"]} px | union encoder '
        f'{report["union_encoder_image_size"]} px | '
        f'{"bf16 autocast" if report["amp"] else "fp32"} | median of '
        f'{report["iters"]} after {report["warmup"]} warm-up | config '
        f'with_cp={report["config_with_cp"]}',
        'memory: ' + (', '.join(sorted(methods)) or '-') +
        ', above the process before the model build', ''
    ]
    width = max(len(p['label']) for p in phases)
    lines.append(f'{"phase":<{width}}  {"median s":>9}  {"cpu s":>9}  '
                 f'{"img/s":>7}  {"peak MB":>9}  {"model MB":>9}')
    for p in phases:
        if 'error' in p:
            lines.append(f'{p["label"]:<{width}}  failed: {p["error"]}')
            continue
        lines.append(f'{p["label"]:<{width}}  {p["median_s"]:>9.3f}  '
                     f'{p["cpu_median_s"]:>9.3f}  {p["images_per_s"]:>7.2f}  '
                     f'{p["peak_mb"]:>9.0f}  {p["resident_mb"]:>9.0f}')
    width = max(len(label) for label in report['ratios'])
    lines += [
        '', f'{"ratio":<{width}}  {"time":>6}  {"cpu":>6}  {"memory":>6}'
    ]
    for label, ratio in report['ratios'].items():
        values = (ratio[k] for k in ('time', 'cpu_time', 'memory'))
        lines.append(f'{label:<{width}}  ' +
                     '  '.join(map(_ratio_text, values)))
    for name, rows in report['params'].items():
        title = 'RS2-SAM2' if name == 'rs2sam2' else \
            'SAM2 (full fine-tuning: all trainable)'
        lines += ['', f'parameters of {title}', format_parameter_table(rows)]
    return '\n'.join(lines)
