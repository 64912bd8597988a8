"""Matrix products: matmul (with NumPy's batching and 1-D rules) and a fused linear layer.

For Y = A B with A: (n, k), B: (k, m) and upstream gradient G = dL/dY: (n, m),

    dL/dA = G B^T   (n, m) @ (m, k) -> (n, k)
    dL/dB = A^T G   (k, n) @ (n, m) -> (k, m)

Batched operands broadcast over their leading dims; the engine sums the gradient over
the batch dims an operand was broadcast along. 1-D operands are promoted to matrices
(a row on the left, a column on the right) and the promoted axis is dropped again.

>>> from autograd_core import Tensor
>>> a = Tensor([[1.0, 2.0]], requires_grad=True); b = Tensor([[3.0], [4.0]])
>>> (a @ b).backward(); a.grad.tolist()
[[3.0, 4.0]]
"""

import numpy as np

from autograd_core.errors import ShapeError
from autograd_core.function import Function
from autograd_core.kernels import column_sums as _column_sums
from autograd_core.kernels import elementwise as _elementwise
from autograd_core.kernels._threads import gemm
from autograd_core.ops._formula import Custom
from autograd_core.ops._registry import public

__all__ = ["MatMul", "Linear", "check_matmul_shapes"]


def check_matmul_shapes(a_shape: tuple, b_shape: tuple, op: str = "matmul"):
    """Raise a ShapeError naming both shapes when ``a @ b`` is not defined."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ShapeError(
            f"{op}: both operands need at least 1 dimension, got shapes {a_shape} and {b_shape}"
        )
    inner_a = a_shape[-1]
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if inner_a != inner_b:
        raise ShapeError(
            f"{op}: shapes {a_shape} and {b_shape} are not aligned: the last dim of the "
            f"first ({inner_a}) must equal the {'first' if len(b_shape) == 1 else 'second-to-last'}"
            f" dim of the second ({inner_b})"
        )
    batch_a, batch_b = a_shape[:-2], b_shape[:-2]
    try:
        np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise ShapeError(
            f"{op}: the batch dims of {a_shape} and {b_shape} do not broadcast "
            f"({batch_a} vs {batch_b})"
        ) from None


def _matmul_backward(v, i):
    a, b, g = v.args[0], v.args[1], v.g
    a1, b1 = v.ndim(0) == 1, v.ndim(1) == 1
    if not a1 and not b1 and v.ndim(0) == 2 and v.ndim(1) == 2:
        return f"{g} @ {b}.T" if i == 0 else f"{a}.T @ {g}"
    g2 = g  # the promoted axes put back: the column of a 1-D b first, then the row
    if b1:
        g2 = f"np.expand_dims({g2}, -1)"
    if a1:
        g2 = f"np.expand_dims({g2}, -2)"
    if i == 0:
        b2 = f"{b}[:, np.newaxis]" if b1 else b
        code = f"np.matmul({g2}, np.swapaxes({b2}, -1, -2))"
        return f"np.squeeze({code}, -2)" if a1 else code
    a2 = f"{a}[np.newaxis, :]" if a1 else a
    code = f"np.matmul(np.swapaxes({a2}, -1, -2), {g2})"
    return f"np.squeeze({code}, -1)" if b1 else code


class MatMul(Function):
    """Y = A @ B;  dL/dA = G B^T, dL/dB = A^T G (see the module docstring)."""

    twice_differentiable = True

    formula = Custom(
        "@", lambda v: [f"{v.out} = {v.args[0]} @ {v.args[1]}"], _matmul_backward,
        ["G·{1}ᵀ", "{0}ᵀ·G"])

    @staticmethod
    def forward(ctx, a, b):
        check_matmul_shapes(np.shape(a), np.shape(b))
        ctx.save_for_backward(a, b)
        return gemm(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        # Re-insert the promoted axes: the column of a 1-D right operand first, so that
        # for 1-D @ 1-D the 0-d gradient becomes (1,) and then (1, 1).
        g2 = grad
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_a = grad_b = None
        if need_a:
            grad_a = gemm(g2, np.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                grad_a = np.squeeze(grad_a, -2)
        if need_b:
            grad_b = gemm(np.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                grad_b = np.squeeze(grad_b, -1)
        return grad_a, grad_b


def _linear_forward(v):
    x, w, b = v.args
    product_code = f"{x} @ {w}.T"
    if v.ndim(0) > 2:  # the engine runs one GEMM over all leading dims
        n_out, n_in = v.shape(1)
        product_code = f"({x}.reshape(-1, {n_in}) @ {w}.T).reshape({x}.shape[:-1] + ({n_out},))"
    if v.inputs[2] is None:
        return [f"{v.out} = {product_code}"]
    product = np.result_type(v.dtype(0), v.dtype(1))
    if np.result_type(product, v.dtype(2)) != product:
        return None  # the engine adds in place (keeping the dtype): use the fallback
    return [f"{v.out} = {product_code} + {b}"]


def _linear_backward(v, i):
    x, w = v.args[0], v.args[1]
    n_out, n_in = v.shape(1)
    if i == 0:
        if v.ndim(0) > 2:
            return f"({v.g}.reshape(-1, {n_out}) @ {w}).reshape({x}.shape)"
        return f"{v.g} @ {w}"
    if i == 1:
        return f"{v.g}.reshape(-1, {n_out}).T @ {x}.reshape(-1, {n_in})"
    return f"{v.g}.reshape(-1, {n_out}).sum(axis=0)"


class Linear(Function):
    """y = x W^T + b with W: (out, in), as ``torch.nn.functional.linear``.

    One node instead of three (transpose, matmul, add). With x flattened to (n, in):
    dL/dx = G W,  dL/dW = G^T x,  dL/db = sum over n of G.
    """

    twice_differentiable = True

    formula = Custom(
        "y = x·Wᵀ + b", _linear_forward, _linear_backward, ["G·{1}", "Gᵀ·{0}", "Σₙ G"])

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        check_matmul_shapes(np.shape(x), np.shape(weight)[::-1], "linear")
        ctx.save_for_backward(x, weight)
        if x.ndim > 2:  # one GEMM over all leading dims, not one small GEMM per item
            out = gemm(x.reshape(-1, x.shape[-1]), weight.T).reshape(
                x.shape[:-1] + (weight.shape[0],))
        else:
            out = gemm(x, weight.T)
        if bias is not None and not _elementwise.add_to_rows(out, bias):
            # in place when the dtypes agree (the common case); else promote as x W^T + b
            out = np.add(out, bias, out=out) if np.result_type(out, bias) == out.dtype \
                else out + bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_x = None
        if need_x:
            grad_x = gemm(grad_2d, weight).reshape(x.shape) if grad.ndim > 2 else \
                gemm(grad, weight)
        grad_w = gemm(grad_2d.T, x.reshape(-1, x.shape[-1])) if need_w else None
        grad_b = None
        if need_b:  # the kernel: NumPy's bits without its overhead on short rows
            grad_b = _column_sums.column_sums(grad_2d) \
                if _column_sums.column_sums_apply(grad_2d) else grad_2d.sum(axis=0)
        return grad_x, grad_w, grad_b


# --------------------------------------------------------------------- functional forms
@public(numpy=(np.matmul,), ops=(MatMul,))
def matmul(input, other, *, out=None):
    """The matrix product with NumPy's batching and 1-D rules."""
    from autograd_core.ops._out import write_out

    return write_out(MatMul.apply(input, other), out, "matmul")


