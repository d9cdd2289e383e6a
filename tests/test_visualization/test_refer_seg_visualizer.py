"""Drawing a referring prediction with its GT contour and sentence."""
import mmcv
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rs2sam2_mmseg.visualization import (ReferSegVisualizer,
                                         draw_referring_overlay,
                                         draw_referring_sample)


def sample(text: str = 'the red car',
           shape=(40, 60),
           gt_shape=None) -> SegDataSample:
    """A sample whose prediction and GT are the same box."""
    data = SegDataSample(metainfo=dict(text=text, sent_id=3))
    pred = torch.zeros(1, *shape, dtype=torch.long)
    pred[:, 10:20, 10:30] = 1
    data.pred_sem_seg = PixelData(data=pred)
    gt = torch.zeros(1, *(gt_shape or shape), dtype=torch.long)
    gt[:, gt.shape[1] // 4:gt.shape[1] // 2, 10:30] = 1
    data.gt_sem_seg = PixelData(data=gt)
    return data


def test_draw_referring_overlay():
    image = np.zeros((40, 60, 3), np.uint8)
    pred = np.zeros((40, 60), np.uint8)
    pred[5:10, 5:10] = 1
    gt = np.zeros((40, 60), bool)
    gt[20:30, 20:40] = True
    drawn = draw_referring_overlay(image, 'a car', pred, gt)
    banner = drawn.shape[0] - 40
    assert banner > 0 and drawn.shape[1:] == (60, 3)
    canvas = drawn[banner:]
    assert (canvas[7, 7] == (127, 32, 32)).all()  # tinted prediction
    assert (canvas[20, 25] == (64, 255, 64)).all()  # GT contour
    assert (canvas[35, 5] == 0).all()  # untouched
    assert (drawn[:banner] < 255).any()  # the sentence
    long = draw_referring_overlay(image, 'the car ' * 20)
    assert long.shape[0] > drawn.shape[0]  # wrapped over more lines


def test_draw_referring_sample_resizes_gt():
    image = np.zeros((40, 60, 3), np.uint8)
    drawn = draw_referring_sample(image, sample(gt_shape=(20, 30)))
    assert drawn.shape[1] == 60
    plain = draw_referring_sample(
        image, sample(), draw_gt=False, draw_pred=False)
    assert (plain[plain.shape[0] - 40:] == 0).all()


def test_add_datasample(tmp_path):
    visualizer = ReferSegVisualizer.get_instance('test_add_datasample')
    out = str(tmp_path / 'drawing.png')
    image = np.zeros((40, 60, 3), np.uint8)
    visualizer.add_datasample('x', image, sample(), out_file=out)
    assert mmcv.imread(out).shape[1] == 60
    np.testing.assert_array_equal(
        mmcv.bgr2rgb(mmcv.imread(out)), visualizer.get_image())
