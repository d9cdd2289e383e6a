"""The synthetic RRSIS-D generator and ``tools/make_synthetic.py``."""
import json
import os
import os.path as osp
import pickle
import runpy
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Dict, List, Tuple

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from pycocotools import mask as mask_utils

from rs2sam2_mmseg.synthetic.generator import (
    CATEGORIES, NOUNS, PALETTE, POSITION_PHRASES, RELATION_WORDS,
    SENTENCE_TYPES, SIZE_WORDS, SPLITS, SUPERLATIVES, Query, Relation,
    SceneObject, SyntheticParams, evaluate_query, generate_synthetic_rrsisd,
    is_unambiguous, output_paths)

# pycocotools' decode under numpy 2 warns on every call.
pytestmark = pytest.mark.filterwarnings(
    'ignore:__array__ implementation:DeprecationWarning')
REPO = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
TOOL = osp.join(REPO, 'tools', 'make_synthetic.py')
DEMO_CFG = osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic.py')
TINY = SyntheticParams(seed=7, num_train=8, num_val=4, num_test=4)
#: The tool's arguments for CLI_PARAMS.
CLI_ARGS = ['--num-train', '3', '--num-val', '1', '--num-test', '1']
CLI_PARAMS = SyntheticParams(num_train=3, num_val=1, num_test=1)
#: axis, and the words a flip along it swaps in a query.
FLIPS = {
    'horizontal': (0, dict(left='right', right='left')),
    'vertical':
    (1, dict(top='bottom', bottom='top', above='below', below='above')),
}


class BuiltinsOnlyUnpickler(pickle.Unpickler):
    """Rejects every global: only builtin containers and scalars load."""

    def find_class(self, module: str, name: str) -> None:
        raise pickle.UnpicklingError(f'global {module}.{name} in the refs')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory) -> Tuple[str, dict]:
    """A tiny dataset (root, summary) shared by the read-only tests."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    return root, generate_synthetic_rrsisd(root, TINY)


@pytest.fixture(scope='module')
def files(tiny) -> Dict[str, object]:
    """The tiny dataset's refs, instances and scenes, loaded."""
    paths = output_paths(tiny[0])
    with open(paths['refs'], 'rb') as file:
        refs = BuiltinsOnlyUnpickler(file).load()
    loaded = dict(refs=refs)
    for key in ('instances', 'scenes'):
        with open(paths[key]) as file:
            loaded[key] = json.load(file)
    return loaded


def file_bytes(root: str) -> Dict[str, bytes]:
    """Every file below ``root`` by relative path."""
    contents = {}
    for folder, _, names in os.walk(root):
        for name in names:
            with open(osp.join(folder, name), 'rb') as file:
                contents[osp.relpath(osp.join(folder, name), root)] = (
                    file.read())
    return contents


def scene_objects(scene: dict) -> List[SceneObject]:
    """The objects of a ``synthetic_scenes.json`` image record."""
    return [SceneObject.from_json(obj) for obj in scene['objects']]


def decoded_masks(instances: dict) -> Dict[int, np.ndarray]:
    """ann_id -> decoded (H, W) uint8 mask."""
    return {
        ann['id']: mask_utils.decode(ann['segmentation'][0])
        for ann in instances['annotations']
    }


def test_same_seed_same_bytes_other_seed_differs(tiny, tmp_path):
    again, other = str(tmp_path / 'again'), str(tmp_path / 'other')
    generate_synthetic_rrsisd(again, TINY)
    generate_synthetic_rrsisd(other, replace(TINY, seed=8))
    first = file_bytes(tiny[0])
    assert file_bytes(again) == first
    changed = {
        name
        for name, data in file_bytes(other).items() if first[name] != data
    }
    assert changed == set(first)


def test_files_follow_the_rrsisd_format(tiny, files):
    images = {image['id']: image for image in files['instances']['images']}
    anns = {ann['id']: ann for ann in files['instances']['annotations']}
    assert [c['name']
            for c in files['instances']['categories']] == list(CATEGORIES)
    refs = files['refs']
    assert {ref['split'] for ref in refs} == set(SPLITS)
    assert len({ref['ref_id'] for ref in refs}) == len(refs)
    sent_ids = [s['sent_id'] for ref in refs for s in ref['sentences']]
    assert len(set(sent_ids)) == len(sent_ids)
    for ref in refs:
        ann, image = anns[ref['ann_id']], images[ref['image_id']]
        assert ann['image_id'] == image['id']
        assert ref['category_id'] == ann['category_id']
        assert ref['file_name'] == image['file_name']
        assert ref['sent_ids'] == [s['sent_id'] for s in ref['sentences']]
        for sentence in ref['sentences']:
            assert sentence['raw'] == sentence['sent']
            assert sentence['tokens'] == sentence['sent'].split()
    for image in images.values():
        path = osp.join(output_paths(tiny[0])['images'], image['file_name'])
        assert cv2.imread(path).shape == (image['height'], image['width'], 3)
    for ann in anns.values():
        (rle, ) = ann['segmentation']
        assert isinstance(rle['counts'], str) and ann['iscrowd'] == 0
        image = images[ann['image_id']]
        assert rle['size'] == [image['height'], image['width']]


