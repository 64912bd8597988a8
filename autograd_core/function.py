"""Functions: one forward/backward pair on NumPy arrays, and the graph node it records.

Every operation of the engine, and every custom op a user writes, is a subclass of
:class:`Function` with two static methods::

    forward(ctx, *inputs, **options) -> np.ndarray
    backward(ctx, grad_output) -> one gradient per positional input (or None)

``Function.apply(*inputs, **options)`` unwraps Tensors to their arrays, promotes the
inputs the class names in ``promotes`` (PyTorch's rules, ``ops._dtypes``), runs
``forward`` and, only when grad mode is on and some input requires grad, records a
node: the :class:`Context`. As in PyTorch the node is the output's ``grad_fn`` and
refers to its parents' *nodes* (``next_functions``), to leaves through an
:class:`AccumulateGrad` node, and holds only what ``save_for_backward`` kept: an
intermediate Tensor lives exactly as long as the user holds it, and a kept ``loss``
holds the graph's structure, not its activations.

What an op class carries (one op, one place):

* ``forward`` and ``backward`` on arrays;
* ``promotes``: the positions of the inputs that promote together (``(0, 1)`` for
  ``a + b``); ``float_only``: integer inputs become float32 first (``exp``);
* ``formula``: how the teaching tools draw and write it (``ops._formula``), or None;
* ``twice_differentiable``: its backward, run on Tensors, records a correct graph
  (see ``autograd``'s ``create_graph``);
* ``composite``: for an op whose backward cannot run on Tensors (a fused kernel), the
  same forward written with differentiable ops (see below), or None;
* ``scalar_fast_path``: its forward and backward compute the same on NumPy scalars as on
  0-d arrays, so on 0-d float tensors ``apply`` runs them on NumPy scalars (much less
  NumPy dispatch per op in micrograd-style graphs; see ``_apply_scalar``);
* ``indexed_backward(ctx, grad)``: for a one-input op whose gradient is zero except at
  some positions (indexing), ``(index, values)`` with dL/dx[index] = values and 0
  elsewhere, or None where it does not apply (then ``backward`` runs). The engine adds
  ``values`` into the input's gradient sum in place instead of summing full arrays of
  zeros: the pieces of ``split``, ``chunk`` or ``unbind`` of one tensor cost one array
  of zeros in backward, not one each (so unbinding T time steps is O(T), not O(T^2)).

Gradients of gradients (``create_graph=True``) need the rule's result to be a graph.
A Function gets there in one of two ways:

* ``twice_differentiable = True``: its ``backward`` works on Tensors too. In a
  create_graph pass ``grad_output`` is a Tensor and ``ctx.saved_tensors`` are the
  node's inputs and output as Tensors of the graph; every operation in the rule
  records. (Arrays saved that are neither stay arrays: constants.)
* ``composite = staticmethod(f)``: ``f(*inputs, **options)`` computes the forward on
  Tensors with ops that are themselves twice differentiable (matmul, sigmoid, ...),
  taking the positional inputs as ``apply`` got them and the node's options. The
  create_graph pass replays it on the node's inputs and differentiates the replay
  (``autograd.grad(f(inputs), inputs, grad_output, create_graph=True)``); ordinary
  backward still runs the fast ``backward``. ``f`` must give the gradients
  ``backward`` gives (the tests check both against finite differences).

A Function with neither still works with create_graph; differentiating its gradients
again raises "X: its backward is not differentiable".

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
    >>> y = Cube.apply(x)
    >>> y.grad_fn.name(), y.grad_fn.next_functions[0][0].name()
    ('CubeBackward0', 'AccumulateGrad')
    >>> y.backward(); x.grad.item()
    12.0

A fused op made twice differentiable by a composite (its fast ``backward`` stays for
ordinary passes)::

    >>> from autograd_core import autograd
    >>> class Softplus(Function):
    ...     composite = staticmethod(lambda x: (x.exp() + 1).log())
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return np.logaddexp(0, x)
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad / (1 + np.exp(-x))
    >>> x = Tensor(0.0, requires_grad=True)
    >>> (g,) = autograd.grad(Softplus.apply(x), x, create_graph=True)   # sigmoid(x)
    >>> autograd.grad(g, x)[0].item()                                   # sigmoid'(0)
    0.25
"""

import weakref

import numpy as np

from autograd_core import versions
from autograd_core.grad_mode import _state
from autograd_core.ops._dtypes import promote, to_float
from autograd_core.ops._shapes import broadcast_shape
from autograd_core.tensor import Tensor

