"""Synthetic aerial scenes with referring expressions, in the RRSIS-D format.

The generator draws small top-down scenes (fields, roads and water as ground;
vehicles, buildings, storage tanks, ships and trees as objects) and writes
them exactly as the released RRSIS-D is laid out, so the real
``RRSISDDataset`` loads them with no separate code path:

.. code-block:: none

    out_dir
    ├── images/rrsisd/JPEGImages/00001.jpg ...
    └── rrsisd
        ├── refs(unc).p              refs + sentences (builtin types only)
        ├── instances.json           COCO; segmentation = [compressed RLE]
        ├── synthetic_scenes.json    objects + structured query per sentence
        └── synthetic_params.json    parameters and summary (the cache key)

Every sentence is rendered from a structured :class:`Query` that
:func:`evaluate_query` resolves to exactly one object of its scene, and every
attribute of the query is needed: dropping any one leaves the object
ambiguous. A referred object always shares its image with at least
``min_same_category`` objects of its category, so the noun alone never
suffices.

Directions follow image coordinates (x to the right, y downwards), so a flip
that swaps the direction words of the sentence (``flip_text``, with the word
pairs of :mod:`rs2sam2_mmseg.datasets.transforms.flip`) keeps it true of the
flipped image.
"""
import json
import math
import os
import os.path as osp
import pickle
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from ..utils.errors import UserInputError

SPLITS = ('train', 'val', 'test')
CATEGORIES = ('vehicle', 'building', 'storage tank', 'ship', 'tree')
#: Nouns a sentence may use for each category.
NOUNS = {
    'vehicle': ('vehicle', 'car'),
    'building': ('building', 'house'),
    'storage tank': ('storage tank', 'tank', 'oil tank'),
    'ship': ('ship', 'boat'),
    'tree': ('tree', ),
}
#: Object colours (BGR). Saturated or extreme, so they stay apart from each
#: other and from the muted ground after JPEG compression.
PALETTE = {
    'red': (40, 40, 225),
    'blue': (235, 135, 30),
    'white': (245, 245, 245),
    'black': (25, 25, 25),
    'yellow': (30, 215, 235),
    'green': (50, 200, 60),
    'grey': (165, 165, 165),
}
#: The colours each category is drawn in.
CATEGORY_COLOURS = {
    'vehicle': tuple(PALETTE),
    'building': ('red', 'blue', 'white', 'grey', 'black'),
    'storage tank': ('white', 'grey', 'yellow', 'red', 'blue', 'green'),
    'ship': ('white', 'red', 'black', 'yellow', 'grey'),
    'tree': ('green', 'yellow', 'red'),
}
#: Area in pixels of the smallest 'small' object at a 96 px image size;
#: scaled with the image area.
BASE_AREA = {
    'vehicle': 60,
    'building': 200,
    'storage tank': 80,
    'ship': 80,
    'tree': 70,
}
#: Drawn area (multiples of BASE_AREA) of each size class, and the range a
#: rasterised object must fall in. Classes are at least SIZE_RATIO apart and
#: objects of one class less than SIZE_RATIO apart, so 'largest' and 'the
#: large ...' agree.
SIZE_TARGETS = {'small': (1.0, 1.2), 'large': (2.0, 2.4)}
SIZE_ACCEPT = {'small': (0.95, 1.3), 'large': (1.9, 2.6)}
SIZE_RATIO = 1.4
SUPERLATIVES = ('smallest', 'largest')
#: The centre object must lie within this fraction of the image size from
#: the image centre.
CENTRE_RADIUS = 0.2
#: Default clear gap between the object a position word picks and the next
#: candidate, as a fraction of the image size.
POSITION_MARGIN = 0.12
SENTENCE_TYPES = ('colour', 'size', 'position', 'relation', 'colour_position')
POSITIONS = ('left', 'right', 'top', 'bottom', 'centre')
DIRECTIONS = ('left', 'right', 'above', 'below')
#: (before the noun, after the noun) phrasings of each position.
POSITION_PHRASES = {
    'left': (('', 'on the left'), ('leftmost', ''), ('', 'at the left')),
    'right': (('', 'on the right'), ('rightmost', ''), ('', 'at the right')),
    'top': (('', 'at the top'), ('topmost', ''), ('upper', '')),
    'bottom': (('', 'at the bottom'), ('bottommost', ''), ('lower', '')),
    'centre': (('', 'in the centre'), ('central', '')),
}
SIZE_WORDS = {
    'small': ('small', ),
    'large': ('large', 'big'),
    'smallest': ('smallest', ),
    'largest': ('largest', 'biggest'),
}
RELATION_WORDS = {
    'left': ('left of', 'to the left of'),
    'right': ('right of', 'to the right of'),
    'above': ('above', ),
    'below': ('below', ),
}
#: Muted ground colours (BGR): fields, road, lane marks, water.
FIELD_COLOURS = np.array([(60, 100, 85), (55, 90, 110), (70, 115, 100),
                          (80, 110, 130), (50, 80, 70), (75, 95, 95)],
                         dtype=np.float32)
ROAD_COLOUR = (85, 85, 85)
LANE_COLOUR = (140, 140, 140)
WATER_COLOUR = (130, 90, 45)
ANN_DIR = 'rrsisd'
IMG_DIR = osp.join('images', 'rrsisd', 'JPEGImages')
REFS_FILE = 'refs(unc).p'
INSTANCES_FILE = 'instances.json'
SCENES_FILE = 'synthetic_scenes.json'
PARAMS_FILE = 'synthetic_params.json'
MAX_PLACEMENT_TRIES = 60
MAX_SCENE_TRIES = 50
_SHIFT = 4  # cv2 fixed-point drawing: coordinates * 2**_SHIFT
_SUBPIXEL = 1 << _SHIFT
_Box = Tuple[int, int, int, int]  # x, y, w, h


def _default_weights() -> Dict[str, float]:
    return dict.fromkeys(SENTENCE_TYPES, 1.0)


