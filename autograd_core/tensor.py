"""Tensor: a NumPy array that remembers how it was computed.

A Tensor holds an ``np.ndarray`` (a scalar is a 0-d array, so the same class serves
micrograd-style scalar graphs and batched CNNs), ``grad`` (a Tensor or None),
``requires_grad``, and, when an op produced it while recording, ``grad_fn``: the node
of the graph (``function.Context``). This module keeps the fields, the properties and
one-line methods; the ops themselves live in ``autograd_core.ops`` and their functional
forms become Tensor methods there (``ops._registry``), written once.

Construction and dtypes (as PyTorch, with NumPy arrays in the role of tensors):

* Python floats and lists of floats become float32; Python ints int64; bools bool;
* a NumPy array keeps its dtype (float32 or float64 for anything that needs grad);
* integer and bool tensors cannot require grad (a ``DTypeError``).

>>> from autograd_core import Tensor
>>> w = Tensor(2.0, requires_grad=True, name="w")
>>> y = w * w + 3 * w
>>> y.backward()
>>> w.grad.item()        # dy/dw = 2w + 3
7.0
"""

import weakref

import numpy as np

from autograd_core import versions
from autograd_core.errors import DTypeError, ShapeError
from autograd_core.grad_mode import _state

__all__ = ["Tensor", "Size", "tensor", "as_tensor", "from_numpy"]