def test_masks_match_the_scene_objects(files):
    objects = {
        obj.ann_id: obj
        for scene in files['scenes']['images']
        for obj in scene_objects(scene)
    }
    masks = decoded_masks(files['instances'])
    assert set(objects) == set(masks)
    union = defaultdict(int)
    for ann in files['instances']['annotations']:
        mask, obj = masks[ann['id']], objects[ann['id']]
        ys, xs = np.nonzero(mask)
        bbox = [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
        assert mask.sum() == ann['area'] == obj.area
        assert bbox == ann['bbox'] == list(obj.bbox)
        assert not (mask[[0, -1]].any() or mask[:, [0, -1]].any())
        union[ann['image_id']] = union[ann['image_id']] + mask
    assert all(total.max() == 1 for total in union.values())


def test_every_sentence_picks_exactly_its_object(files):
    size = files['scenes']['image_size']
    margin = files['scenes']['position_margin']
    sentences = {
        s['sent_id']: (ref, s)
        for ref in files['refs']
        for s in ref['sentences']
    }
    records = [(scene, record) for scene in files['scenes']['images']
               for record in scene['sentences']]
    assert sorted(r['sent_id'] for _, r in records) == sorted(sentences)
    for scene, record in records:
        objects = scene_objects(scene)
        query = Query.from_json(record['query'])
        (target, ) = [o for o in objects if o.ann_id == record['ann_id']]
        assert evaluate_query(query, objects, size, margin) == [target.ann_id]
        assert is_unambiguous(query, target, objects, size, margin)
        same = sum(o.category == target.category for o in objects)
        assert same >= TINY.min_same_category
        ref, sentence = sentences[record['sent_id']]
        assert (ref['ann_id'], ref['ref_id'],
                sentence['sent']) == (target.ann_id, record['ref_id'],
                                      record['sent'])
        assert query.type == record['type']
        assert (query.colour or '') in record['sent']


def mirrored(obj: SceneObject, axis: int, size: int) -> SceneObject:
    """An object flipped along an axis of a square image."""
    centre, bbox = list(obj.centre), list(obj.bbox)
    centre[axis] = size - centre[axis]
    bbox[axis] = size - bbox[axis] - bbox[axis + 2]
    return replace(obj, centre=tuple(centre), bbox=tuple(bbox))


def swapped(query: Query, words: Dict[str, str]) -> Query:
    """A query with its direction words swapped."""
    relation = query.relation and Relation(
        words.get(query.relation.direction, query.relation.direction),
        swapped(query.relation.anchor, words))
    return replace(
        query,
        position=words.get(query.position, query.position),
        relation=relation)


@pytest.mark.parametrize('flip', sorted(FLIPS))
def test_flip_with_swapped_words_keeps_sentences_true(files, flip):
    axis, words = FLIPS[flip]
    size = files['scenes']['image_size']
    margin = files['scenes']['position_margin']
    for scene in files['scenes']['images']:
        objects = [mirrored(o, axis, size) for o in scene_objects(scene)]
        for record in scene['sentences']:
            query = swapped(Query.from_json(record['query']), words)
            assert evaluate_query(query, objects, size,
                                  margin) == [record['ann_id']]


@pytest.mark.parametrize('flip', sorted(FLIPS))
def test_flip_transform_swaps_every_direction_phrase(flip):
    """flip_text maps each phrasing of a direction to the same phrasing of
    its mirror direction, so a flipped sentence says the flipped query."""
    from rs2sam2_mmseg.datasets import flip_text
    _, words = FLIPS[flip]
    for table in (POSITION_PHRASES, RELATION_WORDS):
        for word, mirror in words.items():
            if word not in table:
                continue
            flipped = [
                tuple(flip_text(part, flip) for part in phrase) if isinstance(
                    phrase, tuple) else flip_text(phrase, flip)
                for phrase in table[word]
            ]
            assert flipped == list(table[mirror]), (word, mirror)


def test_colours_survive_jpeg_and_stand_out(tiny, files):
    names = list(PALETTE)
    palette = np.array([PALETTE[name] for name in names], np.float32)
    colours = {
        obj['ann_id']: obj['colour']
        for scene in files['scenes']['images']
        for obj in scene['objects']
    }
    images = {image['id']: image for image in files['instances']['images']}
    masks = decoded_masks(files['instances'])
    kernel = np.ones((3, 3), np.uint8)
    for ann in files['instances']['annotations']:
        image = cv2.imread(
            osp.join(
                output_paths(tiny[0])['images'],
                images[ann['image_id']]['file_name'])).astype(np.float32)
        mask = masks[ann['id']]
        core = image[cv2.erode(mask, kernel) > 0].mean(0)
        ring = image[(cv2.dilate(mask, kernel, iterations=2) - mask) > 0]
        nearest = np.linalg.norm(palette - core, axis=1).argmin()
        assert names[nearest] == colours[ann['id']]
        assert np.linalg.norm(core - ring.mean(0)) > 35


def test_summary_counts_the_files(tiny, files):
    summary = tiny[1]
    assert summary['images'] == TINY.num_images and not summary['cached']
    per_split = Counter()
    for ref in files['refs']:
        per_split[ref['split']] += len(ref['sentences'])
    assert summary['sentences'] == {s: per_split[s] for s in SPLITS}
    total = sum(per_split.values())
    assert sum(summary['categories'].values()) == total
    assert sum(summary['sentence_types'].values()) == total
    assert all(summary['sentence_types'][t] > 0 for t in SENTENCE_TYPES)


@pytest.mark.parametrize('changes', [
    dict(min_same_category=1),
    dict(min_same_category=5, max_same_category=4),
    dict(num_train=0, num_val=0, num_test=0),
    dict(refs_per_image=(0, 2)),
    dict(sentence_weights=dict(colour=1.0, shape=1.0)),
    dict(image_size=32),
])
def test_invalid_params_raise(changes):
    with pytest.raises(ValueError):
        SyntheticParams(**changes)


def run_tool(monkeypatch, *args: str) -> None:
    """Run the tool in this process exactly as from the command line."""
    monkeypatch.setattr(sys, 'argv', [TOOL, *args])
    runpy.run_path(TOOL, run_name='__main__')


def test_tool_caches_refuses_and_forces(tmp_path, monkeypatch, capsys):
    out = str(tmp_path / 'data')
    paths = output_paths(out)
    run_tool(monkeypatch, '--out-dir', out, *CLI_ARGS)
    assert 'generated in' in capsys.readouterr().out
    stamp = {key: os.stat(path).st_mtime_ns for key, path in paths.items()}
    run_tool(monkeypatch, '--out-dir', out, *CLI_ARGS)
    assert 'already generated' in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r'seed: 0 -> 1.*--force'):
        run_tool(monkeypatch, '--out-dir', out, *CLI_ARGS, '--seed', '1')
    assert stamp == {k: os.stat(p).st_mtime_ns for k, p in paths.items()}
    run_tool(monkeypatch, '--out-dir', out, *CLI_ARGS, '--seed', '1',
             '--force')
    assert 'generated in' in capsys.readouterr().out
    with open(paths['params']) as file:
        assert json.load(file)['params']['seed'] == 1


