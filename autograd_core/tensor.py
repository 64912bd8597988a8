"""Tensor: a NumPy array that remembers how it was computed.

A Tensor holds ``data`` (an ``np.ndarray``; a scalar is a 0-d array, so the same class
serves micrograd-style scalar graphs and batched CNNs), ``grad`` (a Tensor or None),
``requires_grad``, and, when an op produced it while recording, ``grad_fn``: the node
of the graph (see ``function.py``). Its methods and operators call the ops in
``autograd_core.ops``; :meth:`backward` runs ``autograd.backward``.

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

import numbers

import numpy as np

from autograd_core._keywords import keyword_aliases
from autograd_core.errors import DTypeError, ShapeError
from autograd_core.grad_mode import _state

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "mark_modified"]

_SCALAR_TYPES = (numbers.Number, np.generic)


def _to_array(data, dtype) -> np.ndarray:
    """Apply the construction rules: a fresh array of an accepted dtype."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data, dtype=dtype)
    else:
        try:
            array = np.array(data, dtype=dtype)
        except (ValueError, TypeError) as error:
            raise ValueError(f"cannot make a Tensor from {type(data).__name__}: {error}") from None
        if dtype is None and array.dtype == np.float64:
            array = array.astype(np.float32)  # Python floats are float32, as in PyTorch
    if array.dtype.kind not in "biuf":
        raise DTypeError(
            f"Tensor data must be numeric or bool, got dtype {array.dtype} "
            f"(from {type(data).__name__})"
        )
    return array


