"""Functions: one forward/backward pair on NumPy arrays, and the graph node it records.

Every operation of the engine, and every custom op a user writes, is a subclass of
:class:`Function` with two static methods::

    forward(ctx, *inputs, **options) -> np.ndarray
    backward(ctx, grad_output) -> one gradient per positional input (or None)

``Function.apply(*inputs, **options)`` unwraps Tensors to their arrays, runs ``forward``,
and, only when grad mode is on and some input requires grad, records a node: the
:class:`Context` holding the function, its inputs (the parents), its non-array options,
and whatever ``forward`` saved for ``backward``. The node hangs off the output tensor
(``output.grad_fn``); it never refers back to the output, so dropping the output frees
the whole graph by reference counting alone.

Rules for ``forward``/``backward`` (the engine relies on them):

* positional inputs are Tensors (passed as their arrays) or constants passed through raw
  (numbers, arrays, None); keyword options are plain Python values that describe the op;
* ``forward`` is a pure function of its inputs and options (randomness, such as a dropout
  mask, is drawn outside and passed in), so a graph can be re-run for teaching tools;
* ``backward`` never modifies ``grad_output`` in place and returns, for input ``i``, an
  array of the shape of the broadcast result or of the input; the engine sums broadcast
  dimensions away (one shared helper) and casts to the input's dtype.

Example, a custom op with its derivative d/dx x^3 = 3 x^2::

    >>> import numpy as np
    >>> from autograd_core import Function, Tensor
    >>> class Cube(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 3 * x ** 2
    >>> x = Tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward(); x.grad.item()
    12.0
"""

import numpy as np

from autograd_core import tensor as _tensor_module
from autograd_core.errors import ShapeError
from autograd_core.grad_mode import _state
from autograd_core.tensor import Tensor

__all__ = ["Function", "Context"]

_FREED_MESSAGE = (
    "{op}: trying to backward through the graph a second time, or to read values saved "
    "for backward after they were freed. A backward() frees the saved arrays of the graph "
    "it ran through; pass retain_graph=True to the first backward() to run it again."
)


class Context:
    """What a recorded operation remembers: the node of the graph.

    Attributes
    ----------
    fn : type[Function]
        The function that produced the output.
    inputs : tuple
        The positional inputs as given to ``apply``: Tensors (the parents) and constants.
    options : dict
        The keyword options (non-array arguments such as ``dim`` or ``stride``).
    needs_input_grad : tuple[bool, ...]
        For each positional input, whether a gradient is wanted for it.
    """

    __slots__ = ("fn", "inputs", "options", "needs_input_grad", "epoch", "_saved", "freed",
                 "__dict__", "__weakref__")

    def __init__(self, fn, inputs, options, needs_input_grad):
        self.fn = fn
        self.inputs = inputs
        self.options = options
        self.needs_input_grad = needs_input_grad
        self.epoch = _tensor_module._mutation_epoch  # in-place changes made before this node
        self._saved = ()
        self.freed = False

    @property
    def name(self) -> str:
        """The op's name, as shown in graphs and reprs: the function's class name."""
        return self.fn.__name__

    def save_for_backward(self, *arrays):
        """Keep arrays (or None) for ``backward``; freed after it unless ``retain_graph``."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """The arrays given to :meth:`save_for_backward`, in the same order."""
        if self.freed:
            raise RuntimeError(_FREED_MESSAGE.format(op=self.name))
        return self._saved

    def parents(self):
        """The inputs that are Tensors (constants are not part of the graph)."""
        return tuple(x for x in self.inputs if isinstance(x, Tensor))

    def check_versions(self):
        """Raise if an input whose array was saved for backward changed in place since.

        Each in-place change of a Tensor (``+=``, ``t[i] = v``, an optimizer step, ...)
        gives it a new ``_version`` epoch (``tensor.mark_modified``); an input whose epoch
        is later than this node's and whose array was saved would give wrong gradients.
        """
        if self.epoch == _tensor_module._mutation_epoch:
            return  # nothing anywhere changed in place since this node was recorded
        for i, x in enumerate(self.inputs):
            if isinstance(x, Tensor) and x._version > self.epoch and any(
                    saved is x._data for saved in self._saved):
                raise RuntimeError(
                    f"backward: input {i} of {self.name} (shape {x.shape}) was modified in "
                    "place after the forward pass, so its gradients would be wrong. Make "
                    "in-place changes (e.g. optimizer.step()) after backward(), or use an "
                    "out-of-place op."
                )

    def free(self):
        """Drop the arrays saved for backward; the graph's structure stays (for drawing).

        As in PyTorch, attributes a forward set on ``ctx`` itself (shapes, small
        statistics) are kept until the graph is dropped; large arrays belong in
        :meth:`save_for_backward`.
        """
        self._saved = ()
        self.freed = True

    def __repr__(self):
        return f"<{self.name}>"


class Function:
    """Base class of every operation: subclass it and write ``forward``/``backward``.

    See the module docstring for the contract and an example.
    """

    @staticmethod
    def forward(ctx, *inputs, **options):
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("Function subclasses must implement backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor:
        """Run the op on Tensors (or constants); record a node when gradients are wanted."""
        arrays = []
        needs = []
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x._data)
                needs.append(x._requires_grad)
            else:
                arrays.append(x)
                needs.append(False)
        record = True in needs and _state.enabled
        ctx = Context(cls, inputs, options,
                      tuple(needs) if record else (False,) * len(inputs))
        try:
            data = cls.forward(ctx, *arrays, **options)
        except ValueError as error:
            # NumPy's broadcast message names no op; say which op and which shapes.
            if "could not be broadcast" in str(error):
                shapes = " and ".join(str(np.shape(a)) for a in arrays)
                raise ShapeError(f"{cls.__name__}: cannot broadcast shapes {shapes}") from None
            raise
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        out = Tensor._make(data)
        # Only floating-point results are differentiable (a cast to int or bool ends the
        # graph, as in PyTorch).
        if record and data.dtype.kind == "f":
            out._ctx = ctx
            out._requires_grad = True
        return out