__all__ = ["Function", "Context", "AccumulateGrad"]

_FREED_MESSAGE = (
    "{op}: trying to backward through the graph a second time, or to read values saved "
    "for backward after they were freed. A backward() frees the saved arrays of the graph "
    "it ran through; pass retain_graph=True to the first backward() to run it again."
)

# After backward frees a node, constant inputs up to this size stay (the teaching tools
# replay the forward from them); larger ones (a batch of images) are held weakly, so a
# kept loss does not keep its data alive.
KEPT_CONSTANT_BYTES = 64 * 1024


class _Weak:
    """A constant input held by weak reference after its node was freed."""

    __slots__ = ("ref",)

    def __init__(self, value):
        self.ref = weakref.ref(value)


class AccumulateGrad:
    """The node of a leaf that requires grad: backward adds into ``variable.grad``.

    One per leaf (shared by every op that uses it), as in PyTorch.
    """

    __slots__ = ("variable", "_hooks", "__weakref__")
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable
        self._hooks = None

    @staticmethod
    def name() -> str:
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


def accumulator(tensor: Tensor) -> AccumulateGrad:
    """The leaf's :class:`AccumulateGrad` node (created on first use, then shared)."""
    ref = tensor._accumulator
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._accumulator = weakref.ref(node)  # weak: the node holds the tensor
    return node


