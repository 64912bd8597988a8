"""conv2d as a graph node: gradients (gradcheck, PyTorch), options, errors, shapes."""

import numpy as np
import pytest

from autograd_core import DTypeError, ShapeError, Tensor, gradcheck, no_grad
from autograd_core.ops.conv import Conv2d, conv2d
from tests.reference.conv import conv2d_backward_ref, conv2d_ref


def _tensors(rng, x_shape, w_shape, dtype=np.float64, bias=True, grad=(True, True, True)):
    x = Tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=grad[0])
    w = Tensor(rng.standard_normal(w_shape).astype(dtype), requires_grad=grad[1])
    b = (
        Tensor(rng.standard_normal(w_shape[0]).astype(dtype), requires_grad=grad[2])
        if bias
        else None
    )
    return x, w, b


@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs",
    [
        ((2, 3, 6, 5), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
        ((1, 4, 5, 5), (6, 2, 3, 3), dict(padding="same", groups=2)),
        ((2, 3, 5, 6), (3, 1, 3, 3), dict(padding=1, groups=3)),  # depthwise
        ((2, 3, 4, 4), (5, 3, 1, 1), {}),
        ((3, 5, 5), (2, 3, 2, 2), dict(padding="valid")),  # unbatched
    ],
)
def test_gradcheck(x_shape, w_shape, kwargs):
    rng = np.random.default_rng(0)
    x, w, b = _tensors(rng, x_shape, w_shape)
    assert gradcheck(lambda x, w, b: conv2d(x, w, b, **kwargs), [x, w, b])


def test_matches_reference_loops_and_records_one_node():
    rng = np.random.default_rng(1)
    x, w, b = _tensors(rng, (2, 4, 7, 6), (6, 2, 3, 3))
    y = conv2d(x, w, b, stride=2, padding=1, groups=2)
    np.testing.assert_allclose(
        y.numpy(), conv2d_ref(x.numpy(), w.numpy(), b.numpy(), (2, 2), 1, (1, 1), 2))
    assert y.grad_fn.op_name == "Conv2d" and y.grad_fn.fn is Conv2d
    assert y.grad_fn.options == dict(stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=2)
    go = rng.standard_normal(y.shape)
    y.backward(Tensor(go))
    gx, gw, gb = conv2d_backward_ref(go, x.numpy(), w.numpy(), (2, 2), 1, (1, 1), 2)
    np.testing.assert_allclose(x.grad.numpy(), gx)
    np.testing.assert_allclose(w.grad.numpy(), gw)
    np.testing.assert_allclose(b.grad.numpy(), gb)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    rng = np.random.default_rng(2)
    x, w, b = _tensors(rng, (2, 3, 5, 5), (2, 3, 3, 3), dtype)
    y = conv2d(x, w, b)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == dtype


