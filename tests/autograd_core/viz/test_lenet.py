"""The viz tools on a real CNN (nn.models.LeNet5): readable collapsed drawing, exact
flat code through the conv/pool ops called by name, numerical checks, rendering."""

import re
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("autograd_core.ops.conv", reason="the conv op has not landed yet")
pytest.importorskip("autograd_core.ops.pool", reason="the pooling ops have not landed yet")

import nn.functional as F  # noqa: E402
from autograd_core import Tensor, manual_seed  # noqa: E402
from autograd_core.viz import check_graph, draw_graph  # noqa: E402
from nn.models import LeNet5  # noqa: E402

from .helpers import assert_flat_code_matches_engine  # noqa: E402


@pytest.fixture
def lenet_loss(rng):
    manual_seed(0)
    model = LeNet5(in_channels=1, num_classes=10, input_size=8).double()
    images = Tensor(rng.normal(size=(3, 1, 8, 8)), name="images")
    loss = F.cross_entropy(model(images), np.array([1, 7, 3]))
    loss.name = "loss"
    return model, loss


def _boxes(source) -> dict:
    """{module: the op sequence in its box} of a collapsed drawing."""
    return dict(re.findall(r"<TR><TD><B>([\w.]+)</B></TD></TR><TR><TD>([^<]*)</TD>", source))


def test_a_collapsed_lenet_has_one_node_per_layer(lenet_loss):
    model, loss = lenet_loss
    full = draw_graph(loss, params=model, show_grad=True, collapse=False).source
    merged = draw_graph(loss, params=model, collapse=True, show_grad=True).source
    boxes = _boxes(merged)
    for module in ("features.0", "features.3", "classifier.1", "classifier.3", "classifier.5"):
        assert boxes[module] in ("Conv2d", "Linear"), boxes
    assert "features.0.weight (6, 1, 5, 5)" in merged
    assert merged.count("->") < full.count("->")
    by_stage = draw_graph(loss, params=model, collapse=True, collapse_depth=1).source
    # Exact boxes: features holds its last ReLU and MaxPool too, classifier its Flatten;
    # only the loss is drawn outside (x -> features -> classifier -> CrossEntropy -> L).
    assert _boxes(by_stage) == {
        "features": "Conv2d → Relu → MaxPool2d → Conv2d → Relu → MaxPool2d",
        "classifier": "Reshape → Linear → Relu → Linear → Relu → Linear"}
    assert by_stage.count("shape=ellipse") == 1  # CrossEntropy
    # A LeNet is collapsed by stage by default (it has more than 12 ops).
    assert _boxes(draw_graph(loss, params=model).source) == _boxes(by_stage)
    if shutil.which("dot"):
        result = subprocess.run(["dot", "-Tsvg"], input=merged.encode(), capture_output=True)
        assert result.returncode == 0


def test_flat_code_of_lenet_reproduces_the_engine(lenet_loss):
    model, loss = lenet_loss
    # The written-out conv sums in another order than the Numba kernels: float64
    # rounding (relative 1e-12 of the largest value), everything else is exact.
    source = assert_flat_code_matches_engine(loss, rtol=1e-12, params=model)
    assert "op_backward" not in source and "op_forward" not in source
    for line in ("def im2col(", "def col2im(", "def pool_windows(", "def unpool_windows(",
                 "features_0_weight.reshape(6, -1) @ ", ".reshape(16, -1).T @ s3_G",
                 "@ s3_cols.T", "np.arange(4) == s2_argmax", "loss_p * loss_g - loss_onehot",
                 "np.reshape(s5, (-1, 64))"):
        assert line in source, line
    # No batch size in any reshape: the code runs on another batch size as it is.
    assert "reshape(3," not in source


def test_every_lenet_node_passes_the_numerical_check(lenet_loss):
    _, loss = lenet_loss
    results = check_graph(loss, max_elements=6)
    assert not [c for c in results if c.ok is False], results
    assert {c.op for c in results} >= {"Conv2d", "Relu", "Linear", "CrossEntropy"}


