"""tools/benchmark.py on the tiny config (numbers are not asserted)."""
import json

from rs2sam2_mmseg.benchmark import PHASES, RATIOS, format_report
from .utils import TINY_CONFIG, assert_cli_error, assert_documented, run_tool


def test_tiny_config_table_and_json(tmp_path):
    out = str(tmp_path / 'bench.json')
    # SAM2's encoder frozen as in the paper recipe (the demo trains it)
    stdout = run_tool('benchmark.py', TINY_CONFIG, '--batch-size', '2',
                      '--iters', '2', '--threads', '1', '--json', out,
                      '--cfg-options',
                      'model.backbone.freeze_image_encoder=True').stdout
    for phase in PHASES:
        assert phase.label in stdout
    for label, _, _ in RATIOS:
        assert label in stdout
    # the demo config pads to 96 px and SAM2 encodes at 64 px
    assert 'input 96 px (config 96) | SAM2 encodes it at 64 px' in stdout
    with open(out) as f:
        report = json.load(f)
    assert report['batch_size'] == 2 and report['input_size'] == 96
    assert report['sam2_image_size'] == 64
    assert report['union_encoder_image_size'] == 64
    assert set(report['phases']) == {p.key for p in PHASES}
    for key, phase in report['phases'].items():
        assert 'error' not in phase, (key, phase)
        assert len(phase['times_s']) == 2 and phase['median_s'] > 0
        assert phase['cpu_median_s'] > 0 and phase['images_per_s'] > 0
        assert phase['peak_mb'] >= phase['resident_mb'] > 0, key
        assert phase['threads'] == 1
    for ratio in report['ratios'].values():
        assert min(ratio.values()) > 0
    ours = {
        name: (total, train)
        for name, total, train in report['params']['rs2sam2']
    }
    assert ours['backbone.image_encoder'][1] == 0  # frozen SAM2
    assert 0 < ours['backbone.adapters'][1] == ours['backbone.adapters'][0]
    sam2 = {
        name: (total, train)
        for name, total, train in report['params']['sam2']
    }
    assert sam2['total'][0] == sam2['total'][1]  # all trainable
    # the same SAM2 parts as in RS2-SAM2
    assert sam2['image_encoder'] == (ours['backbone.image_encoder'][0], ) * 2
    assert sam2['mask_decoder'][0] == ours['decode_head.mask_decoder'][0]


def test_documented_and_bad_input_size(monkeypatch, capsys):
    assert_documented('benchmark.py')
    assert_cli_error(monkeypatch, capsys, 'benchmark.py',
                     [TINY_CONFIG, '--input-size', '100'],
                     'multiple of 32, got 100')


def test_failed_phase_is_reported_not_fatal():
    report = dict(
        config='c.py',
        device_name='cpu',
        batch_size=1,
        input_size=512,
        config_input_size=1024,
        sam2_image_size=512,
        union_encoder_image_size=224,
        amp=False,
        iters=3,
        warmup=1,
        config_with_cp=False,
        params={},
        phases=dict(
            sam2_train=dict(
                label='full SAM2 fine-tuning train step',
                error='the phase process died (exit code -9)')),
        ratios={RATIOS[1][0]: dict(time=None, cpu_time=None, memory=None)})
    text = format_report(report)
    assert 'input 512 px (config 1024) | SAM2 encodes it at 512 px' in text
    assert 'failed: the phase process died (exit code -9)' in text
    assert text.endswith(f'{RATIOS[1][0]}       -       -       -')
