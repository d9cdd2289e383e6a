"""Test-time augmentation for referring segmentation: flips + sentence."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import SampleList
from torch import nn

from ..utils.regions import keep_strongest_region

#: Probability clamp before the logit of a view's probability map.
_EPS = 1e-6


@MODELS.register_module()
class ReferSegTTAModel(BaseTTAModel):
    """Merge the views of a ``TestTimeAug`` pipeline into one mask.

    Each view is predicted by the wrapped segmentor, whose
    ``postprocess_result`` undoes the view's flip and resizes the
    probabilities to ``ori_shape``. The views' mask logits are averaged,
    thresholded at the decode head's ``threshold`` and, when the segmentor
    keeps one region per expression (``single_region``), reduced to the
    strongest region again.

    The flips of a referring pipeline must flip the sentence too
    (:class:`ReferringRandomFlip`: 'the car on the left' is 'the car on the
    right' in the mirrored image). mmseg's ``SegTTAModel`` does not fit a
    one-channel head: it applies a sigmoid to the already sigmoid
    ``seg_logits`` and then thresholds them.

    Checkpoints of the bare segmentor load as they are: keys without the
    ``module.`` prefix get it.

    Args:
        module (dict | nn.Module): The segmentor (e.g. ``RS2SAM2``).
        data_preprocessor (dict | nn.Module, optional): Overrides the
            segmentor's. Defaults to None.
    """

    def __init__(self,
                 module: Union[dict, nn.Module],
                 data_preprocessor: Union[dict, nn.Module, None] = None):
        super().__init__(module, data_preprocessor)
        self._register_load_state_dict_pre_hook(_add_module_prefix)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Merge each expression's views.

        Args:
            data_samples_list (list[list[SegDataSample]]): Per expression,
                its views, each with ``seg_logits`` (probabilities,
                (1, H, W)) at the original resolution.

        Returns:
            list[SegDataSample]: The unflipped view of each expression with
            the merged ``seg_logits`` (probabilities) and ``pred_sem_seg``
            (0/1), both (1, H, W).
        """
        threshold = self.module.decode_head.threshold
        single_region = getattr(self.module, 'single_region', False)
        merged = []
        for views in data_samples_list:
            sample = _unflipped_view(views)
            probs = torch.stack([view.seg_logits.data for view in views])
            prob = torch.logit(probs, eps=_EPS).mean(0).sigmoid()
            pred = (prob > threshold).to(prob)
            if single_region:
                pred[0] = keep_strongest_region(prob[0], pred[0])
            sample.set_data(
                dict(
                    seg_logits=PixelData(data=prob),
                    pred_sem_seg=PixelData(data=pred)))
            merged.append(sample)
        return merged


def _unflipped_view(views: SampleList) -> SegDataSample:
    """The view without a flip: it holds the sentence as written."""
    for view in views:
        if not view.metainfo.get('flip', False):
            return view
    name = views[0].metainfo.get('img_path', '?')
    raise ValueError(
        f'Test-time augmentation of {name}: every view is flipped. Start '
        "the TestTimeAug flips with dict(type='ReferringRandomFlip', "
        'prob=0.) so the merged prediction keeps the original sentence.')


def _add_module_prefix(state_dict: Dict[str, torch.Tensor], prefix: str,
                       local_metadata: dict, strict: bool,
                       missing_keys: List[str], unexpected_keys: List[str],
                       error_msgs: Optional[List[str]]) -> None:
    """Load-state-dict pre-hook: ``union_encoder.x`` -> ``module....``."""
    for key in list(state_dict):
        if key.startswith(prefix) and not key.startswith(prefix + 'module.'):
            name = key[len(prefix):]
            state_dict[f'{prefix}module.{name}'] = state_dict.pop(key)
