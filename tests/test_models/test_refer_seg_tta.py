"""ReferSegTTAModel: flipped views with flipped sentences, merged."""
import copy
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rs2sam2_mmseg.datasets.transforms.flip import flip_text
from rs2sam2_mmseg.models import ReferSegTTAModel
from ..test_datasets.fixtures import uncompressed_rle
from .utils import REPO, build_tiny, demo_batch

TINY_SYNTHETIC = osp.join(REPO, 'configs', 'rs2sam2_tiny_synthetic.py')

TEXTS = ['the red car on the left', 'the tank above the ship']


def _predict(model, batch):
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        return model(**data, mode='predict')


def _hflip_view(batch):
    """The batch as a horizontal ReferringRandomFlip leaves it."""
    view = copy.deepcopy(batch)
    view['inputs'] = [img.flip(-1) for img in view['inputs']]
    for sample in view['data_samples']:
        sample.set_metainfo(
            dict(
                text=flip_text(sample.text, 'horizontal'),
                flip=True,
                flip_direction='horizontal'))
    return view


def test_views_are_unflipped_and_their_logits_averaged():
    torch.manual_seed(0)
    tta = ReferSegTTAModel(build_tiny()).eval()
    batch = demo_batch(2, texts=TEXTS)
    for sample in batch['data_samples']:
        sample.set_metainfo(dict(flip=False, flip_direction=None))
    hflip = _hflip_view(batch)
    assert hflip['data_samples'][0].text == 'the red car on the right'
    with torch.no_grad():
        merged = tta.test_step(
            dict(
                inputs=[batch['inputs'], hflip['inputs']],
                data_samples=[batch['data_samples'], hflip['data_samples']]))

    # the same views predicted one by one; the flipped one flipped back
    plain = _predict(tta.module, batch)
    mirrored = copy.deepcopy(hflip)
    for sample in mirrored['data_samples']:
        sample.set_metainfo(dict(flip=False))
    mirrored = _predict(tta.module, mirrored)
    threshold = tta.module.decode_head.threshold
    for i, result in enumerate(merged):
        logits = torch.stack([
            torch.logit(plain[i].seg_logits.data, eps=1e-6),
            torch.logit(mirrored[i].seg_logits.data.flip(-1), eps=1e-6)
        ])
        expected = logits.mean(0).sigmoid()
        torch.testing.assert_close(result.seg_logits.data, expected)
        torch.testing.assert_close(result.pred_sem_seg.data,
                                   (expected > threshold).to(expected))
        # the merged sample is the unflipped view: sentence as written
        assert result.text == TEXTS[i] and not result.flip


def test_one_view_reproduces_the_plain_prediction():
    torch.manual_seed(0)
    model = build_tiny(test_cfg=dict(mode='whole', single_region=True))
    tta = ReferSegTTAModel(model).eval()
    batch = demo_batch(2, texts=TEXTS)
    with torch.no_grad():
        merged = tta.test_step(
            dict(
                inputs=[batch['inputs']],
                data_samples=[copy.deepcopy(batch['data_samples'])]))
    for result, plain in zip(merged, _predict(model, batch)):
        torch.testing.assert_close(result.seg_logits.data,
                                   plain.seg_logits.data)
        assert torch.equal(result.pred_sem_seg.data, plain.pred_sem_seg.data)


def _view(prob, flip=False):
    sample = SegDataSample(metainfo=dict(img_path='a.jpg', flip=flip))
    sample.seg_logits = PixelData(data=prob)
    return sample


def test_single_region_applies_to_the_merged_mask():
    model = build_tiny(test_cfg=dict(mode='whole', single_region=True))
    tta = ReferSegTTAModel(model)
    prob = torch.full((1, 16, 16), 0.01)
    prob[:, 1:4, 1:4] = 0.95  # strongest region
    prob[:, 10:13, 10:13] = 0.7
    merged = tta.merge_preds([[_view(prob), _view(prob.clone())]])
    pred = merged[0].pred_sem_seg.data[0]
    assert pred[1:4, 1:4].all() and not pred[10:13, 10:13].any()


def test_every_view_flipped_is_a_clear_error():
    tta = ReferSegTTAModel(build_tiny())
    prob = torch.full((1, 8, 8), 0.5)
    with pytest.raises(ValueError, match=r"a\.jpg.*prob=0\."):
        tta.merge_preds([[_view(prob, flip=True)]])


def test_segmentor_checkpoint_loads_into_the_wrapper():
    torch.manual_seed(0)
    source = build_tiny()
    torch.manual_seed(1)
    tta = ReferSegTTAModel(build_tiny())
    tta.load_state_dict(source.state_dict())
    for name, value in source.state_dict().items():
        assert torch.equal(tta.module.state_dict()[name], value), name


def test_tta_pipeline_undoes_each_flip_on_an_asymmetric_mask(tmp_path):
    """The config's TTA pipeline (+ a diagonal flip) on an L-shaped object.

    The stub model predicts the image's red channel as it sees it, so a
    view's prediction is flipped with the view; each must be flipped back
    onto the object. The 72 x 96 image is padded to 96 x 96 at the bottom:
    undoing a vertical flip before cropping the padding shifts the mask.
    """
    mask = np.zeros((72, 96), np.uint8)
    mask[8:40, 10:18] = 1  # the stem, top left
    mask[32:40, 10:50] = 1  # the foot, to the right
    bgr = np.zeros((72, 96, 3), np.uint8)
    bgr[..., 2] = 255 * mask
    path = str(tmp_path / 'l_shape.png')
    cv2.imwrite(path, bgr)
    model = build_tiny().eval()  # also sets the mmseg registry scope
    model._forward = lambda inputs, data_samples: inputs[:, :1]
    cfg = Config.fromfile(TINY_SYNTHETIC)
    flips = cfg.tta_pipeline[1].transforms[1]
    assert [(f.prob, f.direction) for f in flips] == [
        (0., 'horizontal'), (1., 'horizontal'), (1., 'vertical')]
    flips.append(
        dict(type='ReferringRandomFlip', prob=1., direction='diagonal'))
    views = Compose(cfg.tta_pipeline)(
        dict(img_path=path, text='the object on the left', sent_id=0,
             segmentation=uncompressed_rle(mask), height=72, width=96))
    assert [s.flip_direction for s in views['data_samples']
            ] == [None, 'horizontal', 'vertical', 'diagonal']

    expected = torch.from_numpy(mask)[None].float()
    with torch.no_grad():
        for inputs, sample in zip(views['inputs'], views['data_samples']):
            view = model.test_step(
                dict(inputs=[inputs], data_samples=[copy.deepcopy(sample)]))
            assert torch.equal(view[0].pred_sem_seg.data.float(), expected), \
                sample.flip_direction
        merged = ReferSegTTAModel(model).test_step(pseudo_collate([views]))
    assert torch.equal(merged[0].pred_sem_seg.data.float(), expected)
    assert merged[0].text == 'the object on the left'
