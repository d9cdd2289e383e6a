import pytest
import torch

from rs2sam2_mmseg.models.utils.grad_scale import scale_grad


@pytest.mark.parametrize('scale', [0.25, 1.])
def test_forward_is_the_identity_and_the_gradient_is_scaled(scale):
    x = torch.randn(3, requires_grad=True)
    y = scale_grad(x, scale)
    assert torch.equal(y, x)
    (y * torch.tensor([1., 2., 3.])).sum().backward()
    assert torch.equal(x.grad, scale * torch.tensor([1., 2., 3.]))


def test_scale_zero_detaches():
    x = torch.randn(3, requires_grad=True)
    y = scale_grad(x, 0.)
    assert torch.equal(y, x) and not y.requires_grad


def test_scale_zero_blocks_an_infinite_gradient_without_nan():
    x = torch.ones(2, requires_grad=True)
    other = torch.ones(2, requires_grad=True)
    y = scale_grad(x, 0.) * 1e30 * 1e30 + other  # inf gradient on y's path
    y.sum().backward()
    assert x.grad is None
    assert torch.equal(other.grad, torch.ones(2))


def test_tensor_without_gradient_is_returned_as_is():
    x = torch.randn(2)
    assert scale_grad(x, 0.5) is x