@dataclass(frozen=True)
class SyntheticParams:
    """Generation parameters; the same parameters give the same bytes.

    Args:
        seed (int): Seed of every random choice. Defaults to 0.
        num_train (int): Images in the train split. Defaults to 2000.
        num_val (int): Images in the val split. Defaults to 200.
        num_test (int): Images in the test split. Defaults to 200.
        image_size (int): Square image side in pixels; object areas scale
            with it (60-600 px at 96). Defaults to 96.
        min_same_category (int): Least number of objects of a referred
            object's category in its image. Defaults to 2.
        max_same_category (int): Most objects of a referred category.
            Defaults to 4.
        num_distractors (tuple[int, int]): Inclusive range of objects of
            other categories per image. Defaults to (1, 3).
        refs_per_image (tuple[int, int]): Inclusive range of referred
            objects per image. Defaults to (1, 3).
        sentences_per_ref (tuple[int, int]): Inclusive range of sentences
            per referred object. Defaults to (1, 3).
        sentence_weights (dict[str, float]): Target share of each of
            :data:`SENTENCE_TYPES`: every sentence takes the feasible type
            furthest below its share so far; 0 (or a missing type) disables
            a type. Defaults to 1 for all.
        position_margin (float): Clear gap, as a fraction of the image size,
            between the object a position word picks and the next
            candidate. Defaults to 0.12.
        jpeg_quality (int): JPEG quality of the images. Defaults to 95.
    """
    seed: int = 0
    num_train: int = 2000
    num_val: int = 200
    num_test: int = 200
    image_size: int = 96
    min_same_category: int = 2
    max_same_category: int = 4
    num_distractors: Tuple[int, int] = (1, 3)
    refs_per_image: Tuple[int, int] = (1, 3)
    sentences_per_ref: Tuple[int, int] = (1, 3)
    sentence_weights: Dict[str,
                           float] = field(default_factory=_default_weights)
    position_margin: float = POSITION_MARGIN
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        counts = (self.num_train, self.num_val, self.num_test)
        if min(counts) < 0 or sum(counts) == 0:
            raise UserInputError(f'image counts must be >= 0 with a positive '
                                 f'total, got {counts}')
        if self.seed < 0:
            raise UserInputError(f'seed must be >= 0, got {self.seed}')
        if self.image_size < 48:
            raise UserInputError(
                f'image_size must be >= 48, got {self.image_size}')
        if not 2 <= self.min_same_category <= self.max_same_category:
            raise UserInputError(
                'need 2 <= min_same_category <= max_same_category, got '
                f'{self.min_same_category}, {self.max_same_category}')
        for name in ('num_distractors', 'refs_per_image', 'sentences_per_ref'):
            low, high = getattr(self, name)
            if not 0 <= low <= high or (name != 'num_distractors' and low < 1):
                raise UserInputError(f'{name} must be an increasing range of '
                                     f'counts, got {(low, high)}')
        weights = self.sentence_weights
        if (not set(weights) <= set(SENTENCE_TYPES)
                or min(weights.values()) < 0 or sum(weights.values()) <= 0):
            raise UserInputError(f'sentence_weights must map some of '
                                 f'{SENTENCE_TYPES} to weights >= 0 with a '
                                 f'positive sum, got {weights}')

    @property
    def num_images(self) -> Dict[str, int]:
        """dict[str, int]: Images per split."""
        return {split: getattr(self, f'num_{split}') for split in SPLITS}

    def to_json(self) -> dict:
        """Return the parameters as plain JSON values (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))


@dataclass(frozen=True)
class SceneObject:
    """One object of a scene, as recorded in ``synthetic_scenes.json``.

    Args:
        ann_id (int): COCO annotation id of its mask.
        category (str): One of :data:`CATEGORIES`.
        colour (str): One of :data:`PALETTE`.
        size (str): Size class within its category, 'small' or 'large'.
        centre (tuple[float, float]): Mask centroid (x, y) in pixels, pixel
            centres at half-integers, so a flip maps x to ``width - x``.
        bbox (tuple[int, int, int, int]): Mask box (x, y, w, h).
        area (int): Mask area in pixels.
    """
    ann_id: int
    category: str
    colour: str
    size: str
    centre: Tuple[float, float]
    bbox: _Box
    area: int

    @classmethod
    def from_json(cls, values: dict) -> 'SceneObject':
        """Build an object from its ``synthetic_scenes.json`` record."""
        return cls(
            **{
                **values, 'centre': tuple(values['centre']),
                'bbox': tuple(values['bbox'])
            })


@dataclass(frozen=True)
class Relation:
    """A spatial relation to an anchor object of another category.

    Args:
        direction (str): One of :data:`DIRECTIONS`; the target lies on this
            side of the anchor.
        anchor (Query): A query that picks the anchor alone.
    """
    direction: str
    anchor: 'Query'


@dataclass(frozen=True)
class Query:
    """The structured meaning of a referring sentence.

    Args:
        category (str): The object's category.
        colour (str, optional): Its colour. Defaults to None.
        size (str, optional): 'small'/'large' (size class) or
            'smallest'/'largest' (among the remaining candidates).
            Defaults to None.
        position (str, optional): One of :data:`POSITIONS`: extreme along
            that axis (or nearest the image centre) among the remaining
            candidates. Defaults to None.
        relation (Relation, optional): Side of an anchor object. Defaults to
            None.
    """
    category: str
    colour: Optional[str] = None
    size: Optional[str] = None
    position: Optional[str] = None
    relation: Optional[Relation] = None

    @property
    def attributes(self) -> Tuple[str, ...]:
        """tuple[str]: The attributes set besides the category."""
        return tuple(
            name for name in ('colour', 'size', 'position', 'relation')
            if getattr(self, name) is not None)

    @property
    def type(self) -> str:
        """str: The sentence type, one of :data:`SENTENCE_TYPES`."""
        attributes = set(self.attributes)
        if 'relation' in attributes:
            return 'relation'
        if attributes == {'colour', 'position'}:
            return 'colour_position'
        if len(attributes) != 1:
            raise ValueError(f'query {self} has no sentence type')
        return attributes.pop()

    @classmethod
    def from_json(cls, values: dict) -> 'Query':
        """Build a query from its ``synthetic_scenes.json`` record."""
        relation = values.get('relation')
        if relation is not None:
            relation = Relation(relation['direction'],
                                cls.from_json(relation['anchor']))
        return cls(**{**values, 'relation': relation})


@dataclass
class SyntheticScene:
    """One generated image with its objects and referring sentences.

    Args:
        image (np.ndarray): BGR image (H, W, 3), uint8.
        masks (list[np.ndarray]): Boolean (H, W) mask per object, disjoint.
        objects (list[SceneObject]): The objects, in the order of ``masks``.
        refs (list[tuple[int, list[tuple[Query, str]]]]): Per referred
            object its ``ann_id`` and its (query, sentence) pairs.
    """
    image: np.ndarray
    masks: List[np.ndarray]
    objects: List[SceneObject]
    refs: List[Tuple[int, List[Tuple[Query, str]]]]


# ----------------------------------------------------------------- queries
_SortKey = Callable[[SceneObject], float]


def evaluate_query(query: Query,
                   objects: Sequence[SceneObject],
                   image_size: int,
                   position_margin: float = POSITION_MARGIN) -> List[int]:
    """Return the ann_ids of the objects a query may denote.

    The candidates are narrowed in order: category, colour and size class
    (exact matches), relation to the anchor, then the superlative (size or
    position). Superlatives keep every candidate within a tolerance of the
    extreme (area ratio :data:`SIZE_RATIO`, ``position_margin`` of the image
    size), and a relation keeps every candidate on the anchor's side of the
    anchor's centre once one lies clearly (box beyond box) on that side. An
    anchor that is not unique, or a centre with no object near the image
    centre, leaves nothing. The sentence is unambiguous iff exactly one
    ann_id is returned.

    Args:
        query (Query): The query.
        objects (Sequence[SceneObject]): All objects of the scene.
        image_size (int): Image side in pixels.
        position_margin (float): Tolerance of position words as a fraction
            of the image size. Defaults to 0.12.

    Returns:
        list[int]: The matching ann_ids, in the order of ``objects``.
    """
    cands = [obj for obj in objects if _has_attributes(obj, query)]
    if query.relation is not None:
        anchor_ids = evaluate_query(query.relation.anchor, objects, image_size,
                                    position_margin)
        anchors = [obj for obj in objects if obj.ann_id in anchor_ids]
        cands = (
            _on_side(cands, anchors[0], query.relation.direction)
            if len(anchors) == 1 else [])
    if query.size in SUPERLATIVES:
        sign = 1 if query.size == 'smallest' else -1
        cands = _near_extreme(cands, lambda o: sign * math.log(o.area),
                              math.log(SIZE_RATIO))
    if query.position is not None:
        cands = _at_position(cands, query.position, image_size,
                             position_margin * image_size)
    return [obj.ann_id for obj in cands]


def _has_attributes(obj: SceneObject, query: Query) -> bool:
    """Whether ``obj`` has the query's category, colour and size class."""
    return (obj.category == query.category
            and query.colour in (None, obj.colour)
            and query.size in (None, obj.size, *SUPERLATIVES))


