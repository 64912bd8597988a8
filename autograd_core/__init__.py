"""autograd_core: a reverse-mode autograd engine on NumPy, fast where it counts.

The engine (``Tensor``, ``Function``, ``backward``), grad mode, gradcheck, graph drawing
for teaching (``autograd_core.viz``) and the Numba conv/pool kernels
(``autograd_core.kernels``).

>>> import autograd_core as ag
>>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

import numpy as np

from autograd_core.tensor import Tensor, as_tensor, from_numpy, tensor  # isort: skip
from autograd_core.autograd import grad
from autograd_core.creation import (
    arange,
    empty,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from autograd_core.errors import DimensionError, DTypeError, GradcheckError, ShapeError
from autograd_core.function import Context, Function
from autograd_core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from autograd_core.gradcheck import gradcheck
from autograd_core.ops import (
    abs,
    cat,
    concatenate,
    cos,
    exp,
    linear,
    log,
    matmul,
    maximum,
    minimum,
    relu,
    sigmoid,
    sin,
    sqrt,
    stack,
    tanh,
    where,
)
from autograd_core.random import get_generator, manual_seed, seed

# dtype names as PyTorch users spell them (they are NumPy's dtypes).
float32 = np.float32
float64 = np.float64
float16 = np.float16
int32 = np.int32
int64 = np.int64
bool_ = np.bool_

__version__ = "0.1.0"
