"""draw_graph: the computation graph as a graphviz picture, annotated for teaching.

Tensor nodes (boxes) show the name, the shape (and dtype unless float32), the value
and, once backward has run, the gradient; op nodes (ellipses) show the op and its step
number in the order backward visits it; each edge into an op carries, in a small label
node of its own, the derivative it stands for (``∂s0/∂w0 = x0 = -1``; for matrix ops
``∂L/∂x = G·W`` with ``G = ∂L/∂s0``) and, with gradients shown, the contribution that
flows back along it. A tensor that feeds several ops shows every contribution and their
sum. A legend under the picture says what the colours, "step n" and the labels mean.

Gradients come from a replay of backward (see ``replay.py``), never from the graph's
saved arrays, so drawing works before backward, after ``backward(retain_graph=True)``
and after a plain ``backward()`` alike, and no ``.grad`` is touched. *Has backward
run?* is decided as: some node of the graph was freed by a backward, or some tensor in
it has a ``.grad``. ``show_grad=True`` shows the replayed gradients regardless,
``show_grad=False`` never.

The result is a ``graphviz.Digraph``: ``.source`` is the DOT text (always available),
``.render()``/``.pipe()`` need Graphviz's ``dot`` program and raise
:class:`DotNotFoundError` (saying how to install it) when it is missing; in a notebook
the graph shows inline, and without ``dot`` it shows a simpler picture laid out in
pure Python (``.fallback_svg()``, see ``svg.py``) with a note on what is missing.

>>> from autograd_core import Tensor
>>> from autograd_core.viz import draw_graph
>>> a = Tensor(2.0, requires_grad=True, name="a"); b = Tensor(-3.0, requires_grad=True, name="b")
>>> c = a * b; c.backward()
>>> "∂L/∂a = b = -3" in draw_graph(c).source  # an unnamed root is L
True
"""

import html
import re
import weakref
from dataclasses import dataclass, field

import graphviz
import numpy as np

from autograd_core._format import fmt_number, fmt_shape, fmt_value
from autograd_core.tensor import Tensor
from autograd_core.viz._graph import GraphInfo, normalize_params
from autograd_core.viz.check import check_node
from autograd_core.viz.formulas import OpView, rule_for
from autograd_core.viz.replay import Step, replay, rerun

__all__ = ["draw_graph", "Graph", "DotNotFoundError", "backward_has_run"]

INSTALL_HINT = (
    "Install Graphviz (the program, not only the Python package): "
    "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz` (conda), or from https://graphviz.org/download/; "
    "then restart Python (or the notebook kernel)."
)

# Colours: leaves that learn, constant leaves, interior values, the output, ops.
_PARAM, _CONST, _VALUE, _ROOT = "#dbeafe", "#eeeeee", "#ffffff", "#dcfce7"
_OP, _OP_DONE, _ACTIVE, _FAIL, _HIGHLIGHT = "#fef3c7", "#e5e7eb", "#fb923c", "#fca5a5", "#f97316"
_GROUP = "#e0e7ff"
AUTO_COLLAPSE_OPS = 12  # collapse="auto" groups by module above this many ops


class DotNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's layout program (``dot``) and it is not installed."""

    def __init__(self, program="dot"):
        self.program = str(program)
        RuntimeError.__init__(
            self,
            f"cannot render the graph: Graphviz's `{self.program}` program was not found on "
            f"PATH. The DOT text is still available as `.source` (and "
            f"autograd_core.viz.print_graph(root) prints the graph as text). {INSTALL_HINT}",
        )


