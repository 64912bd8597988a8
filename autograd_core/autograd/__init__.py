"""``torch.autograd``: backward, grad, custom Functions and the functional API.

* ``backward(tensors, grad_tensors, retain_graph, create_graph, inputs)`` and
  ``grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)``:
  the engine (``autograd.engine``: an iterative topological sort over the graph's
  nodes and one short loop that applies each node's rule);
* ``Function``: the base class of every op and of custom ops;
* ``functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``;
* ``gradcheck``, ``gradgradcheck``: finite-difference checks.

>>> import autograd_core as torch
>>> x = torch.tensor(2.0, requires_grad=True)
>>> torch.autograd.grad(x * x, x)[0].item()
4.0
"""

import importlib

from autograd_core.autograd.engine import backward, conform_gradient, grad, topological_order
from autograd_core.function import Context, Function

__all__ = ["backward", "grad", "Function", "Context", "topological_order",
           "conform_gradient", "functional", "gradcheck", "gradgradcheck"]


def __getattr__(name):
    # functional and gradcheck load on first use (PEP 562): they import the ops.
    if name == "functional":
        return importlib.import_module("autograd_core.autograd.functional")
    if name in ("gradcheck", "gradgradcheck"):
        return getattr(importlib.import_module("autograd_core.gradcheck"), name)
    raise AttributeError(f"module 'autograd_core.autograd' has no attribute {name!r}")
