"""Teaching backprop: draw graphs, step through backward, print it as flat code.

All of it works on any graph of the engine (micrograd-style scalars or arrays), before
or after ``backward()`` (even one that freed the graph), and never changes a ``.grad``:
gradients are obtained by replaying the backward pass node by node.

* :func:`draw_graph` -- a graphviz picture: values, gradients, shapes, the backward
  order, local derivatives on edges, module grouping, numerical checks per node;
* :func:`backward_steps` -- the list of chain-rule steps, in the engine's order;
* :func:`flat_code` -- straight-line forward/backward Python that reproduces the
  engine's numbers exactly;
* :func:`render_steps` -- one picture per backward step and an ``index.html`` to click
  through them; :func:`print_graph` -- a text tree for terminals;
* :func:`check_graph` -- the numerical check of every node's backward;
* :func:`op_forward` / :func:`op_backward` -- re-run one op by name (flat code uses
  them for ops without a one-line formula).

>>> from autograd_core import Tensor
>>> from autograd_core.viz import backward_steps
>>> w = Tensor(2.0, requires_grad=True, name="w"); x = Tensor(-1.0, name="x")
>>> L = (w * x).sigmoid(); L.name = "L"
>>> [step.op for step in backward_steps(L)]
['Sigmoid', 'Mul']
"""

from autograd_core.viz.check import NodeCheck, check_graph, check_node
from autograd_core.viz.dot import DotNotFoundError, Graph, draw_graph
from autograd_core.viz.flatcode import backward_steps, flat_code
from autograd_core.viz.replay import Step, op_backward, op_forward
from autograd_core.viz.stepthrough import render_steps
from autograd_core.viz.text import format_graph, print_graph

__all__ = [
    "draw_graph", "backward_steps", "flat_code", "render_steps", "print_graph",
    "format_graph", "Step", "check_graph", "check_node", "NodeCheck", "op_forward",
    "op_backward", "Graph", "DotNotFoundError",
]