def _to_array(data, dtype) -> np.ndarray:
    """Apply the construction rules: a fresh array of an accepted dtype."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x._data if isinstance(x, Tensor) else x for x in data]
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data, dtype=dtype)
    else:
        try:
            array = np.array(data, dtype=dtype)
        except (ValueError, TypeError) as error:
            raise ValueError(f"cannot make a Tensor from {type(data).__name__}: {error}") from None
        if dtype is None and array.dtype == np.float64 and _default_float() != np.float64:
            array = array.astype(np.float32)  # Python floats are float32, as in PyTorch
    if array.dtype.kind not in "biuf":
        raise DTypeError(
            f"Tensor data must be numeric or bool, got dtype {array.dtype} "
            f"(from {type(data).__name__})"
        )
    return array


class Size(tuple):
    """A shape: a tuple that prints as PyTorch's ``torch.Size([2, 3])``.

    >>> Size((2, 3)) == (2, 3), Size((2, 3)).numel()
    (True, 6)
    """

    __slots__ = ()

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self):
        return f"torch.Size({list(self)})"


class Tensor:
    """An n-dimensional array with automatic differentiation.

    Parameters
    ----------
    data : array_like
        Numbers, nested lists, a NumPy array or another Tensor (copied).
    requires_grad : bool
        Record operations on this tensor so ``backward`` can compute its gradient.
    dtype : numpy dtype, optional
        Convert to this dtype (``np.float64``, ``"float32"``, ``autograd_core.float64``).
    name : str, optional
        A label for graph drawings and generated code.
    """

    __slots__ = ("_data", "_grad", "_requires_grad", "_ctx", "name", "_retains_grad",
                 "_version", "_accumulator", "_hooks", "_post_accumulate_hooks",
                 # the lean scalar path (scalar_graph): its value as a Python float
                 # (None on every other tensor), its lean node (on an ordinary tensor:
                 # the 0-d float64 array the lean ops last found fit, or None), and the
                 # backward's fields
                 "_value", "_lean", "_seq", "_lmark", "_lgrad", "__weakref__")

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        init_fields(self, _to_array(data, dtype))
        self.name = name
        if requires_grad:
            self.requires_grad_(True)

    def __reduce_ex__(self, protocol):
        # copy.copy / copy.deepcopy: a lean scalar becomes an ordinary tensor first, so
        # a copy never shares its lean node's creation number (scalar_graph) with it
        if self._value is not None:
            _scalar_graph.materialise(self)
        return object.__reduce_ex__(self, protocol)

    @classmethod
    def _make(cls, data: np.ndarray):
        """Wrap an array without copying or checks (the ops' fast path)."""
        t = object.__new__(Tensor)
        init_fields(t, data)
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def data(self):
        """The same values as a Tensor outside the graph, sharing memory (as PyTorch)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        if self._value is not None:
            _scalar_graph.materialise(self)  # its values change: an ordinary tensor
        value = value._data if isinstance(value, Tensor) else np.asarray(value)
        if self._requires_grad and value.dtype.kind != "f":
            raise DTypeError(
                f"cannot set data of dtype {value.dtype} on a tensor that requires grad"
            )
        self._data = value

    @property
    def grad(self):
        """The gradient (a Tensor) accumulated by ``backward``, or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is None:
            self._grad = None
            return
        array = value._data if isinstance(value, Tensor) else np.asarray(value)
        if array.shape != self._data.shape:
            raise ShapeError(
                f"assigned grad has shape {array.shape} but the tensor has shape "
                f"{self._data.shape}"
            )
        self._grad = value if isinstance(value, Tensor) else Tensor._make(array)

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True):
        """Set ``requires_grad`` in place (floating-point tensors only); returns self."""
        if self._value is not None:
            _scalar_graph.materialise(self)  # becomes a leaf: an ordinary tensor
        if requires_grad and self._data.dtype.kind != "f":
            raise DTypeError(
                "only floating-point tensors can require gradients; this tensor has dtype "
                f"{self._data.dtype} (convert it first, e.g. t.float())"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError(
                "requires_grad can only be switched off on leaf tensors; use detach()"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        """True unless an op produced this tensor while recording a graph."""
        if self._value is not None:
            return self._lean is None  # a lean scalar (scalar_graph): has it a node?
        return self._ctx is None

    @property
    def grad_fn(self):
        """The node that produced this tensor (a ``Context``), or None for leaves."""
        return self._ctx

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self):
        """Always the CPU: this engine runs on NumPy."""
        from autograd_core.device import device

        return device("cpu")

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def T(self):
        """All dims reversed (the matrix transpose for 2-D tensors)."""
        return self if self.ndim < 2 else self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrix transposes)."""
        return self.transpose(-2, -1)

    def size(self, dim=None):
        """The shape, or the size of one dim (as ``torch.Tensor.size``)."""
        if dim is None:
            return self.shape
        return self._data.shape[_shapes.normalize_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self._data

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self._data.shape}"
            )
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {tuple(self.shape)} is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data.item())

    def __format__(self, spec):
        if self._data.ndim == 0 or (spec and self._data.size == 1):
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    __hash__ = object.__hash__  # tensors are dict keys (optimizer state) by identity

    def __repr__(self):
        """As PyTorch prints: ``tensor([1., 2.], requires_grad=True)``."""
        from autograd_core._printing import tensor_repr

        if self._value is not None:  # a lean scalar: its node's name, without making it
            node = _scalar_graph.node_name(self)
        else:
            node = self._ctx.name() if self._ctx is not None else None
        return tensor_repr(self._data, node, self._requires_grad, self.name)

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d self / d leaf into every leaf's ``.grad`` (``autograd.backward``)."""
        if self._value is not None and gradient is None and not create_graph and \
                inputs is None and _scalar_graph.backward(self, retain_graph):
            return  # a lean scalar graph, run by its own loop (scalar_graph)
        _engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """The same data (shared) outside the graph: no grad_fn, no requires_grad."""
        return Tensor._make(self._data)

    def detach_(self):
        """Make this tensor a leaf outside the graph, in place."""
        if self._value is not None:
            _scalar_graph.materialise(self)
        self._ctx, self._requires_grad = None, False
        return self

    def retain_grad(self):
        """Keep this interior tensor's gradient in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._ctx is not None:
            self._retains_grad = True
            self._ctx.retains_grad = True
        return self

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None``, called with this tensor's gradient during
        backward; a returned Tensor replaces the gradient (as PyTorch)."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        if self._ctx is not None:
            return self._ctx.register_hook(hook)
        self._hooks = (self._hooks or ()) + (hook,)
        return hook

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)``, called after backward has accumulated into a leaf's ``.grad``."""
        if self._ctx is not None:
            raise RuntimeError("post-accumulate-grad hooks can only be registered on leaves")
        self._post_accumulate_hooks = (self._post_accumulate_hooks or ()) + (hook,)
        return hook

    # ----------------------------------------------------------------- in place
    # In-place changes go through versions.mark_modified; backward refuses to use an
    # array that was saved for it and changed since (Context.check_versions). A leaf
    # that requires grad may only change in place under ``no_grad()``.
    def _check_in_place(self, op):
        if self._requires_grad and self._ctx is None and _state.enabled:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad cannot be changed in place while "
                "grad mode is on; wrap it in `with no_grad():` (e.g. for initialisation or "
                "a manual update, `with no_grad(): p -= lr * p.grad`) or use an out-of-place op"
            )

    def _writable_data(self, op) -> np.ndarray:
        data = self._data
        if not data.flags.writeable:
            raise ValueError(
                f"{op}: this tensor's array is read-only (e.g. the result of expand()); "
                "make a copy first"
            )
        return data

    def _rebind(self, result):
        """Become ``result`` (the output of an in-place op recorded out of place)."""
        if self._ctx is not None:
            self._ctx._output = None  # the old node's output is no longer this tensor
        self._data, self._ctx, self._requires_grad = result._data, result._ctx, True
        if result._ctx is not None:
            result._ctx._output = weakref.ref(self)
        versions.mark_modified(self)
        return self

    def _in_place(self, other, op, ufunc, symbol):
        """``self <symbol>= other``: in place when no graph is involved, else recorded as
        ``self = self <symbol> other`` (the tensor becomes the new node's output)."""
        if _state.enabled and (self._requires_grad or (
                isinstance(other, Tensor) and other._requires_grad)):
            self._check_in_place(f"{symbol}=")
            return self._rebind(op(self, other))
        other_data = other._data if isinstance(other, Tensor) else other
        if other_data is None or not isinstance(other_data, (int, float, bool, np.ndarray,
                                                             np.generic)):
            raise TypeError(f"{symbol}=: unsupported operand of type "
                            f"{type(other_data).__name__}")
        data = self._writable_data(f"{symbol}=")
        try:
            ufunc(data, other_data, out=data, casting="same_kind")
        except TypeError:
            raise DTypeError(
                f"{symbol}=: the result of {self.dtype} {symbol} "
                f"{np.result_type(other_data)} cannot be stored in place in a "
                f"{self.dtype} tensor"
            ) from None
        except ValueError:
            raise ShapeError(
                f"{symbol}=: cannot update shape {tuple(self.shape)} in place with shape "
                f"{np.shape(other_data)} (the result would have another shape)"
            ) from None
        versions.mark_modified(self)
        return self

    def __iadd__(self, other):
        return self._in_place(other, _ew.add, np.add, "+")

    def __isub__(self, other):
        return self._in_place(other, _ew.sub, np.subtract, "-")

    def __imul__(self, other):
        return self._in_place(other, _ew.mul, np.multiply, "*")

    def __itruediv__(self, other):
        return self._in_place(other, _ew.div, np.true_divide, "/")

    def add_(self, other, *, alpha=1):
        return self.__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other, *, alpha=1):
        return self.__isub__(other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other):
        return self.__itruediv__(other)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_in_place("fill_")
        self._writable_data("fill_")[...] = value._data if isinstance(value, Tensor) else value
        versions.mark_modified(self)
        return self

    def copy_(self, src):
        """Copy values from ``src`` (broadcast to this shape, cast to this dtype)."""
        self._check_in_place("copy_")
        source = src._data if isinstance(src, Tensor) else src
        try:
            np.copyto(self._writable_data("copy_"), np.broadcast_to(source, self._data.shape),
                      casting="unsafe")
        except ValueError:
            raise ShapeError(
                f"copy_: cannot copy shape {np.shape(source)} into shape {tuple(self.shape)}"
            ) from None
        versions.mark_modified(self)
        return self

    def clamp_(self, min=None, max=None):  # noqa: A002 - torch's names
        if _state.enabled and self._requires_grad:
            self._check_in_place("clamp_")
            return self._rebind(self.clamp(min, max))
        np.clip(self._writable_data("clamp_"), min, max, out=self._data)
        versions.mark_modified(self)
        return self

    def _assign(self, result, op):
        """Make this tensor hold ``result`` (an in-place op computed out of place): it
        becomes the new node's output when a graph is involved, else the values are
        written into its array (cast to its dtype, as PyTorch)."""
        if _state.enabled and (self._requires_grad or result._requires_grad):
            self._check_in_place(op)
            if result.dtype != self.dtype:
                result = result.to(self.dtype)
            return self._rebind(result)
        if result.shape != self.shape:
            raise ShapeError(f"{op}: the result has shape {tuple(result.shape)}, which cannot "
                             f"be stored in place in shape {tuple(self.shape)}")
        if result.dtype.kind == "f" and self._data.dtype.kind in "biu":
            raise DTypeError(f"{op}: the result of dtype {result.dtype} cannot be stored in "
                             f"place in a {self.dtype} tensor")
        np.copyto(self._writable_data(op), result._data, casting="unsafe")
        versions.mark_modified(self)
        return self

    def _fill_random(self, op, draw):
        """``normal_``, ``uniform_`` and friends: new values from ``draw(shape)``."""
        self._check_in_place(op)
        np.copyto(self._writable_data(op), draw(self._data.shape), casting="unsafe")
        versions.mark_modified(self)
        return self

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with samples of N(mean, std^2) (from ``generator`` or the global one)."""
        from autograd_core.random import generator_of

        return self._fill_random("normal_", lambda shape: generator_of(generator).normal(
            mean, std, size=shape))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with samples of the uniform distribution on [a, b)."""
        from autograd_core.random import generator_of

        return self._fill_random("uniform_", lambda shape: generator_of(generator).uniform(
            a, b, size=shape))

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 1 with probability ``p`` (a number or a tensor), else 0."""
        from autograd_core.random import generator_of

        prob = _array(p)
        return self._fill_random("bernoulli_", lambda shape: generator_of(generator).random(
            shape) < prob)

    def exponential_(self, lambd=1.0, *, generator=None):
        from autograd_core.random import generator_of

        return self._fill_random("exponential_", lambda shape: generator_of(
            generator).exponential(1.0 / lambd, size=shape))

    def random_(self, low=0, high=None, *, generator=None):
        """Fill with integers drawn uniformly from [low, high)."""
        from autograd_core.random import generator_of

        if high is None:
            low, high = 0, low if low else 2 ** 24
        return self._fill_random("random_", lambda shape: generator_of(generator).integers(
            low, high, size=shape))

    def __setitem__(self, index, value):
        """``t[index] = value``. When ``value`` requires grad (grad mode on), ``t``
        becomes the output of a ``SetItem`` node, so gradients reach both the old
        contents of ``t`` (outside ``index``) and ``value``, as in PyTorch."""
        index = _mv.normalize_index(index)
        value_grad = isinstance(value, Tensor) and value._requires_grad
        if _state.enabled and (self._requires_grad or value_grad):
            self._check_in_place("__setitem__")
            self._rebind(_mv.SetItem.apply(self, value, index=index))
            return
        data = self._writable_data("__setitem__")
        array = value._data if isinstance(value, Tensor) else value
        try:
            data[index] = array
        except ValueError as error:
            raise ShapeError(
                f"__setitem__: cannot assign shape {np.shape(array)} to index {index!r} of "
                f"a tensor of shape {tuple(self.shape)}: {error}"
            ) from None
        versions.mark_modified(self)

    def __getitem__(self, index):
        return _mv.getitem(self, index)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ----------------------------------------------------------------- operators
    # The method forms (t.add, t.exp, t.sum, ...) are attached from the ops' functional
    # forms at the end of this module; the operators are one line each, except
    # + - * / ** and unary minus (and relu, exp, log, tanh, sigmoid), which come from
    # scalar_graph: they try the lean path for float64 scalars first, then apply the op.
    def __rpow__(self, other):
        return _ew.pow_(other, self)

    def __matmul__(self, other):
        return _la.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return _la.MatMul.apply(other, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs.apply(self)

    def __eq__(self, other):
        return _ew.eq(self, other)

    def __ne__(self, other):
        return _ew.ne(self, other)

    def __lt__(self, other):
        return _ew.lt(self, other)

    def __le__(self, other):
        return _ew.le(self, other)

    def __gt__(self, other):
        return _ew.gt(self, other)

    def __ge__(self, other):
        return _ew.ge(self, other)

    def __invert__(self):
        return _ew.bitwise_not(self)

    def __and__(self, other):
        return _ew.bitwise_and(self, other)

    def __rand__(self, other):
        return _ew.bitwise_and(other, self)

    def __or__(self, other):
        return _ew.bitwise_or(self, other)

    def __ror__(self, other):
        return _ew.bitwise_or(other, self)

    def __xor__(self, other):
        return _ew.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ew.bitwise_xor(other, self)

    def __lshift__(self, other):
        return _ew.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _ew.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _ew.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _ew.bitwise_right_shift(other, self)

    def __mod__(self, other):
        return _ew.Remainder.apply(self, other)

    def __rmod__(self, other):
        return _ew.Remainder.apply(other, self)

    def __floordiv__(self, other):
        return _ew.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ew.floor_divide(other, self)

    # ----------------------------------------------------------------- dtype
    def to(self, *args, dtype=None, device=None, copy=False, **unused):
        """Convert to a dtype (a differentiable cast); a device other than the CPU is
        refused with a clear error (``to("cpu")`` is a no-op)."""
        from autograd_core.device import check_device

        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif _is_device(arg):
                check_device(arg)
            else:
                dtype = arg
        if device is not None:
            check_device(device)
        if dtype is None:
            return self.clone() if copy else self
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self.clone() if copy else self
        return _ew.Cast.apply(self, dtype=dtype)

    def cpu(self):
        return self

    def cuda(self, device=None, non_blocking=False):
        """Raises: this library runs on the CPU only."""
        from autograd_core.device import check_device

        check_device("cuda" if device is None else device)

    def type(self, dtype=None, non_blocking=False):
        """PyTorch's type name (``"torch.FloatTensor"``) without an argument, else the
        tensor converted to ``dtype`` (a dtype or such a name)."""
        if dtype is None:
            return "torch." + _TYPE_NAMES.get(self._data.dtype.name, "Tensor")
        if isinstance(dtype, str) and dtype.startswith("torch."):
            names = {v: k for k, v in _TYPE_NAMES.items()}
            if dtype[6:] not in names:
                raise ValueError(f"type: unknown tensor type {dtype!r}")
            dtype = names[dtype[6:]]
        return self.to(dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    def new_tensor(self, data, dtype=None, requires_grad=False, **unused):
        """A new tensor of ``data`` (this tensor's dtype unless given)."""
        return Tensor(data, requires_grad=requires_grad,
                      dtype=dtype if dtype is not None else self._data.dtype)

    def new_zeros(self, *size, dtype=None, requires_grad=False, **unused):
        return self.new_full(_shapes.shape_arg(size), 0, dtype=dtype,
                             requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False, **unused):
        return self.new_full(_shapes.shape_arg(size), 1, dtype=dtype,
                             requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False, **unused):
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, **unused):
        """A tensor of ``size`` filled with ``fill_value``, of this tensor's dtype."""
        array = np.full(tuple(size), fill_value,
                        dtype=dtype if dtype is not None else self._data.dtype)
        out = Tensor._make(array)
        return out.requires_grad_(True) if requires_grad else out

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def clone(self):
        """A copy with its own memory; gradients flow back to the original."""
        return _ew.Cast.apply(self, dtype=self._data.dtype) if self._requires_grad and \
            _state.enabled else Tensor._make(self._data.copy())


