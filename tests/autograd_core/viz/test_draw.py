"""draw_graph: the DOT text shows values, grads, shapes, order and local derivatives."""

import re
import subprocess

import graphviz
import numpy as np
import pytest

import autograd_core as ag
from autograd_core import Function, Tensor
from autograd_core.viz import check_graph, draw_graph, format_graph

from .helpers import neuron


def node_label(source, name):
    """The label text of the tensor node whose first row is ``name``."""
    for line in source.splitlines():
        if f"<B>{name}</B></TD>" in line:
            return line
    raise AssertionError(f"no node {name}")


def edge_labels(source):
    """The texts of the label nodes (each sits on its own edge: tensor - label -> op)."""
    return re.findall(r"^\s*e\d+ \[label=<(.*)> fontsize", source, re.M)


def label_edges(source) -> dict:
    """{label node id: (source node id, target node id)} from the DOT edges."""
    into = dict((b, a) for a, b in re.findall(r"^\s*(\w+) -> (e\d+)", source, re.M))
    out = dict((b, a) for b, a in re.findall(r"^\s*(e\d+) -> (\w+)", source, re.M))
    return {e: (into[e], out[e]) for e in into}


def node_names(source) -> dict:
    """{node id: its bold first row} for tensor nodes."""
    return dict(re.findall(r"^\s*(t\d+) \[label=<.*?<B>(.*?)</B>", source, re.M))


def test_the_neuron_after_backward_shows_values_grads_shapes_order_and_derivatives():
    L, _ = neuron()
    L.backward()
    src = draw_graph(L).source
    assert "value 0.731" in node_label(src, "L") and "grad 1" in node_label(src, "L")
    w2 = node_label(src, "w2")
    assert "value -3" in w2 and "grad 0.197" in w2 and "float64" in w2  # not float32
    assert "scalar" not in src  # no "scalar float32" clutter on every node
    assert "grad -0.197" in node_label(src, "w0")
    assert "grad 0.393" in node_label(src, "x0")
    assert "grad -0.59" in node_label(src, "x1")
    for k in range(1, 6):
        assert f"step {k}<" in src
    assert re.search(r"Sigmoid</B>[^\]]*step 1", src)
    assert re.search(r"Mul</B>[^\]]*step 5", src)
    labels = edge_labels(src)
    # Each label names the derivative it shows (never a bare ∂/∂w0) ...
    assert "∂s0/∂w0 = x0 = -1<BR/>grad += -0.197" in labels
    assert "∂s0/∂x0 = w0 = 2<BR/>grad += 0.393" in labels
    assert "∂L/∂s3 = σ(1−σ) = 0.197<BR/>grad += 0.197" in labels
    assert "∂s3/∂w2 = 1<BR/>grad += 0.197" in labels
    assert not [text for text in labels if "∂/∂" in text]


def test_before_backward_no_grads_unless_asked():
    L, _ = neuron()
    src = draw_graph(L, legend=False).source
    assert "grad" not in src.replace("grad_", "")
    assert "value 0.731" in src and "step 1" in src
    forced = draw_graph(L, show_grad=True).source
    assert "grad 0.197" in node_label(forced, "w2")
    L.backward()
    assert "grad" not in draw_graph(L, show_grad=False, legend=False).source


def test_after_retain_graph_backward_and_never_changing_grads():
    L, t = neuron()
    L.backward(retain_graph=True)
    before = {k: v.grad.item() for k, v in t.items()}
    src = draw_graph(L, check=True).source
    assert "grad 0.197" in node_label(src, "w2")
    assert {k: v.grad.item() for k, v in t.items()} == before
    assert L.grad is None and L.grad_fn.inputs[0].grad is None  # interior: nothing stored


def test_options_hide_rows_and_set_direction():
    L, _ = neuron()
    L.backward()
    src = draw_graph(L, show_data=False, show_shape=False, show_order=False,
                     show_derivatives=False, rankdir="TB", legend=False).source
    assert "rankdir=TB" in src
    assert "value" not in src and "float64" not in src and "step " not in src
    assert "∂" not in src and "grad 0.197" in src