def _near_extreme(cands: List[SceneObject], key: _SortKey,
                  tolerance: float) -> List[SceneObject]:
    """Keep the candidates whose key is within tolerance of the minimum."""
    if not cands:
        return []
    lowest = min(key(obj) for obj in cands)
    return [obj for obj in cands if key(obj) < lowest + tolerance]


def _at_position(cands: List[SceneObject], position: str, image_size: int,
                 margin: float) -> List[SceneObject]:
    """Keep the candidates a position word may denote."""
    if position == 'centre':
        half = image_size / 2

        def key(obj: SceneObject) -> float:
            return math.hypot(obj.centre[0] - half, obj.centre[1] - half)

        cands = [
            obj for obj in cands if key(obj) <= CENTRE_RADIUS * image_size
        ]
        return _near_extreme(cands, key, margin)
    axis = 0 if position in ('left', 'right') else 1
    sign = 1 if position in ('left', 'top') else -1
    return _near_extreme(cands, lambda o: sign * o.centre[axis], margin)


def _span(obj: SceneObject, axis: int,
          mirrored: bool) -> Tuple[float, float, float]:
    """(start, centre, end) of an object along an axis, maybe mirrored."""
    start, centre = obj.bbox[axis], obj.centre[axis]
    end = start + obj.bbox[axis + 2]
    return (-end, -centre, -start) if mirrored else (start, centre, end)


def _on_side(cands: List[SceneObject], anchor: SceneObject,
             direction: str) -> List[SceneObject]:
    """Keep the candidates on ``direction``'s side of the anchor."""
    axis = 0 if direction in ('left', 'right') else 1
    mirrored = direction in ('right', 'below')
    anchor_start, anchor_centre, _ = _span(anchor, axis, mirrored)
    loose = [
        obj for obj in cands if _span(obj, axis, mirrored)[1] < anchor_centre
    ]
    clear = [
        obj for obj in loose if _span(obj, axis, mirrored)[2] <= anchor_start
    ]
    return loose if clear else []


def is_unambiguous(query: Query,
                   target: SceneObject,
                   objects: Sequence[SceneObject],
                   image_size: int,
                   position_margin: float = POSITION_MARGIN) -> bool:
    """Whether a query picks ``target`` alone and needs all its attributes.

    Args:
        query (Query): The query.
        target (SceneObject): The object it should pick.
        objects (Sequence[SceneObject]): All objects of the scene.
        image_size (int): Image side in pixels.
        position_margin (float): See :func:`evaluate_query`. Defaults to
            0.12.

    Returns:
        bool: True iff the query matches only ``target`` and every query
        with one attribute dropped does not.
    """

    def picks_target(candidate: Query) -> bool:
        return evaluate_query(candidate, objects, image_size,
                              position_margin) == [target.ann_id]

    return picks_target(query) and not any(
        picks_target(replace(query, **{name: None}))
        for name in query.attributes)


def _anchor_query(anchor: SceneObject, objects: Sequence[SceneObject],
                  params: SyntheticParams) -> Optional[Query]:
    """The shortest category/colour query that picks ``anchor`` alone."""
    for query in (Query(anchor.category),
                  Query(anchor.category, colour=anchor.colour)):
        if evaluate_query(query, objects, params.image_size,
                          params.position_margin) == [anchor.ann_id]:
            return query
    return None


