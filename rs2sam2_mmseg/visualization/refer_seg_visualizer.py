"""Visualizer that draws a referring prediction with its sentence."""
import textwrap
from typing import Optional, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.dist import master_only
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

#: An RGB colour.
Color = Tuple[int, int, int]


def draw_referring_overlay(image: np.ndarray,
                           text: str,
                           pred: Optional[np.ndarray] = None,
                           gt: Optional[np.ndarray] = None,
                           alpha: float = 0.5,
                           pred_color: Color = (255, 64, 64),
                           gt_color: Color = (64, 255, 64),
                           font_scale: Optional[float] = None) -> np.ndarray:
    """Image + predicted mask (filled) + GT contour + the sentence.

    Args:
        image (np.ndarray): RGB image, (H, W, 3) uint8.
        text (str): The referring expression, printed on a banner above.
        pred (np.ndarray, optional): Predicted 0/1 mask, (H, W).
            Defaults to None.
        gt (np.ndarray, optional): Ground-truth 0/1 mask, (H, W).
            Defaults to None.
        alpha (float): Opacity of the prediction. Defaults to 0.5.
        pred_color (tuple[int, int, int]): RGB of the prediction.
            Defaults to (255, 64, 64).
        gt_color (tuple[int, int, int]): RGB of the GT contour.
            Defaults to (64, 255, 64).
        font_scale (float, optional): Text size; None scales it with the
            image width. Defaults to None.

    Returns:
        np.ndarray: RGB drawing, (H + banner, W, 3) uint8.
    """
    canvas = image.copy()
    w = canvas.shape[1]
    if pred is not None:
        fg = pred.astype(bool)
        canvas[fg] = (canvas[fg] * (1 - alpha) +
                      np.array(pred_color) * alpha).astype(np.uint8)
    if gt is not None:
        contours, _ = cv2.findContours(
            gt.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, gt_color,
                         max(1, round(w / 256)))
    scale = font_scale or max(0.3, w / 800)
    (_, line_h), _ = cv2.getTextSize('Ag', cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    char_w = cv2.getTextSize('a', cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
    lines = textwrap.wrap(text, max(8, (w - 8) // max(char_w, 1))) or ['']
    step = int(line_h * 1.8)
    banner = np.full((step * len(lines) + 6, w, 3), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(banner, line, (4, step * (i + 1) - 4),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([banner, canvas], axis=0)


def _mask_of(data_sample: SegDataSample, field: str,
             shape: Tuple[int, int]) -> Optional[np.ndarray]:
    """A sample's 0/1 mask field as (H, W) bool at ``shape`` (or None)."""
    if field not in data_sample:
        return None
    mask = data_sample.get(field).data[0].cpu().numpy() == 1
    if mask.shape != shape:
        mask = cv2.resize(
            mask.astype(np.uint8),
            shape[::-1],
            interpolation=cv2.INTER_NEAREST).astype(bool)
    return mask


def draw_referring_sample(image: np.ndarray,
                          data_sample: SegDataSample,
                          draw_gt: bool = True,
                          draw_pred: bool = True,
                          alpha: float = 0.5) -> np.ndarray:
    """Draw a referring data sample with :func:`draw_referring_overlay`.

    Args:
        image (np.ndarray): RGB image, (H, W, 3) uint8.
        data_sample (SegDataSample): Reads ``pred_sem_seg`` (1, H, W),
            ``gt_sem_seg`` (1, H, W) when present (resized, nearest, to the
            image if needed) and ``metainfo['text']``.
        draw_gt (bool): Draw the GT contour. Defaults to True.
        draw_pred (bool): Draw the prediction. Defaults to True.
        alpha (float): Opacity of the prediction. Defaults to 0.5.

    Returns:
        np.ndarray: RGB drawing, (H + banner, W, 3) uint8.
    """
    shape = image.shape[:2]
    pred = _mask_of(data_sample, 'pred_sem_seg', shape) if draw_pred \
        else None
    gt = _mask_of(data_sample, 'gt_sem_seg', shape) if draw_gt else None
    return draw_referring_overlay(image, data_sample.metainfo.get('text', ''),
                                  pred, gt, alpha)


@VISUALIZERS.register_module()
class ReferSegVisualizer(SegLocalVisualizer):
    """Draws prediction, GT contour and the sentence of a referring sample.

    ``add_datasample`` draws with :func:`draw_referring_sample`; the drawing
    is saved to ``out_file`` when given, else sent to the visualization
    backends under ``name``.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        alpha (float): Opacity of the predicted mask. Defaults to 0.5.
        **kwargs: Arguments of ``SegLocalVisualizer``.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 alpha: float = 0.5,
                 **kwargs) -> None:
        super().__init__(name=name, alpha=alpha, **kwargs)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: Optional[bool] = False) -> None:
        """Draw one referring sample; see ``SegLocalVisualizer``.

        Args:
            name (str): Image name for the backends and the window.
            image (np.ndarray): RGB image, (H, W, 3) uint8.
            data_sample (SegDataSample, optional): The sample; None draws
                the image under an empty banner. Defaults to None.
            draw_gt (bool): Draw the GT contour. Defaults to True.
            draw_pred (bool): Draw the prediction. Defaults to True.
            show (bool): Show the drawing in a window. Defaults to False.
            wait_time (float): Seconds the window stays. Defaults to 0.
            out_file (str, optional): Save the drawing here instead of
                sending it to the backends. Defaults to None.
            step (int): Global step for the backends. Defaults to 0.
            with_labels (bool, optional): Unused (one class).
        """
        drawn = draw_referring_sample(image, data_sample or SegDataSample(),
                                      draw_gt, draw_pred, self.alpha)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