def test_fan_out_shows_each_contribution_and_the_sum():
    a = Tensor(3.0, requires_grad=True, name="a")
    b = Tensor(2.0, requires_grad=True, name="b")
    c = a * b + a  # a feeds Mul and Add
    c.name = "c"
    c.backward()
    src = draw_graph(c).source
    assert "grad 1 + 2 = 3" in node_label(src, "a")  # backward visits the Add first
    labels = edge_labels(src)
    assert "∂s0/∂a = b = 2<BR/>grad += 2" in labels and "∂c/∂a = 1<BR/>grad += 1" in labels


def test_arrays_show_small_values_and_summaries_of_large_ones(rng):
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    big = Tensor(rng.normal(size=(10, 10)), requires_grad=True, name="big")
    loss = (x.sum(dim=0) * 2).sum() + big.mean()
    loss.backward()
    src = draw_graph(loss, max_elements=6).source
    assert "value [[0, 1, 2], [3, 4, 5]]" in node_label(src, "x")
    assert "(2, 3) float64" in node_label(src, "x")
    assert "grad [[2, 2, 2], [2, 2, 2]]" in node_label(src, "x")
    assert "value [0 … 5]" in node_label(draw_graph(loss).source, "x")  # > 4: the range
    assert re.search(r"value \[-[\d.]+ … [\d.]+\]", node_label(src, "big"))
    assert "(10, 10) float64" in node_label(src, "big")
    assert "grad all 0.01" in node_label(src, "big")


def test_names_come_from_tensor_names_then_params_then_automatic():
    w = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor(0.5, requires_grad=True, name="bias")
    x = Tensor([3.0, 4.0])
    y = ((w * x).sum() + b).tanh()
    src = draw_graph(y, params={"layer.weight": w}).source
    # data that needs no gradient is x (the slides' a is an activation); the root is L
    for name in ("layer.weight", "bias", "x", "s0", "s1", "L"):
        node_label(src, name)
    assert "∂s0/∂layer.weight = x" in src


