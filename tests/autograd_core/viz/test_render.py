"""Rendering: step-through pictures and page with dot; a clear error without it."""

import shutil

import graphviz
import pytest

from autograd_core.viz import DotNotFoundError, draw_graph, render_steps

from .helpers import neuron

HAS_DOT = shutil.which("dot") is not None
requires_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """Make every Graphviz program impossible to find (PATH holds one empty directory)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@requires_dot
def test_render_steps_writes_one_picture_per_step_and_a_page(tmp_path):
    L, t = neuron()
    L.backward()
    index = render_steps(L, tmp_path / "steps")
    pictures = sorted((tmp_path / "steps").glob("step_*.svg"))
    assert [p.name for p in pictures] == [f"step_{k:03d}.svg" for k in range(1, 6)]
    assert all(p.read_text().lstrip().startswith("<?xml") for p in pictures)
    page = index.read_text(encoding="utf-8")
    assert index.name == "index.html"
    assert page.count('<div class="frame"') == 5 and page.count("<svg") == 5
    assert "ArrowLeft" in page and "ArrowRight" in page and 'id="prev"' in page
    assert "http" not in page.replace("http://www.w3.org", "")  # self-contained
    assert "grad_s3 += grad_L * L * (1 - L)" in page
    assert t["w0"].grad.item() == pytest.approx(-0.19661193)  # unchanged


@requires_dot
def test_step_pictures_mark_the_active_node_and_partial_sums():
    a = __import__("autograd_core").Tensor(3.0, requires_grad=True, name="a")
    b = a * a + a
    frame1 = draw_graph(b, _frame=1).source
    frame2 = draw_graph(b, _frame=2).source
    add_line = next(line for line in frame1.splitlines() if "<B>Add</B>" in line)
    assert 'fillcolor="#fb923c"' in add_line  # active at step 1
    assert "grad 1  (so far)" in frame1  # a has one of its three contributions
    assert "grad 1 + 3 + 3 = 7" in frame2


@requires_dot
def test_png_frames_are_sibling_files(tmp_path):
    L, _ = neuron()
    index = render_steps(L, tmp_path, format="png", rankdir="TB")
    assert (tmp_path / "step_001.png").read_bytes().startswith(b"\x89PNG")
    assert '<img src="step_001.png"' in index.read_text(encoding="utf-8")


@requires_dot
def test_notebooks_show_the_graph_inline():
    L, _ = neuron()
    bundle = draw_graph(L)._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")


def test_without_dot_the_source_works_and_rendering_says_how_to_install(no_dot, tmp_path):
    L, _ = neuron()
    L.backward()
    graph = draw_graph(L)
    assert "value 0.731" in graph.source  # building the DOT text needs no program
    for render in (lambda: graph.pipe(format="svg"),
                   lambda: graph.render(outfile=str(tmp_path / "g.svg")),
                   lambda: render_steps(L, tmp_path / "steps")):
        with pytest.raises(DotNotFoundError) as info:
            render()
        message = str(info.value)
        assert "`dot`" in message and "apt-get install graphviz" in message
        assert "brew install graphviz" in message and "conda install" in message
        assert isinstance(info.value, graphviz.ExecutableNotFound)  # old except clauses work
    assert not (tmp_path / "steps").exists()


def test_without_dot_a_notebook_shows_text_instead_of_a_traceback(no_dot):
    L, _ = neuron()
    bundle = draw_graph(L)._repr_mimebundle_()
    assert "`dot`" in bundle["text/plain"] and "L ← Sigmoid [step 1]" in bundle["text/plain"]


def test_fallback_svg_needs_no_program_and_is_well_formed(no_dot):
    import xml.etree.ElementTree as ET

    L, _ = neuron()
    L.backward()
    for options in ({}, {"rankdir": "TB", "title": "the <neuron>"}, {"_frame": 3}):
        svg = draw_graph(L, **options).fallback_svg(note="drawn without dot")
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        text = "".join(root.itertext())
        assert "0.731" in text and "step 5" in text and "∂s0/∂w0 = x0 = -1" in text
        assert "step n: the n-th op backward visits" in text  # the legend too
        assert "drawn without dot" in text


def test_without_dot_a_notebook_still_shows_a_picture(no_dot):
    L, _ = neuron()
    bundle = draw_graph(L)._repr_mimebundle_()
    assert bundle["image/svg+xml"].startswith("<svg")
    assert "`dot` was not found" in bundle["image/svg+xml"]


def test_fallback_svg_of_a_collapsed_model(rng):
    from .test_draw import _lenet_like

    loss, params = _lenet_like(rng)
    svg = draw_graph(loss, params=params, collapse="cluster").fallback_svg()
    assert svg.count("stroke-dasharray=\"5 3\"") == 3  # one box per module
    svg = draw_graph(loss, params=params, collapse=True, show_grad=True).fallback_svg()
    assert "Permute → MatMul → Add" in svg