def _program(graph) -> str:
    return getattr(graph, "engine", None) or "dot"


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering fails with a clear :class:`DotNotFoundError`.

    In a notebook without ``dot`` it displays the plain-text graph and that message
    instead of a traceback.
    """

    _text_source = None  # a weak reference to (root, params) for the text fallback

    @property
    def text_fallback(self) -> str:
        """The graph as text (print_graph), shown in notebooks when dot is missing."""
        source = self._text_source() if self._text_source is not None else None
        if source is None:
            return ""
        from autograd_core.viz.text import format_graph

        try:
            return format_graph(source[0], params=source[1])
        except Exception:  # the text version is a nicety; never fail the display
            return ""

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise DotNotFoundError(_program(self)) from error

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise DotNotFoundError(_program(self)) from error

    scene = None  # what draw_graph drew, for the SVG that needs no Graphviz

    def fallback_svg(self, note: str = "") -> str:
        """The drawing as SVG laid out in pure Python (no ``dot`` needed; simpler).

        ``draw_graph(...).fallback_svg()`` always works; notebooks use it by themselves
        when ``dot`` is missing.
        """
        from autograd_core.viz.svg import scene_to_svg

        if self.scene is None:
            raise ValueError("fallback_svg: this graph was not made by draw_graph")
        return scene_to_svg(self.scene, note=note or None)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        except DotNotFoundError as error:
            bundle = {"text/plain": f"{error}\n\n{self.text_fallback or self.source}"}
            if self.scene is not None:
                bundle["image/svg+xml"] = self.fallback_svg(
                    f"Simplified layout: Graphviz's `{error.program}` was not found. "
                    "Install it (apt-get/brew/conda install graphviz) for the full drawing.")
            return bundle


# --------------------------------------------------------------------- helpers
def backward_has_run(graph: GraphInfo) -> bool:
    """True if a backward went through this graph: a node was freed or a grad exists."""
    if any(t._ctx.freed for t in graph.order):
        return True
    return any(t._grad is not None for t in graph.tensors)


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------- the scene
# The drawer first builds a neutral description (nodes with styled text rows, edges with
# label lines); dot.py writes it as DOT, svg.py lays it out itself when dot is missing.
@dataclass
class SceneNode:
    id: str
    kind: str  # "tensor", "op", "const" or "group"
    rows: list  # each row: [(text, style), ...]; styles: plain bold grad small error ok
    fill: str = "#ffffff"
    border: str = "black"
    penwidth: float = 1.0
    cluster: object = None
    active: bool = False  # the op backward is at (step mode): the page scrolls to it


@dataclass
class SceneEdge:
    src: str
    dst: str
    label: list = field(default_factory=list)  # lines of text
    color: str = "black"
    penwidth: float = 1.0
    fontcolor: object = None
    dashed: bool = False
    arrow: bool = True  # False for the first half of an edge, into its label node


@dataclass
class Scene:
    nodes: list
    edges: list
    clusters: dict  # cluster key -> label
    rankdir: str = "LR"
    title: object = None
    legend: list = field(default_factory=list)  # rows (swatch colour or None, text)


_HTML_STYLE = {
    "plain": ("", ""),
    "bold": ("<B>", "</B>"),
    "grad": ('<FONT COLOR="#b45309">', "</FONT>"),
    "small": ('<FONT POINT-SIZE="10">', "</FONT>"),
    "error": ('<FONT COLOR="#b91c1c">', "</FONT>"),
    "ok": ('<FONT COLOR="#15803d" POINT-SIZE="10">', "</FONT>"),
}


def _html_row(row) -> str:
    return "".join(_HTML_STYLE[style][0] + _esc(text) + _HTML_STYLE[style][1]
                   for text, style in row)


def scene_to_dot(scene: Scene) -> "Graph":
    """Write a :class:`Scene` as a graphviz Digraph (HTML-like labels, all escaped)."""
    dot = Graph(name="computation", graph_attr={
        "rankdir": scene.rankdir, "fontname": "Helvetica", "nodesep": "0.25",
        "ranksep": "0.35",
    }, node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"})
    if scene.title and not scene.legend:
        dot.attr(label=scene.title, labelloc="t", fontsize="14")
    subgraphs = {}
    for k, (key, label) in enumerate(scene.clusters.items()):
        sub = graphviz.Digraph(name=f"cluster_{k}")
        sub.attr(label=label, style="rounded,dashed", color="#6b7280", fontname="Helvetica",
                 fontsize="12")
        subgraphs[key] = sub
    for node in scene.nodes:
        target = subgraphs.get(node.cluster, dot)
        if node.kind in ("tensor", "group"):
            cells = "".join(f"<TR><TD>{_html_row(row)}</TD></TR>" for row in node.rows)
            label = (
                f'<<TABLE BORDER="{node.penwidth:g}" COLOR="{node.border}" CELLBORDER="0" '
                f'CELLSPACING="0" CELLPADDING="2" BGCOLOR="{node.fill}">{cells}</TABLE>>'
            )
            extra = {"class": "active", "id": "active"} if node.active else {}
            target.node(node.id, label, shape="plain", **extra)
        elif node.kind == "op":
            label = "<" + "<BR/>".join(_html_row(row) for row in node.rows) + ">"
            extra = {"class": "active", "id": "active"} if node.active else {}
            target.node(node.id, label, shape="ellipse", style="filled", fillcolor=node.fill,
                        color=node.border, penwidth=f"{node.penwidth:g}", **extra)
        elif node.kind == "label":
            lines = []
            for text, colour in (row[0] for row in node.rows):
                lines.append(f'<FONT COLOR="{colour}">{_esc(text)}</FONT>' if colour
                             else _esc(text))
            target.node(node.id, "<" + "<BR/>".join(lines) + ">", shape="plaintext",
                        fontsize="10", margin="0.02", height="0.1", width="0.1")
        else:
            text = " ".join(text for row in node.rows for text, _ in row)
            target.node(node.id, _esc(text), shape="plaintext", fontcolor="#4b5563")
    for edge in scene.edges:
        attrs = {}
        if edge.label:
            attrs["label"] = "<" + "<BR/>".join(_esc(line) for line in edge.label) + ">"
        if edge.color != "black":
            attrs["color"] = edge.color
        if edge.penwidth != 1:
            attrs["penwidth"] = f"{edge.penwidth:g}"
        if edge.fontcolor:
            attrs["fontcolor"] = edge.fontcolor
        if edge.dashed:
            attrs["style"] = "dashed"
        if not edge.arrow:
            attrs["arrowhead"] = "none"
        dot.edge(edge.src, edge.dst, **attrs)
    if scene.legend:
        # The legend is the graph's own label (below the drawing), so it takes no place
        # in the layout: the leaves stay where they belong.
        swatches = "".join(
            f'<TD BGCOLOR="{colour}" BORDER="1" WIDTH="12"> </TD>'
            f'<TD ALIGN="LEFT">{_esc(text)}  </TD>'
            for colour, text in scene.legend if colour)
        notes = "".join(f'<TR><TD ALIGN="LEFT">{_esc(text)}</TD></TR>'
                        for colour, text in scene.legend if not colour)
        title = (f'<TR><TD ALIGN="LEFT"><B>{_esc(scene.title)}</B></TD></TR>'
                 if scene.title else "")
        dot.attr(label=f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="1">'
                       f'{title}<TR><TD ALIGN="LEFT"><TABLE BORDER="0" CELLBORDER="0" '
                       f'CELLSPACING="2" CELLPADDING="1"><TR>{swatches}</TR></TABLE></TD></TR>'
                       f'{notes}</TABLE>>',
                 labelloc="b", labeljust="l", fontsize="10")
    for sub in subgraphs.values():
        dot.subgraph(sub)
    return dot


def _module_of(name: str, depth) -> str:
    parts = name.split(".")[:-1]
    if depth is not None:
        parts = parts[:depth]
    return ".".join(parts) or "model"


def _truncate(path: str, depth) -> str:
    if not path:
        return "model"
    return ".".join(path.split(".")[:depth]) if depth is not None else path


def _normal(name: str) -> str:
    name = name.lower().replace("backward", "")
    for suffix in ("2d", "1d", "0"):
        name = name.removesuffix(suffix)
    return name


def _matches(module, op_name: str) -> bool:
    """Does this param-free leaf module (ReLU, MaxPool2d, Flatten, ...) make this op?"""
    m, o = _normal(type(module).__name__), _normal(op_name)
    if m in ("flatten", "unflatten"):
        return o in ("reshape", "view", "flatten")
    return bool(m) and bool(o) and (m.startswith(o) or o.startswith(m))


def _common_prefix(a: str, b: str) -> str:
    parts = []
    for x, y in zip(a.split("."), b.split(".")):
        if x != y:
            break
        parts.append(x)
    return ".".join(parts)


def _module_groups(graph: GraphInfo, param_names: dict, depth, model=None) -> tuple:
    """({id(op output): module}, {id(param): module}): which nodes make up each module.

    Every op that uses a parameter belongs to that parameter's module (and the ops
    between two such ops, e.g. a transpose before a matmul). With the model itself
    (``params=model``) the parameter-free layers are placed exactly too: the ops
    between two parametrised layers A and B are matched, in forward order, to the
    parameter-free leaf modules registered between them (a ReLU module makes a Relu
    op, Flatten a Reshape, ...); an op no module explains (a functional call in some
    ``forward``) belongs to the innermost module holding both A and B. So a box holds
    exactly its module's ops: ``features`` holds its last ReLU and MaxPool, and the
    model's Flatten sits in ``classifier`` where it is registered.
    """
    layer_of = {key: name.rsplit(".", 1)[0] if "." in name else ""
                for key, name in param_names.items() if key in graph.by_id}
    anchors = {}
    for t in graph.order:
        for x in t._ctx.inputs:
            if isinstance(x, Tensor) and id(x) in layer_of:
                anchors.setdefault(layer_of[id(x)], []).append(t)
                break
    exact = {}  # id(op output) -> full module path

    def between(first, last) -> set:
        below, stack = set(), list(first)
        while stack:
            t = stack.pop()
            for consumer, _ in graph.consumers.get(id(t), ()):
                if id(consumer) not in below:
                    below.add(id(consumer))
                    stack.append(consumer)
        above, stack = set(), list(last)
        while stack:
            t = stack.pop()
            for x in t._ctx.inputs:
                if isinstance(x, Tensor) and x._ctx is not None and id(x) not in above:
                    above.add(id(x))
                    stack.append(x)
        return below & above

    for layer, anchored in anchors.items():
        for t in anchored:
            exact.setdefault(id(t), layer)
        for key in between(anchored, anchored):
            exact.setdefault(key, layer)
    if model is not None and hasattr(model, "named_modules"):
        leaves = [(name, m) for name, m in model.named_modules()
                  if name and not list(m.children())]
        order = [name for name, _ in leaves]
        with_params = [name for name, m in leaves if name in anchors]
        position = {t_id: k for k, t_id in enumerate(id(t) for t in graph.order)}
        # The stretches between consecutive parametrised layers, then after the last.
        bounds = list(zip([None] + with_params, with_params + [None]))
        for a, b in bounds:
            lo = order.index(a) + 1 if a is not None else 0
            hi = order.index(b) if b is not None else len(order)
            free = [(name, m) for name, m in leaves[lo:hi] if name not in anchors]
            if a is None:
                continue  # ops before the first layer: the model's own preprocessing
            if b is None:
                stretch = sorted(
                    (graph.by_id[k] for k in _descendants(graph, anchors[a])
                     if k not in exact), key=lambda t: position[id(t)])
            else:
                stretch = sorted((graph.by_id[k] for k in between(anchors[a], anchors[b])
                                  if k not in exact), key=lambda t: position[id(t)])
            k = 0
            for t in stretch:
                if k < len(free) and not _matches(free[k][1], t._ctx.op_name):
                    # a module that made no op (Dropout in eval): skip to one that fits
                    ahead = [j for j in range(k + 1, len(free))
                             if _matches(free[j][1], t._ctx.op_name)]
                    if ahead:
                        k = ahead[0]
                if k < len(free) and _matches(free[k][1], t._ctx.op_name):
                    exact[id(t)] = free[k][0]
                    k += 1
                elif b is not None:
                    if _common_prefix(a, b):  # else the model's own forward: no box
                        exact[id(t)] = _common_prefix(a, b)
                elif k >= len(free):
                    break  # past the model's last layer: the loss
    members = {key: _truncate(path, depth) for key, path in exact.items()}
    param_module = {key: _truncate(layer, depth) for key, layer in layer_of.items()}
    # A parameter-free layer alone (one ReLU) is drawn as its op, not as a box.
    count = {}
    for module in members.values():
        count[module] = count.get(module, 0) + 1
    boxed = set(param_module.values()) | {m for m, n in count.items() if n > 1}
    members = {key: module for key, module in members.items() if module in boxed}
    return members, param_module


def _descendants(graph, start) -> set:
    seen, stack = set(), list(start)
    while stack:
        t = stack.pop()
        for consumer, _ in graph.consumers.get(id(t), ()):
            if id(consumer) not in seen:
                seen.add(id(consumer))
                stack.append(consumer)
    return seen


def summary(value, digits: int = 3, max_elements: int = 4) -> str:
    """A value short enough for a node or an edge: ``0.731``, ``[1, 2]``, ``[-2.3 … 1.3]``.

    Arrays up to ``max_elements`` are shown in full, larger ones as their range (so an
    MLP's drawing stays narrow); integer arrays (targets) as labels.
    """
    array = np.asarray(value)
    if array.dtype.kind in "iu" and array.size > 1:
        flat = array.reshape(-1)
        shown = " ".join(str(int(v)) for v in flat[:8])
        return f"labels {shown}" + (" …" if flat.size > 8 else "")
    if array.size <= max_elements or array.dtype.kind not in "fc":
        return fmt_value(array, digits, max_elements)
    with np.errstate(all="ignore"):
        data = array.astype(np.float64)
        low, high = np.nanmin(data), np.nanmax(data)
    if low == high:
        return f"all {fmt_number(low, digits)}"
    return f"[{fmt_number(low, digits)} … {fmt_number(high, digits)}]"


def _shape_text(t) -> object:
    """``(5, 4)`` for arrays (with the dtype unless float32); None for a float32 scalar."""
    dtype = "" if t.dtype == np.float32 else f" {t.dtype.name}"
    if t.ndim == 0:
        return dtype.strip() or None
    return fmt_shape(t.shape) + dtype


_G_TOKEN = re.compile(r"(?<![\w∂])G(?![\wᵀ])|(?<![\w∂])G(?=ᵀ)")


def _is_vjp(text: str) -> bool:
    """A rule written with the upstream gradient G (``G·W``): dL/d(input), not a local slope."""
    return bool(_G_TOKEN.search(text))


class _Drawer:
    def __init__(self, root, opts):
        self.o = opts
        self.graph = GraphInfo(root, opts["params"])
        g = self.graph
        self.digits = opts["digits"]
        self.has_run = backward_has_run(g)
        show_grad = opts["show_grad"]
        self.frame = opts["frame"]
        self.grads_on = self.has_run if show_grad is None else bool(show_grad)
        if self.frame is not None:
            self.grads_on = True
        self.rep = replay(g, opts["grad"], errors="record")
        self.step_of = {id(s.output): s for s in self.rep.steps}
        self.active = None
        if self.frame is not None:
            self.active = self.rep.steps[self.frame - 1] if self.rep.steps else None
        self.ids = {id(t): f"t{k}" for k, t in enumerate(g.tensors)}
        self.checks = {}
        if opts["check"]:
            for t in g.order:
                names = [g.name.get(id(x), "const") if isinstance(x, Tensor) else "const"
                         for x in t._ctx.inputs]
                step = self.step_of.get(id(t))
                # The weighting of the check is what the picture shows: 1 for a scalar
                # output (so the numbers are the local derivatives on the edges), the
                # gradient arriving at the node otherwise (the "grad +=" contributions).
                weights = None
                if t._data.size == 1:
                    weights = np.ones(t.shape)
                elif step is not None and np.any(step.grad_output):
                    weights = step.grad_output
                self.checks[id(t)] = check_node(t._ctx, t, input_names=names,
                                                grad_output=weights)
        self.highlight = self._highlight_set(opts["highlight"])
        self.used_colours = set()

    # ---------------------------------------------------------------- gradients
    def visible_contributions(self, tensor) -> list:
        items = self.rep.contributions.get(id(tensor), [])
        if self.frame is not None:
            items = [(i, g) for i, g in items if i <= self.frame]
        return items

    def complete(self, tensor) -> bool:
        """Is the gradient of ``tensor`` final at this frame (every contribution in)?"""
        items = self.rep.contributions.get(id(tensor), [])
        return bool(items) and (self.frame is None or items[-1][0] <= self.frame)

    def grad_text(self, tensor):
        """The grad row of a tensor node, or None when it has no gradient to show."""
        d = self.digits
        if tensor is self.graph.root:
            return f"grad {summary(self.rep.seed, d)}"
        items = self.visible_contributions(tensor)
        if not items:
            if self.frame is not None and id(tensor) in self.rep.contributions:
                return "grad ?"
            return None
        total = items[0][1]
        for _, g in items[1:]:
            total = total + g
        if len(items) == 1:
            text = f"grad {summary(total, d, self.o['max_elements'])}"
        elif total.size == 1:
            parts = " + ".join(fmt_value(g, d) for _, g in items)
            text = f"grad {parts} = {fmt_value(total, d)}"
        else:
            text = f"grad (sum of {len(items)}) {summary(total, d, self.o['max_elements'])}"
        if self.frame is not None and len(items) < len(self.rep.contributions[id(tensor)]):
            text += "  (so far)"
        return text

    def _highlight_set(self, highlight) -> set:
        if highlight is None:
            return set()
        if isinstance(highlight, (Tensor, str, Step)):
            highlight = [highlight]
        wanted = set()
        by_name = {name: key for key, name in self.graph.name.items()}
        for item in highlight:
            if isinstance(item, Step):
                wanted.add(id(item.output))
            elif isinstance(item, Tensor):
                wanted.add(id(item))
            elif isinstance(item, str) and item in by_name:
                wanted.add(by_name[item])
        return wanted

    # ---------------------------------------------------------------- nodes
    def tensor_node(self, t, cluster=None) -> SceneNode:
        g, o, d = self.graph, self.o, self.digits
        rows = [[(g.name[id(t)], "bold")]]
        shape = _shape_text(t) if o["show_shape"] else None
        if shape:
            rows.append([(shape, "small")])
        if o["show_data"]:
            text = summary(t._data, d, o["max_elements"])
            rows.append([(text if text.startswith("labels") else "value " + text, "plain")])
        if self.grads_on:
            text = self.grad_text(t)
            if text is not None:
                rows.append([(text, "grad")])
            stored = t._grad
            if (self.frame is None and stored is not None and t._ctx is None
                    and id(t) in self.rep.grads
                    and not np.array_equal(stored._data, self.rep.grads[id(t)])):
                rows.append([(f".grad {summary(stored._data, d)} (accumulated over "
                              "several backward calls)", "plain")])
        if t._ctx is None:
            fill = _PARAM if t.requires_grad else _CONST
        else:
            fill = _ROOT if t is g.root else _VALUE
        self.used_colours.add(fill)
        node = SceneNode(self.ids[id(t)], "tensor", rows, fill, cluster=cluster)
        if id(t) in self.highlight:
            node.border, node.penwidth = _HIGHLIGHT, 3
        if self.active is not None and t is self.active.output:
            node.border, node.penwidth = _ACTIVE, 3
        return node

    def op_node(self, t, cluster=None) -> SceneNode:
        ctx = t._ctx
        rule = rule_for(ctx.fn)
        symbol = getattr(rule, "symbol", "") if rule is not None else ""
        head = [(ctx.op_name, "bold")]
        if symbol and symbol.lower() not in ctx.op_name.lower():
            head.append((f" {symbol}", "plain"))
        rows = [head]
        step = self.step_of.get(id(t))
        if self.o["show_order"]:
            rows.append([(f"step {step.index}" if step else "(no gradient)", "small")])
        error = self.rep.errors.get(id(t))
        if error:
            rows.append([("✗ " + _short(error), "error")])
        check = self.checks.get(id(t))
        if check is not None:
            if check.ok is False:
                rows.append([("✗ check failed", "error")])
            elif check.ok:
                rows.append([("✓ checked", "ok")])
        node = SceneNode(f"op{self.ids[id(t)][1:]}", "op", rows, _OP, cluster=cluster)
        failed = (check is not None and check.ok is False) or bool(error)
        if self.active is not None and step is self.active:
            node.fill, node.border, node.penwidth = _ACTIVE, "#c2410c", 3
            node.active = True
        elif self.frame is not None and step is not None and step.index < self.frame:
            node.fill = _OP_DONE
        if failed:  # a red border, so the "active" fill still shows
            node.border, node.penwidth = "#b91c1c", 4
            if not getattr(node, "active", False):
                node.fill = _FAIL
            self.used_colours.add(_FAIL)
        if id(t) in self.highlight:
            node.border, node.penwidth = _HIGHLIGHT, 3
        return node

    def local_values(self, t) -> dict:
        """{input position: d out / d input} for scalar outputs and scalar inputs."""
        ctx = t._ctx
        if t._data.size != 1:
            return {}
        wanted = [i for i, x in enumerate(ctx.inputs)
                  if isinstance(x, Tensor) and x._data.size == 1 and x.dtype.kind == "f"]
        if not wanted:
            return {}
        needs = tuple(isinstance(x, Tensor) and x.dtype.kind == "f" for x in ctx.inputs)
        try:
            _, raw = rerun(ctx, np.ones_like(t._data), needs=needs)
        except Exception:  # a broken custom backward: the label says so elsewhere
            return {}
        return {i: raw[i] for i in wanted if raw[i] is not None and np.size(raw[i]) == 1}

    def edge_label(self, t, pos, view, local_values) -> list:
        """The lines on the edge from input ``pos`` into t's op: (text, colour) pairs.

        ``∂s0/∂w0 = x0 = -1`` (the local derivative, named), or for a rule written with
        the upstream gradient ``∂L/∂x = G·W`` and ``G = ∂L/∂s0``; then ``grad += ...``,
        the contribution this edge carries back, and with ``check=True`` the numbers.
        """
        x = t._ctx.inputs[pos]
        parts = []
        g = self.graph
        name, out = g.name[id(x)], g.name[id(t)]
        root = g.name[id(g.root)]
        if self.o["show_derivatives"]:
            rule = rule_for(t._ctx.fn)
            local = rule.local(view, pos) if rule is not None else None
            if local and _is_vjp(local):
                parts.append((f"∂{root}/∂{name} = {local}", None))
                parts.append((f"G = ∂{root}/∂{out}", "#6b7280"))
            elif local:
                text = f"∂{out}/∂{name} = {local}"
                if self.o["show_data"] and pos in local_values and local != "1":
                    value = fmt_value(local_values[pos], self.digits)
                    if local != value:
                        text += f" = {value}"
                parts.append((text, None))
            else:
                parts.append((f"∂{out}/∂{name}: {t._ctx.op_name}.backward", None))
        if self.grads_on:
            step = self.step_of.get(id(t))
            shown = step is not None and (self.frame is None or step.index <= self.frame)
            if shown:
                for j, p in enumerate(step.positions):
                    if p == pos and step.grad_inputs[j] is not None:
                        parts.append((f"grad += {summary(step.grad_inputs[j], self.digits)}",
                                      None))
        check = self.checks.get(id(t))
        if check is not None and pos in check.edges:
            analytic, numeric, ok = check.edges[pos]
            what = "rule" if t._data.size == 1 else "backward"
            mark = "✓" if ok else "✗"
            parts.append((f"{mark} {what} {summary(analytic, 4)}, numerical "
                          f"{summary(numeric, 4)}", "#15803d" if ok else "#b91c1c"))
        return parts

    # ---------------------------------------------------------------- assembly
    def scene(self) -> Scene:
        o, g = self.o, self.graph
        nodes, edges = [], []
        scene = Scene(nodes, edges, {}, o["rankdir"], o["title"])
        collapse = o["collapse"]
        members, param_module = {}, {}
        if collapse:
            members, param_module = _module_groups(
                g, normalize_params(o["params"]), o["collapse_depth"], o["params"])
        merge = bool(collapse) and collapse != "cluster"
        hidden, redirect = set(), {}
        if merge:
            hidden, redirect = self._merge_groups(scene, members, param_module)

        def cluster_of(key):
            if collapse != "cluster":
                return None
            module = members.get(key, param_module.get(key))
            if module is not None:
                scene.clusters.setdefault(module, module)
            return module

        for t in g.tensors:
            if id(t) not in hidden:
                nodes.append(self.tensor_node(t, cluster_of(id(t))))
        const_count = label_count = 0
        for t in g.order:
            if merge and id(t) in members:
                continue
            op = self.op_node(t, cluster_of(id(t)))
            nodes.append(op)
            edges.append(SceneEdge(op.id, self.ids[id(t)]))
            ctx = t._ctx
            view = OpView(ctx, t, lambda x: g.name[id(x)], mode="text")
            local_values = self.local_values(t) if o["show_data"] else {}
            active = self.active is not None and t is self.active.output
            for pos, x in enumerate(ctx.inputs):
                if isinstance(x, Tensor):
                    src = redirect.get(id(x), self.ids[id(x)])
                    label = self.edge_label(t, pos, view, local_values)
                    colour = ("#c2410c", _ACTIVE, 2.5) if active else (None, "black", 1.0)
                    if not label:
                        edges.append(SceneEdge(src, op.id, color=colour[1],
                                               penwidth=colour[2]))
                        continue
                    # The label is a node of its own on the edge (tensor - label -> op),
                    # so it can never sit by another edge or run into a neighbour.
                    label_id = f"e{label_count}"
                    label_count += 1
                    nodes.append(SceneNode(label_id, "label", [[(text, c or colour[0] or "")]
                                                               for text, c in label],
                                           cluster=cluster_of(id(t))))
                    edges.append(SceneEdge(src, label_id, color=colour[1], penwidth=colour[2],
                                           arrow=False))
                    edges.append(SceneEdge(label_id, op.id, color=colour[1],
                                           penwidth=colour[2]))
                elif x is not None and not isinstance(x, (str, type)):
                    text = summary(x, self.digits, o["max_elements"])
                    if text.startswith("labels") and "CrossEntropy" in ctx.op_name:
                        text = "y: " + text  # the targets, named as in the formula
                    elif np.size(x) > o["max_elements"] and not text.startswith("labels"):
                        text = f"constant {fmt_shape(np.shape(x))}: {text}"
                    const_id = f"c{const_count}"
                    const_count += 1
                    nodes.append(SceneNode(const_id, "const", [[(text, "plain")]]))
                    edges.append(SceneEdge(const_id, op.id, color="#9ca3af", dashed=True))
        if o["legend"]:
            scene.legend = self.legend()
        return scene

    def legend(self) -> list:
        """Rows of the legend: (swatch colour, text) and notes (None, text)."""
        root = self.graph.name[id(self.graph.root)]
        rows = [(_PARAM, "learns (requires grad)"), (_CONST, "data / constant"),
                (_VALUE, "computed value"), (_ROOT, f"output {root}"), (_OP, "op")]
        if self.o["collapse"] and self.o["collapse"] != "cluster":
            rows.append((_GROUP, "a module's ops"))
        if self.frame is not None:
            rows += [(_ACTIVE, "the op backward is at"), (_OP_DONE, "ops done")]
        if self.checks or _FAIL in self.used_colours:
            rows.append((_FAIL, "backward ≠ numerical derivative"))
        rows += [
            (None, f"step n: the n-th op backward visits (step 1 made {root}).  "
                   f"grad: ∂{root}/∂(value), the total gradient of that value."),
            (None, "On an edge: ∂out/∂in = the local derivative;  grad += incoming grad × "
                   "local derivative, what flows back along it.  float32 unless marked."),
        ]
        return rows

    def _merge_groups(self, scene, members, param_module):
        """One node per module; returns (hidden tensor ids, {tensor id: group node id})."""
        g = self.graph
        modules = []
        for t in g.order:
            module = members.get(id(t))
            if module is not None and module not in modules:
                modules.append(module)
        group_node = {module: f"m{k}" for k, module in enumerate(modules)}
        hidden, redirect = set(), {}
        for t in g.order:
            module = members.get(id(t))
            if module is None:
                continue
            consumers = g.consumers.get(id(t), [])
            inside = all(members.get(id(c)) == module for c, _ in consumers)
            if consumers and inside and t is not g.root:
                hidden.add(id(t))
                redirect[id(t)] = group_node[module]
        for key, module in param_module.items():
            consumers = g.consumers.get(key, [])
            if module in group_node and all(members.get(id(c)) == module for c, _ in consumers):
                hidden.add(key)
        for module in modules:
            ops = [t for t in g.order if members.get(id(t)) == module]
            names = []
            for t in ops:
                if not names or names[-1] != t._ctx.op_name:
                    names.append(t._ctx.op_name)
            rows = [[(module, "bold")], [(" → ".join(names), "plain")]]
            for key, pmodule in param_module.items():
                if pmodule != module:
                    continue
                p = g.by_id[key]
                text = f"{g.name[key]} {fmt_shape(p.shape)}"
                # ‖grad‖ only once every contribution to it is in (step mode: at the
                # step that finishes it), so a box never shows a gradient too early.
                if self.grads_on and key in self.rep.grads and self.complete(p):
                    norm = float(np.sqrt(np.sum(np.square(self.rep.grads[key], dtype=np.float64))))
                    text += f"  ‖grad‖ {fmt_value(norm, self.digits)}"
                rows.append([(text, "plain")])
            steps = sorted(self.step_of[id(t)].index for t in ops if id(t) in self.step_of)
            if steps and self.o["show_order"]:
                rows.append([(f"steps {steps[0]}–{steps[-1]}" if len(steps) > 1
                              else f"step {steps[0]}", "small")])
            failed = [self.checks[id(t)] for t in ops
                      if id(t) in self.checks and self.checks[id(t)].ok is False]
            for check in failed:
                rows.append([(f"✗ {check.op}: {check.message}", "error")])
            node = SceneNode(group_node[module], "group", rows, _GROUP)
            if self.frame is not None and steps:
                if self.active is not None and any(t is self.active.output for t in ops):
                    node.fill, node.border, node.penwidth = _ACTIVE, "#c2410c", 3
                    node.active = True
                    active_op = self.active.op
                    rows.insert(2, [(f"now: {active_op} (step {self.frame})", "bold")])
                elif steps[-1] < self.frame:
                    node.fill = _OP_DONE
            if failed:
                node.border, node.penwidth = "#b91c1c", 4
                if not getattr(node, "active", False):
                    node.fill = _FAIL
            scene.nodes.append(node)
            seen = set()
            for t in ops:
                for x in t._ctx.inputs:
                    if not isinstance(x, Tensor) or id(x) in seen:
                        continue
                    if members.get(id(x)) == module or param_module.get(id(x)) == module:
                        continue
                    seen.add(id(x))
                    scene.edges.append(SceneEdge(redirect.get(id(x), self.ids[id(x)]),
                                                 group_node[module]))
                if id(t) not in hidden:
                    scene.edges.append(SceneEdge(group_node[module], self.ids[id(t)]))
        return hidden, redirect


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draw_graph(root, *, show_data=True, show_grad=None, show_shape=True, show_order=True,
               show_derivatives=True, rankdir=None, params=None, collapse="auto",
               collapse_depth=None, highlight=None, check=False, grad=None, digits=3,
               max_elements=4, title=None, legend=True, _frame=None) -> Graph:
    """Draw the graph that computed ``root``, annotated for teaching.

    Parameters
    ----------
    root : Tensor
        The output to draw the graph of (usually a loss).
    show_data, show_shape : bool
        Show each tensor's value (a number, a small array, or its range ``[min … max]``;
        integer targets as labels) and its shape (and dtype unless float32; a float32
        scalar shows neither).
    show_grad : bool or None
        Gradients on tensors and edges. None (default): shown once backward has run
        through the graph (a node was freed or a tensor has a ``.grad``); True: always
        (replayed); False: never.
    show_order : bool
        Number the ops in the order backward visits them (step 1 is the root's op).
    show_derivatives : bool
        Label each edge with the derivative it stands for, named: ``∂s0/∂w0 = x0 = -1``
        (the local derivative), or for matrix ops the slides' form with the upstream
        gradient G named: ``∂L/∂x = G·W`` and ``G = ∂L/∂s0``. Each label is a small node
        on its own edge, so it cannot drift to a neighbouring edge.
    rankdir : str, optional
        Graphviz direction: ``"LR"`` (forward left to right), ``"TB"``, ... Default:
        ``"LR"`` for a graph of scalars (the neuron), ``"TB"`` once a value is an array
        (an MLP drawn top to bottom is about 900 px wide, left to right 3,000).
    params : dict or Module, optional
        Names for parameters, e.g. ``dict(model.named_parameters())`` or the model. The
        model itself also places its parameter-free layers (ReLU, pooling) exactly in
        their modules' boxes.
    collapse : bool, "cluster" or "auto"
        With ``params``: ``True`` merges each module's ops into one node (readable for a
        CNN); ``"cluster"`` keeps every node but boxes each module's nodes together.
        ``"auto"`` (default): collapse by top-level module (``collapse_depth=1``) when
        the graph has more than 12 ops, so a LeNet fits a projector; else draw all.
    collapse_depth : int, optional
        Group by the first ``collapse_depth`` parts of the module path
        (``features.0.weight`` with depth 1 groups everything under ``features``).
    highlight : Tensor, name, Step, or a list of them
        Draw these nodes with a thick orange border.
    check : bool
        Check every op's backward against central differences (float64); a node that
        disagrees is drawn red with the error in its label.
    grad : array, optional
        The gradient backward starts from (default: ones, as for ``root.sum()``).
    digits, max_elements : int
        Significant digits of numbers; arrays up to this size are shown in full.
    legend : bool
        Add the legend: colours, what "step n" means, grad vs local derivative.

    Returns a :class:`Graph` (a ``graphviz.Digraph``; ``.fallback_svg()`` draws it
    without Graphviz). No ``.grad`` is changed.

    >>> from autograd_core import Tensor
    >>> x = Tensor(1.0, requires_grad=True, name="x")
    >>> src = draw_graph((x * 2).sigmoid()).source
    >>> "∂s0/∂x = 2" in src and "∂L/∂s0 = σ(1−σ)" in src  # the unnamed root is L
    True
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph expects a Tensor, got {type(root).__name__}")
    if collapse not in (False, None, True, "cluster", "merge", "modules", "auto"):
        raise ValueError(f"collapse must be False, True, 'cluster' or 'auto', got {collapse!r}")
    info = GraphInfo(root)
    if rankdir is None:
        rankdir = "TB" if any(t.ndim for t in info.tensors) else "LR"
    if collapse == "auto":
        collapse = False
        if params is not None and len(info.order) > AUTO_COLLAPSE_OPS:
            collapse = True
            collapse_depth = 1 if collapse_depth is None else collapse_depth
    if collapse and params is None:
        raise ValueError("collapse groups nodes by module: pass params=dict("
                         "model.named_parameters()) (or the model) too")
    opts = dict(show_data=show_data, show_grad=show_grad, show_shape=show_shape,
                show_order=show_order, show_derivatives=show_derivatives, rankdir=rankdir,
                params=params, collapse=collapse, collapse_depth=collapse_depth,
                highlight=highlight, check=check, grad=grad, digits=digits,
                max_elements=max_elements, title=title, frame=_frame, legend=legend)
    scene = _Drawer(root, opts).scene()
    dot = scene_to_dot(scene)
    dot.scene = scene
    # Weak, so a drawing kept in a notebook output does not keep the graph alive.
    root_ref = weakref.ref(root)
    dot._text_source = lambda: (None if root_ref() is None else (root_ref(), params))
    return dot