def _require_dims(x, ndim, op, what):
    if np.ndim(x) != ndim:
        raise ShapeError(f"{op}: {what} must be {ndim}-D, got shape {np.shape(x)}")


@public(ops=(MatMul,))
def mm(input, mat2):
    """The product of two matrices (both 2-D)."""
    _require_dims(input, 2, "mm", "input")
    _require_dims(mat2, 2, "mm", "mat2")
    return MatMul.apply(input, mat2)


@public(ops=(MatMul,))
def mv(input, vec):
    """A matrix times a vector."""
    _require_dims(input, 2, "mv", "input")
    _require_dims(vec, 1, "mv", "vec")
    return MatMul.apply(input, vec)


@public(numpy=(np.dot,), ops=(MatMul,))
def dot(input, other):
    """The inner product of two 1-D tensors of the same length."""
    _require_dims(input, 1, "dot", "input")
    _require_dims(other, 1, "dot", "other")
    return MatMul.apply(input, other)


@public(method=False, ops=(Linear,))
def linear(input, weight, bias=None):
    """y = x W^T + b in one node (``torch.nn.functional.linear``)."""
    return Linear.apply(input, weight, bias)


# --------------------------------------------------------------------- einsum (issue 13)
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def parse_einsum(equation: str, shapes) -> tuple:
    """``equation`` with ``...`` spelled out and an explicit output: (inputs, output).

    Raises a ShapeError naming the operand when the subscripts do not fit its shape or a
    letter has two different sizes.
    """
    equation = equation.replace(" ", "")
    if "->" in equation:
        lhs, out = equation.split("->")
    else:
        lhs, out = equation, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(f"einsum: the equation {equation!r} has {len(terms)} operand(s), "
                         f"got {len(shapes)} tensor(s)")
    used = set(equation) - set(".,->")
    spare = [c for c in _LETTERS if c not in used]
    broadcast = ""
    spelled = []
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        if "..." in term:
            n = len(shape) - (len(term) - 3)
            if n < 0:
                raise ShapeError(f"einsum: operand {k} has shape {tuple(shape)}, too few dims "
                                 f"for {term!r}")
            if n > len(broadcast):
                broadcast = "".join(spare[:n])
            term = term.replace("...", broadcast[len(broadcast) - n:] if n else "")
        if len(term) != len(shape):
            raise ShapeError(f"einsum: operand {k} has {len(shape)} dim(s) (shape "
                             f"{tuple(shape)}) but subscripts {terms[k]!r}")
        spelled.append(term)
    if out is None:
        counts = {}
        for term in spelled:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        out = broadcast + "".join(sorted(c for c, n in counts.items()
                                         if n == 1 and c not in broadcast))
    else:
        out = out.replace("...", broadcast)
    sizes = {}
    for k, (term, shape) in enumerate(zip(spelled, shapes)):
        for c, s in zip(term, shape):
            if c in sizes and sizes[c] != s and 1 not in (sizes[c], s):
                raise ShapeError(f"einsum: subscript {c!r} has size {sizes[c]} and {s} "
                                 f"(operand {k}, shape {tuple(shape)})")
            sizes[c] = max(sizes.get(c, s), s)
    for c in out:
        if c not in sizes:
            raise ShapeError(f"einsum: output subscript {c!r} appears in no operand")
    return spelled, out, sizes


