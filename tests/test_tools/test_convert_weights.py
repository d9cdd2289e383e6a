"""tools/convert_weights.py: report SAM2 + open_clip keys, merge them."""
import re

import torch

from ..test_models.utils import official_tiny_sam2
from ..test_utils.utils import save_open_clip
from .utils import TINY_CONFIG, assert_cli_error, assert_documented, run_tool


def report_rows(text: str, path: str) -> dict:
    """The component rows of one checkpoint's table in the tool's output.
    """
    block = text.split(f'{path}: ')[1].split('\n\n')[0]
    return {
        row[0]: tuple(map(int, row[1:]))
        for row in (line.split() for line in block.splitlines())
        if len(row) == 5 and row[1].isdigit()
    }


def test_convert_weights(tmp_path):
    """SAM2 official + classic open_clip: per-component counts, merge."""
    sam2, clip = str(tmp_path / 'sam2.pt'), str(tmp_path / 'clip.bin')
    official_tiny_sam2(sam2)
    save_open_clip(clip, custom_text=False)
    out = str(tmp_path / 'init.pth')
    result = run_tool('convert_weights.py', TINY_CONFIG, sam2, clip, '--out',
                      out)
    sam2_rows = report_rows(result.stdout, sam2)
    clip_rows = report_rows(result.stdout, clip)
    assert set(sam2_rows) == {'union_encoder', 'backbone', 'decode_head'}
    # (matched, missing, unexpected, shape_mismatch)
    assert sam2_rows['union_encoder'][0] == 0
    assert sam2_rows['backbone'][0] > 0 and sam2_rows['decode_head'][3] > 0
    assert clip_rows['union_encoder'][0] > 0
    assert clip_rows['backbone'][0] == clip_rows['decode_head'][0] == 0
    assert re.search(r'ignored: \d+ \(SAM2 memory', result.stdout)
    written = int(re.search(r'(\d+) tensors written', result.stdout)[1])
    matched = sum(row[0] for row in (*sam2_rows.values(), *clip_rows.values()))
    state_dict = torch.load(out, weights_only=True)['state_dict']
    assert written == matched == len(state_dict)


def test_convert_weights_help():
    assert_documented('convert_weights.py')


def test_convert_weights_errors(monkeypatch, capsys, tmp_path):
    text = tmp_path / 'notes.pt'
    text.write_text('not a checkpoint')
    missing = str(tmp_path / 'missing.pt')
    for args, match in [
        ([TINY_CONFIG, missing], 'does not exist'),
        ([TINY_CONFIG, str(text)], 'not a complete checkpoint'),
        ([str(tmp_path / 'missing.py'),
          str(text)], 'Config file'),
        # a training checkpoint is never replaced by a merge of itself
        ([TINY_CONFIG, str(text), '--out', str(text)],
         f'--out {text} is one of the checkpoints read'),
    ]:
        assert_cli_error(monkeypatch, capsys, 'convert_weights.py', args,
                         match)
