"""A picture without Graphviz: a small layered layout of a drawing, written as SVG.

Graphviz's ``dot`` gives the best pictures; where it is not installed (a fresh laptop,
a locked-down lab machine) a student should still *see* the graph. This module lays
out the same scene ``draw_graph`` builds (same nodes, rows, colours and edge labels):

1. layers: each node one layer after the furthest of its inputs (longest path);
2. order within a layer: a few sweeps of the barycentre heuristic, which pulls each
   node towards the average position of its neighbours and so removes most crossings;
3. coordinates: layers side by side (``rankdir="LR"``) or stacked (``"TB"``); edges
   are cubic curves with their labels at the middle.

It is deliberately simple (long edges may pass behind nodes); the picture carries a
note saying that ``dot`` was not used and how to install it.

>>> from autograd_core import Tensor
>>> from autograd_core.viz import draw_graph
>>> a = Tensor(2.0, requires_grad=True, name="a")
>>> draw_graph(a * a).fallback_svg().startswith("<svg")
True
"""

import html

__all__ = ["scene_to_svg"]

_CHAR = {11: 6.4, 10: 5.8, 9: 5.3}  # average glyph width of Helvetica at these sizes
_LINE = 15
_COLOR = {"grad": "#b45309", "error": "#b91c1c", "ok": "#15803d"}


def _text_width(text: str, size: int = 11) -> float:
    return len(text) * _CHAR[size]


def _row_width(row) -> float:
    return sum(_text_width(text, 10 if style in ("small", "ok") else 11) for text, style in row)


def _size(node) -> tuple:
    width = max((_row_width(row) for row in node.rows), default=10) + 14
    height = len(node.rows) * _LINE + 8
    if node.kind == "op":
        width, height = width * 1.25 + 10, height + 10
    return width, height


def _layers(nodes, edges) -> dict:
    """Longest-path layering: every node one layer after the furthest of its inputs."""
    ids = [n.id for n in nodes]
    preds = {i: [] for i in ids}
    succs = {i: [] for i in ids}
    for e in edges:
        if e.src in preds and e.dst in preds:
            preds[e.dst].append(e.src)
            succs[e.src].append(e.dst)
    indegree = {i: len(preds[i]) for i in ids}
    ready = [i for i in ids if indegree[i] == 0]
    layer = {}
    while ready:
        node = ready.pop(0)
        layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
        for s in succs[node]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    for i in ids:  # a cycle cannot happen in a computation graph; be safe anyway
        layer.setdefault(i, 0)
    # Pull sources (leaves, constants) right up to their first consumer.
    for i in ids:
        if not preds[i] and succs[i]:
            layer[i] = max(min(layer[s] for s in succs[i]) - 1, 0)
    return layer, preds, succs


def _order(layer, preds, succs, sweeps: int = 4) -> list:
    count = max(layer.values(), default=-1) + 1
    rows = [[] for _ in range(count)]
    for node, k in layer.items():
        rows[k].append(node)
    position = {}

    def index_all():
        for row in rows:
            for k, node in enumerate(row):
                position[node] = k

    index_all()
    for _ in range(sweeps):
        for row in rows[1:]:
            row.sort(key=lambda n: _mean([position[p] for p in preds[n]], position[n]))
            index_all()
        for row in reversed(rows[:-1]):
            row.sort(key=lambda n: _mean([position[s] for s in succs[n]], position[n]))
            index_all()
    return rows


