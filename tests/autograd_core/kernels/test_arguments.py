"""The one int-or-pair parser (``kernels.pair``) and what reaches the kernels through it.

Every layer that takes a stride, padding, dilation or size parses it with ``pair``, so
a bad value gets the same clear error everywhere, naming the argument, and never
reaches Numba (``TypingError``, ``OverflowError: int too big to convert``) or NumPy
("Maximum allowed dimension exceeded").
"""

import numpy as np
import pytest

import autograd_core.kernels as K
import nn
import nn.functional as F
from autograd_core.errors import ShapeError
from autograd_core.kernels import pair, pool
from nn.transforms import RandomCrop

HUGE = [2**31, 2**62, 2**64, 2**100]


def test_pair_accepts_ints_pairs_and_one_tuples():
    assert pair(3, "stride") == (3, 3)
    assert pair(np.int64(2), "stride") == (2, 2)
    assert pair((2,), "stride") == (2, 2)
    assert pair([1, np.int32(2)], "padding", minimum=0) == (1, 2)
    assert pair((None, 4), "output_size", allow_none=True) == (None, 4)
    assert pair(K.MAX_ARGUMENT, "padding") == (K.MAX_ARGUMENT,) * 2
    assert all(type(v) is int for v in pair(np.int64(5), "stride"))


@pytest.mark.parametrize(
    "value",
    [True, np.bool_(True), (1, False), 1.5, (1, 2.0), "2", b"ab", (1, 2, 3), (), None,
     (None, 1), {1: 2}],
)
def test_pair_refuses_what_is_not_an_int_or_a_pair_of_ints(value):
    with pytest.raises(ValueError, match="stride must be an int or a pair of ints"):
        pair(value, "stride")


@pytest.mark.parametrize("value", HUGE + [(1, 2**64), -(2**64)])
def test_pair_refuses_huge_values_by_name(value):
    with pytest.raises(ValueError, match="padding must be"):
        pair(value, "padding")


def test_pair_minimum_is_named_in_the_error():
    with pytest.raises(ValueError, match="stride must be positive, got 0"):
        pair(0, "stride", minimum=1)
    with pytest.raises(ValueError, match=r"padding must be non-negative, got \(1, -1\)"):
        pair((1, -1), "padding", minimum=0)
    with pytest.raises(ValueError, match="size must be at least 2"):
        pair(1, "size", minimum=2)


def test_one_parser_for_the_whole_project():
    """No second int-or-pair parser: the layers' errors are pair's, with a prefix."""
    with pytest.raises(ValueError, match="Conv2d: stride must be an int or a pair of ints"):
        nn.Conv2d(1, 1, 3, stride=True)
    with pytest.raises(ValueError, match="MaxPool2d: kernel_size must be an int or a pair"):
        nn.MaxPool2d(2.5)
    with pytest.raises(ValueError, match="AvgPool2d: padding must be non-negative"):
        nn.AvgPool2d(2, padding=-1)
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size must be positive"):
        nn.AdaptiveAvgPool2d((0, 2))
    with pytest.raises(ValueError, match="RandomCrop: size must be an int or a pair"):
        RandomCrop((4, 4, 4))
    with pytest.raises(ValueError, match="RandomCrop: padding must be non-negative"):
        RandomCrop(4, padding=-1)
    from benchmarks import baselines

    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        baselines.numpy_im2col(np.zeros((1, 1, 4, 4)), True)


# ------------------------------------------------ huge values (issue 15, item 13)

X = np.zeros((1, 1, 6, 6), np.float32)
W = np.zeros((1, 1, 3, 3), np.float32)


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize("name", ["stride", "padding", "dilation"])
def test_huge_conv_arguments_are_refused_by_name(name, huge):
    with pytest.raises(ValueError, match=name):
        K.conv2d_forward(X, W, **{name: huge})
    with pytest.raises(ValueError, match=name):
        K.conv2d_backward(np.zeros((1, 1, 4, 4), np.float32), X, W, **{name: huge})
    with pytest.raises(ShapeError, match=f"conv2d: {name}"):
        F.conv2d(X, W, **{name: huge})
    with pytest.raises(ValueError, match=f"Conv2d: {name}"):
        nn.Conv2d(1, 1, 3, **{name: huge})
    with pytest.raises(ValueError, match=name):
        K.im2col(X, 3, **{name: huge})


@pytest.mark.parametrize("huge", HUGE)
def test_huge_kernel_sizes_and_groups_are_refused_by_name(huge):
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(1, 1, huge)
    with pytest.raises(ValueError, match="kernel_size"):
        K.im2col(X, huge)
    with pytest.raises(ValueError, match="groups"):
        K.conv2d_forward(X, W, groups=huge)
    with pytest.raises(ValueError, match="groups"):
        F.conv2d(X, W, groups=huge)


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize("name", ["kernel_size", "stride", "padding"])
def test_huge_pooling_arguments_are_refused_by_name(name, huge):
    args = {"kernel_size": 2, name: huge}
    for call in (pool.max_pool2d_forward, pool.avg_pool2d_forward):
        with pytest.raises(ValueError, match=name):
            call(X, **args)
    with pytest.raises(ValueError, match=name):
        pool.avg_pool2d_backward(np.zeros((1, 1, 3, 3), np.float32), X.shape, **args)
    for call in (F.max_pool2d, F.avg_pool2d):
        with pytest.raises(ShapeError, match=name):
            call(X, **args)
    for layer in (nn.MaxPool2d, nn.AvgPool2d):
        with pytest.raises(ValueError, match=name):
            layer(**args)


@pytest.mark.parametrize("huge", HUGE)
def test_huge_sizes_and_shapes_are_refused_by_name(huge):
    with pytest.raises(ValueError, match="output_size"):
        pool.adaptive_avg_pool2d_forward(X, huge)
    with pytest.raises(ShapeError, match="output_size"):
        F.adaptive_avg_pool2d(X, (2, huge))
    go = np.zeros((1, 1, 3, 3), np.float32)
    with pytest.raises(ShapeError, match="x_shape"):
        pool.max_pool2d_backward(go, np.zeros(go.shape, np.int32), (1, 1, huge, 6))
    with pytest.raises(ShapeError, match="x_shape"):
        pool.adaptive_avg_pool2d_backward(go, (1, 1, 6, huge))
    with pytest.raises(ShapeError, match="x_shape"):
        pool.avg_pool2d_backward(go, (1, 1, huge, 6), 2)
    with pytest.raises(ShapeError, match="conv2d input"):
        K.col2im(np.zeros((9, 16), np.float32), (1, 1, huge, 6), 3)
    with pytest.raises(ValueError, match="RandomCrop: size"):
        RandomCrop(huge)


def test_an_output_too_large_to_index_is_refused_before_allocation():
    with pytest.raises(ShapeError, match=r"conv2d output shape .* is too large"):
        K.conv2d_forward(X, W, padding=K.MAX_ARGUMENT)
    with pytest.raises(ShapeError, match="too large"):
        F.conv2d(X, W, padding=(K.MAX_ARGUMENT, K.MAX_ARGUMENT - 1))