def test_only_the_needed_gradients():
    rng = np.random.default_rng(3)
    x, w, b = _tensors(rng, (2, 3, 5, 5), (2, 3, 3, 3), grad=(False, True, False))
    conv2d(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None and w.grad is not None
    with no_grad():
        assert conv2d(x, w, b).grad_fn is None


def test_arrays_and_unbatched_input():
    img = np.arange(36.0).reshape(1, 6, 6)
    y = conv2d(img, np.ones((2, 1, 3, 3)), padding=1)
    assert isinstance(y, Tensor) and y.shape == (2, 6, 6)
    np.testing.assert_allclose(
        y.numpy()[0], conv2d_ref(img[None], np.ones((2, 1, 3, 3)), padding=1)[0, 0]
    )


def test_same_padding_puts_the_odd_pixel_bottom_right():
    # a 2x2 kernel of ones with 'same': total padding 1, all of it at the bottom/right
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y = conv2d(x, np.ones((1, 1, 2, 2)), padding="same").numpy()[0, 0]
    np.testing.assert_array_equal(y, [[8, 12, 7], [20, 24, 13], [13, 15, 8]])


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs",
    [
        ((3, 4, 9, 8), (6, 2, 3, 3), dict(stride=2, padding=1, groups=2)),
        ((2, 3, 8, 8), (5, 3, 2, 4), dict(padding="same", dilation=(2, 1))),
        ((2, 6, 7, 7), (12, 1, 5, 5), dict(padding=2, groups=6)),
    ],
)
def test_matches_torch(torch_or_skip, x_shape, w_shape, kwargs):
    torch = torch_or_skip
    rng = np.random.default_rng(4)
    x, w, b = _tensors(rng, x_shape, w_shape, np.float32)
    y = conv2d(x, w, b, **kwargs)
    tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    go = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(Tensor(go))
    ty.backward(torch.tensor(go))
    for mine, theirs in ((y, ty), (x.grad, tx.grad), (w.grad, tw.grad), (b.grad, tb.grad)):
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "x_shape,w_shape,kwargs,error,match",
    [
        ((2, 5), (1, 1, 1, 1), {}, ShapeError, r"3-D \(C, H, W\) or 4-D"),
        ((1, 3, 5, 5), (2, 2, 3, 3), {}, ShapeError, "input has 3 channels"),
        ((1, 4, 5, 5), (4, 2, 3, 3), dict(groups=3), ShapeError, "groups=3"),
        ((1, 1, 3, 3), (1, 1, 5, 5), {}, ShapeError, "larger than the padded input"),
        ((1, 1, 5, 5), (1, 1, 3, 3), dict(stride=0), ShapeError, "stride"),
        ((1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=-1), ShapeError, "dilation"),
        ((1, 1, 5, 5), (1, 1, 3, 3), dict(padding=-2), ShapeError, "non-negative"),
        ((1, 1, 5, 5), (1, 1, 3, 3), dict(padding="same", stride=2), ShapeError, "stride 1"),
        ((1, 1, 5, 5), (1, 1, 3, 3), dict(padding="full"), ValueError, "'same'"),
        ((1, 1, 5, 5), (1, 1, 3, 3), dict(stride=(1, 2, 3)), ValueError, "pair"),
        ((1, 1, 5, 5), (1, 1, 3, 3), dict(groups=1.0), ValueError, "groups"),
    ],
)
def test_errors_before_any_kernel(x_shape, w_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        conv2d(np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32), **kwargs)


def test_dtype_errors():
    w = np.zeros((1, 1, 2, 2), np.float32)
    with pytest.raises(DTypeError, match="int64"):
        conv2d(np.zeros((1, 1, 3, 3), np.int64), w)
    with pytest.raises(DTypeError, match="share one dtype"):
        conv2d(np.zeros((1, 1, 3, 3), np.float64), w)
    with pytest.raises(ShapeError, match="bias must have shape"):
        conv2d(np.zeros((1, 1, 3, 3), np.float32), w, np.zeros(3, np.float32))
    assert issubclass(DTypeError, TypeError) and issubclass(ShapeError, ValueError)


def test_mixed_dtypes_inside_the_node_are_promoted():
    # Teaching tools re-run a node with only the grad-requiring inputs in float64.
    ctx = type("Ctx", (), {"save_for_backward": lambda self, *a: None})()
    out = Conv2d.forward(
        ctx,
        np.ones((1, 1, 3, 3), np.float32),
        np.ones((1, 1, 2, 2)),
        None,
        stride=(1, 1),
        padding=(0, 0),
        dilation=(1, 1),
        groups=1,
    )
    assert out.dtype == np.float64


def test_backward_accepts_a_grad_of_another_dtype():
    rng = np.random.default_rng(5)
    x, w, b = _tensors(rng, (2, 3, 5, 5), (2, 3, 3, 3), np.float32)
    y = conv2d(x, w, b, padding=1)
    y.backward(Tensor(np.ones(y.shape, np.float64)))
    assert w.grad.dtype == np.float32 and x.grad.shape == x.shape