def _unwrap(x):
    """The array of a Tensor, anything else unchanged (numbers, arrays)."""
    return x._data if isinstance(x, Tensor) else x


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
                 "_version", "__weakref__")

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self._data = _to_array(data, dtype)
        self._grad = None
        self._requires_grad = False
        self._ctx = None
        self.name = name
        self._retains_grad = False
        self._version = 0  # raised by every in-place change (see mark_modified)
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray):
        """Wrap an array without copying or checks (the ops' fast path)."""
        t = object.__new__(Tensor)
        t._data = data
        t._grad = None
        t._requires_grad = False
        t._ctx = None
        t.name = None
        t._retains_grad = False
        t._version = 0
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def data(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied)."""
        return self._data

    @data.setter
    def data(self, value):
        value = value._data if isinstance(value, Tensor) else value
        if not isinstance(value, np.ndarray):
            value = np.asarray(value)
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
        return self._ctx is None

    @property
    def grad_fn(self):
        """The node that produced this tensor (a ``Context``), or None for leaves."""
        return self._ctx

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> str:
        """Always ``"cpu"``: this engine runs on NumPy."""
        return "cpu"

    def size(self, dim=None):
        """The shape, or the size of one dim (as ``torch.Tensor.size``)."""
        if dim is None:
            return self._data.shape
        return self._data.shape[_ops_shapes.normalize_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied, as ``torch.Tensor.numpy``)."""
        return self._data

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy ufuncs on Tensors: arithmetic records a graph, anything else gives arrays."""
        op = _UFUNC_OPS.get(ufunc) if method == "__call__" and not kwargs else None
        if op is not None:
            return op(*inputs)
        arrays = [_unwrap(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(x) for x in kwargs["out"])
        return getattr(ufunc, method)(*arrays, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions on Tensors.

        When an argument requires grad (and grad mode is on), the functions with a
        graph equivalent (``np.sum``, ``np.mean``, ``np.clip``, ``np.concatenate``,
        ``np.stack``, ``np.where``, ``np.reshape``, ``np.transpose``, ``np.max``,
        ``np.min``) run as the engine's ops, so the gradient still flows. Any other
        function sees the plain arrays and returns arrays (outside the graph).
        """
        if _state.enabled and _any_requires_grad(args, kwargs):
            graph_op = _NUMPY_FUNCTIONS.get(func)
            if graph_op is not None:
                try:
                    return graph_op(*args, **kwargs)
                except TypeError:
                    pass  # NumPy-only arguments (out=, dtype=, ...): fall back to arrays

        def unwrap_all(value):
            if isinstance(value, Tensor):
                return value._data
            if isinstance(value, (list, tuple)):
                return type(value)(unwrap_all(v) for v in value)
            return value

        return func(*unwrap_all(args), **{k: unwrap_all(v) for k, v in kwargs.items()})

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
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data.item())

    __hash__ = object.__hash__  # tensors are dict keys (optimizer state) by identity

    def __repr__(self):
        body = np.array2string(
            self._data, precision=4, separator=", ", prefix="Tensor(", suppress_small=True
        )
        extras = []
        if self._data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self._data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "Tensor(" + ", ".join([body] + extras) + ")"

    # ----------------------------------------------------------------- autograd
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d self / d leaf into every leaf's ``.grad`` (see ``autograd.py``)."""
        _autograd.backward(self, grad, retain_graph)

    def detach(self):
        """The same data (shared) outside the graph: no grad_fn, no requires_grad."""
        return Tensor._make(self._data)

    def retain_grad(self):
        """Keep this interior tensor's gradient in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._ctx is not None:
            self._retains_grad = True
        return self

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # ----------------------------------------------------------------- in place
    # In-place changes go through mark_modified; backward refuses to use an array that
    # was saved for it and changed since (see Context.check_versions). A leaf that requires
    # grad may only change in place under ``no_grad()`` (e.g. a hand-written SGD step).
    def _check_in_place(self, op):
        if self._requires_grad and _state.enabled:
            raise RuntimeError(
                f"{op}: in-place change of a tensor that requires grad; wrap it in "
                "`with no_grad():` (e.g. for initialisation or a manual update) or use an "
                "out-of-place op"
            )

    def _writable_data(self, op) -> np.ndarray:
        data = self._data
        if not data.flags.writeable:
            raise ValueError(
                f"{op}: this tensor's array is read-only (e.g. the result of expand()); "
                "make a copy first"
            )
        return data

    def zero_(self):
        self._check_in_place("zero_")
        self._writable_data("zero_")[...] = 0
        mark_modified(self)
        return self

    def fill_(self, value):
        self._check_in_place("fill_")
        self._writable_data("fill_")[...] = _unwrap(value)
        mark_modified(self)
        return self

    def copy_(self, source):
        """Copy values from ``source`` (broadcast to this shape, cast to this dtype)."""
        self._check_in_place("copy_")
        source = _unwrap(source)
        try:
            np.copyto(self._writable_data("copy_"), np.broadcast_to(source, self._data.shape),
                      casting="unsafe")
        except ValueError:
            raise ShapeError(
                f"copy_: cannot copy shape {np.shape(source)} into shape {self.shape}"
            ) from None
        mark_modified(self)
        return self

    def __setitem__(self, index, value):
        """``t[index] = value``. When ``value`` requires grad (grad mode on), ``t``
        becomes the output of a ``SetItem`` node, so gradients reach both the old
        contents of ``t`` (outside ``index``) and ``value``, as in PyTorch."""
        index = _normalize_index(index)
        value_grad = isinstance(value, Tensor) and value._requires_grad
        if _state.enabled and (self._requires_grad or value_grad):
            if self._ctx is None and self._requires_grad:
                self._check_in_place("__setitem__")
            old = Tensor._make(self._data)  # the tensor as it was: keeps the old node
            old._ctx, old._requires_grad, old.name = self._ctx, self._requires_grad, self.name
            old._version = self._version
            result = _mv.SetItem.apply(old, value, index=index)
            self._data, self._ctx = result._data, result._ctx
            self._requires_grad = result._requires_grad
        else:
            data = self._writable_data("__setitem__")
            try:
                data[index] = _unwrap(value)
            except ValueError as error:
                raise ShapeError(
                    f"__setitem__: cannot assign shape {np.shape(_unwrap(value))} to "
                    f"index {index!r} of a tensor of shape {self.shape}: {error}"
                ) from None
        mark_modified(self)

    def _in_place(self, other, op_class, ufunc, symbol):
        """``self <symbol>= other``: in place when no graph is involved, else as
        ``self = self <symbol> other`` (the name is rebound to a new node)."""
        other_grad = isinstance(other, Tensor) and other._requires_grad
        if _state.enabled and (self._requires_grad or other_grad):
            if self._ctx is None and self._requires_grad:
                raise RuntimeError(
                    f"{symbol}=: a leaf tensor that requires grad cannot be changed in place "
                    "while grad mode is on; do manual updates under `with no_grad():`, e.g. "
                    "`with no_grad(): p -= lr * p.grad`"
                )
            return op_class.apply(self, other)
        other_data = _unwrap(other)
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
                f"{symbol}=: cannot update shape {self.shape} in place with shape "
                f"{np.shape(other_data)} (the result would have another shape)"
            ) from None
        mark_modified(self)
        return self

    def __iadd__(self, other):
        return self._in_place(other, _ew.Add, np.add, "+")

    def __isub__(self, other):
        return self._in_place(other, _ew.Sub, np.subtract, "-")

    def __imul__(self, other):
        return self._in_place(other, _ew.Mul, np.multiply, "*")

    def __itruediv__(self, other):
        return self._in_place(other, _ew.Div, np.true_divide, "/")

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _ew.Add.apply(self, other)

    def __radd__(self, other):
        return _ew.Add.apply(other, self)

    def __sub__(self, other):
        return _ew.Sub.apply(self, other)

    def __rsub__(self, other):
        return _ew.Sub.apply(other, self)

    def __mul__(self, other):
        return _ew.Mul.apply(self, other)

    def __rmul__(self, other):
        return _ew.Mul.apply(other, self)

    def __truediv__(self, other):
        return _ew.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _ew.Div.apply(other, self)

    def __pow__(self, other):
        return _ew.Pow.apply(self, other)

    def __rpow__(self, other):
        return _ew.Pow.apply(other, self)

    def __matmul__(self, other):
        return _la.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return _la.MatMul.apply(other, self)

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    # Comparisons give bool tensors outside the graph.
    def __eq__(self, other):
        return Tensor._make(np.asarray(self._data == _unwrap(other)))

    def __ne__(self, other):
        return Tensor._make(np.asarray(self._data != _unwrap(other)))

    def __lt__(self, other):
        return Tensor._make(np.asarray(self._data < _unwrap(other)))

    def __le__(self, other):
        return Tensor._make(np.asarray(self._data <= _unwrap(other)))

    def __gt__(self, other):
        return Tensor._make(np.asarray(self._data > _unwrap(other)))

    def __ge__(self, other):
        return Tensor._make(np.asarray(self._data >= _unwrap(other)))

    def __invert__(self):
        if self._data.dtype != np.bool_:
            raise DTypeError(f"~ is defined for bool tensors, not {self.dtype}")
        return Tensor._make(~self._data)

    def __and__(self, other):
        return Tensor._make(np.asarray(self._data & _unwrap(other)))

    def __or__(self, other):
        return Tensor._make(np.asarray(self._data | _unwrap(other)))

    # ----------------------------------------------------------------- elementwise math
    def exp(self):
        return _ew.Exp.apply(self)

    def log(self):
        return _ew.Log.apply(self)

    def sqrt(self):
        return _ew.Sqrt.apply(self)

    def abs(self):
        return _ew.Abs.apply(self)

    def sin(self):
        return _ew.Sin.apply(self)

    def cos(self):
        return _ew.Cos.apply(self)

    def tanh(self):
        return _ew.Tanh.apply(self)

    def sigmoid(self):
        return _ew.Sigmoid.apply(self)

    def relu(self):
        return _ew.Relu.apply(self)

    def pow(self, exponent):
        return _ew.Pow.apply(self, exponent)

    def clamp(self, min=None, max=None):
        """Limit values to [min, max]; either bound may be None."""
        if min is None and max is None:
            raise ValueError("clamp: give at least one of min and max")
        return _ew.Clamp.apply(self, min=_plain(min), max=_plain(max))

    clip = clamp

    def maximum(self, other):
        return _ew.Maximum.apply(self, other)

    def minimum(self, other):
        return _ew.Minimum.apply(self, other)

    def to(self, dtype, *args, **kwargs):
        """Convert to ``dtype`` (a differentiable cast); ``to("cpu")`` is a no-op."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        return _ew.Cast.apply(self, dtype=dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim=False):
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "sum")
        return _red.Sum.apply(self, dim=axes, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        if self._data.dtype.kind not in "f":
            raise DTypeError(f"mean needs a floating-point tensor, got {self.dtype}")
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "mean")
        return _red.Mean.apply(self, dim=axes, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        """Largest value over ``dim``. With an int ``dim`` the result also carries
        ``.values`` (itself) and ``.indices`` (the argmax), as PyTorch's named tuple."""
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "max")
        out = _red.Max.apply(self, dim=axes, keepdim=keepdim)
        return _with_indices(out, self, dim, keepdim, np.argmax)

    def min(self, dim=None, keepdim=False):
        """Smallest value over ``dim`` (``.indices`` as in :meth:`max`)."""
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "min")
        out = _red.Min.apply(self, dim=axes, keepdim=keepdim)
        return _with_indices(out, self, dim, keepdim, np.argmin)

    def var(self, dim=None, keepdim=False, unbiased=True, correction=None):
        """Variance over ``dim``; unbiased (divides by n - 1) unless told otherwise."""
        if correction is None:
            correction = 1 if unbiased else 0
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "var")
        return _red.Var.apply(self, dim=axes, keepdim=keepdim, correction=correction)

    def std(self, dim=None, keepdim=False, unbiased=True, correction=None):
        return self.var(dim, keepdim, unbiased, correction).sqrt()

    def logsumexp(self, dim=None, keepdim=False):
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "logsumexp")
        return _red.LogSumExp.apply(self, dim=axes, keepdim=keepdim)

    def softmax(self, dim):
        axis = _ops_shapes.normalize_dim(dim, self.ndim, "softmax")
        return _red.Softmax.apply(self, dim=axis)

    def log_softmax(self, dim):
        axis = _ops_shapes.normalize_dim(dim, self.ndim, "log_softmax")
        return _red.LogSoftmax.apply(self, dim=axis)

    def argmax(self, dim=None, keepdim=False):
        """Index of the largest value (over the flattened tensor when ``dim`` is None)."""
        return _arg_extreme(self, dim, keepdim, np.argmax, "argmax")

    def argmin(self, dim=None, keepdim=False):
        return _arg_extreme(self, dim, keepdim, np.argmin, "argmin")

    def all(self, dim=None):
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "all")
        return Tensor._make(np.asarray(np.all(self._data, axis=axes)))

    def any(self, dim=None):
        axes = _ops_shapes.normalize_dims(dim, self.ndim, "any")
        return Tensor._make(np.asarray(np.any(self._data, axis=axes)))

    # ----------------------------------------------------------------- movement
    def reshape(self, *shape):
        shape = _resolve_shape(_shape_arg(shape), self._data.size, self.shape, "reshape")
        if shape == self._data.shape:
            return self
        return _mv.Reshape.apply(self, shape=shape)

    def view(self, *shape):
        """As :meth:`reshape` (NumPy decides whether a copy is needed)."""
        return self.reshape(*shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start = _ops_shapes.normalize_dim(start_dim, self.ndim, "flatten")
        end = _ops_shapes.normalize_dim(end_dim, self.ndim, "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise ValueError(
                f"permute: got {len(dims)} dims {dims} for a tensor with {self.ndim} dims"
            )
        axes = tuple(_ops_shapes.normalize_dim(d, self.ndim, "permute") for d in dims)
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dims")
        return _mv.Permute.apply(self, dims=axes)

    @keyword_aliases(d0="dim0", d1="dim1")
    def transpose(self, dim0, dim1):
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
            return self
        d0 = _ops_shapes.normalize_dim(dim0, self.ndim, "transpose")
        d1 = _ops_shapes.normalize_dim(dim1, self.ndim, "transpose")
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return _mv.Permute.apply(self, dims=tuple(dims))

    @property
    def T(self):
        """All dims reversed (the matrix transpose for 2-D tensors)."""
        if self.ndim < 2:
            return self
        return _mv.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))

    @keyword_aliases(d="dim")
    def unsqueeze(self, dim):
        axis = _ops_shapes.normalize_dim(dim, self.ndim, "unsqueeze", new_axis=True)
        shape = self.shape[:axis] + (1,) + self.shape[axis:]
        return _mv.Reshape.apply(self, shape=shape)

    @keyword_aliases(d="dim")
    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(s for s in self.shape if s != 1)
        else:
            axes = _ops_shapes.normalize_dims(dim, self.ndim, "squeeze") or ()
            shape = tuple(s for i, s in enumerate(self.shape) if not (i in axes and s == 1))
        if shape == self.shape:
            return self
        return _mv.Reshape.apply(self, shape=shape)

    def expand(self, *shape):
        shape = _shape_arg(shape)
        extra = len(shape) - self.ndim
        if extra < 0:
            raise ShapeError(
                f"expand: the target shape {shape} has fewer dims than the tensor {self.shape}"
            )
        target = tuple(
            self.shape[i - extra] if size == -1 and i >= extra else size
            for i, size in enumerate(shape)
        )
        for i, size in enumerate(self.shape):
            if size != 1 and target[extra + i] != size:
                raise ShapeError(
                    f"expand: cannot expand shape {self.shape} to {shape}: dim {i} has size "
                    f"{size}, which is not 1"
                )
        if any(s < 0 for s in target):
            raise ValueError(f"expand: invalid target shape {shape}")
        return _mv.Expand.apply(self, shape=target)

    def expand_as(self, other):
        return self.expand(*other.shape)

    def __getitem__(self, index):
        index = _normalize_index(index)
        try:
            return _mv.GetItem.apply(self, index=index)
        except IndexError as error:
            raise IndexError(f"indexing a tensor of shape {self.shape}: {error}") from None

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))


