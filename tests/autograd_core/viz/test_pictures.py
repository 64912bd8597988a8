"""The pictures a lecture hall reads (issue 16): each test pins one defect seen in a PNG.

Labels name their derivative and sit on their own edge; every picture has a legend; the
root is L everywhere; no clutter; the slides' Linear and cross-entropy labels; exact
module boxes; check numbers that match the picture; projector-sized drawings.
"""

import re
import shutil
import struct

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core import Function, Tensor
from autograd_core.viz import backward_steps, draw_graph, flat_code, render_steps
from nn.models import LeNet5

from .helpers import assert_flat_code_matches_engine, neuron, run_flat_code
from .test_draw import edge_labels, label_edges, node_names

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")
LEGEND = "step n: the n-th op backward visits"


def _mlp(rng, dtype="float32"):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    if dtype == "float64":
        model = model.double()
    x = Tensor(rng.normal(size=(5, 4)).astype(dtype))
    loss = F.cross_entropy(model(x), np.array([0, 2, 1, 1, 0]))
    return model, loss


def _lenet(rng, batch=8, size=28):
    ag.manual_seed(0)
    model = LeNet5(in_channels=1, num_classes=10, input_size=size)
    x = Tensor(rng.normal(size=(batch, 1, size, size)).astype("float32"))
    # the model's output is not kept: after backward() the graph is rebuilt from inputs
    loss = F.cross_entropy(model(x), rng.integers(0, 10, size=batch))
    return model, loss


def _png_size(graph) -> tuple:
    data = graph.pipe(format="png")
    return struct.unpack(">II", data[16:24])


# ------------------------------------------------------------------ 1. edge labels
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_each_label_names_its_derivative_and_sits_on_its_own_edge(rankdir):
    L, _ = neuron()
    L.backward()
    src = draw_graph(L, rankdir=rankdir).source
    names = node_names(src)
    texts = dict(zip(re.findall(r"^\s*(e\d+) \[label=", src, re.M), edge_labels(src)))
    edges = label_edges(src)
    assert len(edges) == 9 == len(texts)  # one label node per edge into an op
    for label, (tensor, op) in edges.items():
        derivative = re.match(r"∂(\w+)/∂(\w+) = ", texts[label])
        assert derivative, texts[label]  # ∂out/∂in, never a bare ∂/∂w0
        assert derivative.group(2) == names[tensor]  # the label's own edge, by name
        assert op.startswith("op")
    # the label node is the only way from the tensor into its op
    assert not re.search(r"^\s*t\d+ -> op", src, re.M)


# ------------------------------------------------------------------ 2. legend
def test_every_picture_has_a_legend(rng):
    L, _ = neuron()
    L.backward()
    model, loss = _mlp(rng)
    loss.backward()
    pictures = [draw_graph(L), draw_graph(L, rankdir="TB"), draw_graph(L, check=True),
                draw_graph(L, _frame=2), draw_graph(loss, params=model),
                draw_graph(loss, params=model, collapse=True)]
    for picture in pictures:
        assert LEGEND in picture.source and "local derivative" in picture.source
    assert "the op backward is at" in draw_graph(L, _frame=2).source
    assert "backward ≠ numerical derivative" in draw_graph(L, check=True).source
    assert LEGEND not in draw_graph(L, legend=False).source


# ------------------------------------------------------------------ 3. names
def test_an_unnamed_root_is_L_in_the_picture_the_steps_and_the_flat_code(tmp_path, rng):
    model, loss = _mlp(rng)
    src = draw_graph(loss, params=model).source
    assert "<B>L</B>" in src and "<B>x</B>" in src and "<B>a</B>" not in src
    assert "y: labels 0 2 1 1 0" in src and "min 0" not in src  # targets as labels
    code = flat_code(loss, params=model)
    assert "return L, {" in code and "∂L/∂L = 1" in code and "dL/dL" not in code
    assert backward_steps(loss, params=model)[0].formula.startswith("L_y = ")
    if shutil.which("dot"):
        page = render_steps(loss, tmp_path, params=model).read_text()
        assert "∂L/∂L = 1" in page and "∂L/∂s2" in page and "s4" not in page


def test_integer_target_tensors_are_shown_as_labels(rng):
    z = Tensor(rng.normal(size=(6, 3)), requires_grad=True)
    y = Tensor(np.array([0, 2, 1, 1, 0, 2]))
    src = draw_graph(F.cross_entropy(z, y)).source
    assert "labels 0 2 1 1 0 2" in node_names(src).values() or "labels 0 2 1 1 0 2" in src
    assert "(softmax(a) − onehot(y)) / N" in src


# ------------------------------------------------------------------ 4. clutter
@needs_dot
def test_no_clutter_and_an_mlp_fits_a_projector(rng):
    L, _ = neuron("float32")
    src = draw_graph(L).source
    assert "scalar" not in src and "float32" not in src.replace("float32 unless", "")
    model, loss = _mlp(rng)
    loss.backward()
    picture = draw_graph(loss, params=model)
    assert "min " not in picture.source and "…" in picture.source  # ranges, not stats
    width, height = _png_size(picture)
    assert width <= 1280, (width, height)  # was 5,059 px


# ------------------------------------------------------------------ 5. slides' labels
def test_linear_and_cross_entropy_labels_as_the_slides_write_them(rng):
    model, loss = _mlp(rng)
    loss.backward()
    labels = edge_labels(draw_graph(loss, params=model, collapse=False).source)
    assert "∂L/∂x = G·0.weight<BR/>" in labels[0] and "G = ∂L/∂s0" in labels[0]
    assert any(text.startswith("∂L/∂0.weight = Gᵀ·x") for text in labels)
    assert any(text.startswith("∂L/∂0.bias = Σₙ G") for text in labels)
    assert any(text.startswith("∂L/∂s2 = (softmax(s2) − onehot(y)) / N") for text in labels)


