"""draw_graph: the computation graph as a graphviz picture, annotated for teaching.

Tensor nodes (boxes) show the name, shape and dtype, the value and, once backward has
run, the gradient; op nodes (ellipses) show the op and its step number in the order
backward visits it; each edge into an op carries the local derivative (``∂/∂a = b``)
and, with gradients shown, the contribution that flows back along it. A tensor that
feeds several ops shows every contribution and their sum.

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
>>> "∂/∂a = b" in draw_graph(c).source
True
"""

import html
import weakref
from dataclasses import dataclass, field

import graphviz
import numpy as np

from autograd_core._format import fmt_shape, fmt_value
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


@dataclass
class SceneEdge:
    src: str
    dst: str
    label: list = field(default_factory=list)  # lines of text
    color: str = "black"
    penwidth: float = 1.0
    fontcolor: object = None
    dashed: bool = False


@dataclass
class Scene:
    nodes: list
    edges: list
    clusters: dict  # cluster key -> label
    rankdir: str = "LR"
    title: object = None


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
    if scene.title:
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
            target.node(node.id, label, shape="plain")
        elif node.kind == "op":
            label = "<" + "<BR/>".join(_html_row(row) for row in node.rows) + ">"
            target.node(node.id, label, shape="ellipse", style="filled", fillcolor=node.fill,
                        color=node.border, penwidth=f"{node.penwidth:g}")
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
        dot.edge(edge.src, edge.dst, **attrs)
    for sub in subgraphs.values():
        dot.subgraph(sub)
    return dot


def _module_of(name: str, depth) -> str:
    parts = name.split(".")[:-1]
    if depth is not None:
        parts = parts[:depth]
    return ".".join(parts) or "model"