class Context:
    """What a recorded operation remembers: the node of the graph (``grad_fn``).

    Attributes
    ----------
    fn : type[Function]
        The function that produced the output.
    options : dict
        The keyword options (non-array arguments such as ``dim`` or ``stride``).
    needs_input_grad : tuple[bool, ...]
        For each positional input, whether a gradient is wanted for it.
    next_functions : tuple
        For each positional input, ``(node, 0)``: the parent's node, an
        :class:`AccumulateGrad` for a leaf that requires grad, or None.
    """

    __slots__ = ("fn", "options", "needs_input_grad", "epoch", "_inputs", "_saved",
                 "_saved_from", "freed", "_output", "_hooks", "_saved_view",
                 "_out_shape", "_out_dtype", "retains_grad", "__dict__", "__weakref__")

    def __init__(self, fn, inputs=(), options=None, needs_input_grad=()):
        self.fn = fn
        self._inputs = inputs
        self.options = options if options is not None else {}
        self.needs_input_grad = needs_input_grad
        self.epoch = versions._epoch  # in-place changes made before this node
        self._saved = ()
        self._saved_from = None
        self.freed = False
        self._output = None
        self._hooks = None
        self._saved_view = None
        self.retains_grad = False  # set by Tensor.retain_grad() on the output

    # ------------------------------------------------------------ PyTorch's node API
    def name(self) -> str:
        """The node's name as PyTorch spells it: ``MulBackward0``, ``Conv2dBackward0``."""
        return self.fn.__name__ + "Backward0"

    @property
    def op_name(self) -> str:
        """The op's own name, as the teaching tools show it: ``Mul``, ``Conv2d``."""
        return self.fn.__name__

    @property
    def next_functions(self) -> tuple:
        return tuple((x if isinstance(x, (Context, AccumulateGrad)) else None, 0)
                     for x in self._inputs)

    def register_hook(self, hook):
        """``hook(grad_output) -> grad or None``, called before this node's backward."""
        self._hooks = (self._hooks or ()) + (hook,)
        return hook

    # ------------------------------------------------------------ what backward needs
    def save_for_backward(self, *arrays):
        """Keep arrays (or None) for ``backward``; freed after it unless ``retain_graph``."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """The arrays given to :meth:`save_for_backward`, in the same order.

        While a ``create_graph=True`` backward runs this node, they are Tensors that
        belong to the graph (the node's inputs and output), so the rule records.
        """
        if self._saved_view is not None:
            return self._saved_view
        if self.freed:
            raise RuntimeError(_FREED_MESSAGE.format(op=self.op_name))
        return self._saved

    def input_slots(self) -> tuple:
        """Per positional input: a parent node, an AccumulateGrad, or the constant."""
        return tuple(x.ref() if type(x) is _Weak else x for x in self._inputs)

    def output(self):
        """The Tensor this node produced, if the user still holds it, else None."""
        return self._output() if self._output is not None else None

    @property
    def inputs(self) -> tuple:
        """The positional inputs as Tensors and constants, for the teaching tools.

        A parent whose tensor the user dropped is rebuilt by re-running its forward
        from its own inputs (every forward is a pure function of them); the rebuilt
        tensor lives as long as the caller holds it. Visit nodes parents-first
        (``autograd.topological_order``) so each rebuild is one forward.
        """
        values = []
        for i, slot in enumerate(self._inputs):
            if type(slot) is _Weak:
                value = slot.ref()
                if value is None:
                    raise RuntimeError(
                        f"{self.op_name}: input {i} (a constant larger than "
                        f"{KEPT_CONSTANT_BYTES // 1024} KiB) was released after backward(); "
                        "keep a reference to it, or draw the graph before backward() or "
                        "with retain_graph=True"
                    )
                values.append(value)
            elif isinstance(slot, Context):
                tensor = slot.output()
                values.append(tensor if tensor is not None else slot._rebuild_output())
            elif isinstance(slot, AccumulateGrad):
                values.append(slot.variable)
            else:
                values.append(slot)
        return tuple(values)

    def parents(self) -> tuple:
        """The inputs that are Tensors (constants are not part of the graph)."""
        return tuple(x for x in self.inputs if isinstance(x, Tensor))

    def _rebuild_output(self):
        """This node's output, recomputed from its inputs (see :attr:`inputs`)."""
        inputs = self.inputs
        arrays = [x._data if isinstance(x, Tensor) else x for x in inputs]
        if self.fn.promotes:
            _promote_inputs(arrays, self.fn.promotes, self.fn.float_only, self.fn)
        fresh = Context(self.fn, inputs, self.options, (False,) * len(inputs))
        out = Tensor._make(np.asarray(self.fn.forward(fresh, *arrays, **self.options)))
        out._ctx, out._requires_grad = self, True
        self._output = weakref.ref(out)
        return out

    def check_versions(self):
        """Raise if an input whose array was saved for backward changed in place since.

        Each in-place change of a Tensor (``+=``, ``t[i] = v``, an optimizer step, ...)
        gives it a new version epoch (``versions.mark_modified``); an input whose epoch is
        later than this node's and whose array was saved would give wrong gradients.
        """
        if self.epoch == versions.epoch():
            return  # nothing anywhere changed in place since this node was recorded
        for i, slot in enumerate(self.input_slots()):
            x = _tensor_of(slot)
            if x is not None and x._version > self.epoch and self._saved_input(i, x):
                raise RuntimeError(
                    f"backward: input {i} of {self.op_name} (shape {x.shape}) was modified "
                    "in place after the forward pass, so its gradients would be wrong. Make "
                    "in-place changes (e.g. optimizer.step()) after backward(), or use an "
                    "out-of-place op."
                )

    def _saved_input(self, i, x) -> bool:
        """Whether input ``i`` (the Tensor ``x``) was saved for backward: its very array,
        or, on the scalar fast path, its value as a NumPy scalar taken from it."""
        sources = self._saved_from or (None,) * len(self._saved)
        return any(saved is x._data or (source == i and isinstance(saved, np.generic))
                   for saved, source in zip(self._saved, sources))

    def free(self):
        """Drop the arrays saved for backward; the graph's structure stays (for drawing).

        As in PyTorch, attributes a forward set on ``ctx`` itself (shapes, small
        statistics) are kept until the graph is dropped; large arrays belong in
        :meth:`save_for_backward`. Large constant inputs are held weakly from now on.
        """
        self._saved = ()
        self._saved_from = None
        self.freed = True
        inputs = self._inputs
        for x in inputs:
            kind = type(x)
            if kind is not Context and kind is not AccumulateGrad and x is not None:
                self._inputs = tuple(_weaken(x) for x in inputs)  # some constant to weaken
                break

    def __repr__(self):
        return f"<{self.name()}>"


def _tensor_of(slot):
    """The Tensor behind an input slot, if it still exists."""
    if isinstance(slot, Context):
        return slot.output()
    if isinstance(slot, AccumulateGrad):
        return slot.variable
    return slot if isinstance(slot, Tensor) else None


def _weaken(x):
    """A constant input as a freed node keeps it: weakly when larger than the limit."""
    array = x._data if isinstance(x, Tensor) else x
    if isinstance(array, np.ndarray) and array.nbytes > KEPT_CONSTANT_BYTES:
        return _Weak(x)
    return x


class Function:
    """Base class of every operation: subclass it and write ``forward``/``backward``.

    See the module docstring for the contract and examples. For gradients of gradients
    set ``twice_differentiable = True`` (the backward also runs on Tensors) or name a
    ``composite`` forward of differentiable ops, which a create_graph pass replays and
    differentiates (the fused recurrent layers and attention do so).
    """

    promotes = ()
    float_only = False
    formula = None
    twice_differentiable = False
    composite = None  # a differentiable replay of forward, for create_graph (module doc)
    #: ``forward`` and ``backward`` also compute on NumPy scalars (np.float32, np.float64)
    #: exactly as on 0-d arrays: the op may take the scalar fast path (``_apply_scalar``).
    scalar_fast_path = False
    #: ``indexed_backward(ctx, grad) -> (index, values) | None`` (module docstring).
    indexed_backward = None
    #: ``lean_apply(*inputs) -> Tensor | None``: the op on the lean scalar path
    #: (``scalar_graph``, which sets it for its ops), tried first on scalar inputs.
    lean_apply = None

    @staticmethod
    def forward(ctx, *inputs, **options):
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("Function subclasses must implement backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor:
        """Run the op on Tensors (or constants); record a node when gradients are wanted."""
        if cls.scalar_fast_path and inputs and not (
                isinstance(inputs[0], Tensor) and inputs[0]._data.shape):  # n-d: arrays
            out = _apply_scalar(cls, inputs, options)
            if out is not None:
                return out
        arrays = []
        needs = []
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x._data)
                needs.append(x._requires_grad)
            else:
                if x is not None and (type(x) is np.ndarray and x.dtype.kind not in "biuf"
                                      or not isinstance(x, _CONSTANT_TYPES)):
                    _reject_input(cls, x)
                arrays.append(x)
                needs.append(False)
        promotes = cls.promotes
        if promotes:
            if len(promotes) == 2 and not cls.float_only:
                a, b = arrays[promotes[0]], arrays[promotes[1]]
                # the common case, two arrays of one dtype and shape, needs nothing
                if not (type(a) is np.ndarray and type(b) is np.ndarray and
                        a.dtype is b.dtype and a.shape == b.shape):
                    _promote_inputs(arrays, promotes, False, cls)
            else:
                _promote_inputs(arrays, promotes, cls.float_only, cls)
        record = True in needs and _state.enabled
        ctx = Context(cls, (), options, tuple(needs) if record else (False,) * len(inputs))
        result = cls.forward(ctx, *arrays, **options)
        data = result if type(result) is np.ndarray else np.asarray(result)
        out = Tensor._make(data)
        # Only floating-point results are differentiable (a cast to int or bool ends the
        # graph, as in PyTorch).
        if record and data.dtype.kind == "f":
            slots = []
            for x in inputs:  # _slot, inlined: this runs once per recorded op
                if isinstance(x, Tensor):
                    node = x._ctx
                    if node is None and x._requires_grad:
                        ref = x._accumulator
                        node = ref() if ref is not None else None
                        if node is None:
                            node = accumulator(x)
                    slots.append(x if node is None else node)
                else:
                    slots.append(x)
            ctx._inputs = tuple(slots)
            saved = ctx._saved
            if saved:
                ctx._saved_from = _sources(saved, arrays, result)
            ctx._output = weakref.ref(out)
            ctx._out_shape, ctx._out_dtype = data.shape, data.dtype
            out._ctx = ctx
            out._requires_grad = True
        return out


    @classmethod
    def _apply_keeping_context(cls, *inputs, **options) -> tuple:
        """``(cls.apply(*inputs, **options), ctx)``: the output and the Context its
        ``forward`` ran on, also when no node is recorded (``apply`` drops it then).

        For ops that leave side results on the context (BatchNorm's batch statistics).
        When no input requires grad (or grad mode is off), the inputs are Tensors or
        None and the op has no dtype promotion or scalar fast path, ``apply`` only runs
        ``forward`` on the inputs' arrays and wraps the result: that is done here, with
        the context kept. Otherwise ``apply`` runs, and ``ctx`` is its node (None when
        it recorded none).
        """
        plain = not cls.promotes and not cls.scalar_fast_path and all(
            x is None or isinstance(x, Tensor) for x in inputs)
        if not plain or (_state.enabled and any(
                x is not None and x._requires_grad for x in inputs)):
            out = cls.apply(*inputs, **options)
            return out, out._ctx
        ctx = Context(cls, (), options, (False,) * len(inputs))
        result = cls.forward(ctx, *(None if x is None else x._data for x in inputs),
                             **options)
        return Tensor._make(result if type(result) is np.ndarray else np.asarray(result)), ctx


def _sources(saved, arrays, output) -> tuple:
    """Where each saved array came from: input i, the output (-1), or neither (None)."""
    found = []
    for item in saved:
        source = None
        if item is output:
            source = -1
        else:
            for i, array in enumerate(arrays):
                if item is array:
                    source = i
                    break
        found.append(source)
    return tuple(found)


_CONSTANT_TYPES = (int, float, bool, np.ndarray, np.generic, list, tuple)

# ---------------------------------------------------------------- the scalar fast path
# A micrograd-style graph is thousands of ops on 0-d tensors. On a 0-d array every NumPy
# operation costs about 0.25 us of dispatch, on a NumPy scalar (np.float32, np.float64)
# about 0.03 us, and both compute the very same IEEE operation in the tensor's dtype
# (float32 results are rounded to float32 after each op, as in PyTorch). So when every
# Tensor input of an op is 0-d of one float dtype and the other inputs are Python numbers
# (which promote the same way in both paths), ``_apply_scalar`` runs the op's own
# ``forward`` on NumPy scalars and records an ordinary node (the same Context, formula and
# next_functions; the output is still a Tensor holding a 0-d array). Its ``backward`` then
# runs on NumPy scalars too (the engine accepts a NumPy scalar of the input's dtype as a
# finished 0-d gradient). Anything else (broadcasting with n-d, mixed dtypes, NumPy
# constants, ints and bools) returns None and takes the array path, which is unchanged.

_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)
_EXACT_INT = 2 ** 24  # ints up to this are exact in float32: both paths see one value


