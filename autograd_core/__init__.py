"""autograd_core: a reverse-mode autograd engine on NumPy, fast where it counts.

The engine (``Tensor``, ``Function``, ``autograd``), grad mode, gradcheck, graph drawing
for teaching (``autograd_core.viz``) and the Numba conv/pool kernels
(``autograd_core.kernels``). Its namespace is PyTorch's: after
``import autograd_core as torch``, ``torch.nn``, ``torch.optim``, ``torch.utils.data``
and ``torch.autograd`` load on first use.

>>> import autograd_core as ag
>>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

import importlib
from builtins import bool as builtins_bool

import numpy as np

from autograd_core.tensor import Size, Tensor, as_tensor, from_numpy, tensor  # isort: skip
from autograd_core import autograd, ops
from autograd_core.creation import (
    arange,
    bernoulli,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    get_default_dtype,
    linspace,
    logspace,
    multinomial,
    normal,
    ones,
    ones_like,
    poisson,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    set_default_dtype,
    zeros,
    zeros_like,
)
from autograd_core.device import (
    accelerator,
    backends,
    cuda,
    device,
    get_default_device,
    set_default_device,
)
from autograd_core.errors import DimensionError, DTypeError, GradcheckError, ShapeError
from autograd_core.function import Context, Function
from autograd_core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from autograd_core.gradcheck import gradcheck
from autograd_core.ops.reduce import return_types
from autograd_core.random import (
    Generator,
    get_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from autograd_core.serialization import load, save

grad = autograd.grad
inference_mode = no_grad  # no separate inference mode here: no_grad has its effect

# dtype names as PyTorch users spell them (they are NumPy's dtypes, so they compare
# equal to ``t.dtype``: ``t.dtype == torch.float32``).
float32 = float = np.float32  # noqa: A001 - torch's names
float64 = double = np.float64
float16 = half = np.float16
int32 = int = np.int32  # noqa: A001
int64 = long = np.int64
int16 = short = np.int16
int8, uint8 = np.int8, np.uint8
bool_ = bool = np.bool_  # noqa: A001
dtype = np.dtype
finfo, iinfo = np.finfo, np.iinfo
pi, e, inf, nan = np.pi, np.e, np.inf, np.nan

__version__ = "0.1.0"

_LAZY_MODULES = {"nn": "nn", "optim": "optim", "viz": "autograd_core.viz",
                 "kernels": "autograd_core.kernels", "utils": "autograd_core.utils",
                 "linalg": "autograd_core.linalg", "special": "autograd_core.special"}


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input) -> bool:
    return input.is_floating_point()


def numel(input) -> int:
    """The number of elements."""
    return input.numel()


def clone(input, *, memory_format=None):
    """A copy with its own memory; gradients flow back to the original."""
    return input.clone()


def is_nonzero(input) -> bool:
    return builtins_bool(input)


def broadcast_shapes(*shapes):
    """The shape tensors of these shapes broadcast to, as a Size."""
    return Size(ops._shapes.broadcast_shapes(*shapes))


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape."""
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(*shape) for t in tensors)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids of the 1-D inputs (``indexing`` "ij" or "xy")."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    n = len(tensors)
    sizes = [t.shape[0] for t in tensors]
    if indexing == "xy" and n >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(tensors):
        position = i
        if indexing == "xy" and n >= 2 and i < 2:
            position = 1 - i
        shape = [1] * n
        shape[position] = t.shape[0]
        grids.append(t.reshape(*shape).expand(*sizes))
    return tuple(grids)


def manual_seed_all(seed_value) -> None:
    manual_seed(seed_value)


def use_deterministic_algorithms(mode, *, warn_only=False) -> None:
    """Accepted: every op here is deterministic."""


def set_num_threads(n) -> None:
    """Accepted and ignored (NumPy and Numba choose their own threads)."""


def get_num_threads() -> int:
    import os

    return os.cpu_count() or 1


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Not supported: tensors always print as PyTorch's defaults."""
    raise NotImplementedError("set_printoptions: tensors print with PyTorch's default "
                              "options only (4 decimals); format .numpy() for other output")


def __getattr__(name):
    # The ops' functional forms (torch.exp, torch.sum, ...) and the PyTorch namespace's
    # sub-packages, loaded on first use (PEP 562).
    if name in ops.FUNCTIONS:
        return ops.FUNCTIONS[name]
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module 'autograd_core' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(ops.FUNCTIONS) | set(_LAZY_MODULES))


def _legacy_constructor(name, dtype):
    def make(*args):
        # FloatTensor([1, 2]) holds the data; FloatTensor(2, 3) is a (zeroed) shape
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return Tensor(args[0], dtype=dtype)
        return zeros(*args, dtype=dtype)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"``torch.{name}``: data (a list or array) or a shape, as {np.dtype(dtype)}."
    return make


FloatTensor = _legacy_constructor("FloatTensor", np.float32)
DoubleTensor = _legacy_constructor("DoubleTensor", np.float64)
LongTensor = _legacy_constructor("LongTensor", np.int64)
IntTensor = _legacy_constructor("IntTensor", np.int32)
BoolTensor = _legacy_constructor("BoolTensor", np.bool_)
ByteTensor = _legacy_constructor("ByteTensor", np.uint8)