def _module_groups(graph: GraphInfo, param_names: dict, depth) -> tuple:
    """({id(op output): module}, {id(param): module}): which nodes make up each module.

    A node belongs to module M when it uses one of M's parameters, or lies between two
    nodes that do (e.g. the matmul between a weight's transpose and the bias add).
    """
    param_module = {key: _module_of(name, depth) for key, name in param_names.items()
                    if key in graph.by_id}
    anchors = {}
    for t in graph.order:
        for x in t._ctx.inputs:
            if isinstance(x, Tensor) and id(x) in param_module:
                anchors.setdefault(param_module[id(x)], []).append(t)
                break
    members = {}
    for module, anchored in anchors.items():
        below, stack = set(), list(anchored)  # descendants of the anchors
        while stack:
            t = stack.pop()
            for consumer, _ in graph.consumers.get(id(t), ()):
                if id(consumer) not in below:
                    below.add(id(consumer))
                    stack.append(consumer)
        above, stack = set(), list(anchored)  # ancestors of the anchors
        while stack:
            t = stack.pop()
            for x in t._ctx.inputs:
                if isinstance(x, Tensor) and x._ctx is not None and id(x) not in above:
                    above.add(id(x))
                    stack.append(x)
        for t in anchored:
            members.setdefault(id(t), module)
        for key in below & above:
            members.setdefault(key, module)
    return members, param_module


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
                self.checks[id(t)] = check_node(t._ctx, t, input_names=names)
        self.highlight = self._highlight_set(opts["highlight"])

    # ---------------------------------------------------------------- gradients
    def visible_contributions(self, tensor) -> list:
        items = self.rep.contributions.get(id(tensor), [])
        if self.frame is not None:
            items = [(i, g) for i, g in items if i <= self.frame]
        return items

    def grad_text(self, tensor):
        """The grad row of a tensor node, or None when it has no gradient to show."""
        d = self.digits
        if tensor is self.graph.root:
            return f"grad {fmt_value(self.rep.seed, d)}"
        items = self.visible_contributions(tensor)
        if not items:
            if self.frame is not None and id(tensor) in self.rep.contributions:
                return "grad ?"
            return None
        total = items[0][1]
        for _, g in items[1:]:
            total = total + g
        if len(items) == 1:
            text = f"grad {fmt_value(total, d)}"
        elif total.size == 1:
            parts = " + ".join(fmt_value(g, d) for _, g in items)
            text = f"grad {parts} = {fmt_value(total, d)}"
        else:
            text = f"grad (sum of {len(items)}) {fmt_value(total, d)}"
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
        if o["show_shape"]:
            rows.append([(fmt_shape(t.shape, t.dtype), "plain")])
        if o["show_data"]:
            rows.append([("value " + fmt_value(t._data, d, o["max_elements"]), "plain")])
        if self.grads_on:
            text = self.grad_text(t)
            if text is not None:
                rows.append([(text, "grad")])
            stored = t._grad
            if (self.frame is None and stored is not None and t._ctx is None
                    and id(t) in self.rep.grads
                    and not np.array_equal(stored._data, self.rep.grads[id(t)])):
                rows.append([(f".grad {fmt_value(stored._data, d)} (accumulated over "
                              "several backward calls)", "plain")])
        if t._ctx is None:
            fill = _PARAM if t.requires_grad else _CONST
        else:
            fill = _ROOT if t is g.root else _VALUE
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
                rows.append([("✗ check failed: " + check.message, "error")])
                rows.append([("max error " + fmt_value(check.max_error, 3), "error")])
            elif check.ok:
                rows.append([("✓ check", "ok")])
        node = SceneNode(f"op{self.ids[id(t)][1:]}", "op", rows, _OP, cluster=cluster)
        if (check is not None and check.ok is False) or error:
            node.fill, node.border, node.penwidth = _FAIL, "#b91c1c", 2
        elif self.active is not None and step is self.active:
            node.fill, node.border, node.penwidth = _ACTIVE, "#c2410c", 3
        elif self.frame is not None and step is not None and step.index < self.frame:
            node.fill = _OP_DONE
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
        x = t._ctx.inputs[pos]
        parts = []
        name = self.graph.name[id(x)]
        if self.o["show_derivatives"]:
            rule = rule_for(t._ctx.fn)
            local = rule.local(view, pos) if rule is not None else None
            text = f"∂/∂{name} = {local}" if local else f"∂/∂{name}: {t._ctx.op_name}.backward"
            if self.o["show_data"] and pos in local_values and local != "1":
                value = fmt_value(local_values[pos], self.digits)
                if local != value:
                    text += f" = {value}"
            parts.append(text)
        if self.grads_on:
            step = self.step_of.get(id(t))
            shown = step is not None and (self.frame is None or step.index <= self.frame)
            if shown:
                for j, p in enumerate(step.positions):
                    if p == pos and step.grad_inputs[j] is not None:
                        parts.append(f"grad += {fmt_value(step.grad_inputs[j], self.digits)}")
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
                g, normalize_params(o["params"]), o["collapse_depth"])
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
        const_count = 0
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
                    edge = SceneEdge(redirect.get(id(x), self.ids[id(x)]), op.id,
                                     self.edge_label(t, pos, view, local_values))
                    if active:
                        edge.color, edge.penwidth, edge.fontcolor = _ACTIVE, 2.5, "#c2410c"
                    edges.append(edge)
                elif x is not None and not isinstance(x, (str, type)):
                    text = fmt_value(x, self.digits, o["max_elements"])
                    if np.size(x) > o["max_elements"]:
                        text = f"constant {fmt_shape(np.shape(x), np.result_type(x))}: {text}"
                    const_id = f"c{const_count}"
                    const_count += 1
                    nodes.append(SceneNode(const_id, "const", [[(text, "plain")]]))
                    edges.append(SceneEdge(const_id, op.id, color="#9ca3af", dashed=True))
        return scene

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
                if t._ctx.op_name not in names:
                    names.append(t._ctx.op_name)
            rows = [[(module, "bold")], [(" → ".join(names), "plain")]]
            for key, pmodule in param_module.items():
                if pmodule != module:
                    continue
                p = g.by_id[key]
                text = f"{g.name[key]} {fmt_shape(p.shape)}"
                if self.grads_on and key in self.rep.grads:
                    norm = float(np.sqrt(np.sum(np.square(self.rep.grads[key], dtype=np.float64))))
                    text += f"  ‖grad‖ {fmt_value(norm, self.digits)}"
                rows.append([(text, "plain")])
            steps = sorted(self.step_of[id(t)].index for t in ops if id(t) in self.step_of)
            if steps and self.o["show_order"]:
                rows.append([(f"steps {steps[0]}–{steps[-1]}" if len(steps) > 1
                              else f"step {steps[0]}", "plain")])
            failed = [self.checks[id(t)] for t in ops
                      if id(t) in self.checks and self.checks[id(t)].ok is False]
            for check in failed:
                rows.append([(f"✗ {check.op}: {check.message}", "error")])
            scene.nodes.append(SceneNode(group_node[module], "group", rows,
                                         _FAIL if failed else _GROUP))
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
               show_derivatives=True, rankdir="LR", params=None, collapse=False,
               collapse_depth=None, highlight=None, check=False, grad=None, digits=3,
               max_elements=12, title=None, _frame=None) -> Graph:
    """Draw the graph that computed ``root``, annotated for teaching.

    Parameters
    ----------
    root : Tensor
        The output to draw the graph of (usually a loss).
    show_data, show_shape : bool
        Show each tensor's value (a number, a small array, or min/mean/max) and its
        shape and dtype.
    show_grad : bool or None
        Gradients on tensors and edges. None (default): shown once backward has run
        through the graph (a node was freed or a tensor has a ``.grad``); True: always
        (replayed); False: never.
    show_order : bool
        Number the ops in the order backward visits them (step 1 is the root's op).
    show_derivatives : bool
        Label each edge with the local derivative, e.g. ``∂/∂a = b = -3``.
    rankdir : str
        Graphviz direction: ``"LR"`` (forward left to right), ``"TB"``, ...
    params : dict or Module, optional
        Names for parameters, e.g. ``dict(model.named_parameters())`` or the model.
    collapse : bool or "cluster"
        With ``params``: ``True`` merges each module's ops into one node (readable for a
        CNN); ``"cluster"`` keeps every node but boxes each module's nodes together.
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

    Returns a :class:`Graph` (a ``graphviz.Digraph``; ``.fallback_svg()`` draws it
    without Graphviz). No ``.grad`` is changed.

    >>> from autograd_core import Tensor
    >>> x = Tensor(1.0, requires_grad=True, name="x")
    >>> draw_graph((x * 2).sigmoid()).source.count("->")  # x, 2 -> Mul -> s0 -> Sigmoid -> s1
    5
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph expects a Tensor, got {type(root).__name__}")
    if collapse not in (False, None, True, "cluster", "merge", "modules"):
        raise ValueError(f"collapse must be False, True or 'cluster', got {collapse!r}")
    if collapse and params is None:
        raise ValueError("collapse groups nodes by module: pass params=dict("
                         "model.named_parameters()) (or the model) too")
    opts = dict(show_data=show_data, show_grad=show_grad, show_shape=show_shape,
                show_order=show_order, show_derivatives=show_derivatives, rankdir=rankdir,
                params=params, collapse=collapse, collapse_depth=collapse_depth,
                highlight=highlight, check=check, grad=grad, digits=digits,
                max_elements=max_elements, title=title, frame=_frame)
    scene = _Drawer(root, opts).scene()
    dot = scene_to_dot(scene)
    dot.scene = scene
    # Weak, so a drawing kept in a notebook output does not keep the graph alive.
    root_ref = weakref.ref(root)
    dot._text_source = lambda: (None if root_ref() is None else (root_ref(), params))
    return dot
