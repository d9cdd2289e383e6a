"""Check our paper model against the official RS2-SAM2 on an oracle's run.

Developer tool, not run in CI (it converts and runs the 935M-parameter
model on the CPU: about 4 GB of disk and 8 GB of memory, minutes).

ORACLE_DIR is what /work/shared/tools/official_oracle.sh writes from the
official code (github rongfu-dsb/RS2-SAM2) at random init: hf/ (the
save_pretrained checkpoint and its sentencepiece.bpe.model),
reference.npz (the inputs, token ids, logits, masks and intermediates of
the official forward; see official_oracle.py) and timing.json. Run the
oracle with --perturb-constants 0.02, or a converter that drops a bias
or a LayerNorm still matches.

Steps:
  1. hf/ is converted with tools/model_converters/rs2sam2_official_to_mmseg.py
     into WORK_DIR/official.pth (a subprocess; kept for --reuse);
  2. CONFIG (default configs/rs2sam2_rrsisd.py, the paper model) is built
     in fp32 with union_encoder.spm_file = hf/sentencepiece.bpe.model and
     the converted weights are loaded strictly;
  3. with the oracle's thread count, after one untimed warm-up, each
     sentence is run through model.predict on the oracle's exact inputs
     (image_1024 as the SAM2 input, image_224 as the union image, batch 1,
     ori_shape 1024 x 1024); our token ids are checked against the
     oracle's;
  4. printed per sentence: max |logit difference| (ours: logit of
     seg_logits, in float64) against s{i}_logits, mask equality (our
     pred_sem_seg, and our z > 0.5, against the official z > 0.5; at
     random init that mask is often empty, so also z > the median of the
     official logits, which splits the image in halves), the
     intermediates' max |difference| (BEiT-3 output, MPG mask prompt,
     decoder image embedding before the fusion, low-res logits, sen_feat =
     the boundary loss' text weight on the first text token) to localise
     a mismatch, and our forward time next to the oracle's; then our peak
     RSS (the whole process, and the forward alone) next to the oracle's
     (its whole run: build, two saves and reloads, forwards).

Targets: max |logit difference| <= 1e-3, identical masks, not slower.
The exit status is 1 when a target on the outputs is missed.

Example:
    python tools/analysis_tools/official_parity.py /work/oracle/out0 \
        --work-dir /tmp/parity --json /tmp/parity/parity.json
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import rs2sam2_mmseg  # noqa: F401  (compat shims before mmseg)
from rs2sam2_mmseg.utils import (add_cfg_options, load_config, run_cli,
                                 tool_parser)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = osp.join(REPO, 'tools', 'model_converters',
                     'rs2sam2_official_to_mmseg.py')
#: Logit and intermediate tolerance of the parity targets.
TOLERANCE = 1e-3
#: Intermediates of reference.npz (s{i}_dbg_<name>) we capture too.
INTERMEDIATES = ('beit3_out', 'mask_prompt', 'image_embed', 'lowres_logits',
                 'sen_feat')


def build_parser() -> argparse.ArgumentParser:
    """The command line of this tool.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = tool_parser(__doc__)
    parser.add_argument(
        'oracle_dir', help='official_oracle.sh output (hf/, reference.npz)')
    parser.add_argument(
        '--config',
        default=osp.join(REPO, 'configs', 'rs2sam2_rrsisd.py'),
        help='our paper model config (default: configs/rs2sam2_rrsisd.py)')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/official_parity',
        help='where the converted checkpoint goes (default: %(default)s)')
    parser.add_argument(
        '--reuse',
        action='store_true',
        help='keep WORK_DIR/official.pth if it exists (no conversion)')
    parser.add_argument(
        '--threads',
        type=int,
        help="torch threads (default: the oracle's, from timing.json)")
    parser.add_argument('--json', help='also write the figures here')
    add_cfg_options(parser)
    return parser