def test_tool_refuses_a_foreign_folder(tmp_path, monkeypatch):
    os.makedirs(tmp_path / 'rrsisd')
    (tmp_path / 'rrsisd' / 'instances.json').write_text('{}')
    with pytest.raises(SystemExit, match='not a synthetic dataset'):
        run_tool(monkeypatch, '--out-dir', str(tmp_path), *CLI_ARGS, '--force')


def test_tool_as_a_subprocess_reuses_the_dataset(tmp_path):
    out = str(tmp_path / 'data')
    generate_synthetic_rrsisd(out, CLI_PARAMS)
    before = file_bytes(out)
    run = subprocess.run([sys.executable, TOOL, '--out-dir', out, *CLI_ARGS],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert 'already generated with these parameters' in run.stdout
    assert file_bytes(out) == before


def test_rrsisd_dataset_loads_every_split(tiny, files):
    from rs2sam2_mmseg.datasets import RRSISDDataset
    masks = decoded_masks(files['instances'])
    sentences = {
        s['sent_id']: s['sent']
        for ref in files['refs']
        for s in ref['sentences']
    }
    for split in SPLITS:
        dataset = RRSISDDataset(
            split=split,
            data_root=tiny[0],
            pipeline=[dict(type='LoadReferringAnnotations')])
        assert len(dataset) == tiny[1]['sentences'][split]
        for index in range(len(dataset)):
            results = dataset[index]
            assert results['text'] == sentences[results['sent_id']]
            np.testing.assert_array_equal(results['gt_seg_map'],
                                          masks[results['ann_id']])


def phrase_words(table) -> set:
    """Every word of a phrase table (nested tuples / dicts of phrases)."""
    if isinstance(table, str):
        return set(table.split())
    values = table.values() if isinstance(table, dict) else table
    return set().union(*map(phrase_words, values))


def test_demo_config_embeds_every_word_the_generator_writes(files):
    words = set(Config.fromfile(DEMO_CFG).synthetic_words)
    tables = (NOUNS, tuple(PALETTE), POSITION_PHRASES, SIZE_WORDS,
              RELATION_WORDS, SUPERLATIVES)
    assert words == set().union({'the'}, *map(phrase_words, tables))
    written = {
        word
        for ref in files['refs'] for sentence in ref['sentences']
        for word in sentence['sent'].split()
    }
    assert written <= words
