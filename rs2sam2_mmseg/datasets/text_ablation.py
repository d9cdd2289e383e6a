"""Language ablation: evaluate with sentences taken from other samples."""
import copy
from typing import Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmseg.registry import DATASETS
from ..utils.errors import UserInputError


@DATASETS.register_module()
class TextAblationDataset:
    """Wraps a referring dataset and replaces each sample's sentence.

    ``mode='shuffle'``: sentences are permuted among the samples of the
    split, along one cycle through a random order drawn from ``seed`` (a
    permutation without fixed points), so every sample is evaluated with
    another sample's expression; a split needs at least 2 samples. A
    model that really reads the sentence must lose most of its accuracy;
    one that segments "the salient object" does not. The masks, images
    and ids are unchanged.

    Args:
        dataset (BaseDataset | dict): The wrapped dataset or its config.
        mode (str): Only 'shuffle'. Defaults to 'shuffle'.
        seed (int): Seed of the permutation. Defaults to 0.
    """

    MODES = ('shuffle', )

    def __init__(self,
                 dataset: Union[BaseDataset, dict],
                 mode: str = 'shuffle',
                 seed: int = 0) -> None:
        if mode not in self.MODES:
            raise UserInputError(
                f'TextAblationDataset: unknown mode {mode!r}, '
                f'expected one of {list(self.MODES)}')
        self.dataset = DATASETS.build(dataset) if isinstance(
            dataset, dict) else dataset
        self.mode = mode
        infos = [self.dataset.get_data_info(i)
                 for i in range(len(self.dataset))]
        if len(infos) < 2:
            raise UserInputError(
                'TextAblationDataset: shuffling sentences needs at least 2 '
                f'samples, got {len(infos)}.')
        # sample order[k] takes the sentence of order[k + 1]: a single
        # cycle, so no sample keeps its own (a plain permutation kept all
        # four of a 4-sample split in place for seed 1)
        order = np.random.default_rng(seed).permutation(len(infos))
        self.permutation = np.empty_like(order)
        self.permutation[order] = np.roll(order, -1)
        self.texts = [infos[j]['text'] for j in self.permutation]
        same_image = sum(
            infos[i]['img_path'] == infos[j]['img_path']
            for i, j in enumerate(self.permutation))
        print_log(
            f'Text ablation ({mode}, seed {seed}): {len(infos)} sentences '
            f'permuted; {same_image} land on their own image.',
            logger='current')

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo."""
        return copy.deepcopy(self.dataset.metainfo)

    def __len__(self) -> int:
        return len(self.dataset)

    def get_data_info(self, idx: int) -> dict:
        """The wrapped sample's info with the replacement sentence."""
        info = self.dataset.get_data_info(idx)
        info['text'] = self.texts[idx]
        return info

    def __getitem__(self, idx: int) -> dict:
        return self.dataset.pipeline(self.get_data_info(idx))