def vm_hwm_mb() -> float:
    """Peak resident memory since the last :func:`reset_vm_hwm`, in MB."""
    with open('/proc/self/status') as f:
        line = next(line for line in f if line.startswith('VmHWM:'))
    return int(line.split()[1]) / 1024


def reset_vm_hwm() -> None:
    """Restart the peak resident memory count (Linux clear_refs 5)."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def convert(oracle_dir: str, work_dir: str, config: str, reuse: bool) -> str:
    """Run the converter tool on ``oracle_dir/hf``; return the output."""
    out = osp.join(work_dir, 'official.pth')
    if reuse and osp.isfile(out):
        return out
    start = time.time()
    subprocess.run([
        sys.executable, CONVERTER,
        osp.join(oracle_dir, 'hf'), out, '--config', config
    ],
                   check=True)
    print(f'converted in {time.time() - start:.1f} s\n')
    return out


def build_model(cfg, spm_file: str, checkpoint: str) -> torch.nn.Module:
    """Our model in fp32 with the converted weights, loaded strictly."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = cfg.model.copy()
    model_cfg.union_encoder.spm_file = spm_file
    model = MODELS.build(model_cfg)
    state = torch.load(
        checkpoint, map_location='cpu', weights_only=True,
        mmap=True)['state_dict']
    model.load_state_dict(state, strict=True)
    return model.float().eval()


class Capture:
    """Our intermediates, recorded by hooks (names of reference.npz).

    Args:
        model (nn.Module): Our RS2SAM2 paper model.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.values: Dict[str, torch.Tensor] = {}
        head = model.decode_head
        text_weight = head.loss_boundary.text_weight

        def union(module, args, out):
            # the loss' per-sample text weight on the first text token
            self.values['sen_feat'] = text_weight(out['txt'][:, :1])

        def prompt(module, args, kwargs):
            self.values['mask_prompt'] = kwargs['masks']

        self.handles = [
            model.union_encoder.beit3.register_forward_hook(
                lambda m, a, out: self.values.__setitem__('beit3_out', out)),
            model.union_encoder.register_forward_hook(union),
            head.prompt_encoder.register_forward_pre_hook(
                prompt, with_kwargs=True),
            head.text_fusion.register_forward_pre_hook(
                lambda m, args: self.values.__setitem__(
                    'image_embed', args[0])),
            head.mask_decoder.register_forward_hook(
                lambda m, a, out: self.values.__setitem__(
                    'lowres_logits', out[0])),
        ]


def sample_for(sentence: str, image_224: torch.Tensor) -> SegDataSample:
    """A test sample as the pipeline packs it, at 1024 x 1024."""
    sample = SegDataSample()
    sample.set_metainfo(
        dict(
            text=sentence,
            sent_id=0,
            ori_shape=(1024, 1024),
            img_shape=(1024, 1024),
            pad_shape=(1024, 1024),
            img_padding_size=[0, 0, 0, 0]))
    sample.union_img = PixelData(data=image_224)
    return sample


def max_diff(ours: torch.Tensor, ref: np.ndarray) -> float:
    """max |ours - ref| (shapes must agree)."""
    ours = ours.detach().double().cpu().numpy().reshape(np.shape(ref))
    return float(np.abs(ours - ref).max())


def run_sentence(model, capture: Capture, ref, i: int) -> dict:
    """Run sentence i; compare with the oracle's outputs."""
    sentence = str(ref['sentences'][i])
    image = torch.from_numpy(ref['image_1024'])[None]
    sample = sample_for(sentence, torch.from_numpy(ref['image_224']))
    ids = model.union_encoder.tokenizer.encode(sentence)
    capture.values.clear()
    start, cpu = time.time(), time.process_time()
    with torch.no_grad():
        result = model.predict(image, [sample])[0]
    seconds, cpu = time.time() - start, time.process_time() - cpu
    z = torch.logit(result.seg_logits.data[0].double())
    official, logits = ref[f's{i}_mask'].astype(bool), ref[f's{i}_logits']
    logit_diff = max_diff(z, logits)
    # at random init z > 0.5 is often empty: also split at the median; a
    # pixel may flip only where the official z is that close to it
    median = float(np.median(logits))
    flips = (z.numpy() > median) != (logits > median)
    return dict(
        sentence=sentence,
        ids_equal=ids == ref[f's{i}_input_ids'].tolist(),
        max_logit_diff=logit_diff,
        mask_equal=bool(
            np.array_equal(result.pred_sem_seg.data[0].bool().numpy(),
                           official)),
        z_gt_half_equal=bool(np.array_equal((z > 0.5).numpy(), official)),
        mask_fraction=float(official.mean()),
        median_split_flips=int(flips.sum()),
        median_split_ok=bool(
            np.all(np.abs(logits[flips] - median) <= logit_diff)),
        intermediates={
            name: max_diff(capture.values[name], ref[f's{i}_dbg_{name}'])
            for name in INTERMEDIATES
        },
        seconds=round(seconds, 2),
        cpu_seconds=round(cpu, 2))