# --------------------------------------------------------------------- versions
_mutation_epoch = 0  # how many in-place changes the process has made so far


def mark_modified(tensor: "Tensor") -> None:
    """Record that ``tensor``'s array was changed in place (call after the change).

    ``tensor._version`` becomes a new epoch, larger than every earlier one. A graph
    node remembers the epoch at which it was recorded; backward compares the two and
    refuses to use an array that was saved for it and changed since. While nothing
    changes in place (the usual case between a forward and its backward) that check
    costs one integer comparison per node.
    """
    global _mutation_epoch
    _mutation_epoch += 1
    tensor._version = _mutation_epoch


def current_epoch() -> int:
    """The number of in-place changes so far (see :func:`mark_modified`)."""
    return _mutation_epoch


# --------------------------------------------------------------------- helpers
def _any_requires_grad(args, kwargs) -> bool:
    def check(value):
        if isinstance(value, Tensor):
            return value._requires_grad
        if isinstance(value, (list, tuple)):
            return any(check(v) for v in value)
        return False

    return check(args) or check(tuple(kwargs.values()))


def _np_reduction(method):
    def reduce(a, axis=None, keepdims=False):
        return getattr(as_tensor(a), method)(dim=axis, keepdim=keepdims)
    return reduce


def _np_clip(a, a_min=None, a_max=None):
    return as_tensor(a).clamp(_plain(a_min), _plain(a_max))


