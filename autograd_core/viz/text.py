"""print_graph: the graph as a tree of text, for terminals (no Graphviz needed).

The root comes first; below each value, the op that made it (with its backward step
number) and that op's inputs. A value used twice is expanded the first time only::

    L ← Sigmoid [step 1]   value 0.731   grad 1
    └── s3 ← Add [step 2]   value 1   grad 0.197
        ├── s2 ← Add [step 3]   ...
        └── w2   value -3   grad 0.197

Shapes are shown for arrays (with the dtype unless float32), as in the pictures.

>>> from autograd_core import Tensor
>>> a = Tensor(2.0, requires_grad=True, name="a")
>>> print(format_graph(a * 3, show_grad=False))
L ← Mul [step 1]   value 6
├── a   value 2
└── 3   (constant)
"""

import sys

from autograd_core._format import fmt_value
from autograd_core.tensor import Tensor
from autograd_core.viz._graph import GraphInfo
from autograd_core.viz.replay import replay

__all__ = ["format_graph", "print_graph"]


def format_graph(root, *, show_data=True, show_grad=None, show_shape=True, params=None,
                 digits=3, max_elements=12) -> str:
    """The text that :func:`print_graph` prints."""
    from autograd_core.viz.dot import _shape_text, backward_has_run

    graph = GraphInfo(root, params)
    rep = replay(graph, errors="record")
    grads_on = backward_has_run(graph) if show_grad is None else bool(show_grad)
    step_of = {id(s.output): s.index for s in rep.steps}

    def describe(t) -> str:
        parts = [graph.name[id(t)]]
        if t._ctx is not None:
            step = step_of.get(id(t))
            parts[0] += f" ← {t._ctx.op_name}" + (f" [step {step}]" if step else "")
        shape = _shape_text(t) if show_shape else None
        if shape:
            parts.append(shape)
        if show_data:
            parts.append("value " + fmt_value(t._data, digits, max_elements))
        if grads_on and id(t) in rep.grads:
            parts.append("grad " + fmt_value(rep.grads[id(t)], digits, max_elements))
        return "   ".join(parts)

    lines = []
    expanded = set()
    # Iterative depth-first walk (a long chain must not hit the recursion limit).
    stack = [(root, "", "", True)]
    while stack:
        node, prefix, branch, _ = stack.pop()
        if not isinstance(node, Tensor):
            lines.append(f"{prefix}{branch}{fmt_value(node, digits, max_elements)}   (constant)")
            continue
        seen_before = id(node) in expanded and node._ctx is not None
        text = describe(node) if not seen_before else f"{graph.name[id(node)]}   (see above)"
        lines.append(f"{prefix}{branch}{text}")
        if node._ctx is None or seen_before:
            continue
        expanded.add(id(node))
        children = [x for x in node._ctx.inputs if x is not None]
        child_prefix = prefix + ("" if not branch else ("    " if branch == "└── " else "│   "))
        for k in reversed(range(len(children))):
            last = k == len(children) - 1
            stack.append((children[k], child_prefix, "└── " if last else "├── ", last))
    return "\n".join(lines)


def print_graph(root, *, file=None, **options) -> None:
    """Print the graph below ``root`` as an indented tree (see :func:`format_graph`).

    Options: ``show_data``, ``show_grad`` (None: once backward has run), ``show_shape``,
    ``params`` (names for parameters), ``digits``. Changes no ``.grad``.
    """
    print(format_graph(root, **options), file=file or sys.stdout)
