"""Analysis of results on the synthetic benchmark (used by the demo)."""
import csv
import json
import os.path as osp
from collections import defaultdict
from typing import Dict, List

from .generator import output_paths


def load_scene_sentences(data_root: str, split: str) -> Dict[str, dict]:
    """Sentences of a split with their scene, keyed by ``str(sent_id)``.

    Args:
        data_root (str): Output folder of ``tools/make_synthetic.py``.
        split (str): 'train', 'val' or 'test'.

    Returns:
        dict: sent_id -> ``dict(type, category, ann_id, objects)`` where
        objects are the scene's object records.
    """
    path = output_paths(data_root)['scenes']
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist: generate the data '
                                'with tools/make_synthetic.py')
    with open(path, encoding='utf-8') as f:
        images = json.load(f)['images']
    sentences = {}
    for image in images:
        if image['split'] != split:
            continue
        for sent in image['sentences']:
            sentences[str(sent['sent_id'])] = dict(
                type=sent['type'],
                category=sent['query']['category'],
                ann_id=sent['ann_id'],
                objects=image['objects'])
    return sentences


def category_only_baseline(sentences: Dict[str, dict]) -> Dict[str, float]:
    """Expected scores of a model that reads only the category noun.

    It segments, perfectly, a random object of the named category: IoU 1
    with probability 1/k (k objects of that category), else 0 (objects are
    disjoint). Expected I = a_t / k, expected U = a_t + sum of the other
    candidates' areas / k.

    Args:
        sentences (dict): From :func:`load_scene_sentences`.

    Returns:
        dict: ``mIoU`` and ``oIoU`` in percent.
    """
    miou = inter = union = 0.
    for sent in sentences.values():
        cands = [o for o in sent['objects']
                 if o['category'] == sent['category']]
        target = next(o for o in cands if o['ann_id'] == sent['ann_id'])
        others = sum(o['area'] for o in cands) - target['area']
        miou += 1 / len(cands)
        inter += target['area'] / len(cands)
        union += target['area'] + others / len(cands)
    return dict(
        mIoU=100 * miou / len(sentences), oIoU=100 * inter / union)


def miou_per_sentence_type(csv_path: str,
                           sentences: Dict[str, dict]) -> Dict[str, float]:
    """mIoU (percent) per sentence type from ``ReferSegMetric``'s CSV.

    Args:
        csv_path (str): Per-expression CSV (``tools/test.py --out``).
        sentences (dict): From :func:`load_scene_sentences`.

    Returns:
        dict: sentence type -> mIoU, sorted by type.
    """
    ious: Dict[str, List[float]] = defaultdict(list)
    with open(csv_path, encoding='utf-8') as f:
        for row in csv.DictReader(f):
            if row['IoU']:  # empty: skipped by the metric's protocol
                ious[sentences[row['sent_id']]['type']].append(
                    float(row['IoU']))
    return {t: 100 * sum(v) / len(v) for t, v in sorted(ious.items())}
