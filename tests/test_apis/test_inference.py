"""Inference API: init_referring_model and inference_referring_model."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmseg.structures import SegDataSample

from rs2sam2_mmseg.apis import (inference_pipeline, inference_referring_model,
                                init_referring_model, referring_tta_model)
from ..test_models.utils import TEXTS
from ..test_tools.utils import REPO, TINY_CONFIG


@pytest.fixture(scope='module')
def model():
    """The tiny model, randomly initialised (no checkpoint)."""
    torch.manual_seed(0)
    return init_referring_model(TINY_CONFIG)


@pytest.fixture
def image() -> np.ndarray:
    """A non-square BGR image (80, 120, 3)."""
    return np.random.default_rng(0).integers(
        0, 256, (80, 120, 3), dtype=np.uint8)


def test_init_with_checkpoint(tmp_path, model):
    assert not model.training and model.cfg.filename == TINY_CONFIG
    path = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    loaded = init_referring_model(TINY_CONFIG, path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with pytest.raises(FileNotFoundError, match='does not exist'):
        init_referring_model(TINY_CONFIG, str(tmp_path / 'missing.pth'))
    # a checkpoint of another model is refused, or loaded where it fits
    state = model.state_dict()
    key = next(iter(state))
    state[key] = torch.zeros(1)
    torch.save(dict(state_dict=state, meta=dict()), path)
    with pytest.raises(ValueError, match=f'{path} does not fit the model'):
        init_referring_model(TINY_CONFIG, path)
    partial = init_referring_model(TINY_CONFIG, path, allow_partial=True)
    assert not torch.equal(partial.state_dict()[key], model.state_dict()[key])
    other = [k for k in state if k != key][-1]
    assert torch.equal(partial.state_dict()[other], model.state_dict()[other])


def test_one_sentence(tmp_path, model, image):
    path = str(tmp_path / 'scene.png')
    mmcv.imwrite(image, path)
    result = inference_referring_model(model, path, TEXTS[0])
    assert isinstance(result, SegDataSample)
    # at the original resolution, binary
    assert result.pred_sem_seg.data.shape == (1, 80, 120)
    assert set(result.pred_sem_seg.data.unique().tolist()) <= {0, 1}
    assert result.seg_logits.data.shape == (1, 80, 120)
    assert result.text == TEXTS[0] and result.img_path == path


def test_sentences_batched(model, image):
    """A list of sentences runs as one batch, same as one at a time."""
    results = inference_referring_model(model, image, list(TEXTS[:3]))
    assert [r.text for r in results] == list(TEXTS[:3])
    for text, result in zip(TEXTS, results):
        single = inference_referring_model(model, image, text)
        torch.testing.assert_close(result.seg_logits.data,
                                   single.seg_logits.data)


def test_tta_averages_the_flipped_views(tmp_path, model, image):
    path = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    tta = init_referring_model(TINY_CONFIG, path, tta=True)
    steps = inference_pipeline(tta.cfg, tta=True).transforms
    assert [type(t).__name__
            for t in steps] == ['LoadImageFromNDArray', 'TestTimeAug']
    result = inference_referring_model(tta, image, TEXTS[0])
    assert result.text == TEXTS[0] and not result.flip
    assert result.pred_sem_seg.data.shape == (1, 80, 120)
    # the same views one by one: image and sentence flipped, mask back
    views = [((), TEXTS[0]), ((1, ), TEXTS[0].replace('left', 'right')),
             ((0, ), TEXTS[0])]
    logits = []
    for axes, text in views:
        view = np.ascontiguousarray(np.flip(image, axes))
        prob = inference_referring_model(model, view, text).seg_logits.data
        dims = [a - 2 for a in axes]  # image (H, W) axes -> (1, H, W) dims
        logits.append(torch.logit(prob.flip(dims) if dims else prob, 1e-6))
    torch.testing.assert_close(result.seg_logits.data,
                               torch.stack(logits).mean(0).sigmoid())


def test_pipeline_has_no_annotation_loader(model):
    steps = [
        type(t).__name__ for t in inference_pipeline(model.cfg).transforms
    ]
    assert steps[0] == 'LoadImageFromNDArray'
    assert 'LoadReferringAnnotations' not in steps


def test_errors(tmp_path, model, image):
    for text in ('', ' ', [], ['a car', '']):
        with pytest.raises(ValueError, match='empty|No sentence'):
            inference_referring_model(model, image, text)
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        inference_referring_model(model, image[..., 0], 'a car')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        inference_referring_model(model, str(tmp_path / 'x.png'), 'a car')
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'\x89PNG broken')
    with pytest.raises(ValueError, match='cannot be read'):
        inference_referring_model(model, str(broken), 'a car')
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match='cannot be read'):
        inference_referring_model(model, str(empty), 'a car')
    thin = np.zeros((1, 400, 3), np.uint8)
    with pytest.raises(ValueError, match=r'Image array is 400x1 px: resized '
                       r'to fit \(\d+, \d+\) with its aspect ratio, a side '
                       'becomes 0 px'):
        inference_referring_model(model, thin, 'a car')


def test_threshold(model, image):
    """A threshold per call, the config's one back afterwards."""
    default = model.decode_head.threshold
    single_region = model.single_region
    model.single_region = False  # masks are then exactly prob > threshold
    try:
        prob = inference_referring_model(model, image,
                                         TEXTS[0]).seg_logits.data
        threshold = float(prob.median())
        result = inference_referring_model(model, image, TEXTS[0], threshold)
    finally:
        model.single_region = single_region
    assert model.decode_head.threshold == default
    torch.testing.assert_close(result.seg_logits.data, prob)
    torch.testing.assert_close(result.pred_sem_seg.data,
                               (prob > threshold).to(prob))
    for bad in (0., 1., 1.5):
        with pytest.raises(ValueError, match=r'not in \(0, 1\)'):
            inference_referring_model(model, image, TEXTS[0], bad)


def test_tta_model_shares_the_weights(tmp_path, model, image):
    path = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    loaded = init_referring_model(TINY_CONFIG, path, tta=True)
    wrapper = referring_tta_model(model)
    assert wrapper.module is model and wrapper.cfg is model.cfg
    for threshold in (None, 0.45):
        expected = inference_referring_model(loaded, image, TEXTS[:2],
                                             threshold)
        for got, want in zip(
                inference_referring_model(wrapper, image, TEXTS[:2],
                                          threshold), expected):
            torch.testing.assert_close(got.seg_logits.data,
                                       want.seg_logits.data)
            torch.testing.assert_close(got.pred_sem_seg.data,
                                       want.pred_sem_seg.data)
    assert wrapper.module.decode_head.threshold == \
        model.cfg.model.decode_head.threshold


def test_paper_layout_masks_come_at_the_image_resolution():
    """The paper configs score at the 1024 model input (pred_scale
    'input', the official protocol); the inference API gives a user the
    mask at the image's own size."""
    spm = osp.join(REPO, 'tests', 'test_models', 'fixtures', 'tiny_spm.model')
    model = init_referring_model(
        osp.join(REPO, 'configs', 'rs2sam2_beit3_tiny_synthetic.py'),
        cfg_options={'model.union_encoder.spm_file': spm})
    assert model.pred_scale == 'original'
    image = np.random.RandomState(0).randint(0, 255, (70, 90, 3), np.uint8)
    result = inference_referring_model(model, image, 'the red car')
    assert result.pred_sem_seg.shape == (70, 90)
    assert result.seg_logits.shape == (70, 90)
