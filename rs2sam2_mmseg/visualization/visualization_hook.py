"""Writes one drawing per referring expression during val/test."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
from mmengine.runner import Runner

from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample
from ..utils.errors import UserInputError
from .refer_seg_visualizer import draw_referring_sample


def expression_name(sample: SegDataSample) -> str:
    """``<image stem>_<sent_id>``, unique per referring expression.

    Args:
        sample (SegDataSample): Reads ``img_path`` and ``sent_id``
            (metainfo).

    Returns:
        str: The name, e.g. ``'00012_57'``.
    """
    if 'sent_id' not in sample:
        raise UserInputError(
            f'The sample of {sample.img_path} has no "sent_id" in '
            'its metainfo (pack it with PackReferSegInputs)')
    stem = osp.splitext(osp.basename(sample.img_path))[0]
    return f'{stem}_{sample.sent_id}'


@HOOKS.register_module()
class ReferSegVisualizationHook(SegVisualizationHook):
    """mmseg's visualization hook, one drawing per expression.

    mmseg's ``SegVisualizationHook`` names drawings by image, so the
    sentences of one image overwrite each other. Here each drawing
    (prediction, GT contour and sentence, see :func:`draw_referring_sample`)
    is named :func:`expression_name`. With ``out_dir`` (``tools/test.py
    --show-dir``) every rank writes the drawings of its own samples there as
    ``<image stem>_<sent_id>.png``; without it they go to the visualizer's
    backends (rank 0).

    Args:
        out_dir (str, optional): Folder for the drawings; None sends them
            to the visualizer's backends. Defaults to None.
        **kwargs: Arguments of ``SegVisualizationHook`` (``draw``,
            ``interval``, ``show``, ``wait_time``, ``backend_args``).
    """

    def __init__(self, out_dir: Optional[str] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.out_dir = out_dir

    def _after_iter(self,
                    runner: Runner,
                    batch_idx: int,
                    data_batch: dict,
                    outputs: Sequence[SegDataSample],
                    mode: str = 'val') -> None:
        """Draw every output of every ``interval``-th val/test batch.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the loop.
            data_batch (dict): The batch (unused).
            outputs (Sequence[SegDataSample]): Predictions with
                ``img_path``, ``sent_id`` and ``text`` metainfo.
            mode (str): 'train', 'val' or 'test'. Defaults to 'val'.
        """
        if not self.draw or mode == 'train' or \
                not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for output in outputs:
            img = mmcv.imfrombytes(
                fileio.get(output.img_path, backend_args=self.backend_args),
                channel_order='rgb')
            name = expression_name(output)
            if self.out_dir:
                alpha = getattr(self._visualizer, 'alpha', 0.5)
                drawn = draw_referring_sample(img, output, alpha=alpha)
                mmcv.imwrite(
                    mmcv.rgb2bgr(drawn), osp.join(self.out_dir, f'{name}.png'))
            else:
                self._visualizer.add_datasample(
                    f'{mode}_{name}',
                    img,
                    data_sample=output,
                    show=self.show,
                    wait_time=self.wait_time,
                    step=runner.iter)