def _np_transpose(a, axes=None):
    t = as_tensor(a)
    return t.permute(*(axes if axes is not None else reversed(range(t.ndim))))


def _np_where(condition, x, y):
    from autograd_core.ops import where
    return where(condition, x, y)


def _np_join(name):
    def join(arrays, axis=0):
        from autograd_core import ops
        return getattr(ops, name)(list(arrays), dim=axis)
    return join


def _plain(value):
    """A bound given as a 0-d Tensor or NumPy scalar, as a Python number."""
    if isinstance(value, Tensor):
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _shape_arg(shape) -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))`` (and a list or torch-like Size)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"shape entries must be ints, got {size!r} in {shape}")
    return tuple(int(s) for s in shape)


def _resolve_shape(shape: tuple, size: int, old_shape: tuple, op: str) -> tuple:
    """Fill in one -1 and check that the element counts agree."""
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ValueError(f"{op}: only one dimension can be -1, got shape {shape}")
    if any(s < -1 for s in shape):
        raise ValueError(f"{op}: invalid shape {shape}")
    known = int(np.prod([s for s in shape if s != -1]))
    if unknown:
        if known == 0 or size % known:
            raise ShapeError(
                f"{op}: cannot reshape a tensor of shape {old_shape} ({size} elements) "
                f"into shape {shape}"
            )
        shape = tuple(size // known if s == -1 else s for s in shape)
    elif known != size:
        raise ShapeError(
            f"{op}: cannot reshape a tensor of shape {old_shape} ({size} elements) into "
            f"shape {shape} ({known} elements)"
        )
    return shape


def _normalize_index(index):
    """Tensors in an index become arrays; lists become integer/bool arrays."""
    def convert(item):
        if isinstance(item, Tensor):
            item = item._data
        elif isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray):
            if item.dtype.kind not in "biu":
                raise IndexError(
                    f"tensors used as indices must be integer or bool, got {item.dtype}"
                )
        return item

    if isinstance(index, tuple):
        return tuple(convert(i) for i in index)
    return convert(index)


