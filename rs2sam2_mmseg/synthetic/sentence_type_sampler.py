"""Infinite sampler that draws synthetic sentences by their type."""
from typing import Dict, Iterator, Optional

import torch
from mmengine.dataset import InfiniteSampler

from mmseg.registry import DATA_SAMPLERS
from ..utils.errors import UserInputError
from .generator import SENTENCE_TYPES
from .report import load_scene_sentences


@DATA_SAMPLERS.register_module()
class SentenceTypeWeightedSampler(InfiniteSampler):
    """Draw the samples of a synthetic split in proportion to type weights.

    Every sample of the synthetic dataset (``tools/make_synthetic.py``) is
    one sentence of a known type (:data:`SENTENCE_TYPES`: colour, size,
    position, relation, colour_position). The sampler draws samples with
    replacement, each with probability proportional to the weight of its
    type, so the skills that need more examples (position and relation
    words) can be seen more often than their share of the split. The
    sequence is infinite (use ``IterBasedTrainLoop``), the same on every
    rank for one seed and sliced by rank like mmengine's
    ``InfiniteSampler``.

    Args:
        dataset (RRSISDDataset): A split of the synthetic dataset; its
            ``data_root`` holds ``synthetic_scenes.json``.
        type_weights (dict[str, float]): Weight >= 0 of each sentence type;
            a type left out weighs 1.
        shuffle (bool): Must be True (kept for the sampler config
            contract). Defaults to True.
        seed (int, optional): Random seed; None draws one shared by all
            ranks. Defaults to None.
    """

    def __init__(self,
                 dataset,
                 type_weights: Dict[str, float],
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not shuffle:
            raise UserInputError(
                'SentenceTypeWeightedSampler draws at random; '
                'shuffle=False is not supported.')
        unknown = set(type_weights) - set(SENTENCE_TYPES)
        if unknown or min(type_weights.values(), default=1) < 0:
            raise UserInputError(
                f'type_weights must map sentence types of {SENTENCE_TYPES} '
                f'to weights >= 0, got {type_weights}')
        self.weights = self._sample_weights(dataset, type_weights)
        if self.weights.sum() <= 0:
            raise UserInputError(f'type_weights {type_weights} give every '
                                 f'sample of {dataset.data_root} weight 0.')
        super().__init__(dataset, shuffle=True, seed=seed)

    @staticmethod
    def _sample_weights(dataset, type_weights: Dict[str,
                                                    float]) -> torch.Tensor:
        """(N,) weight of each sample of the dataset, in index order."""
        split = dataset.split
        sentences = load_scene_sentences(dataset.data_root, split)
        weights = []
        for index in range(len(dataset)):
            sent_id = str(dataset.get_data_info(index)['sent_id'])
            if sent_id not in sentences:
                raise UserInputError(
                    f'Sentence {sent_id} of split {split!r} is not in the '
                    f'synthetic scene record of {dataset.data_root}: '
                    'SentenceTypeWeightedSampler needs the dataset written '
                    'by tools/make_synthetic.py (regenerate it).')
            weights.append(type_weights.get(sentences[sent_id]['type'], 1.))
        return torch.tensor(weights, dtype=torch.float64)

    def _infinite_indices(self) -> Iterator[int]:
        """Infinitely yield weighted draws, one pass of N at a time."""
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        while True:
            yield from torch.multinomial(
                self.weights,
                len(self.weights),
                replacement=True,
                generator=generator).tolist()