def _einsum_grad(i, terms, out, operands, grad, sizes):
    """dL/d operand i of ``einsum(terms -> out)``: an einsum of the gradient with the
    other operands. A letter repeated in operand i (a diagonal) is renamed and tied to
    its twin by an identity matrix; a letter only operand i has is broadcast."""
    term = terms[i]
    spare = iter(c for c in _LETTERS if c not in "".join(terms) + out)
    target, extra_terms, extra_ops = "", [], []
    seen = set()
    for c in term:
        if c in seen:
            twin = next(spare)
            extra_terms.append(c + twin)
            extra_ops.append(np.eye(sizes[c], dtype=grad.dtype))
            target += twin
        else:
            target += c
            seen.add(c)
    others = [(t, op) for k, (t, op) in enumerate(zip(terms, operands)) if k != i]
    present = set(out) | set("".join(t for t, _ in others)) | set("".join(extra_terms))
    missing = [c for c in dict.fromkeys(target) if c not in present]
    for c in missing:
        extra_terms.append(c)
        extra_ops.append(np.ones(sizes[c], dtype=grad.dtype))
    spec = ",".join([out] + [t for t, _ in others] + extra_terms) + "->" + target
    result = np.einsum(spec, grad, *[op for _, op in others], *extra_ops, optimize=True)
    shape = operands[i].shape
    return np.broadcast_to(result, shape) if result.shape != shape else result


class Einsum(Function):
    """y = einsum(equation, x_1, ..., x_n);  dL/dx_i = einsum of dL/dy with the other
    operands, writing x_i's subscripts (``out, others -> term_i``). The rule is itself an
    einsum (with constant eye/ones operands), so it is twice differentiable."""

    twice_differentiable = True

    formula = Custom("einsum", local=lambda v, i: f"einsum(…) without operand {i}")

    @staticmethod
    def forward(ctx, *operands, terms, out):
        ctx.save_for_backward(*operands)
        return np.einsum(",".join(terms) + "->" + out, *operands, optimize=len(operands) > 2)

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        terms, out = ctx.options["terms"], ctx.options["out"]
        sizes = {}
        for t, op in zip(terms, operands):
            for c, s in zip(t, op.shape):
                sizes[c] = max(sizes.get(c, s), s)
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            grads.append(_einsum_grad(i, terms, out, operands, grad, sizes) if need else None)
        return tuple(grads)


