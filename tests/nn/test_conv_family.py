"""The conv family beyond Conv2d: F.pad's index modes, Conv1d, interpolation,
PixelShuffle. Forward and gradients against PyTorch in float64 (1e-10), bad arguments."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor, gradcheck
from autograd_core.gradcheck import gradgradcheck
from tests.reference.nn_torch import assert_close, to_torch


def _both(torch, ours_fn, theirs_fn, arrays, rng, atol=1e-10):
    """Run ours and PyTorch's on the same float64 arrays; compare outputs and the
    gradients of sum(out * r) for a random r."""
    ours_in = [Tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [to_torch(torch, a, requires_grad=True) for a in arrays]
    out = ours_fn(*ours_in)
    ref = theirs_fn(*theirs_in)
    assert tuple(out.shape) == tuple(ref.shape)
    assert_close(out.numpy(), ref.detach().numpy(), atol=atol, what="forward")
    r = rng.standard_normal(tuple(ref.shape))
    (out * Tensor(r)).sum().backward()
    (ref * to_torch(torch, r)).sum().backward()
    for a, b in zip(ours_in, theirs_in):
        assert_close(a.grad.numpy(), b.grad.numpy(), atol=atol, what="grad")
    return out


# ----------------------------------------------------------------- F.pad
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize("shape,pad", [
    ((2, 3, 5), (2, 1)), ((3, 5), (0, 4)), ((2, 3, 4, 5), (1, 2, 3, 0)),
    ((3, 4, 5), (2, 2, 1, 3)), ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2)),
])
def test_pad_modes_match_torch(torch_or_skip, mode, shape, pad):
    torch = torch_or_skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    _both(torch, lambda t: F.pad(t, pad, mode=mode),
          lambda t: torch.nn.functional.pad(t, pad, mode=mode), [x], rng)


def test_pad_modes_gradcheck():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    for mode in ("reflect", "replicate", "circular"):
        assert gradcheck(lambda t, m=mode: F.pad(t, (3, 2, 2, 1), mode=m), (x,))


def test_pad_mode_errors():
    x = Tensor(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="smaller than the size 4"):
        F.pad(x, (4, 0, 0, 0), mode="reflect")
    with pytest.raises(ValueError, match="at most the size 3"):
        F.pad(x, (0, 0, 4, 0), mode="circular")
    with pytest.raises(NotImplementedError, match="expects a 2-D or 3-D input"):
        F.pad(x, (1, 1), mode="replicate")
    with pytest.raises(ValueError, match="non-negative"):
        F.pad(x, (-1, 1, 0, 0), mode="replicate")
    with pytest.raises(ValueError, match="2, 4 or 6"):
        F.pad(x, (1, 1, 1), mode="reflect")
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(x, (1, 1), mode="mirror")


# ----------------------------------------------------------------- Conv1d
@pytest.mark.parametrize("shape,weight,kwargs", [
    ((2, 3, 9), (4, 3, 3), {}),
    ((2, 4, 11), (6, 2, 3), {"stride": 2, "padding": 1, "groups": 2}),
    ((1, 3, 10), (3, 1, 4), {"padding": "same", "dilation": 2, "groups": 3}),
    ((3, 8), (5, 3, 2), {"padding": "valid", "dilation": (3,)}),
    ((2, 2, 7), (2, 2, 4), {"padding": "same"}),
    ((2, 2, 13), (4, 2, 3), {"stride": (3,), "padding": (2,), "dilation": 2}),
])
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv1d_matches_torch(torch_or_skip, shape, weight, kwargs, with_bias):
    torch = torch_or_skip
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(shape), rng.standard_normal(weight)]
    if with_bias:
        arrays.append(rng.standard_normal(weight[0]))
    _both(torch, lambda *a: F.conv1d(*a, **kwargs),
          lambda *a: torch.nn.functional.conv1d(*a, **kwargs), arrays, rng)


@pytest.mark.parametrize("args,kwargs", [
    ((3, 8, 3), {}), ((4, 8, 5), {"groups": 2, "bias": False}),
    ((6, 6, 3), {"groups": 6, "stride": 2, "padding": 1, "dilation": 2}),
    ((2, 4, 4), {"padding": "same"}),
])
def test_conv1d_module_loads_torch_weights(torch_or_skip, args, kwargs):
    torch = torch_or_skip
    theirs = torch.nn.Conv1d(*args, **kwargs).double()
    ours = nn.Conv1d(*args, **kwargs, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, args[0], 12))
    _both(torch, ours, theirs, [x], rng)
    grads = {name: p.grad.numpy() for name, p in ours.named_parameters()}
    for name, p in theirs.named_parameters():
        assert_close(grads[name], p.grad.numpy(), atol=1e-10, what=name)


def test_conv1d_gradcheck():
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((2, 2, 7)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 1, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2),
                     (x, w, b))


def test_conv1d_errors():
    with pytest.raises(ValueError, match="in_channels=3 must be divisible by groups=2"):
        nn.Conv1d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="not supported for strided"):
        nn.Conv1d(1, 1, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="kernel_size must be an int or a 1-tuple"):
        nn.Conv1d(1, 1, (3, 3))
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        nn.Conv1d(1, 1, 0)
    with pytest.raises(NotImplementedError, match="padding_mode"):
        nn.Conv1d(1, 1, 3, padding_mode="reflect")
    conv = nn.Conv1d(3, 4, 3)
    with pytest.raises(ValueError, match=r"in_channels=3 .* got input of shape \(2, 5, 8\)"):
        conv(np.zeros((2, 5, 8)))
    with pytest.raises(ValueError, match="expected 2D"):
        conv(np.zeros((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="3-D weight"):
        F.conv1d(np.zeros((1, 1, 5)), np.zeros((1, 1, 1, 3)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv1d(np.zeros((1, 1, 2)), np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="padding must be"):
        F.conv1d(np.zeros((1, 1, 5)), np.zeros((1, 1, 3)), padding="full")


# ----------------------------------------------------------------- interpolate, Upsample
@pytest.mark.parametrize("shape,kwargs", [
    ((2, 3, 4, 5), {"scale_factor": 2}),
    ((1, 2, 5, 7), {"scale_factor": (1.7, 0.6)}),
    ((2, 1, 6, 4), {"size": (9, 3)}),
    ((1, 2, 3, 3), {"size": 7}),
    ((2, 3, 7), {"scale_factor": 2.5}),
    ((2, 3, 7), {"size": 4}),
    ((1, 2, 3, 4, 2), {"scale_factor": (2, 1.5, 3)}),
])
def test_interpolate_nearest_matches_torch(torch_or_skip, shape, kwargs):
    torch = torch_or_skip
    rng = np.random.default_rng(5)
    _both(torch, lambda t: F.interpolate(t, mode="nearest", **kwargs),
          lambda t: torch.nn.functional.interpolate(t, mode="nearest", **kwargs),
          [rng.standard_normal(shape)], rng)


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("shape,mode,kwargs", [
    ((2, 3, 4, 5), "bilinear", {"scale_factor": 2}),
    ((1, 2, 5, 7), "bilinear", {"scale_factor": (1.7, 0.6)}),
    ((2, 1, 6, 4), "bilinear", {"size": (9, 3)}),
    ((1, 2, 3, 3), "bilinear", {"size": (1, 5)}),
    ((1, 1, 4, 4), "bilinear", {"scale_factor": 0.5}),
    ((2, 3, 7), "linear", {"scale_factor": 2.5}),
    ((2, 3, 7), "linear", {"size": 4}),
    ((2, 3, 4, 5), "bicubic", {"scale_factor": 2}),
    ((1, 2, 5, 7), "bicubic", {"scale_factor": (1.7, 0.6)}),
    ((2, 1, 6, 4), "bicubic", {"size": (9, 3)}),
    ((1, 2, 3, 3), "bicubic", {"size": (1, 5)}),
    ((1, 2, 3, 4, 5), "trilinear", {"scale_factor": (2, 1.5, 0.7)}),
    ((2, 1, 2, 3, 4), "trilinear", {"size": (3, 1, 6)}),
])
def test_interpolate_linear_matches_torch(torch_or_skip, shape, mode, kwargs, align_corners):
    torch = torch_or_skip
    rng = np.random.default_rng(6)
    _both(torch, lambda t: F.interpolate(t, mode=mode, align_corners=align_corners, **kwargs),
          lambda t: torch.nn.functional.interpolate(t, mode=mode, align_corners=align_corners,
                                                    **kwargs),
          [rng.standard_normal(shape)], rng)


def test_upsample_module_and_gradcheck(torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(7)
    for kwargs in [{"scale_factor": 2}, {"size": (5, 3), "mode": "bilinear"},
                   {"scale_factor": (1.5, 2), "mode": "bilinear", "align_corners": True},
                   {"scale_factor": 3, "mode": "bilinear", "recompute_scale_factor": True}]:
        ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == []
        _both(torch, ours, theirs, [rng.standard_normal((2, 2, 3, 4))], rng)
    x = Tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, size=(5, 7), mode="bilinear"), (x,))
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=1.5), (x,))
    assert gradgradcheck(lambda t: F.interpolate(t * t, size=(5, 7), mode="bicubic"), (x,))
    y = Tensor(rng.standard_normal((1, 1, 2, 3, 2)), requires_grad=True)
    assert gradgradcheck(lambda t: F.interpolate(t * t, scale_factor=1.5, mode="trilinear",
                                                 align_corners=True), (y,))
    for mode, shape in (("bicubic", (1, 2, 3, 4)), ("trilinear", (1, 2, 3, 4, 2))):
        kwargs = {"scale_factor": 2, "mode": mode, "align_corners": True}
        ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
        assert repr(ours) == repr(theirs)
        _both(torch, ours, theirs, [rng.standard_normal(shape)], rng)


def test_interpolate_errors():
    x = Tensor(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="expects a 4-D input"):
        F.interpolate(Tensor(np.zeros((1, 2, 3))), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="must have 2 entries"):
        F.interpolate(x, size=(1, 2, 3))
    with pytest.raises(ValueError, match="scale_factor must be positive"):
        F.interpolate(x, scale_factor=-1.0)
    with pytest.raises(ValueError, match="empty output"):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(NotImplementedError, match="'lanczos' is not implemented"):
        F.interpolate(x, scale_factor=2, mode="lanczos")  # 'area' exists now
    with pytest.raises(ValueError, match="expects a 5-D input"):
        F.interpolate(x, scale_factor=2, mode="trilinear")
    with pytest.raises(TypeError, match="floating-point"):
        F.interpolate(np.zeros((1, 1, 2, 2), dtype=np.int64), scale_factor=2)


# ----------------------------------------------------------------- PixelShuffle
@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((9, 2, 2), 3), ((2, 1, 4, 3, 5), 1),
                                     ((1, 2, 18, 2, 3), 3)])
def test_pixel_shuffle_matches_torch(torch_or_skip, shape, r):
    torch = torch_or_skip
    rng = np.random.default_rng(8)
    ours, theirs = nn.PixelShuffle(r), torch.nn.PixelShuffle(r)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal(shape)
    y = _both(torch, ours, theirs, [x], rng)
    back = nn.PixelUnshuffle(r)
    assert repr(back) == repr(torch.nn.PixelUnshuffle(r))
    _both(torch, back, torch.nn.PixelUnshuffle(r), [y.numpy()], rng)
    assert_close(back(y).numpy(), x, atol=0, what="unshuffle(shuffle(x)) == x")


def test_pixel_shuffle_errors():
    with pytest.raises(ValueError, match="divisible by upscale_factor"):
        F.pixel_shuffle(Tensor(np.zeros((1, 6, 2, 2))), 2)
    with pytest.raises(ValueError, match="divisible by downscale_factor"):
        F.pixel_unshuffle(Tensor(np.zeros((1, 1, 3, 4))), 2)
    with pytest.raises(ValueError, match="at least 3 dims"):
        F.pixel_shuffle(Tensor(np.zeros((4, 2))), 2)
    with pytest.raises(ValueError, match="positive integer"):
        nn.PixelShuffle(0)(Tensor(np.zeros((1, 4, 2, 2))))


# ----------------------------------------------------------------- ConvTranspose2d
@pytest.mark.parametrize("shape,weight,kwargs", [
    ((2, 3, 4, 5), (3, 2, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 5, 6), (4, 3, 3, 2), {"stride": (2, 3), "padding": (1, 0), "groups": 2,
                                  "dilation": 2, "output_padding": (0, 2)}),
    ((4, 5, 6), (4, 1, 2, 2), {"stride": 2, "groups": 4}),
    ((1, 2, 3, 3), (2, 5, 4, 1), {"padding": (2, 0), "dilation": (1, 3)}),
    ((0, 2, 3, 3), (2, 2, 2, 2), {"stride": 2}),
])
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv_transpose2d_matches_torch(torch_or_skip, shape, weight, kwargs, with_bias):
    torch = torch_or_skip
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal(shape), rng.standard_normal(weight)]
    if with_bias:
        arrays.append(rng.standard_normal(weight[1] * kwargs.get("groups", 1)))
    _both(torch, lambda *a: F.conv_transpose2d(*a, **kwargs),
          lambda *a: torch.nn.functional.conv_transpose2d(*a, **kwargs), arrays, rng)


@pytest.mark.parametrize("args,kwargs", [
    ((3, 8, 3), {}), ((4, 8, (3, 5)), {"groups": 2, "bias": False, "stride": 2}),
    ((6, 6, 3), {"groups": 3, "stride": 2, "padding": 1, "output_padding": 1,
                 "dilation": 2}),
])
def test_conv_transpose2d_module_loads_torch_weights(torch_or_skip, args, kwargs):
    torch = torch_or_skip
    theirs = torch.nn.ConvTranspose2d(*args, **kwargs).double()
    ours = nn.ConvTranspose2d(*args, **kwargs, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for key, value in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tuple(value.shape)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, args[0], 5, 4))
    _both(torch, ours, theirs, [x], rng)
    grads = {name: p.grad.numpy() for name, p in ours.named_parameters()}
    for name, p in theirs.named_parameters():
        assert_close(grads[name], p.grad.numpy(), atol=1e-10, what=name)


def test_conv_transpose2d_output_size_and_inverse_shape(torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(11)
    down = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=np.float64)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    up.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((1, 2, 8, 7))
    h = down(Tensor(x.astype(np.float32))).numpy().astype(np.float64)
    _both(torch, lambda t: up(t, output_size=(8, 7)),
          lambda t: theirs(t, output_size=(8, 7)), [h], rng)
    assert up(Tensor(h), output_size=(1, 2, 8, 7)).shape == (1, 2, 8, 7)
    with pytest.raises(ValueError, match="requested an output size of"):
        up(Tensor(h), output_size=(10, 7))


def test_conv_transpose2d_gradcheck():
    rng = np.random.default_rng(12)
    x = Tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((2, 2, 2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=1,
                                                        output_padding=(1, 0)), (x, w, b))
    assert F.conv_transpose2d(x, w, b).grad_fn.name() == "ConvTranspose2dBackward0"


def test_conv_transpose2d_errors():
    x = Tensor(np.zeros((1, 4, 3, 3)))
    w = Tensor(np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="output padding must be smaller than either stride"):
        F.conv_transpose2d(x, w, output_padding=1)
    with pytest.raises(NotImplementedError, match="output_padding"):
        F.conv_transpose2d(x, w, output_padding=1, dilation=2)
    with pytest.raises(ValueError, match=r"has 4 channels but weight \(3, 2, 3, 3\)"):
        F.conv_transpose2d(x, Tensor(np.zeros((3, 2, 3, 3))))
    with pytest.raises(ValueError, match="in_channels=4 is not divisible by groups=3"):
        F.conv_transpose2d(x, w, groups=3)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        F.conv_transpose2d(x, w, Tensor(np.zeros(2)), groups=2)
    with pytest.raises(ValueError, match="non-positive output size"):
        F.conv_transpose2d(x, w, padding=3)
    with pytest.raises(ValueError, match="3-D .* or 4-D"):
        F.conv_transpose2d(Tensor(np.zeros((4, 3))), w)
    with pytest.raises(ValueError, match="4-D weight"):
        F.conv_transpose2d(x, Tensor(np.zeros((4, 2, 3))))
    with pytest.raises(TypeError, match="one dtype"):
        F.conv_transpose2d(x, Tensor(np.zeros((4, 2, 3, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match="stride must be positive"):
        F.conv_transpose2d(x, w, stride=0)
    with pytest.raises(ValueError, match="out_channels=5 must be divisible by groups=2"):
        nn.ConvTranspose2d(4, 5, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.ConvTranspose2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"in_channels=4 .* with 3 channels"):
        nn.ConvTranspose2d(4, 2, 3)(Tensor(np.zeros((1, 3, 5, 5))))
