"""One drawing per referring expression, never overwritten."""
import os
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rs2sam2_mmseg.utils import UserInputError
from rs2sam2_mmseg.visualization import (ReferSegVisualizationHook,
                                         ReferSegVisualizer, expression_name)


def outputs(img_path: str, sent_ids=(7, 8)) -> list:
    """Predictions for sentences of one image."""
    samples = []
    for sent_id in sent_ids:
        sample = SegDataSample(
            metainfo=dict(
                img_path=img_path, sent_id=sent_id,
                text=f'sentence {sent_id}'))
        sample.pred_sem_seg = PixelData(
            data=torch.zeros(1, 16, 16, dtype=torch.long))
        samples.append(sample)
    return samples


def test_expression_name():
    assert expression_name(outputs('a/b/0012.jpg', [5])[0]) == '0012_5'
    with pytest.raises(UserInputError, match='sent_id'):
        expression_name(SegDataSample(metainfo=dict(img_path='x.jpg')))


def test_hook_writes_one_file_per_expression(tmp_path):
    image = str(tmp_path / '0012.jpg')
    mmcv.imwrite(np.zeros((16, 16, 3), np.uint8), image)
    ReferSegVisualizer.get_instance('test_hook')
    out_dir = tmp_path / 'vis'
    hook = ReferSegVisualizationHook(
        draw=True, interval=1, out_dir=str(out_dir))
    runner = SimpleNamespace(iter=0)
    hook._after_iter(runner, 0, {}, outputs(image), mode='train')
    assert not out_dir.exists()
    hook._after_iter(runner, 0, {}, outputs(image), mode='test')
    assert sorted(os.listdir(out_dir)) == ['0012_7.png', '0012_8.png']
    with pytest.warns(UserWarning, match='draw is False'):
        silent = ReferSegVisualizationHook(draw=False, out_dir=str(tmp_path))
    silent._after_iter(runner, 0, {}, outputs(image, [9]), mode='test')
    assert not (tmp_path / '0012_9.png').exists()
