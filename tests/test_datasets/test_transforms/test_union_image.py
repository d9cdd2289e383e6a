"""UnionImageResize: the union encoder's image, from the original."""
import numpy as np
import pytest
from PIL import Image

from mmseg.registry import TRANSFORMS
from rs2sam2_mmseg.datasets import UnionImageResize


def test_equals_pil_bilinear_of_the_original_image():
    # the official pipeline: torchvision Resize((224, 224)) on a PIL image
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (80, 60, 3), dtype=np.uint8)
    transform = TRANSFORMS.build(dict(type='UnionImageResize', size=24))
    results = transform(dict(img=img.copy()))
    expected = np.asarray(
        Image.fromarray(img).resize((24, 24), Image.BILINEAR))
    np.testing.assert_array_equal(results['union_img'], expected)
    np.testing.assert_array_equal(results['img'], img)  # img untouched
    # PIL low-pass filters when shrinking; cv2's bilinear does not
    cv2_img = UnionImageResize(size=24, backend='cv2')(dict(img=img))
    assert not np.array_equal(cv2_img['union_img'], expected)


def test_repr_and_bad_arguments():
    assert repr(UnionImageResize()) == (
        "UnionImageResize(size=224, interpolation='bilinear', "
        "backend='pillow')")
    with pytest.raises(ValueError, match='size'):
        UnionImageResize(size=0)
    with pytest.raises(ValueError, match='backend'):
        UnionImageResize(backend='torch')