def _apply_scalar(cls, inputs, options):
    """``cls.apply`` on NumPy scalars, or None when the inputs do not qualify.

    One pass over the inputs collects the values, what each needs and what the node
    will keep for it (its slot), so recording costs no second pass. Float64 scalars
    take the lean path first (``scalar_graph``), where the op has one.
    """
    lean = cls.lean_apply
    if lean is not None and not options:
        x = inputs[0] if isinstance(inputs[0], Tensor) else inputs[-1]
        # (a float64 scalar or a lean one: a float32 graph pays two checks, not a try)
        if isinstance(x, Tensor) and (x._value is not None or x._data.dtype is _FLOAT64):
            out = lean(*inputs)
            if out is not None:
                return out
    enabled = _state.enabled
    dtype = None
    values, needs, slots = [], [], []
    for x in inputs:
        if isinstance(x, Tensor):
            data = x._data
            if data.shape or (data.dtype is not dtype and dtype is not None):
                return None
            dtype = data.dtype
            values.append(data[()])  # the value as a NumPy scalar of the tensor's dtype
            if x._requires_grad and enabled:
                needs.append(True)
                slots.append(x._ctx if x._ctx is not None else accumulator(x))
                continue
        elif type(x) is float or (type(x) is int and -_EXACT_INT <= x <= _EXACT_INT):
            values.append(x)
        else:
            return None
        needs.append(False)
        slots.append(x)
    if dtype is not _FLOAT32 and dtype is not _FLOAT64:  # no Tensor, float16, ints, bool
        return None
    record = True in needs
    ctx = Context(cls, (), options, tuple(needs))
    result = cls.forward(ctx, *values, **options)
    data = np.asarray(result)
    out = Tensor._make(data)
    if record and data.dtype.kind == "f":
        ctx._inputs = tuple(slots)
        saved = ctx._saved
        if saved:
            ctx._saved_from = _sources(saved, values, result)
        ctx._output = weakref.ref(out)
        ctx._out_shape, ctx._out_dtype = (), data.dtype
        out._ctx = ctx
        out._requires_grad = True
    return out


def _promote_inputs(arrays, positions, float_only, cls):
    if len(positions) == 2:
        i, j = positions
        a, b = arrays[i], arrays[j]
        if type(a) is np.ndarray and type(b) is np.ndarray:
            if a.shape != b.shape:
                broadcast_shape(a.shape, b.shape, cls.__name__)
        elif a is None or b is None:
            raise TypeError(f"{cls.__name__}: unsupported operand None")
        arrays[i], arrays[j] = promote(a, b)
    if float_only:
        if len(positions) == 2 and (_is_float(arrays[positions[0]])
                                    or _is_float(arrays[positions[1]])):
            # Next to a float operand a Python int stays a number, so it is computed in
            # that operand's dtype (as PyTorch: a float64 tensor / 16777217 is not
            # rounded to float32's 16777216 first). (One input: to_float keeps floats.)
            return
        for i in positions:  # integers only: they become the default float
            arrays[i] = to_float(arrays[i])


def _is_float(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in "fc"


def _reject_input(cls, x):
    raise TypeError(
        f"{cls.__name__}: unsupported operand of type {type(x).__name__}"
        + (f" with dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        + "; expected a Tensor, a number or a numeric array"
    )