def format_results(results: List[dict], timing: dict, memory: dict) -> str:
    """The figures as text."""
    lines = []
    for i, (res,
            official) in enumerate(zip(results, timing['forward_seconds'])):
        lines += [
            f'sentence {i} {res["sentence"]!r}: token ids equal: '
            f'{res["ids_equal"]}',
            f'  max |logit diff| {res["max_logit_diff"]:.3g} (target <= '
            f'{TOLERANCE:g}); masks equal: pred_sem_seg '
            f'{res["mask_equal"]}, z > 0.5 {res["z_gt_half_equal"]} '
            f'(official foreground {res["mask_fraction"]:.4f}); z > median: '
            f'{res["median_split_flips"]} pixels differ',
            '  intermediates max |diff|: ' +
            ', '.join(f'{k} {v:.3g}' for k, v in res['intermediates'].items()),
            f'  forward: ours {res["seconds"]:.2f} s ({res["cpu_seconds"]:.2f}'
            f' s CPU), official {official:.2f} s'
        ]
    lines.append(f'threads {torch.get_num_threads()} (oracle '
                 f'{timing["threads"]}), load average '
                 f'{os.getloadavg()[0]:.1f} (wall times of a loaded machine '
                 'do not compare); peak RSS: ours '
                 f'{memory["process_mb"]:.0f} MB (process), '
                 f'{memory["forward_mb"]:.0f} MB (forwards only); official '
                 f'{timing["peak_rss_mb"]:.0f} MB (its whole run)')
    return '\n'.join(lines)


def main() -> None:
    """Convert, build, run, compare, report."""
    args = build_parser().parse_args()
    with open(osp.join(args.oracle_dir, 'timing.json')) as f:
        timing = json.load(f)
    ref = np.load(osp.join(args.oracle_dir, 'reference.npz'))
    os.makedirs(args.work_dir, exist_ok=True)
    checkpoint = convert(args.oracle_dir, args.work_dir, args.config,
                         args.reuse)
    torch.set_num_threads(args.threads or timing['threads'])
    cfg = load_config(args.config, args.cfg_options)
    model = build_model(
        cfg, osp.join(args.oracle_dir, 'hf', 'sentencepiece.bpe.model'),
        checkpoint)
    capture = Capture(model)
    run_sentence(model, capture, ref, 0)  # warm-up, untimed
    # the process peak so far (build, load, warm-up); then the forwards'
    process_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reset_vm_hwm()
    results = [
        run_sentence(model, capture, ref, i)
        for i in range(len(ref['sentences']))
    ]
    memory = dict(
        process_mb=max(process_mb, vm_hwm_mb()), forward_mb=vm_hwm_mb())
    print(format_results(results, timing, memory))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(results=results, memory=memory, oracle=timing),
                f,
                indent=1)
    if not all(r['ids_equal'] and r['mask_equal'] and r['median_split_ok']
               and r['max_logit_diff'] <= TOLERANCE for r in results):
        sys.exit(1)


if __name__ == '__main__':
    run_cli(main)