def _conv_cases(rng):
    def t(shape, name):
        return Tensor(rng.normal(size=shape), requires_grad=True, name=name)

    return {
        "conv_stride_padding": lambda: F.conv2d(t((2, 3, 7, 7), "x"), t((4, 3, 3, 3), "w"),
                                                t((4,), "b"), stride=2, padding=1).sum(),
        "conv_dilation_groups": lambda: F.conv2d(t((1, 4, 8, 8), "x"), t((4, 2, 3, 3), "w"),
                                                 None, dilation=2, groups=2).tanh().sum(),
        "max_pool": lambda: (F.max_pool2d(t((2, 2, 6, 6), "x"), 2) * t((2, 2, 3, 3), "y")).sum(),
        "max_pool_stride_pad": lambda: F.max_pool2d(t((1, 2, 7, 7), "x"), 3, stride=2,
                                                    padding=1).sum(),
        "max_pool_dilated": lambda: (F.max_pool2d(t((2, 2, 9, 8), "x"), 3, stride=2, padding=1,
                                                  dilation=2) * t((2, 2, 4, 3), "y")).sum(),
        "max_pool_dilated_ceil": lambda: F.max_pool2d(t((1, 3, 8, 9), "x"), (2, 3), stride=(2, 3),
                                                      padding=1, dilation=(3, 2),
                                                      ceil_mode=True).tanh().sum(),
        "max_pool_ceil": lambda: F.max_pool2d(t((1, 2, 7, 6), "x"), 2, ceil_mode=True).exp().sum(),
        "avg_pool_divisor": lambda: F.avg_pool2d(t((2, 2, 6, 7), "x"), 3, stride=2, padding=1,
                                                 divisor_override=5).exp().sum(),
        "avg_pool": lambda: F.avg_pool2d(t((2, 2, 6, 6), "x"), 3, stride=2, padding=1,
                                         count_include_pad=False).exp().sum(),
        "adaptive_max_pool": lambda: F.adaptive_max_pool2d(t((2, 3, 7, 5), "x"), (3, 2))
        .exp().sum(),
        "max_pool1d": lambda: F.max_pool1d(t((2, 3, 11), "x"), 3, stride=2, padding=1,
                                           dilation=2, ceil_mode=True).tanh().sum(),
        "adaptive_avg_pool": lambda: F.adaptive_avg_pool2d(t((2, 3, 7, 5), "x"), (2, 3))
        .sigmoid().sum(),
    }


CONV_CASES = sorted(_conv_cases(np.random.default_rng(0)))


# How each case's flat code is written, and how close it must be to the engine:
# written-out conv sums in another order than the Numba kernels (float64 rounding);
# non-overlapping max pooling is exact; overlapping windows add up in another order.
WRITTEN = {"conv_stride_padding": 1e-12, "max_pool": None, "max_pool_stride_pad": 1e-12,
           "max_pool_dilated": 1e-12, "max_pool_dilated_ceil": 1e-12, "max_pool_ceil": None,
           "avg_pool_divisor": 1e-12, "max_pool1d": 1e-12}


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_and_pool_flat_code_checks_and_labels(case, rng):
    loss = _conv_cases(rng)[case]()
    source = assert_flat_code_matches_engine(loss, rtol=WRITTEN.get(case))
    # conv and max pooling (dilated and ceil_mode too) are written out in NumPy; grouped
    # conv, avg pooling without padding in the count and adaptive pooling still call the
    # op by name.
    assert ("op_backward(" in source) == (case not in WRITTEN), source
    assert not [c for c in check_graph(loss, max_elements=8) if c.ok is False]
    src = draw_graph(loss, show_grad=True).source
    assert ".backward>" not in src and ".backward<BR/>" not in src  # every edge explained
