"""Elementwise ops: arithmetic, math functions, activations, comparisons' relatives.

Each class is one forward/backward pair; the derivative is written next to the op.
Inputs broadcast as in NumPy and promote as in PyTorch (``_dtypes.promote``: a float32
tensor stays float32 next to a NumPy float64 scalar; integer inputs of float functions
give float32); backward may return gradients in the broadcast shape,
and the engine sums them back to each input's shape (``ops._shapes.unbroadcast``).
Where the derivative is cheapest from the output (exp, sqrt, tanh, sigmoid), the
output is what ``forward`` saves.

>>> from autograd_core import Tensor
>>> x = Tensor([0.0, 1.0], requires_grad=True)
>>> x.sigmoid().sum().backward()
>>> [round(v, 4) for v in x.grad.tolist()]
[0.25, 0.1966]
"""

import numpy as np

from autograd_core.function import Function
from autograd_core.ops._dtypes import promote, to_float

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Abs", "Sin", "Cos",
    "Tanh", "Sigmoid", "Relu", "Clamp", "Maximum", "Minimum", "Where", "Cast", "sigmoid",
]


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """y = a / b;  dy/da = 1 / b, dy/db = -a / b^2 = -y / b."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        a, b = to_float(a), to_float(b)  # true division of integers gives float32
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * out / b if need_b else None
        return grad_a, grad_b


class Neg(Function):
    """y = -a;  dy/da = -1."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """y = a ** b;  dy/da = b a^(b-1), dy/db = y ln a (0 where a = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if np.ndim(b) == 0 and b == 0:
                grad_a = np.zeros_like(grad)
            elif np.ndim(b) == 0 and b == 2:
                grad_a = grad * 2 * a  # the common square, without a second power
            else:
                grad_a = grad * b * np.power(a, b - 1)
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a == 0, 0, np.log(np.where(a == 0, 1, a)))
            grad_b = grad * out * log_a
        return grad_a, grad_b


class Exp(Function):
    """y = e^a;  dy/da = y."""

    @staticmethod
    def forward(ctx, a):
        out = np.exp(to_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """y = ln a;  dy/da = 1 / a."""

    @staticmethod
    def forward(ctx, a):
        a = to_float(a)
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    """y = sqrt(a);  dy/da = 1 / (2 y)."""

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(to_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Function):
    """y = |a|;  dy/da = sign(a) (0 at 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(a)


class Sin(Function):
    """y = sin a;  dy/da = cos a."""

    @staticmethod
    def forward(ctx, a):
        a = to_float(a)
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.cos(a)


class Cos(Function):
    """y = cos a;  dy/da = -sin a."""

    @staticmethod
    def forward(ctx, a):
        a = to_float(a)
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * np.sin(a)


class Tanh(Function):
    """y = tanh a;  dy/da = 1 - y^2."""

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(to_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


def sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-a) on arrays, without overflow for large |a|.

    With e = e^-|a| (never above 1): sigma(a) = 1 / (1 + e) for a >= 0, e / (1 + e) else.
    """
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    """y = 1 / (1 + e^-a);  dy/da = y (1 - y)."""

    @staticmethod
    def forward(ctx, a):
        out = sigmoid(to_float(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Relu(Function):
    """y = max(a, 0);  dy/da = 1 where a > 0, else 0 (0 at 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out > 0)


class Clamp(Function):
    """y = min(max(a, lo), hi);  dy/da = 1 where lo <= a <= hi, else 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, *, min=None, max=None):
        ctx.save_for_backward(a)
        return np.clip(a, min, max)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.options.get("min"), ctx.options.get("max")
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        return grad * inside


class _Extremum(Function):
    """Elementwise max or min of two inputs: the gradient goes to the chosen input,
    half to each on ties (as PyTorch)."""

    pick_fn = staticmethod(np.maximum)
    wins = staticmethod(np.greater)  # where a is chosen over b

    @classmethod
    def forward(cls, ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return cls.pick_fn(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        share_a = cls.wins(a, b) + 0.5 * (a == b)
        need_a, need_b = ctx.needs_input_grad
        return (grad * share_a if need_a else None), (grad * (1 - share_a) if need_b else None)


class Maximum(_Extremum):
    """y = max(a, b) elementwise;  the gradient goes to the larger input, half each on ties."""

    pick_fn = staticmethod(np.maximum)
    wins = staticmethod(np.greater)


class Minimum(_Extremum):
    """y = min(a, b) elementwise;  the gradient goes to the smaller input, half each on ties."""

    pick_fn = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Function):
    """y = a where cond else b;  dy/da = cond, dy/db = not cond; cond gets no gradient."""

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        a, b = promote(a, b)
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        grad_a = np.where(cond, grad, 0) if need_a else None
        grad_b = np.where(cond, 0, grad) if need_b else None
        return None, grad_a, grad_b


class Cast(Function):
    """y = a converted to ``dtype``;  the gradient is converted back (by the engine)."""

    @staticmethod
    def forward(ctx, a, *, dtype):
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad
