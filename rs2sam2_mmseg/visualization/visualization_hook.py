"""Writes one drawing per referring expression during val/test."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample


def expression_name(sample: SegDataSample) -> str:
    """``<image stem>_<sent_id>``: unique per expression, even when several
    sentences refer to objects of the same image."""
    stem = osp.splitext(osp.basename(sample.img_path))[0]
    return f'{stem}_{sample.metainfo.get("sent_id", "x")}'


@HOOKS.register_module()
class ReferSegVisualizationHook(SegVisualizationHook):
    """mmseg's visualization hook, one file per expression.

    mmseg's ``SegVisualizationHook`` names drawings by image, so the
    sentences of one image overwrite each other. Here each drawing is named
    :func:`expression_name` and, when ``out_dir`` is set (``tools/test.py
    --show-dir``), written there as ``<image stem>_<sent_id>.png``.

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
                    runner,
                    batch_idx: int,
                    data_batch: dict,
                    outputs: Sequence[SegDataSample],
                    mode: str = 'val') -> None:
        """Draw every output of every ``interval``-th batch."""
        if not self.draw or mode == 'train' or \
                not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for output in outputs:
            img = mmcv.imfrombytes(
                fileio.get(output.img_path, backend_args=self.backend_args),
                channel_order='rgb')
            name = expression_name(output)
            out_file = osp.join(self.out_dir, f'{name}.png') \
                if self.out_dir else None
            self._visualizer.add_datasample(
                f'{mode}_{name}',
                img,
                data_sample=output,
                show=self.show,
                wait_time=self.wait_time,
                out_file=out_file,
                step=runner.iter)
