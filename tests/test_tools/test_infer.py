"""tools/infer.py: masks and overlays for sentences of one image."""
import os
import os.path as osp
import re

import mmcv
import numpy as np
import pytest

from .utils import (TINY_CONFIG, assert_cli_error, assert_documented, run_tool)

SENTENCES = ('the red car on the left', 'the largest building')


@pytest.mark.parametrize('options', [[], ['--tta']])
def test_infer(tmp_path, synthetic, trained, options):
    """Per sentence: a 0/255 mask at the image size, an overlay, an area
    (with and without flip test-time augmentation).
    """
    image = osp.join(synthetic.root, 'images', 'rrsisd', 'JPEGImages',
                     sorted(synthetic.test_images)[0])
    out_dir = tmp_path / 'infer'
    result = run_tool('infer.py', image, SENTENCES[0], '--sentence',
                      SENTENCES[1], '--config', TINY_CONFIG, '--checkpoint',
                      trained.checkpoint, '--out-dir', str(out_dir), *options)
    height, width = mmcv.imread(image).shape[:2]
    areas = re.findall(r'mask area (\d+) px', result.stdout)
    assert len(areas) == len(SENTENCES)
    assert len(os.listdir(out_dir)) == 2 * len(SENTENCES)
    for index, (sentence, area) in enumerate(zip(SENTENCES, areas)):
        assert f'"{sentence}"' in result.stdout
        mask_file, overlay_file = (
            re.search(rf'{kind}: +(\S+{kind}\.png)',
                      result.stdout.split(f'[{index}]')[1]).group(1)
            for kind in ('mask', 'overlay'))
        mask = mmcv.imread(mask_file, flag='grayscale')
        assert mask.shape == (height, width)
        assert set(np.unique(mask)) <= {0, 255}
        assert int(area) == int((mask == 255).sum())
        overlay = mmcv.imread(overlay_file)
        # the sentence is printed on a banner above the image
        assert overlay.shape[0] > height and overlay.shape[1] == width


def test_infer_help():
    assert_documented('infer.py')


def test_infer_errors(monkeypatch, capsys, tmp_path):
    image = tmp_path / 'image.png'
    mmcv.imwrite(np.zeros((8, 8, 3), np.uint8), str(image))
    not_image = tmp_path / 'not_image.png'
    not_image.write_text('not an image')
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    checkpoint = tmp_path / 'x.pth'
    checkpoint.write_bytes(b'')
    common = ['--config', TINY_CONFIG, '--checkpoint', str(checkpoint)]
    cases = [
        ([str(tmp_path / 'missing.png'), 'a car', *common], 'does not exist'),
        ([str(not_image), 'a car', *common], 'cannot be read'),
        ([str(image), '  ', *common], 'Sentence 0 is empty'),
        ([str(image), 'a car', '--sentence', '',
          *common], 'Sentence 1 is empty'),
        ([
            str(image), 'a car', '--config',
            str(tmp_path / 'missing.py'), '--checkpoint',
            str(checkpoint)
        ], 'Config file'),
        ([
            str(image), 'a car', '--config', TINY_CONFIG, '--checkpoint',
            str(tmp_path / 'missing.pth')
        ], 'Checkpoint'),
        ([str(empty), 'a car', *common], 'cannot be read'),
        ([str(image), 'a car', *common, '--out-dir',
          str(not_image / 'out')], f'cannot be written: {not_image} is a'),
        ([str(image), 'a car', *common],
         f'{checkpoint} is empty: not a complete checkpoint'),
    ]
    for args, match in cases:
        assert_cli_error(monkeypatch, capsys, 'infer.py', args, match)