def _candidate_queries(target: SceneObject, objects: Sequence[SceneObject],
                       params: SyntheticParams) -> List[Query]:
    """Every query shape the generator may use for ``target``."""
    cat, colour = target.category, target.colour
    queries = [Query(cat, colour=colour)]
    queries += [Query(cat, size=size) for size in (target.size, *SUPERLATIVES)]
    for position in POSITIONS:
        queries += [
            Query(cat, position=position),
            Query(cat, colour=colour, position=position)
        ]
    for obj in objects:
        anchor = (None if obj.category == cat else _anchor_query(
            obj, objects, params))
        if anchor is None:
            continue
        for direction in DIRECTIONS:
            relation = Relation(direction, anchor)
            queries += [
                Query(cat, relation=relation),
                Query(cat, colour=colour, relation=relation)
            ]
    return queries


def valid_queries(target: SceneObject, objects: Sequence[SceneObject],
                  params: SyntheticParams) -> Dict[str, List[Query]]:
    """The unambiguous queries for ``target``, grouped by sentence type.

    Args:
        target (SceneObject): The referred object.
        objects (Sequence[SceneObject]): All objects of the scene.
        params (SyntheticParams): Image size and position margin.

    Returns:
        dict[str, list[Query]]: Sentence type -> queries (types with none
        are left out).
    """
    grouped: Dict[str, List[Query]] = {}
    for query in _candidate_queries(target, objects, params):
        if is_unambiguous(query, target, objects, params.image_size,
                          params.position_margin):
            grouped.setdefault(query.type, []).append(query)
    return grouped


def _pick(rng: np.random.Generator, options: Sequence):
    """One element of ``options``, uniformly."""
    return options[int(rng.integers(len(options)))]


def _count(rng: np.random.Generator, bounds: Tuple[int, int]) -> int:
    """A count drawn uniformly from an inclusive range."""
    return int(rng.integers(bounds[0], bounds[1] + 1))


def render_sentence(query: Query, rng: np.random.Generator) -> str:
    """Write a query as a lower-case English noun phrase.

    Args:
        query (Query): The query.
        rng (np.random.Generator): Picks nouns and phrasings.

    Returns:
        str: E.g. 'the red car to the left of the white tank'.
    """
    before, after = (
        _pick(rng, POSITION_PHRASES[query.position]) if query.position else
        ('', ''))
    size = _pick(rng, SIZE_WORDS[query.size]) if query.size else ''
    noun = _pick(rng, NOUNS[query.category])
    words = ['the', before, size, query.colour or '', noun, after]
    if query.relation is not None:
        words += [
            _pick(rng, RELATION_WORDS[query.relation.direction]),
            render_sentence(query.relation.anchor, rng)
        ]
    return ' '.join(word for word in words if word)


# ------------------------------------------------------------------ shapes
@dataclass
class _Shape:
    """An object outline in local coordinates, area about 1.

    Args:
        polygons (list[np.ndarray]): (N, 2) polygons whose union is the
            object.
        details (list[np.ndarray]): (N, 2) polylines drawn in a shade of the
            object colour (ridges, rims, windscreens).
        outline (bool): Whether the border is drawn in the shade.
        angle (float): Rotation in radians.
    """
    polygons: List[np.ndarray]
    details: List[np.ndarray]
    outline: bool
    angle: float

    def transformed(self, scale: float, centre: np.ndarray,
                    lines: List[np.ndarray]) -> List[np.ndarray]:
        """Scale, rotate and move ``lines`` into cv2 fixed-point pixels."""
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        rotation = np.array([[cos, -sin], [sin, cos]]) * scale
        return [
            np.round((line @ rotation.T + centre) * _SUBPIXEL).astype(np.int32)
            for line in lines
        ]

    @property
    def radius(self) -> float:
        """float: The farthest vertex from the origin."""
        return max(
            float(np.linalg.norm(poly, axis=1).max())
            for poly in self.polygons)


_UNIT_CIRCLE = np.stack([
    np.cos(np.linspace(0, 2 * np.pi, 25)),
    np.sin(np.linspace(0, 2 * np.pi, 25))
], 1)


def _circle(radius: float,
            centre: Tuple[float, float] = (0., 0.)) -> np.ndarray:
    """A closed circle polyline (first vertex repeated)."""
    return _UNIT_CIRCLE * radius + centre


def _rectangle(width: float, height: float) -> np.ndarray:
    """An axis-aligned rectangle centred on the origin."""
    return np.array([(-1, -1), (1, -1), (1, 1),
                     (-1, 1)]) * (width / 2, height / 2)


def _vehicle(rng: np.random.Generator) -> _Shape:
    """A 1:2 rectangle with a windscreen."""
    half = math.sqrt(0.5) / 2
    screen = np.array([(-0.8 * half, half), (0.8 * half, half)])
    return _Shape([_rectangle(2 * half, 4 * half)], [screen], False,
                  rng.uniform(0, np.pi))


def _building(rng: np.random.Generator) -> _Shape:
    """A rectangle or an L-shape, with roof ridges and an outline."""
    aspect = rng.uniform(1.0, 1.7)
    angle = float(_pick(rng, (0.0, 0.0, rng.uniform(-0.4, 0.4))))
    if rng.random() < 0.5:
        w, h = math.sqrt(aspect), 1 / math.sqrt(aspect)
        ridge = np.array([(-w / 2 + h / 2, 0), (w / 2 - h / 2, 0)])
        return _Shape([_rectangle(w, h)], [ridge], True, angle)
    w, h = math.sqrt(aspect / 0.75), 1 / math.sqrt(aspect * 0.75)
    ell = np.array([(0, 0), (w, 0), (w, h / 2), (w / 2, h / 2), (w / 2, h),
                    (0, h)]) - (w / 2, h / 2)
    ridges = [
        np.array([(-w / 2 + h / 4, -h / 4), (w / 2 - h / 4, -h / 4)]),
        np.array([(-w / 4, -h / 4), (-w / 4, h / 2 - w / 8)])
    ]
    return _Shape([ell], ridges, True, angle)


def _storage_tank(rng: np.random.Generator) -> _Shape:
    """A circle with a rim and an inner ring."""
    radius = 1 / math.sqrt(math.pi)
    return _Shape([_circle(radius)], [_circle(0.55 * radius)], True, 0.0)


def _ship(rng: np.random.Generator) -> _Shape:
    """A pointed hull or an elongated ellipse, with a deck line."""
    length = 2.0
    beam = length / 3.5
    deck = np.array([(-0.3 * length, 0), (0.15 * length, 0)])
    if rng.random() < 0.5:
        hull = np.array([(-0.5, -0.5), (0.25, -0.5), (0.5, 0), (0.25, 0.5),
                         (-0.5, 0.5)]) * (length, beam)
    else:
        hull = _circle(1.0)[:-1] * (length / 2, beam / 2)
    return _Shape([hull], [deck], False, rng.uniform(0, np.pi))