def _arg_extreme(t, dim, keepdim, pick, op):
    if dim is None:
        return Tensor._make(np.asarray(pick(t._data), dtype=np.int64))
    axis = _ops_shapes.normalize_dim(dim, t.ndim, op)
    if t.ndim == 0:
        return Tensor._make(np.asarray(0, dtype=np.int64))
    return Tensor._make(np.asarray(pick(t._data, axis=axis, keepdims=keepdim), dtype=np.int64))


class _ReductionResult(Tensor):
    """max/min over one dim: the values, with ``.values`` and ``.indices`` as PyTorch."""

    __slots__ = ("indices",)

    @property
    def values(self):
        return self

    def __iter__(self):
        # `values, indices = t.max(dim=1)` unpacks as PyTorch's named tuple does
        return iter((self, self.indices))


def _with_indices(out, source, dim, keepdim, pick):
    """For an int ``dim``, re-wrap ``out`` so it also carries ``.indices``."""
    if dim is None or isinstance(dim, (tuple, list)):
        return out
    result = object.__new__(_ReductionResult)
    result._data, result._grad, result._ctx = out._data, None, out._ctx
    result._requires_grad, result.name, result._retains_grad = out._requires_grad, None, False
    result._version = 0
    result.indices = _arg_extreme(source, dim, keepdim, pick, "max")
    return result


