"""Referring segmentation metrics: mIoU, oIoU and Pr@t."""
import csv
import os.path as osp
import warnings
from collections import OrderedDict
from numbers import Real
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist
from prettytable import PrettyTable

from mmseg.registry import METRICS

#: IoU given to an expression with an empty union, by ``empty_iou``.
EMPTY_IOU_VALUES = dict(zero=0.0, one=1.0, skip=float('nan'))
#: 'original' or a size: an int (square) or (h, w).
EvalScale = Union[str, int, Tuple[int, int]]
#: Columns of the per-expression CSV.
CSV_FIELDS = ('sent_id', 'image', 'text', 'IoU', 'I', 'U')


@METRICS.register_module()
class ReferSegMetric(BaseMetric):
    """Per-expression IoU metrics of referring segmentation.

    For every expression (sample) with binary prediction P and GT G:
    ``I = |P & G|``, ``U = |P | G|`` (GT pixels equal to ``ignore_index``
    excluded from both), ``IoU = I / U``. Over the split, in percent:

    - ``mIoU``: mean of the per-expression IoU;
    - ``oIoU``: ``sum(I) / sum(U)`` (overall IoU, called cIoU by mmdet);
    - ``Pr@t`` for every t in ``iou_thrs``: share of expressions with
      ``IoU >= t`` (``> t`` when ``iou_thr_inclusive=False``);
    - ``mIoU+oIoU``: their sum, the official RS2-SAM2 rule for keeping the
      best checkpoint (``CheckpointHook(save_best='mIoU+oIoU')``);
    - ``num_expressions``: expressions evaluated (after dropping duplicates);
    - ``num_empty_union``: expressions with ``U == 0`` (empty prediction and
      empty GT), scored by ``empty_iou``.

    Defaults follow the RS2-SAM2 official evaluation (``test.py``: IoU 0 for
    an empty union, ``Pr`` with ``>=``), except that it scores at
    1024x1024 while the default here is the original resolution. The
    official protocol is ``eval_scale=1024`` together with the segmentor's
    ``test_cfg=dict(pred_scale='input')`` (the mask thresholded at the
    1024 x 1024 model input, never resized) and images stretched to 1024
    (``Resize(keep_ratio=False)``): the GT is then resized to 1024 as the
    official code does (PIL nearest) and the prediction is left as it is.

    Each expression is stored once, keyed by its ``sent_id``: a repeated
    ``sent_id`` with the same I and U (e.g. padding by a non-default sampler)
    is counted once with a warning; with different I or U it raises ValueError.

    Data sample fields read: ``pred_sem_seg.data`` (1, H, W) 0/1 at the
    original resolution, ``gt_sem_seg.data`` (1, H, W) 0/1 (and
    ``ignore_index``), ``sent_id``, ``img_path`` and ``text`` (metainfo, as
    packed by ``PackReferSegInputs``).

    Args:
        iou_thrs (Sequence[float]): Thresholds of ``Pr@t``, in (0, 1].
            Defaults to (0.5, 0.6, 0.7, 0.8, 0.9).
        empty_iou (str): IoU of an expression with ``U == 0``: 'zero',
            'one', or 'skip' (left out of mIoU and Pr@t but counted in
            ``num_empty_union``). oIoU is unaffected (I = U = 0), except when
            ``sum(U) == 0``: then it is 0, 100 or NaN by the same rule.
            Defaults to 'zero'.
        iou_thr_inclusive (bool): ``IoU >= t`` counts as a hit (else
            ``IoU > t``). Defaults to True.
        eval_scale (str | int | tuple[int, int]): 'original', or a size
            ``(h, w)`` (an int means square) to which prediction and GT are
            resized before counting (PIL's nearest neighbour, i.e. pixel
            centres; a map already of that size is unchanged).
            Defaults to 'original'.
        ignore_index (int): GT value excluded from I and U.
            Defaults to 255.
        output_file (str, optional): CSV written on rank 0 with one row per
            expression (:data:`CSV_FIELDS`; IoU empty when skipped).
            Defaults to None.
        collect_device (str): 'cpu' or 'gpu', used to gather results from
            the ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names.
            Defaults to None.
    """

    def __init__(self,
                 iou_thrs: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 empty_iou: str = 'zero',
                 iou_thr_inclusive: bool = True,
                 eval_scale: EvalScale = 'original',
                 ignore_index: int = 255,
                 output_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if collect_device not in ('cpu', 'gpu'):
            raise ValueError("collect_device must be 'cpu' or 'gpu', got "
                             f'{collect_device!r}')
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(iou_thrs, Real) or not iou_thrs or not all(
                isinstance(t, Real) and 0 < t <= 1 for t in iou_thrs):
            raise ValueError('iou_thrs must be a non-empty sequence of '
                             f'numbers in (0, 1], got {iou_thrs!r}')
        if empty_iou not in EMPTY_IOU_VALUES:
            raise ValueError(f'empty_iou must be one of '
                             f'{tuple(EMPTY_IOU_VALUES)}, '
                             f'got {empty_iou!r}')
        if not isinstance(iou_thr_inclusive, bool):
            raise TypeError('iou_thr_inclusive must be a bool, got '
                            f'{iou_thr_inclusive!r}')
        self.iou_thrs = tuple(iou_thrs)
        self.empty_iou = empty_iou
        self.iou_thr_inclusive = iou_thr_inclusive
        self.eval_size = self._parse_eval_scale(eval_scale)
        self.ignore_index = ignore_index
        self.output_file = output_file

    @staticmethod
    def _parse_eval_scale(eval_scale: EvalScale) -> Optional[Tuple[int, int]]:
        """Return the ``(h, w)`` to resize to, or None for 'original'."""
        if eval_scale == 'original':
            return None
        if isinstance(eval_scale, int):
            eval_scale = (eval_scale, eval_scale)
        if (not isinstance(eval_scale, (tuple, list)) or len(eval_scale) != 2
                or not all(
                    isinstance(s, int) and not isinstance(s, bool) and s > 0
                    for s in eval_scale)):
            raise ValueError("eval_scale must be 'original', a positive int "
                             f'or a (h, w) pair of them, got {eval_scale!r}')
        return tuple(eval_scale)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store ``(sent_id, image, text, I, U)`` for each expression.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs as dicts, see the
                class docstring for the fields read.
        """
        for data_sample in data_samples:
            name = data_sample.get('img_path')
            if 'sent_id' not in data_sample:
                raise KeyError(f'ReferSegMetric: the sample {name} has no '
                               '"sent_id" in its metainfo (pack it with '
                               'PackReferSegInputs)')
            pred = data_sample['pred_sem_seg']['data']
            gt = data_sample['gt_sem_seg']['data'].to(pred.device)
            if self.eval_size is not None:
                pred, gt = (
                    self.resize_nearest(x, self.eval_size) for x in (pred, gt))
            inter, union = self.intersect_and_union(pred, gt,
                                                    self.ignore_index, name)
            self.results.append(
                dict(
                    sent_id=data_sample['sent_id'],
                    image=osp.basename(name) if name else '',
                    text=data_sample.get('text', ''),
                    I=inter,
                    U=union))

    @staticmethod
    def resize_nearest(mask: torch.Tensor, size: Tuple[int,
                                                       int]) -> torch.Tensor:
        """Nearest-neighbour resize of a label map, as PIL's NEAREST.

        Each output pixel takes the input pixel under its centre (torch's
        'nearest-exact'; torch's 'nearest' differs from PIL when
        upsampling 800 to 1024).

        Args:
            mask (Tensor): Label map of shape (1, H, W).
            size (tuple[int, int]): Target (h, w).

        Returns:
            Tensor: Label map of shape (1, h, w), same dtype.
        """
        return F.interpolate(
            mask[None].float(), size=size,
            mode='nearest-exact')[0].to(mask.dtype)

    @staticmethod
    def intersect_and_union(pred: torch.Tensor,
                            gt: torch.Tensor,
                            ignore_index: int = 255,
                            name: Optional[str] = None) -> Tuple[int, int]:
        """Intersection and union of a binary prediction and its GT.

        Args:
            pred (Tensor): Prediction of shape (1, H, W) or (H, W), 0/1.
            gt (Tensor): GT of the same shape, 0/1 or ``ignore_index``.
            ignore_index (int): GT value excluded from I and U.
                Defaults to 255.
            name (str, optional): Sample named in errors. Defaults to None.

        Returns:
            tuple[int, int]: ``(I, U)`` pixel counts.
        """
        if pred.shape != gt.shape:
            raise ValueError(f'ReferSegMetric: prediction {tuple(pred.shape)}'
                             f' and GT {tuple(gt.shape)} of {name} differ in '
                             'shape; predictions must be at the original '
                             'resolution (or set eval_scale)')
        if ((pred != 0) & (pred != 1)).any():
            raise ValueError(f'ReferSegMetric: prediction of {name} is not '
                             'binary 0/1')
        valid = gt != ignore_index
        if ((gt != 0) & (gt != 1) & valid).any():
            raise ValueError(f'ReferSegMetric: GT of {name} holds values '
                             f'other than 0, 1 and {ignore_index}')
        pred_fg = (pred == 1) & valid
        gt_fg = gt == 1
        inter = int((pred_fg & gt_fg).sum())
        union = int((pred_fg | gt_fg).sum())
        return inter, union

    @staticmethod
    def expression_ious(inter: np.ndarray, union: np.ndarray,
                        empty_iou: str) -> np.ndarray:
        """Per-expression IoU; ``U == 0`` by ``empty_iou`` (NaN for skip).

        Args:
            inter (np.ndarray): Intersections, shape (N, ).
            union (np.ndarray): Unions, shape (N, ).
            empty_iou (str): 'zero', 'one' or 'skip'.

        Returns:
            np.ndarray: IoU in [0, 1] (NaN when skipped), shape (N, ).
        """
        ious = np.full(
            len(inter), EMPTY_IOU_VALUES[empty_iou], dtype=np.float64)
        np.divide(inter, union, out=ious, where=union > 0)
        return ious

    @staticmethod
    def ious_to_metrics(ious: np.ndarray, inter: np.ndarray, union: np.ndarray,
                        iou_thrs: Sequence[float], empty_iou: str,
                        iou_thr_inclusive: bool) -> Dict[str, float]:
        """Aggregate per-expression results into the metrics (percent).

        Args:
            ious (np.ndarray): Per-expression IoU (NaN = skipped), (N, ).
            inter (np.ndarray): Intersections, shape (N, ).
            union (np.ndarray): Unions, shape (N, ).
            iou_thrs (Sequence[float]): Thresholds of ``Pr@t``.
            empty_iou (str): Rule for ``sum(U) == 0`` (see the class).
            iou_thr_inclusive (bool): ``>=`` (True) or ``>`` thresholds.

        Returns:
            dict[str, float]: mIoU, oIoU, Pr@t..., mIoU+oIoU,
            num_expressions, num_empty_union. mIoU and Pr@t are NaN when
            no expression is scored, oIoU when there is none.
        """
        scored = ious[~np.isnan(ious)]
        if union.sum() > 0:
            oiou = inter.sum() / union.sum()
        elif len(union):
            oiou = EMPTY_IOU_VALUES[empty_iou]
        else:
            oiou = np.nan
        metrics = OrderedDict(
            mIoU=scored.mean() * 100 if len(scored) else np.nan,
            oIoU=oiou * 100)
        for thr in iou_thrs:
            hits = scored >= thr if iou_thr_inclusive else scored > thr
            metrics[f'Pr@{thr}'] = hits.mean() * 100 if len(scored) else np.nan
        metrics['mIoU+oIoU'] = metrics['mIoU'] + metrics['oIoU']
        metrics['num_expressions'] = len(ious)
        metrics['num_empty_union'] = int((union == 0).sum())
        return {
            key: float(value) if isinstance(value, float) else value
            for key, value in metrics.items()
        }

    @staticmethod
    def drop_duplicates(results: List[dict]) -> List[dict]:
        """Keep one record per ``sent_id``.

        Args:
            results (list[dict]): Records from :meth:`process`.

        Returns:
            list[dict]: The records, first occurrence of each ``sent_id``.
        """
        unique: Dict = OrderedDict()
        repeated = []
        for record in results:
            first = unique.setdefault(record['sent_id'], record)
            if first is record:
                continue
            if (first['I'], first['U']) != (record['I'], record['U']):
                raise ValueError(
                    f'ReferSegMetric: sent_id {record["sent_id"]!r} was '
                    f'evaluated twice with different results (I, U) = '
                    f'{(first["I"], first["U"])} and '
                    f'{(record["I"], record["U"])}')
            repeated.append(record['sent_id'])
        if repeated:
            warnings.warn(f'ReferSegMetric: {len(repeated)} repeated '
                          f'sent_id(s) counted once: {repeated[:5]}')
        return list(unique.values())

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute the metrics from the records of all ranks.

        Args:
            results (list[dict]): Records from :meth:`process`.

        Returns:
            dict[str, float]: ``mIoU``, ``oIoU``, ``Pr@t`` for each t,
            ``mIoU+oIoU`` (in percent, not rounded), ``num_expressions``,
            ``num_empty_union``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        results = self.drop_duplicates(results)
        inter = np.array([r['I'] for r in results], dtype=np.int64)
        union = np.array([r['U'] for r in results], dtype=np.int64)
        ious = self.expression_ious(inter, union, self.empty_iou)
        metrics = self.ious_to_metrics(ious, inter, union, self.iou_thrs,
                                       self.empty_iou, self.iou_thr_inclusive)
        if self.output_file is not None:
            self.write_csv(self.output_file, results, ious)
            print_log(f'per-expression results written to {self.output_file}',
                      logger)
        table = PrettyTable()
        for key, value in metrics.items():
            table.add_column(key, [round(value, 2)])
        print_log('referring segmentation results:', logger)
        print_log('\n' + table.get_string(), logger=logger)
        return metrics

    @staticmethod
    def write_csv(filename: str, results: List[dict],
                  ious: np.ndarray) -> None:
        """Write one row per expression (:data:`CSV_FIELDS`).

        Args:
            filename (str): The CSV file; its folder is created.
            results (list[dict]): Records from :meth:`process`.
            ious (np.ndarray): Their IoU (NaN = skipped, written empty).
        """
        mkdir_or_exist(osp.dirname(osp.abspath(filename)))
        with open(filename, 'w', newline='', encoding='utf-8') as file:
            writer = csv.DictWriter(file, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for record, iou in zip(results, ious):
                writer.writerow(
                    dict(record, IoU='' if np.isnan(iou) else f'{iou:.6f}'))