def _tree(rng: np.random.Generator) -> _Shape:
    """An irregular blob: a crown of overlapping circles."""
    crowns = [_circle(0.45)]
    for angle in rng.uniform(0, 2 * np.pi, int(rng.integers(3, 6))):
        offset = 0.3 * np.array([math.cos(angle), math.sin(angle)])
        crowns.append(_circle(rng.uniform(0.22, 0.32), offset))
    return _Shape(crowns, crowns[1:], False, 0.0)


_SHAPES = {
    'vehicle': _vehicle,
    'building': _building,
    'storage tank': _storage_tank,
    'ship': _ship,
    'tree': _tree,
}


# ------------------------------------------------------------------ scenes
def _draw_ground(rng: np.random.Generator, size: int,
                 water_prob: float) -> Tuple[np.ndarray, np.ndarray]:
    """Fields with crop stripes, roads with lane marks, maybe water.

    Returns:
        tuple[np.ndarray, np.ndarray]: BGR image (S, S, 3) uint8 and the
        water mask (S, S) bool.
    """
    cuts = [
        np.sort(rng.integers(size // 5, size - size // 5, rng.integers(0, 3)))
        for _ in range(2)
    ]
    coords = np.arange(size, dtype=np.float32)
    cell = (
        np.searchsorted(cuts[1], coords)[:, None] * 3 +
        np.searchsorted(cuts[0], coords)[None, :])
    colours = (FIELD_COLOURS[rng.integers(len(FIELD_COLOURS), size=9)] +
               rng.uniform(-10, 10, (9, 1))).astype(np.float32)
    frequency = (2 * np.pi / rng.uniform(2.5, 5.0, 9)).astype(np.float32)
    amplitude = rng.uniform(0, 12, 9).astype(np.float32)
    along = np.where(
        rng.random(9)[cell] < 0.5, coords[None, :], coords[:, None])
    stripes = np.sin(along * frequency[cell]) * amplitude[cell]
    noise = rng.standard_normal((size, size, 3), dtype=np.float32) * 5
    image = colours[cell] + stripes[..., None] + noise
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(int(rng.choice(3, p=(0.35, 0.45, 0.2)))):
        _draw_road(rng, image)
    water = np.zeros((size, size), np.uint8)
    if rng.random() < water_prob:
        _draw_water(rng, image, water)
    return image, water.astype(bool)


def _edge_points(rng: np.random.Generator, size: int) -> np.ndarray:
    """Two points on opposite sides of the image (a road or a river)."""
    first, second = rng.uniform(0.1, 0.9, 2) * size
    ends = np.array([(first, -5.0), (second, size + 5.0)])
    return ends[:, ::-1] if rng.random() < 0.5 else ends


def _draw_road(rng: np.random.Generator, image: np.ndarray) -> None:
    """A grey band across the image with a dashed lane mark."""
    size = image.shape[0]
    start, end = _edge_points(rng, size)
    shade = int(rng.integers(-10, 11))
    cv2.line(image, _fixed(start), _fixed(end),
             tuple(c + shade for c in ROAD_COLOUR),
             int(rng.integers(6, 10) * size / 96), cv2.LINE_AA, _SHIFT)
    steps = np.linspace(0, 1, int(np.hypot(*(end - start)) // 4) + 1)
    for low, high in zip(steps[::2], steps[1::2]):
        cv2.line(image, _fixed(start + low * (end - start)),
                 _fixed(start + high * (end - start)), LANE_COLOUR, 1,
                 cv2.LINE_8, _SHIFT)


def _draw_water(rng: np.random.Generator, image: np.ndarray,
                water: np.ndarray) -> None:
    """A lake (ellipse) or a river (thick band), marked in ``water``."""
    size = image.shape[0]
    if rng.random() < 0.5:
        centre = rng.uniform(0.2, 0.8, 2) * size
        axes = rng.uniform(0.2, 0.35, 2) * size
        box = (tuple(centre), tuple(axes * 2), float(rng.uniform(0, 180)))
        cv2.ellipse(water, box, 1, -1)
    else:
        start, end = _edge_points(rng, size)
        cv2.line(water, _fixed(start), _fixed(end), 1,
                 int(rng.uniform(0.2, 0.3) * size), cv2.LINE_8, _SHIFT)
    inside = water > 0
    ripple = rng.standard_normal((int(inside.sum()), 3), dtype=np.float32)
    image[inside] = np.clip(ripple * 4 + WATER_COLOUR, 0, 255)


def _fixed(point: np.ndarray) -> Tuple[int, int]:
    """A point in cv2 fixed-point pixels (shift=4)."""
    return tuple(int(v) for v in np.round(np.asarray(point) * _SUBPIXEL))


def _sample_layout(rng: np.random.Generator,
                   params: SyntheticParams) -> List[Tuple[str, str, str]]:
    """Category, colour and size class of every object of a scene.

    One or two categories get ``min_same_category`` to ``max_same_category``
    objects coloured from two of their colours (so colours repeat and
    colour alone often fails); distractors come from the other categories.
    """
    rich = rng.choice(len(CATEGORIES), 1 + int(rng.random() < 0.3), False)
    layout = []
    for index in rich:
        category = CATEGORIES[index]
        colours = rng.choice(CATEGORY_COLOURS[category], 2, False)
        count = _count(rng,
                       (params.min_same_category, params.max_same_category))
        layout += [(category, str(_pick(rng, colours)),
                    _pick(rng, ('small', 'large'))) for _ in range(count)]
    others = [c for i, c in enumerate(CATEGORIES) if i not in rich]
    for _ in range(_count(rng, params.num_distractors)):
        category = _pick(rng, others)
        layout.append((category, _pick(rng, CATEGORY_COLOURS[category]),
                       _pick(rng, ('small', 'large'))))
    return layout


def _rasterise(shape: _Shape, scale: float, centre: np.ndarray,
               size: int) -> np.ndarray:
    """The (S, S) uint8 mask of a shape."""
    canvas = np.zeros((size, size), np.uint8)
    for poly in shape.transformed(scale, centre, shape.polygons):
        cv2.fillPoly(canvas, [poly], 1, cv2.LINE_8, _SHIFT)
    return canvas


def _place(
        rng: np.random.Generator, shape: _Shape, size_class: str,
        base_area: float, blocked: np.ndarray,
        region: np.ndarray) -> Optional[Tuple[np.ndarray, float, np.ndarray]]:
    """Find a free spot and a scale giving an area in the size class.

    Args:
        rng (np.random.Generator): Random source.
        shape (_Shape): The object shape.
        size_class (str): 'small' or 'large'.
        base_area (float): Area of the category's smallest small object.
        blocked (np.ndarray): (S, S) bool, occupied pixels plus a gap.
        region (np.ndarray): (S, S) bool; the first half of the tries keep
            the whole object inside it (ships on water, the rest on land).

    Returns:
        tuple | None: The (S, S) uint8 mask, the scale and the centre
        (x, y) it was drawn with, or None if no try fits.
    """
    size = blocked.shape[0]
    target = base_area * rng.uniform(*SIZE_TARGETS[size_class])
    low, high = (base_area * bound for bound in SIZE_ACCEPT[size_class])
    scale = math.sqrt(target)
    inside = np.argwhere(region)[:, ::-1] + 0.5
    radius = shape.radius
    for attempt in range(MAX_PLACEMENT_TRIES):
        reach = scale * radius + 1.5
        if reach >= size / 2:
            return None
        confined = len(inside) > 0 and attempt < MAX_PLACEMENT_TRIES // 2
        centre = (
            _pick(rng, inside) if confined else rng.uniform(
                reach, size - reach, 2))
        mask = _rasterise(shape, scale, centre, size)
        area = int(mask.sum())
        if (low <= area <= high and not blocked[mask > 0].any()
                and mask[[0, -1]].sum() + mask[:, [0, -1]].sum() == 0
                and not (confined and (mask > region).any())):
            return mask, scale, centre
        scale *= math.sqrt(target / area) if area else 1.0
    return None


def _paint(image: np.ndarray, obj: SceneObject, shape: _Shape,
           mask: np.ndarray, scale: float, centre: np.ndarray) -> None:
    """Paint a placed object: flat colour, shaded details and outline.

    Only the object's box plus one pixel is touched (objects never touch
    the image border).
    """
    colour = PALETTE[obj.colour]
    shade = tuple(
        int(c * 0.7) if sum(colour) > 240 else c + 60 for c in colour)
    x, y, w, h = obj.bbox
    window = (slice(y - 1, y + h + 1), slice(x - 1, x + w + 1))
    local = mask[window]
    layer = np.empty(local.shape + (3, ), np.uint8)
    layer[:] = colour
    details = shape.transformed(scale, centre - (x - 1, y - 1), shape.details)
    cv2.polylines(layer, details, False, shade, 1, cv2.LINE_8, _SHIFT)
    inside = local > 0
    if shape.outline:
        core = cv2.erode(local, np.ones((3, 3), np.uint8)) > 0
        layer[inside & ~core] = shade
    image[window][inside] = layer[inside]


def _measure(mask: np.ndarray) -> Tuple[Tuple[float, float], _Box, int]:
    """Centroid (x, y), box (x, y, w, h) and area of a mask.

    Pixel centres are at half-integers, so a horizontal flip maps the
    centroid's x to ``width - x``.
    """
    ys, xs = np.nonzero(mask)
    centre = (round(float(xs.mean()) + 0.5,
                    3), round(float(ys.mean()) + 0.5, 3))
    bbox = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1))
    return centre, bbox, len(xs)


def _draw_objects(
    rng: np.random.Generator, params: SyntheticParams,
    layout: List[Tuple[str, str, str]], first_ann_id: int
) -> Optional[Tuple[np.ndarray, List[np.ndarray], List[SceneObject]]]:
    """Draw the ground and place every object of ``layout``.

    Returns:
        tuple | None: (image, masks, objects), or None if an object did not
        fit.
    """
    size = params.image_size
    has_ship = any(category == 'ship' for category, _, _ in layout)
    image, water = _draw_ground(rng, size, 0.85 if has_ship else 0.35)
    blocked = np.zeros((size, size), np.uint8)
    scale_area = (size / 96)**2
    masks, objects = [], []
    order = sorted(layout, key=lambda item: -BASE_AREA[item[0]])
    for category, colour, size_class in order:
        shape = _SHAPES[category](rng)
        placed = _place(rng, shape, size_class,
                        BASE_AREA[category] * scale_area, blocked > 0,
                        water if category == 'ship' else ~water)
        if placed is None:
            return None
        mask = placed[0]
        objects.append(
            SceneObject(first_ann_id + len(objects), category, colour,
                        size_class, *_measure(mask)))
        _paint(image, objects[-1], shape, *placed)
        blocked |= cv2.dilate(mask, np.ones((5, 5), np.uint8))
        masks.append(mask > 0)
    return image, masks, objects


def _choose_queries(rng: np.random.Generator, target: SceneObject,
                    objects: Sequence[SceneObject], params: SyntheticParams,
                    type_counts: Counter) -> List[Query]:
    """Distinct queries for one target, under-used sentence types first.

    Each sentence takes the feasible type with the fewest sentences so far
    relative to its weight (ties in random order); ``type_counts`` is
    updated.
    """
    grouped = valid_queries(target, objects, params)
    weights = params.sentence_weights
    chosen = []
    for _ in range(_count(rng, params.sentences_per_ref)):
        order = rng.permutation(len(SENTENCE_TYPES))
        types = [
            SENTENCE_TYPES[i] for i in order if grouped.get(SENTENCE_TYPES[i])
            and weights.get(SENTENCE_TYPES[i], 0) > 0
        ]
        if not types:
            break
        kind = min(types, key=lambda t: type_counts[t] / weights[t])
        type_counts[kind] += 1
        chosen.append(grouped[kind].pop(int(rng.integers(len(grouped[kind])))))
    return chosen


def _choose_refs(rng: np.random.Generator, objects: Sequence[SceneObject],
                 params: SyntheticParams,
                 type_counts: Dict[str, int]) -> List[Tuple[int, List[Query]]]:
    """Pick the referred objects and their queries."""
    counts = Counter(obj.category for obj in objects)
    eligible = [
        obj for obj in objects
        if counts[obj.category] >= params.min_same_category
    ]
    wanted = _count(rng, params.refs_per_image)
    type_counts = Counter(type_counts)
    refs = []
    for index in rng.permutation(len(eligible)):
        queries = _choose_queries(rng, eligible[index], objects, params,
                                  type_counts)
        if queries:
            refs.append((eligible[index].ann_id, queries))
        if len(refs) == wanted:
            break
    return refs


def make_scene(rng: np.random.Generator,
               params: SyntheticParams,
               first_ann_id: int = 1,
               type_counts: Optional[Dict[str, int]] = None) -> SyntheticScene:
    """Generate one image with its objects and referring sentences.

    Args:
        rng (np.random.Generator): Random source (consumed).
        params (SyntheticParams): Generation parameters.
        first_ann_id (int): ann_id of the first object; the others follow.
            Defaults to 1.
        type_counts (dict[str, int], optional): Sentences per type written
            so far; the scene favours the types furthest below their
            ``sentence_weights`` share. Defaults to None (none yet).

    Returns:
        SyntheticScene: The scene; every sentence is unambiguous.
    """
    for _ in range(MAX_SCENE_TRIES):
        drawn = _draw_objects(rng, params, _sample_layout(rng, params),
                              first_ann_id)
        refs = (
            _choose_refs(rng, drawn[2], params, type_counts or {})
            if drawn else [])
        if refs:
            sentences = [(ann_id, [(q, render_sentence(q, rng))
                                   for q in queries])
                         for ann_id, queries in refs]
            return SyntheticScene(*drawn, sentences)
    raise RuntimeError(f'no scene with a referable object in '
                       f'{MAX_SCENE_TRIES} tries; relax {params}')


# ----------------------------------------------------------------- writing
def _encode_mask(mask: np.ndarray) -> dict:
    """Compressed RLE of a mask, counts as str (as in the released data)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {
        'size': [int(v) for v in rle['size']],
        'counts': rle['counts'].decode('ascii')
    }


def _dump_json(path: str, data: dict) -> None:
    """Write compact JSON (``dumps`` uses the fast C encoder)."""
    with open(path, 'w') as file:
        file.write(json.dumps(data, separators=(',', ':')))


def output_paths(out_dir: str) -> Dict[str, str]:
    """Where :func:`generate_synthetic_rrsisd` writes each output.

    Args:
        out_dir (str): The dataset root (``data_root`` of the dataset).

    Returns:
        dict[str, str]: Keys ``refs``, ``instances``, ``scenes``,
        ``params`` (files) and ``images`` (folder).
    """
    names = dict(
        refs=REFS_FILE,
        instances=INSTANCES_FILE,
        scenes=SCENES_FILE,
        params=PARAMS_FILE)
    paths = {
        key: osp.join(out_dir, ANN_DIR, name)
        for key, name in names.items()
    }
    paths['images'] = osp.join(out_dir, IMG_DIR)
    return paths


class _RRSISDWriter:
    """Writes scenes as RRSIS-D images, annotations and refs.

    Args:
        out_dir (str): The dataset root.
        params (SyntheticParams): Generation parameters.
    """

    def __init__(self, out_dir: str, params: SyntheticParams) -> None:
        self.paths = output_paths(out_dir)
        self.params = params
        self.images: List[dict] = []
        self.annotations: List[dict] = []
        self.refs: List[dict] = []
        self.scenes: List[dict] = []
        self.num_sentences = 0
        self.type_counts: Counter = Counter()

    @property
    def next_ann_id(self) -> int:
        """int: The ann_id the next object gets."""
        return len(self.annotations) + 1

    def add(self, split: str, scene: SyntheticScene) -> None:
        """Write a scene's image and record its annotations and refs."""
        image_id = len(self.images) + 1
        file_name = f'{image_id:05d}.jpg'
        cv2.imwrite(
            osp.join(self.paths['images'], file_name), scene.image,
            [cv2.IMWRITE_JPEG_QUALITY, self.params.jpeg_quality])
        height, width = scene.image.shape[:2]
        self.images.append(
            dict(id=image_id, file_name=file_name, height=height, width=width))
        category_ids = {
            obj.ann_id: CATEGORIES.index(obj.category) + 1
            for obj in scene.objects
        }
        for obj, mask in zip(scene.objects, scene.masks):
            self.annotations.append(
                dict(
                    id=obj.ann_id,
                    image_id=image_id,
                    category_id=category_ids[obj.ann_id],
                    bbox=list(obj.bbox),
                    area=obj.area,
                    iscrowd=0,
                    segmentation=[_encode_mask(mask)]))
        records = []
        for ann_id, pairs in scene.refs:
            self.refs.append(
                dict(
                    ref_id=len(self.refs) + 1,
                    ann_id=ann_id,
                    image_id=image_id,
                    split=split,
                    file_name=file_name,
                    category_id=category_ids[ann_id],
                    sent_ids=[],
                    sentences=[]))
            records += [
                self._add_sentence(query, text) for query, text in pairs
            ]
        self.scenes.append(
            dict(
                image_id=image_id,
                file_name=file_name,
                split=split,
                objects=[asdict(obj) for obj in scene.objects],
                sentences=records))

    def _add_sentence(self, query: Query, text: str) -> dict:
        """Add a sentence to the last ref; return its scene record."""
        self.num_sentences += 1
        self.type_counts[query.type] += 1
        ref = self.refs[-1]
        ref['sent_ids'].append(self.num_sentences)
        ref['sentences'].append(
            dict(
                sent_id=self.num_sentences,
                sent=text,
                raw=text,
                tokens=text.split()))
        return dict(
            sent_id=self.num_sentences,
            ref_id=ref['ref_id'],
            ann_id=ref['ann_id'],
            sent=text,
            type=query.type,
            query=asdict(query))

    def close(self) -> dict:
        """Write the annotation files; the params file last.

        Returns:
            dict: The summary stored in the params file.
        """
        _dump_json(
            self.paths['instances'],
            dict(
                images=self.images,
                annotations=self.annotations,
                categories=[
                    dict(id=index + 1, name=name)
                    for index, name in enumerate(CATEGORIES)
                ]))
        with open(self.paths['refs'], 'wb') as file:
            pickle.dump(self.refs, file, protocol=4)
        _dump_json(
            self.paths['scenes'],
            dict(
                image_size=self.params.image_size,
                position_margin=self.params.position_margin,
                images=self.scenes))
        summary = _summarise(self.scenes)
        _dump_json(self.paths['params'],
                   dict(params=self.params.to_json(), summary=summary))
        return summary


def _summarise(scenes: List[dict]) -> dict:
    """Counts per split, category and sentence type."""
    counts = {key: Counter() for key in ('images', 'refs', 'sentences')}
    categories, types = Counter(), Counter()
    for scene in scenes:
        split = scene['split']
        counts['images'][split] += 1
        counts['refs'][split] += len(
            {record['ref_id']
             for record in scene['sentences']})
        counts['sentences'][split] += len(scene['sentences'])
        for record in scene['sentences']:
            categories[record['query']['category']] += 1
            types[record['type']] += 1
    summary = {
        key: {
            s: count[s]
            for s in SPLITS
        }
        for key, count in counts.items()
    }
    summary['categories'] = {c: categories[c] for c in CATEGORIES}
    summary['sentence_types'] = {t: types[t] for t in SENTENCE_TYPES}
    return summary


def _stored_summary(out_dir: str, params: SyntheticParams,
                    force: bool) -> Optional[dict]:
    """Summary of an existing identical dataset; else clear the old one.

    Returns:
        dict | None: The stored summary if ``out_dir`` holds a complete
        dataset made with ``params`` (and not ``force``), else None after
        removing an earlier synthetic dataset there.

    Raises:
        FileExistsError: ``out_dir`` holds other RRSIS-D files, or a
            synthetic dataset with other parameters and ``force`` is False.
    """
    paths = output_paths(out_dir)
    if not osp.isfile(paths['params']):
        present = [path for path in paths.values() if osp.exists(path)]
        if present:
            raise FileExistsError(
                f'{out_dir} holds {present} but no {PARAMS_FILE}, so it is '
                'not a synthetic dataset; refusing to overwrite it. Pick '
                'another output folder.')
        return None
    with open(paths['params']) as file:
        stored = json.load(file)
    current = params.to_json()
    complete = stored.get('summary') is not None
    if stored.get('params') == current and complete and not force:
        return stored['summary']
    if complete and not force:
        changed = [
            f'{key}: {stored["params"].get(key)} -> {value}'
            for key, value in current.items()
            if stored['params'].get(key) != value
        ]
        raise FileExistsError(
            f'{out_dir} holds a synthetic dataset made with other '
            f'parameters ({"; ".join(changed)}); regenerate it with '
            'force=True (--force) or pick another output folder.')
    shutil.rmtree(paths.pop('images'), ignore_errors=True)
    for path in paths.values():
        if osp.exists(path):
            os.remove(path)
    return None


def _generate(out_dir: str, params: SyntheticParams,
              progress: Callable[[str], None]) -> dict:
    """Generate every split into ``out_dir``; return the summary."""
    paths = output_paths(out_dir)
    os.makedirs(osp.dirname(paths['params']), exist_ok=True)
    # An incomplete marker first: an interrupted run is ours to regenerate.
    _dump_json(paths['params'], dict(params=params.to_json(), summary=None))
    os.makedirs(paths['images'], exist_ok=True)
    writer = _RRSISDWriter(out_dir, params)
    for split_index, split in enumerate(SPLITS):
        total = params.num_images[split]
        for index in range(total):
            rng = np.random.default_rng([params.seed, split_index, index])
            scene = make_scene(rng, params, writer.next_ann_id,
                               writer.type_counts)
            writer.add(split, scene)
            if (index + 1) % 500 == 0 or index + 1 == total:
                progress(f'{split}: {index + 1}/{total} images')
    return writer.close()


def generate_synthetic_rrsisd(
        out_dir: str,
        params: Optional[SyntheticParams] = None,
        force: bool = False,
        progress: Optional[Callable[[str], None]] = None) -> dict:
    """Generate the synthetic dataset in RRSIS-D format, or reuse it.

    If ``out_dir`` already holds a complete dataset made with the same
    parameters nothing is written (the summary is read back).

    Args:
        out_dir (str): The dataset root (``data_root`` of the dataset).
        params (SyntheticParams, optional): Generation parameters. Defaults
            to None (``SyntheticParams()``).
        force (bool): Regenerate even if a dataset (made with any
            parameters) is there. Defaults to False.
        progress (Callable[[str], None], optional): Called with a progress
            line every 500 images and at the end of each split. Defaults to
            None.

    Returns:
        dict: ``images``/``refs``/``sentences`` (split -> count),
        ``categories`` and ``sentence_types`` (sentences per category and
        type), ``files`` (see :func:`output_paths`), ``out_dir``,
        ``cached`` (bool) and ``seconds``.

    Raises:
        FileExistsError: ``out_dir`` holds files not made by this generator,
            or a dataset made with other parameters and ``force`` is False.
    """
    params = params or SyntheticParams()
    start = time.perf_counter()
    summary = _stored_summary(out_dir, params, force)
    cached = summary is not None
    if not cached:
        summary = _generate(out_dir, params, progress or (lambda _: None))
    return dict(
        summary,
        files=output_paths(out_dir),
        out_dir=out_dir,
        cached=cached,
        seconds=round(time.perf_counter() - start, 2))


def format_summary(summary: dict) -> str:
    """Render a :func:`generate_synthetic_rrsisd` summary for people.

    Args:
        summary (dict): The summary.

    Returns:
        str: A few lines: counts per split, category and sentence type and
        where the files are.
    """
    status = ('already generated with these parameters, nothing written'
              if summary['cached'] else
              f'generated in {summary["seconds"]:.1f} s')
    lines = [
        f'synthetic RRSIS-D in {summary["out_dir"]} ({status})',
        f'{"split":<7}{"images":>8}{"refs":>8}{"sentences":>11}'
    ]
    lines += [
        f'{split:<7}{summary["images"][split]:>8}{summary["refs"][split]:>8}'
        f'{summary["sentences"][split]:>11}' for split in SPLITS
    ]
    for key, label in (('categories', 'category'), ('sentence_types',
                                                    'sentence type')):
        counts = ', '.join(f'{name} {count}'
                           for name, count in summary[key].items())
        lines.append(f'sentences per {label}: {counts}')
    lines += [f'{key}: {path}' for key, path in summary['files'].items()]
    return '\n'.join(lines)