def _mean(values, default):
    return sum(values) / len(values) if values else default


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def scene_to_svg(scene, note=None) -> str:
    """Lay out a ``dot.Scene`` and return it as an SVG document (a string)."""
    nodes = {n.id: n for n in scene.nodes}
    layer, preds, succs = _layers(scene.nodes, scene.edges)
    rows = _order(layer, preds, succs)
    size = {n.id: _size(n) for n in scene.nodes}
    horizontal = scene.rankdir in ("LR", "RL")
    # Room between layers: the widest edge label leaving the layer, plus a margin.
    label_room = [0.0] * len(rows)
    for e in scene.edges:
        if e.src in layer and e.label:
            extent = (max(_text_width(line, 9) for line in e.label) if horizontal
                      else len(e.label) * 12)
            label_room[layer[e.src]] = max(label_room[layer[e.src]], extent)
    # Lay out on abstract axes: "along" crosses the layers, "across" runs inside one.
    top = 40 if scene.title else 14
    place, spans, along = {}, [], 0.0
    # Stacked layers put edge labels side by side: leave them room across.
    widest = max((_text_width(line, 9) for e in scene.edges for line in e.label), default=0)
    gap = 22 if horizontal else max(22, min(widest * 0.6, 120))
    for k, row in enumerate(rows):
        depth = max(((size[n][0] if horizontal else size[n][1]) for n in row), default=0)
        across = 0.0
        for node in row:
            extent = size[node][1] if horizontal else size[node][0]
            place[node] = [along + depth / 2, across + extent / 2]
            across += extent + gap
        spans.append(max(across - gap, 0))
        along += depth + (max(label_room[k] + 30, 50) if k < len(rows) - 1 else 0)
    total_across = max(spans, default=0)
    for k, row in enumerate(rows):  # centre each layer across the widest one
        for node in row:
            place[node][1] += (total_across - spans[k]) / 2
    pos = {node: ((a + 14, c + top) if horizontal else (c + 14, a + top))
           for node, (a, c) in place.items()}
    legend = getattr(scene, "legend", None) or []
    legend_lines = [text for colour, text in legend if not colour]
    swatches = [(colour, text) for colour, text in legend if colour]
    legend_height = (20 + 14 * len(legend_lines)) if legend else 0
    legend_width = max([sum(_text_width(t, 10) + 30 for _, t in swatches)]
                       + [_text_width(t, 10) for t in legend_lines] + [0])
    width = max((along if horizontal else total_across) + 28, legend_width + 20)
    height = ((total_across if horizontal else along) + top + 14 + (30 if note else 0)
              + legend_height)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="context-stroke"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    if scene.title:
        out.append(f'<text x="{width / 2:.0f}" y="24" font-size="14" text-anchor="middle">'
                   f'{_esc(scene.title)}</text>')
    out += _clusters(scene, pos, size)
    labels = []
    for e in scene.edges:
        if e.src not in pos or e.dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        (w1, h1), (w2, h2) = size[e.src], size[e.dst]
        if horizontal:
            x1, x2 = x1 + w1 / 2, x2 - w2 / 2
            c1, c2 = (x1 + (x2 - x1) / 2, y1), (x1 + (x2 - x1) / 2, y2)
        else:
            y1, y2 = y1 + h1 / 2, y2 - h2 / 2
            c1, c2 = (x1, y1 + (y2 - y1) / 2), (x2, y1 + (y2 - y1) / 2)
        dash = ' stroke-dasharray="4 3"' if e.dashed else ""
        marker = ' marker-end="url(#arrow)"' if e.arrow else ""
        out.append(f'<path d="M {x1:.1f} {y1:.1f} C {c1[0]:.1f} {c1[1]:.1f} {c2[0]:.1f} '
                   f'{c2[1]:.1f} {x2:.1f} {y2:.1f}" fill="none" stroke="{e.color}" '
                   f'stroke-width="{e.penwidth:g}"{dash}{marker}/>')
        if e.label:  # drawn last, so nodes and curves never hide them
            mx = (x1 + 3 * c1[0] + 3 * c2[0] + x2) / 8
            my = (y1 + 3 * c1[1] + 3 * c2[1] + y2) / 8
            labels.append((mx, my, e.label, e.fontcolor or "#111111"))
    for node_id, node in nodes.items():
        out += _node(node, pos[node_id], size[node_id])
    for mx, my, lines, color in labels:
        lw = max(_text_width(line, 9) for line in lines) + 6
        lh = len(lines) * 12 + 2
        out.append(f'<rect x="{mx - lw / 2:.1f}" y="{my - lh / 2:.1f}" width="{lw:.1f}" '
                   f'height="{lh:.1f}" fill="white" fill-opacity="0.85"/>')
        for k, line in enumerate(lines):
            y = my - lh / 2 + 11 + 12 * k
            out.append(f'<text x="{mx:.1f}" y="{y:.1f}" font-size="9" text-anchor="middle" '
                       f'fill="{color}">{_esc(line)}</text>')
    if legend:  # the legend, below the drawing (as dot puts it)
        y = height - legend_height - (30 if note else 0) + 6
        x = 10.0
        for colour, text in swatches:
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="10" fill="{colour}" '
                       'stroke="black" stroke-width="0.5"/>')
            out.append(f'<text x="{x + 16:.1f}" y="{y + 9:.1f}" font-size="10">{_esc(text)}</text>')
            x += _text_width(text, 10) + 30
        for k, text in enumerate(legend_lines):
            out.append(f'<text x="10" y="{y + 26 + 14 * k:.1f}" font-size="10">{_esc(text)}</text>')
    if note:
        out.append(f'<text x="10" y="{height - 14:.0f}" font-size="11" fill="#b91c1c">'
                   f'{_esc(note)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _clusters(scene, pos, size) -> list:
    out = []
    for key, label in scene.clusters.items():
        members = [n.id for n in scene.nodes if n.cluster == key and n.id in pos]
        if not members:
            continue
        x0 = min(pos[m][0] - size[m][0] / 2 for m in members) - 8
        x1 = max(pos[m][0] + size[m][0] / 2 for m in members) + 8
        y0 = min(pos[m][1] - size[m][1] / 2 for m in members) - 22
        y1 = max(pos[m][1] + size[m][1] / 2 for m in members) + 8
        out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
                   f'height="{y1 - y0:.1f}" rx="8" fill="none" stroke="#6b7280" '
                   'stroke-dasharray="5 3"/>')
        out.append(f'<text x="{x0 + 8:.1f}" y="{y0 + 15:.1f}" font-size="12" '
                   f'fill="#374151">{_esc(label)}</text>')
    return out


def _node(node, center, size) -> list:
    (cx, cy), (w, h) = center, size
    out = []
    if node.kind == "op":
        out.append(f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                   f'fill="{node.fill}" stroke="{node.border}" '
                   f'stroke-width="{node.penwidth:g}"/>')
    elif node.kind not in ("const", "label"):
        out.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}" fill="{node.fill}" stroke="{node.border}" '
                   f'stroke-width="{node.penwidth:g}"/>')
    top = cy - len(node.rows) * _LINE / 2 + 11
    for k, row in enumerate(node.rows):
        spans = []
        for text, style in row:
            attrs = []
            if style == "bold":
                attrs.append('font-weight="bold"')
            if style in ("small", "ok"):
                attrs.append('font-size="10"')
            if node.kind == "label":  # an edge's label: rows of (text, colour)
                attrs.append('font-size="9"')
            color = _COLOR.get(style) or ("#4b5563" if node.kind == "const" else None)
            if style.startswith("#"):
                color = style
            if color:
                attrs.append(f'fill="{color}"')
            spans.append(f"<tspan {' '.join(attrs)}>{_esc(text)}</tspan>")
        out.append(f'<text x="{cx:.1f}" y="{top + k * _LINE:.1f}" font-size="11" '
                   f'text-anchor="middle" xml:space="preserve">{"".join(spans)}</text>')
    return out