def tensor(data, requires_grad=False, dtype=None, name=None) -> Tensor:
    """Make a Tensor (the same as ``Tensor(...)``; PyTorch spells it lower-case)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(data, dtype=None) -> Tensor:
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


# The ops import this module (they build Tensors), so they are imported last.
from autograd_core import autograd as _autograd  # noqa: E402
from autograd_core.ops import _shapes as _ops_shapes  # noqa: E402
from autograd_core.ops import elementwise as _ew  # noqa: E402
from autograd_core.ops import linalg as _la  # noqa: E402
from autograd_core.ops import movement as _mv  # noqa: E402
from autograd_core.ops import reduce as _red  # noqa: E402

_NUMPY_FUNCTIONS = {
    np.sum: _np_reduction("sum"), np.mean: _np_reduction("mean"),
    np.max: _np_reduction("max"), np.min: _np_reduction("min"),
    np.amax: _np_reduction("max"), np.amin: _np_reduction("min"),
    np.clip: _np_clip, np.where: _np_where, np.transpose: _np_transpose,
    np.reshape: lambda a, shape=None, newshape=None: as_tensor(a).reshape(
        shape if shape is not None else newshape),
    np.concatenate: _np_join("cat"), np.stack: _np_join("stack"),
}

_UFUNC_OPS = {
    np.add: lambda a, b: _ew.Add.apply(a, b),
    np.subtract: lambda a, b: _ew.Sub.apply(a, b),
    np.multiply: lambda a, b: _ew.Mul.apply(a, b),
    np.true_divide: lambda a, b: _ew.Div.apply(a, b),
    np.power: lambda a, b: _ew.Pow.apply(a, b),
    np.matmul: lambda a, b: _la.MatMul.apply(a, b),
    np.negative: lambda a: _ew.Neg.apply(a),
    np.exp: lambda a: _ew.Exp.apply(a),
    np.log: lambda a: _ew.Log.apply(a),
    np.sqrt: lambda a: _ew.Sqrt.apply(a),
    np.abs: lambda a: _ew.Abs.apply(a),
    np.sin: lambda a: _ew.Sin.apply(a),
    np.cos: lambda a: _ew.Cos.apply(a),
    np.tanh: lambda a: _ew.Tanh.apply(a),
    np.maximum: lambda a, b: _ew.Maximum.apply(a, b),
    np.minimum: lambda a, b: _ew.Minimum.apply(a, b),
    np.equal: lambda a, b: Tensor._make(np.asarray(np.equal(_unwrap(a), _unwrap(b)))),
    np.not_equal: lambda a, b: Tensor._make(np.asarray(np.not_equal(_unwrap(a), _unwrap(b)))),
    np.less: lambda a, b: Tensor._make(np.asarray(np.less(_unwrap(a), _unwrap(b)))),
    np.less_equal: lambda a, b: Tensor._make(np.asarray(np.less_equal(_unwrap(a), _unwrap(b)))),
    np.greater: lambda a, b: Tensor._make(np.asarray(np.greater(_unwrap(a), _unwrap(b)))),
    np.greater_equal: lambda a, b: Tensor._make(
        np.asarray(np.greater_equal(_unwrap(a), _unwrap(b)))
    ),
}
