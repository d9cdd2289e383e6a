"""Draw one sentence of a referred object per iteration."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRefSentence(BaseTransform):
    """Pick one of a ref's sentences at random, each time the ref is loaded.

    For datasets with one sample per ref (``RRSISDDataset(sample_per='ref')``)
    as the official RS2-SAM2 training: an epoch visits every ref once, with
    one of its sentences drawn uniformly (``np.random``, seeded per worker
    by mmengine).

    Required Keys:

    - texts (list[str]): The ref's sentences.
    - sent_ids (list): Their ids, in the same order.

    Added Keys:

    - text (str), sent_id: The drawn sentence and its id.
    """

    def transform(self, results: dict) -> dict:
        """Draw the sentence.

        Args:
            results (dict): The sample, with ``texts`` and ``sent_ids``.

        Returns:
            dict: ``results`` with ``text`` and ``sent_id``.
        """
        if 'texts' not in results:
            raise KeyError(
                f'RandomRefSentence: the sample {results.get("img_path")} '
                'has no "texts"; load the dataset with one sample per ref '
                "(e.g. RRSISDDataset(sample_per='ref')).")
        index = np.random.randint(len(results['texts']))
        results['text'] = results['texts'][index]
        results['sent_id'] = results['sent_ids'][index]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
