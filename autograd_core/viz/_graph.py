"""The graph below a tensor, in forward order, and the names every teaching tool uses.

One :class:`GraphInfo` is built per call of ``draw_graph``/``backward_steps``/
``flat_code``; it lists the interior tensors in the engine's own topological order
(``autograd.topological_order``, so numbering matches what backward does), the leaves
in order of first use, and gives every tensor a display name and a Python identifier:

* ``Tensor.name`` when set, else the name in ``params=`` (``"fc1.weight"``), else
* automatic: the output (the root) is ``L``, as the slides call the loss; inputs that
  need no gradient are ``x`` (float data) and ``y`` (integer targets); other leaves are
  ``a, b, c, ...`` and interior values ``s0, s1, ...`` in forward order (as in the
  slides: ``s0 = w0 * x0``). The same names appear in the picture, the steps page and
  the flat code.
"""

import keyword

from autograd_core.autograd import topological_order
from autograd_core.tensor import Tensor

__all__ = ["GraphInfo", "normalize_params", "tensor_order"]


def tensor_order(roots) -> list:
    """The interior tensors below ``roots``, each after its inputs: the engine's order.

    The graph keeps nodes, not tensors; a node whose tensor the user dropped gets it
    rebuilt from its inputs (``Context.inputs``), parents first, so each rebuild is one
    forward. The list holds the rebuilt tensors while the caller holds it.
    """
    order = []
    for node in topological_order(roots):
        tensor = node.output()
        if tensor is None or tensor._ctx is not node:
            tensor = node._rebuild_output()
        order.append(tensor)
    return order

# Names the generated code itself uses; a tensor called like that gets a suffix.
RESERVED = frozenset({
    "np", "sigmoid", "stable_max", "op_forward", "op_backward", "forward_backward",
    "slice", "Ellipsis", "None", "True", "False", "float", "grads",
})


def normalize_params(params) -> dict:
    """``params`` as {id(tensor): name}: a dict name -> tensor, pairs, or a Module."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters") and callable(params.named_parameters):
        params = dict(params.named_parameters())
    items = params.items() if isinstance(params, dict) else params
    names = {}
    for name, tensor in items:
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"params: expected name -> Tensor (e.g. dict(model.named_parameters())), "
                f"got {type(tensor).__name__} for {name!r}"
            )
        names.setdefault(id(tensor), str(name))
    return names


def _auto_leaf_names():
    letters = "abcdefghijklmnopqrstuvwxyz"
    yield from letters
    n = 1
    while True:
        for letter in letters:
            yield f"{letter}{n}"
        n += 1


def _identifier(name: str) -> str:
    # \w accepts characters (e.g. "²") that Python identifiers do not: keep only those
    # that are valid in an identifier, so the flat code always compiles.
    ident = "".join(c if ("a" + c).isidentifier() else "_" for c in name)
    if not ident or not ident.isidentifier():
        ident = "_" + ident
    if keyword.iskeyword(ident) or ident in RESERVED:
        ident += "_"
    if ident.startswith("grad_"):
        ident = "t_" + ident  # keep grad_<name> free for gradients
    return ident


class GraphInfo:
    """The tensors reachable from ``root``, their consumers and names.

    Attributes: ``root``, ``order`` (interior tensors, inputs before outputs),
    ``leaves`` (Tensors without grad_fn, first use first), ``tensors`` (all, in forward
    order: each leaf right before its first consumer), ``consumers``
    ({id: [(output tensor, input position)]}), ``name`` and ``ident`` ({id: str}).
    """

    def __init__(self, root: Tensor, params=None):
        if not isinstance(root, Tensor):
            raise TypeError(f"expected a Tensor, got {type(root).__name__}")
        self.root = root
        self.order = tensor_order(root)
        self.leaves = []
        self.tensors = []
        self.consumers = {}
        self.by_id = {}
        seen = set()
        for out in self.order:
            for pos, x in enumerate(out._ctx.inputs):
                if not isinstance(x, Tensor):
                    continue
                self.consumers.setdefault(id(x), []).append((out, pos))
                if id(x) not in seen and x._ctx is None:
                    seen.add(id(x))
                    self.leaves.append(x)
                    self.tensors.append(x)
            seen.add(id(out))
            self.tensors.append(out)
        if root._ctx is None:
            self.leaves.append(root)
            self.tensors.append(root)
        self.by_id = {id(t): t for t in self.tensors}
        self._name_all(normalize_params(params))

    def _name_all(self, param_names: dict):
        self.name, self.ident = {}, {}
        used_names, used_idents = set(), set(RESERVED)

        def claim(tensor, name):
            base, k = name, 1
            while name in used_names:
                k += 1
                name = f"{base}_{k}"
            used_names.add(name)
            self.name[id(tensor)] = name
            ident = base_ident = _identifier(name)
            k = 1
            while ident in used_idents:
                k += 1
                ident = f"{base_ident}_{k}"
            used_idents.add(ident)
            self.ident[id(tensor)] = ident

        # Explicit names first, so automatic ones never take them.
        explicit = {}
        for t in self.tensors:
            name = t.name if t.name else param_names.get(id(t))
            if name:
                explicit[id(t)] = str(name)
        taken = set(explicit.values())
        for t in self.tensors:
            if id(t) in explicit:
                claim(t, explicit[id(t)])
        letters = _auto_leaf_names()
        interior = 0
        root = self.root
        if id(root) not in self.name and "L" not in taken:
            claim(root, "L")
        for t in self.tensors:
            if id(t) in self.name:
                continue
            if t._ctx is None and not t.requires_grad:
                claim(t, "y" if t.dtype.kind in "iub" else "x")
                continue
            if t._ctx is None:
                name = next(letters)
                while name in taken or name in used_names or name in RESERVED:
                    name = next(letters)
            else:
                name = f"s{interior}"
                while name in taken or name in used_names:
                    interior += 1
                    name = f"s{interior}"
                interior += 1
            claim(t, name)

    def is_leaf(self, tensor) -> bool:
        return tensor._ctx is None
