"""ReferSegDataPreProcessor against known pixels."""
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from rs2sam2_mmseg.models import ReferSegDataPreProcessor

# SAM2's normalisation, written out: ImageNet's mean (0.485, 0.456, 0.406)
# and std (0.229, 0.224, 0.225) on the 0-255 scale, RGB order
MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


def _batch():
    """Two BGR uint8 images (2 x 3 and 3 x 4) whose every value is known.

    Image k, pixel (i, j): B = 10 (3 i + j) + k, G = B + 60, R = B + 120;
    label (3 i + j) mod 2.
    """
    inputs, samples = [], []
    for k, (h, w) in enumerate([(2, 3), (3, 4)]):
        b = 10 * (3 * torch.arange(h)[:, None] + torch.arange(w)) + k
        inputs.append(torch.stack([b, b + 60, b + 120]).to(torch.uint8))
        sample = SegDataSample(metainfo=dict(text=f'sentence {k}'))
        sample.gt_sem_seg = PixelData(data=(b[None] // 10) % 2)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_rgb_order_normalisation_and_padding_by_hand():
    preprocessor = ReferSegDataPreProcessor(size=(4, 4))
    for training in (True, False):
        batch = _batch()
        out = preprocessor(batch, training)
        assert out['inputs'].shape == (2, 3, 4, 4)
        for k, (h, w) in enumerate([(2, 3), (3, 4)]):
            bgr = batch['inputs'][k].float()
            img = out['inputs'][k]
            # channel 0 is R (B + 120), channel 2 is B
            for c, raw in enumerate((bgr[2], bgr[1], bgr[0])):
                torch.testing.assert_close(img[c, :h, :w],
                                           (raw - MEAN[c]) / STD[c])
            torch.testing.assert_close(img[0, 0, 0],
                                       torch.tensor((120 + k - MEAN[0]) /
                                                    STD[0]))
            # padded bottom / right with 0 after normalisation
            assert (img[:, h:] == 0).all() and (img[:, :, w:] == 0).all()
            sample = out['data_samples'][k]
            assert sample.text == f'sentence {k}'
            if training:
                # labels padded with the ignore index 255, not background
                label = sample.gt_sem_seg.data[0]
                assert label.shape == (4, 4)
                assert (label[h:] == 255).all() and (label[:, w:] == 255).all()
                checker = (3 * torch.arange(h)[:, None] + torch.arange(w)) % 2
                assert torch.equal(label[:h, :w], checker)
            else:
                # (left, right, top, bottom): predictions are cropped back
                assert tuple(sample.img_padding_size) == (0, 4 - w, 0, 4 - h)