# ------------------------------------------------------------------ 6. modules
def test_a_box_shows_its_grad_norm_only_once_computed_and_lights_up_when_active(rng):
    model, loss = _lenet(rng, batch=2, size=8)
    loss.backward()
    steps = backward_steps(loss, params=model)
    linear = next(s for s in steps if s.op == "Linear")  # classifier.5, step 2
    early = draw_graph(loss, params=model, _frame=1).source
    assert "‖grad‖" not in early  # nothing is computed at the loss
    at = draw_graph(loss, params=model, _frame=linear.index).source
    box = next(line for line in at.splitlines() if "<B>classifier</B>" in line)
    assert 'BGCOLOR="#fb923c"' in box and f"now: Linear (step {linear.index})" in box
    assert "classifier.5.weight (10, 84)  ‖grad‖" in box
    assert "classifier.1.weight (120, 64)  ‖grad‖" not in box  # not yet reached
    assert 'class="active"' in at or "class=active" in at
    end = draw_graph(loss, params=model, _frame=len(steps)).source
    assert "features.0.weight (6, 1, 5, 5)  ‖grad‖" in end


# ------------------------------------------------------------------ 7. check
def test_check_numbers_are_the_edges_local_derivatives():
    L, _ = neuron()
    L.backward()
    labels = edge_labels(draw_graph(L, check=True).source)
    w0 = next(text for text in labels if text.startswith("∂s0/∂w0 = x0 = -1"))
    assert "✓ rule -1, numerical -1" in w0  # the same -1 as the label
    s3 = next(text for text in labels if text.startswith("∂L/∂s3"))
    assert "✓ rule 0.1966, numerical 0.1966" in s3


class _Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x  # wrong: 3 x^2


def test_a_failing_active_op_keeps_the_active_colour_under_a_red_border():
    x = Tensor([0.5, 2.0], requires_grad=True, name="x")
    loss = (_Cube.apply(x) * 1.5).tanh().sum()
    n = len(backward_steps(loss))
    cube = next(line for line in draw_graph(loss, check=True, _frame=n).source.splitlines()
                if "<B>_Cube</B>" in line)
    assert 'fillcolor="#fb923c"' in cube and 'color="#b91c1c"' in cube
    assert "✗ check failed" in cube


# ------------------------------------------------------------------ 9. LeNet
@needs_dot
def test_a_lenet_reads_at_projector_size_by_default(rng):
    model, loss = _lenet(rng)
    loss.backward()  # frees the graph; its dropped intermediates are rebuilt to draw it
    picture = draw_graph(loss, params=model)
    width, height = _png_size(picture)
    assert width <= 1280 and height <= 1200, (width, height)  # was 12,657 px wide
    assert "<B>features</B>" in picture.source and "‖grad‖" in picture.source


# ------------------------------------------------------------------ flat code for CNNs
def test_flat_code_of_an_mlp_is_bit_exact_and_has_no_calls_by_name(rng):
    model, loss = _mlp(rng)
    source = assert_flat_code_matches_engine(loss, params=model)
    assert "op_forward" not in source and "op_backward" not in source
    assert "L_p * L_g - L_onehot * L_g" in source


def test_cnn_flat_code_runs_on_another_batch_size(rng):
    # No batch size is written into the code: generated on a batch of 3, it runs on 5.
    ag.manual_seed(0)
    model = LeNet5(in_channels=1, num_classes=10, input_size=8)
    x = Tensor(rng.normal(size=(3, 1, 8, 8)).astype("float32"))
    source = flat_code(F.cross_entropy(model(x), np.array([1, 7, 3])), params=model)
    assert "op_backward" not in source
    # the labels are a constant of the traced graph: give the code the new batch's
    source = re.sub(r"L_y = np\.array\(\[[^\]]*\], dtype=np\.int64\)", "L_y = LABELS", source)
    assert "L_y = LABELS" in source
    namespace = {"LABELS": np.array([1, 2, 3, 4, 5])}
    exec(compile(source, "<flat_code>", "exec"), namespace)
    x5 = Tensor(rng.normal(size=(5, 1, 8, 8)).astype("float32"))
    y5 = np.array([1, 2, 3, 4, 5])
    params = {k.replace(".", "_"): v.numpy() for k, v in model.named_parameters()}
    value, grads = namespace["forward_backward"](x=x5.numpy(), **params)
    expected = F.cross_entropy(model(x5), Tensor(y5))
    expected.backward()
    np.testing.assert_allclose(value, expected.numpy(), rtol=1e-5)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_conv_batch_norm_relu_pool_flat_code_matches_the_engine(rng):
    # float64, so the written-out conv (another summation order than the kernels)
    # agrees to 1e-12; batch norm, ReLU, max pooling and the loss are exact.
    ag.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 3 * 3, 4)).double()
    x = Tensor(rng.normal(size=(4, 2, 6, 6)))
    loss = F.cross_entropy(model(x), np.array([0, 1, 2, 3]))
    source = assert_flat_code_matches_engine(loss, rtol=1e-12, params=model)
    assert "op_backward" not in source and "op_forward" not in source
    assert "- s1_mean_G - s1_xhat * s1_mean_Gxhat" in source  # the three-term BN backward
    value, _, _, _ = run_flat_code(loss, params=model)
    assert np.isfinite(value)