@public(method=False, numpy=(np.einsum,), ops=(Einsum,))
def einsum(equation, *operands, optimize=None):
    """Sums of products named by subscripts, as ``torch.einsum`` / ``np.einsum``:
    ``einsum("ij,jk->ik", a, b)`` is ``a @ b``; ``...`` stands for broadcast dims."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    from autograd_core.ops._dtypes import result_dtype
    from autograd_core.tensor import Tensor

    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in operands]
    terms, out, _ = parse_einsum(equation, [t.shape for t in tensors])
    dtype = result_dtype(*[t._data for t in tensors])
    tensors = [t if t.dtype == dtype else t.to(dtype) for t in tensors]
    return Einsum.apply(*tensors, terms=tuple(terms), out=out)


@public(ops=(MatMul,))
def bmm(input, mat2):
    """Batched matrix products: (b, n, k) @ (b, k, m) -> (b, n, m)."""
    _require_dims(input, 3, "bmm", "input")
    _require_dims(mat2, 3, "bmm", "mat2")
    if np.shape(input)[0] != np.shape(mat2)[0]:
        raise ShapeError(f"bmm: batch sizes differ: {np.shape(input)} and {np.shape(mat2)}")
    return MatMul.apply(input, mat2)


@public("ger", numpy=(np.outer,), ops=(Einsum,))
def outer(input, vec2):
    """The outer product of two vectors (NumPy's ``outer`` flattens its inputs first)."""
    from autograd_core.tensor import Tensor

    a = input if isinstance(input, Tensor) else Tensor(input)
    b = vec2 if isinstance(vec2, Tensor) else Tensor(vec2)
    return einsum("i,j->ij", a.reshape(-1), b.reshape(-1))


@public(ops=(Einsum,))
def inner(input, other):
    """Sum over the last dims of both (the dot product for vectors)."""
    if np.ndim(input) == 0 or np.ndim(other) == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


@public(numpy=(np.tensordot,), ops=(Einsum,))
def tensordot(a, b, dims=2, *, axes=None):
    """Contract ``dims`` trailing dims of ``a`` with leading dims of ``b``, or the listed
    pairs ``([dims of a], [dims of b])``."""
    from autograd_core.tensor import Tensor

    dims = axes if axes is not None else dims
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if isinstance(dims, (int, np.integer)):
        dims_a = list(range(a.ndim - int(dims), a.ndim))
        dims_b = list(range(int(dims)))
    else:
        dims_a, dims_b = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
    dims_a = [d % a.ndim for d in dims_a]
    dims_b = [d % b.ndim for d in dims_b]
    letters = iter(_LETTERS)
    ta = [next(letters) for _ in range(a.ndim)]
    tb = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise ShapeError(f"tensordot: dim {da} of shape {tuple(a.shape)} and dim {db} of "
                             f"shape {tuple(b.shape)} differ")
        tb[db] = ta[da]
    out = [c for k, c in enumerate(ta) if k not in dims_a] + \
          [c for k, c in enumerate(tb) if k not in dims_b]
    return einsum("".join(ta) + "," + "".join(tb) + "->" + "".join(out), a, b)


@public(numpy=(np.trace,), ops=(Einsum,))
def trace(input, offset=0, axis1=0, axis2=1):
    """The sum of the main diagonal of a matrix."""
    from autograd_core.ops.movement import diagonal

    if np.ndim(input) != 2 and (axis1, axis2) == (0, 1):
        raise ShapeError(f"trace: expects a matrix, got shape {np.shape(input)}")
    return diagonal(input, offset, axis1, axis2).sum(-1)


@public(ops=(MatMul,))
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2)."""
    product = mm(mat1, mat2)
    product = product if alpha == 1 else product * alpha
    return product + (input if beta == 1 else input * beta)


@public(ops=(MatMul,))
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2), batched."""
    product = bmm(batch1, batch2)
    product = product if alpha == 1 else product * alpha
    return product + (input if beta == 1 else input * beta)