def _default_float():
    from autograd_core.ops._dtypes import default_float

    return default_float()


def init_fields(t: Tensor, data: np.ndarray):
    """The one place a Tensor's fields are set."""
    t._data = data
    t._grad = None
    t._requires_grad = False
    t._ctx = None
    t.name = None
    t._retains_grad = False
    t._version = 0  # raised by every in-place change (versions.mark_modified)
    t._accumulator = None
    t._hooks = None
    t._post_accumulate_hooks = None
    t._value = None  # not a lean scalar (scalar_graph)
    t._lean = None  # (and no array checked by its lean ops yet)


def _array(x):
    return x._data if isinstance(x, Tensor) else x


# PyTorch's legacy type names, as Tensor.type() reports them
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _is_device(arg) -> bool:
    return isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "meta") or \
        type(arg).__name__ == "device"


def tensor(data, requires_grad=False, dtype=None, name=None, device=None) -> Tensor:
    """Make a Tensor (the same as ``Tensor(...)``; PyTorch spells it lower-case)."""
    if device is not None:
        from autograd_core.device import check_device

        check_device(device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` itself if it is already a Tensor of that dtype, else a new Tensor."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        _to_array(data[:0] if data.ndim else data, None)  # dtype check only
        return Tensor._make(data)
    return Tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor sharing memory with ``array`` (as ``torch.from_numpy``)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(array).__name__}")
    _to_array(array[:0] if array.ndim else array, None)
    return Tensor._make(array)


# The ops import this module (they build Tensors), so they are imported last; then
# their functional forms become methods and NumPy's protocols are wired to them.
from autograd_core import numpy_interop  # noqa: E402
from autograd_core import scalar_graph as _scalar_graph  # noqa: E402
from autograd_core.autograd import engine as _engine  # noqa: E402
from autograd_core.ops import _registry, _shapes  # noqa: E402, I001
from autograd_core.ops import elementwise as _ew  # noqa: E402
from autograd_core.ops import linalg as _la  # noqa: E402
from autograd_core.ops import movement as _mv  # noqa: E402


def _attach(name, fn):
    if name not in _OWN_METHODS:  # a method written here wins over a generated one
        setattr(Tensor, name, fn)


def _in_place_method(name):
    def method(self, *args, **kwargs):
        return self._assign(getattr(self, name)(*args, **kwargs), name + "_")

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` in place (see ``Tensor.{name}``)."
    return method


# The in-place forms PyTorch has for ops that are not written out above.
for _name in ("neg", "abs", "exp", "log", "sqrt", "sigmoid", "tanh", "relu", "pow",
              "floor", "ceil", "round", "trunc", "sign", "masked_fill", "index_put",
              "scatter", "scatter_add", "scatter_reduce", "index_add", "clamp_min",
              "clamp_max", "square", "reciprocal", "sin", "cos", "lerp", "fmod",
              "remainder", "tril", "triu", "log1p", "expm1", "rsqrt", "addmm", "atan2",
              "hypot", "logical_not", "erf"):
    if _name + "_" not in Tensor.__dict__:
        setattr(Tensor, _name + "_", _in_place_method(_name))
del _name

_scalar_graph.install()  # + - * / ** neg relu exp log tanh sigmoid: lean on scalars
_OWN_METHODS = frozenset(Tensor.__dict__)
_registry.on_method(_attach)
Tensor.__array_ufunc__ = numpy_interop.array_ufunc
Tensor.__array_function__ = numpy_interop.array_function