def test_labels_are_escaped_and_the_source_is_valid_dot(tmp_path):
    x = Tensor([1.0, -2.0], requires_grad=True, name='x<"&>{}|')
    y = (x.clamp(min=0.0) * 2).sum()
    y.backward()
    g = draw_graph(y, title="a <title>")
    assert 'x&lt;&quot;&amp;&gt;{}|' in g.source
    assert "1 if 0 ≤ x&lt;" in g.source  # the clamp's local derivative, escaped
    result = subprocess.run(["dot", "-Tsvg"], input=g.source.encode(), capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


class Cube(Function):
    """A student's custom op with a wrong backward: d/dx x^3 is 3x^2, not 3x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x


def test_check_flags_a_wrong_backward_in_red():
    x = Tensor([0.5, 2.0], requires_grad=True, name="x")
    w = Tensor(1.5, requires_grad=True, name="w")
    loss = (Cube.apply(x) * w).tanh().sum()
    src = draw_graph(loss, check=True).source
    cube_line = next(line for line in src.splitlines() if "<B>Cube</B>" in line)
    assert "fillcolor=\"#fca5a5\"" in cube_line and "check failed" in cube_line
    others = [line for line in src.splitlines() if "shape=ellipse" in line and "Cube" not in line]
    assert others and all("✓ check" in line and "#fca5a5" not in line for line in others)
    # The edge into Cube shows backward's number and the numerical one, in red; the
    # weighting is the gradient that really arrives there (the "grad +=" shown).
    cube_edge = next(text for text in edge_labels(src) if text.startswith("∂s0/∂x"))
    assert "✗ backward" in cube_edge and "numerical" in cube_edge and "#b91c1c" in cube_edge
    verdicts = {c.op: c.ok for c in check_graph(loss)}
    assert verdicts == {"Sum": True, "Tanh": True, "Mul": True, "Cube": False}


def test_check_skips_kinks_and_uncheckable_casts():
    x = Tensor([0.0, 1.0, 1.0], requires_grad=True, dtype="float64")
    loss = x.relu().max() + x.float().sum()
    results = {c.op: c for c in check_graph(loss)}
    assert results["Relu"].ok and results["Relu"].skipped_kinks >= 1
    assert results["Max"].ok  # the tie between the two 1.0s is a kink, not a failure
    assert results["Cast"].ok is None


def test_a_backward_that_raises_is_drawn_not_raised():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad  # one too many

    x = Tensor(1.0, requires_grad=True, name="x")
    src = draw_graph(Broken.apply(x) * 3, show_grad=True).source
    assert "✗ RuntimeError: Broken.backward returned 2 gradient(s)" in src


def test_highlight_by_tensor_and_by_name():
    L, t = neuron()
    src = draw_graph(L, highlight=[t["w0"], "s3"]).source
    assert 'COLOR="#f97316"' in node_label(src, "w0")
    assert 'COLOR="#f97316"' in node_label(src, "s3")
    assert 'COLOR="#f97316"' not in node_label(src, "x0")


def _lenet_like(rng):
    """A small CNN-shaped graph built from core ops with a hand-written params dict."""
    p = {
        "conv1.weight": Tensor(rng.normal(size=(4, 9)) * 0.3, requires_grad=True),
        "conv1.bias": Tensor(np.zeros(4), requires_grad=True),
        "fc1.weight": Tensor(rng.normal(size=(8, 4)) * 0.3, requires_grad=True),
        "fc1.bias": Tensor(np.zeros(8), requires_grad=True),
        "fc2.weight": Tensor(rng.normal(size=(3, 8)) * 0.3, requires_grad=True),
        "fc2.bias": Tensor(np.zeros(3), requires_grad=True),
    }
    x = Tensor(rng.normal(size=(5, 9)), name="images")
    h = (x @ p["conv1.weight"].T + p["conv1.bias"]).relu()
    h = (h @ p["fc1.weight"].T + p["fc1.bias"]).relu()
    logits = h @ p["fc2.weight"].T + p["fc2.bias"]
    loss = -logits.log_softmax(dim=1)[np.arange(5), np.array([0, 1, 2, 0, 1])].mean()
    return loss, p


def test_collapse_merges_each_module_into_one_node(rng):
    loss, params = _lenet_like(rng)
    loss.backward()
    full = draw_graph(loss, params=params, collapse=False).source
    merged = draw_graph(loss, params=params, collapse=True).source
    assert merged.count("shape=ellipse") < full.count("shape=ellipse")
    for module in ("conv1", "fc1", "fc2"):
        assert f"<B>{module}</B>" in merged
    assert "Permute → MatMul → Add" in merged
    assert "<B>x</B>" not in merged and "<B>images</B>" in merged
    assert "weight (8, 4)" in merged and "‖grad‖" in merged
    assert "<B>fc1.weight</B>" not in merged  # parameters are listed inside their module
    assert merged.count("Relu") == 2  # activations stay visible between modules
    clustered = draw_graph(loss, params=params, collapse="cluster").source
    assert clustered.count("subgraph cluster_") == 3 and "label=fc2" in clustered
    result = subprocess.run(["dot", "-Tsvg"], input=merged.encode(), capture_output=True)
    assert result.returncode == 0


def test_collapse_needs_params():
    L, _ = neuron()
    with pytest.raises(ValueError, match="params"):
        draw_graph(L, collapse=True)


def test_format_graph_is_a_text_tree():
    L, _ = neuron()
    L.backward()
    text = format_graph(L)
    lines = text.splitlines()
    assert lines[0].startswith("L ← Sigmoid [step 1]") and "value 0.731" in lines[0]
    assert any("└── w2" in line and "grad 0.197" in line for line in lines)
    a = Tensor(1.0, requires_grad=True, name="a")
    shared = a * 2
    assert "(see above)" in format_graph(shared * shared)


def test_draw_graph_returns_a_digraph():
    L, _ = neuron()
    g = draw_graph(L)
    assert isinstance(g, graphviz.Digraph)
    assert g.source.startswith("digraph")


def test_values_keep_4_digit_precision_when_asked():
    L, _ = neuron()
    assert "value 0.7311" in draw_graph(L, digits=4).source


def test_an_int_constant_leaf_and_where_draw(rng):
    x = Tensor(rng.normal(size=3), requires_grad=True, name="x")
    y = ag.where(np.array([True, False, True]), x, 0.0).sum()
    src = draw_graph(y, show_grad=True).source
    assert "∂s0/∂x = 1 where [True, False, True]" in src
