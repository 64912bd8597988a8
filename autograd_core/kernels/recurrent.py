"""Fused gate kernels of one recurrent time step (LSTM, GRU): NumPy arrays in and out.

Each step of an LSTM is, after the two GEMMs, about fifteen elementwise operations on
small (batch, hidden) arrays; run as NumPy calls each one allocates and costs a few
microseconds of overhead, which for the sizes of a language model is more than the
arithmetic. One loop over the (batch, hidden) elements does them all in one pass.

The callers (``ops.recurrent``) pass float32 or float64 arrays of matching shapes, C
contiguous rows; the kernels never allocate except ``gru_backward``'s result.

    lstm_forward(pa, q, c, c_prev, tanh_c, h)
                                             gates from pa + q (i f g o) into pa,
                                             c_prev = c, then c updated in place,
                                             h = o tanh(c)
    lstm_backward(dh, dc, acts, tanh_c, c_prev, d_gates[, d_out])
                                             d_gates = dL/d(pre-activations), dc
                                             updated in place to dL/dc_(t-1)
    gru_forward(p, q, h_prev, acts, h)       acts = (r, z, n)
    gru_backward(dh, acts, q_n, h_prev, d_p, d_q) -> dL/dh_(t-1) (the direct part)

>>> import numpy as np
>>> pa, q = np.zeros((1, 4)), np.zeros((1, 4)); c = np.zeros((1, 1))
>>> tc, h, c_prev = np.empty((1, 1)), np.empty((1, 1)), np.empty((1, 1))
>>> lstm_forward(pa, q, c, c_prev, tc, h); pa.tolist()
[[0.5, 0.5, 0.0, 0.5]]
"""

import math

import numpy as np
from numba import njit

from ._cache import kernel
from ._indexing import _u
from .transcendental import exp32, tanh32, tanh_

__all__ = ["lstm_forward", "lstm_backward", "gru_forward", "gru_backward", "erf"]


@njit(cache=True)
def _scaled_sum(p, q, out, hidden):
    """out = (p + q) / 2 for the sigmoid gates, p + q for the tanh block (columns
    2H..3H: LSTM's g, GRU's n): the arguments of tanh, with
    sigmoid(a) = (1 + tanh(a / 2)) / 2."""
    rows, width = out.shape
    for n in range(rows):
        for j in range(width):
            a = p[n, j] + q[n, j]
            out[n, j] = a if 2 * hidden <= j < 3 * hidden else 0.5 * a


@njit(cache=True)
def _lstm_cell(acts, c):
    """acts holds tanh of the scaled pre-activations (i, f, o halved): turn i, f, o
    into sigmoids in place and update c = f c + i g."""
    rows, hidden = c.shape
    for n in range(rows):
        for j in range(hidden):
            i = 0.5 + 0.5 * acts[n, j]
            f = 0.5 + 0.5 * acts[n, hidden + j]
            g = acts[n, 2 * hidden + j]
            o = 0.5 + 0.5 * acts[n, 3 * hidden + j]
            acts[n, j] = i
            acts[n, hidden + j] = f
            acts[n, 3 * hidden + j] = o
            c[n, j] = f * c[n, j] + i * g


@njit(cache=True)
def _lstm_backward(dh, dc, acts, tanh_c, c_prev, d_gates):
    rows, hidden = dc.shape
    for n in range(rows):
        for j in range(hidden):
            i = acts[n, j]
            f = acts[n, hidden + j]
            g = acts[n, 2 * hidden + j]
            o = acts[n, 3 * hidden + j]
            t = tanh_c[n, j]
            d = dh[n, j]
            dcn = dc[n, j] + d * o * (1.0 - t * t)
            d_gates[n, j] = dcn * g * i * (1.0 - i)
            d_gates[n, hidden + j] = dcn * c_prev[n, j] * f * (1.0 - f)
            d_gates[n, 2 * hidden + j] = dcn * i * (1.0 - g * g)
            d_gates[n, 3 * hidden + j] = d * t * o * (1.0 - o)
            dc[n, j] = dcn * f


@kernel(inline="always", fastmath={"nsz", "contract"}, error_model="numpy")
def _sigmoid_block(fa, fq, start, width):
    """fa[k] = sigmoid(fa[k] + fq[k]) = 1 / (1 + exp(-(fa[k] + fq[k]))) over k in
    [start, start + width): exp32 and a division, 0.8 ns an element against tanh32's
    1.4 (the (1 + tanh(a / 2)) / 2 form of the unfused path)."""
    one, limit = np.float32(1.0), np.float32(87.0)
    for j in range(width):
        k = _u(start + j)
        # e^-a for |a| <= 87 keeps every intermediate a normal float32 (denormals cost a
        # microcode assist each); beyond, the result differs by under 2e-38
        fa[k] = one / (one + exp32(min(max(-(fa[k] + fq[k]), -limit), limit)))


@kernel(inline="always", fastmath={"nsz", "contract"}, error_model="numpy")
def _tanh_block(fa, fq, start, width):
    """fa[k] = tanh(fa[k] + fq[k]) over k in [start, start + width)."""
    for j in range(width):
        k = _u(start + j)
        fa[k] = tanh32(fa[k] + fq[k])


@kernel(nogil=True, fastmath={"nsz", "contract"}, error_model="numpy")
def _lstm_step32(pa, q, c, c_prev, tanh_c, h):
    """The whole float32 LSTM step in one call: the gates over the pre-activations p
    (``pa``, in place), then c_prev = c, c and h.

    Per row, three loops with at most four arrays each, :func:`tanh32` and ``exp32``
    inlined: LLVM vectorises a loop only when its runtime alias checks stay few, and
    one loop over all seven arrays stayed scalar (measured: 243 us a step against 28).
    Flat unsigned indices (as in ``transcendental``) spare the wraparound tests.
    """
    rows, hidden = c.shape
    fa, fq = pa.reshape(-1), q.reshape(-1)
    fc, fcp, ft, fh = c.reshape(-1), c_prev.reshape(-1), tanh_c.reshape(-1), h.reshape(-1)
    for n in range(rows):
        g0 = n * 4 * hidden
        s0 = n * hidden
        _sigmoid_block(fa, fq, g0, 2 * hidden)           # i, f
        _tanh_block(fa, fq, g0 + 2 * hidden, hidden)     # g
        _sigmoid_block(fa, fq, g0 + 3 * hidden, hidden)  # o
        for j in range(hidden):
            k = _u(s0 + j)
            old = fc[k]
            fcp[k] = old
            fc[k] = fa[_u(g0 + hidden + j)] * old + fa[_u(g0 + j)] * fa[_u(g0 + 2 * hidden + j)]
        for j in range(hidden):
            k = _u(s0 + j)
            t = tanh32(fc[k])
            ft[k] = t
            fh[k] = fa[_u(g0 + 3 * hidden + j)] * t


@kernel(nogil=True, fastmath={"nsz", "contract"}, error_model="numpy")
def _lstm_step_backward(dh, d_out, dc, acts, tanh_c, c_prev, d_gates):
    """:func:`_lstm_backward` with dL/dh_t = dh + d_out summed inside (no projection).

    Per row, four loops over few arrays each (as :func:`_lstm_step32`, so LLVM
    vectorises them; one loop over all seven stayed scalar: 11.7 us a step of batch 32,
    hidden 128, against 6.8), the same expressions per element as
    :func:`_lstm_backward`, with ``d`` (dL/dh_t) and ``dcn`` (dL/dc_t) in row buffers
    (float32 results may differ in the last bit from the one-loop form: LLVM fuses
    multiply-adds differently in vector code).
    """
    rows, hidden = dc.shape
    fdh, fdo, fdc = dh.reshape(-1), d_out.reshape(-1), dc.reshape(-1)
    fa, ft, fcp = acts.reshape(-1), tanh_c.reshape(-1), c_prev.reshape(-1)
    fd = d_gates.reshape(-1)
    d = np.empty(hidden, dtype=dc.dtype)
    dcn = np.empty(hidden, dtype=dc.dtype)
    for n in range(rows):
        g0 = n * 4 * hidden
        s0 = n * hidden
        for j in range(hidden):
            d[j] = fdh[_u(s0 + j)] + fdo[_u(s0 + j)]
        for j in range(hidden):
            k = _u(s0 + j)
            o, t = fa[_u(g0 + 3 * hidden + j)], ft[k]
            dcn[j] = fdc[k] + d[j] * o * (1 - t * t)
            fd[_u(g0 + 3 * hidden + j)] = d[j] * t * o * (1 - o)
        for j in range(hidden):
            i, g = fa[_u(g0 + j)], fa[_u(g0 + 2 * hidden + j)]
            fd[_u(g0 + j)] = dcn[j] * g * i * (1 - i)
            fd[_u(g0 + 2 * hidden + j)] = dcn[j] * i * (1 - g * g)
        for j in range(hidden):
            k = _u(s0 + j)
            f = fa[_u(g0 + hidden + j)]
            fd[_u(g0 + hidden + j)] = dcn[j] * fcp[k] * f * (1 - f)
            fdc[k] = dcn[j] * f


@njit(cache=True)
def _gru_candidate(p, q, acts):
    """r, z from their tanh (in place); acts[:, 2H:] = p_n + r q_n, tanh's argument."""
    rows = acts.shape[0]
    hidden = acts.shape[1] // 3
    for n in range(rows):
        for j in range(hidden):
            r = 0.5 + 0.5 * acts[n, j]
            acts[n, j] = r
            acts[n, hidden + j] = 0.5 + 0.5 * acts[n, hidden + j]
            acts[n, 2 * hidden + j] = p[n, 2 * hidden + j] + r * q[n, 2 * hidden + j]


@njit(cache=True)
def _gru_state(acts, h_prev, h):
    rows, hidden = h.shape
    for n in range(rows):
        for j in range(hidden):
            z = acts[n, hidden + j]
            h[n, j] = (1.0 - z) * acts[n, 2 * hidden + j] + z * h_prev[n, j]


@njit(cache=True)
def _gru_backward(dh, acts, q_n, h_prev, d_p, d_q, dh_direct):
    rows, hidden = dh.shape
    for n in range(rows):
        for j in range(hidden):
            r = acts[n, j]
            z = acts[n, hidden + j]
            nn_ = acts[n, 2 * hidden + j]
            d = dh[n, j]
            dan = d * (1.0 - z) * (1.0 - nn_ * nn_)
            dr = dan * q_n[n, j] * r * (1.0 - r)
            dz = d * (h_prev[n, j] - nn_) * z * (1.0 - z)
            d_p[n, j] = dr
            d_p[n, hidden + j] = dz
            d_p[n, 2 * hidden + j] = dan
            d_q[n, j] = dr
            d_q[n, hidden + j] = dz
            d_q[n, 2 * hidden + j] = dan * r
            dh_direct[n, j] = d * z


def fused_float32(*arrays) -> bool:
    """Whether :func:`lstm_forward` takes its one-pass float32 kernel for these arrays
    (all float32, C-contiguous). A caller that runs many steps on row slices of the
    same C-contiguous arrays can ask once and pass the answer as ``fused=``."""
    return all(type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous
               for a in arrays)


def same_layout(*arrays) -> bool:
    """Whether :func:`lstm_backward`'s summing kernel takes these (one dtype, all
    C-contiguous); asked once per sequence like :func:`fused_float32`."""
    return all(a.flags.c_contiguous for a in arrays) and len({a.dtype for a in arrays}) == 1


def lstm_forward(pa, q, c, c_prev, tanh_c, h, fused=None):
    """One LSTM step's gates and states (see module): ``pa`` holds the input
    pre-activations p on entry and the gates (i, f, g, o) on exit; ``c_prev`` receives
    c_(t-1) (kept for backward) before c is updated in place.

    float32 (C-contiguous) runs as one fused pass (:func:`_lstm_step32`, with the
    vectorised ``transcendental`` exp and tanh: NumPy's float32 ones are scalar without
    AVX-512). Measured on a Zen 3, one step of batch 32, hidden 128: 56 us as four
    kernels and two tanh passes, 28 us fused. float64 keeps NumPy's tanh (the
    gradient checks need it exact), with sigmoid(a) = (1 + tanh(a / 2)) / 2, which is
    exact in real arithmetic and within a few ulps of 1 / (1 + e^-a) in floating point.
    ``fused``: :func:`fused_float32`'s answer when the caller already has it.
    """
    if fused is None:
        fused = fused_float32(pa, q, c, c_prev, tanh_c, h)
    if fused:
        _lstm_step32(pa, q, c, c_prev, tanh_c, h)
        return
    hidden = c.shape[1]
    np.copyto(c_prev, c)
    _scaled_sum(pa, q, pa, hidden)  # elementwise, so in place is safe
    tanh_(pa)
    _lstm_cell(pa, c)
    np.copyto(tanh_c, c)
    tanh_(tanh_c)
    np.multiply(pa[:, 3 * hidden:], tanh_c, out=h)


def lstm_backward(dh, dc, acts, tanh_c, c_prev, d_gates, d_out=None, fused=None):
    """dL/d(pre-activations) of one LSTM step; ``dc`` becomes dL/dc_(t-1) in place.
    With ``d_out`` (the step's output gradient), dL/dh_t is ``dh + d_out``, summed in
    the same pass (``fused``: :func:`same_layout`'s answer when the caller has it)."""
    if d_out is None:
        _lstm_backward(dh, dc, acts, tanh_c, c_prev, d_gates)
    else:
        arrays = (dh, d_out, dc, acts, tanh_c, c_prev, d_gates)
        if fused if fused is not None else same_layout(*arrays):
            _lstm_step_backward(*arrays)
        else:
            _lstm_backward(dh + d_out, dc, acts, tanh_c, c_prev, d_gates)


def gru_forward(p, q, h_prev, acts, h):
    """One GRU step: q = h_(t-1) W_hh^T + b_hh (b_hn stays inside r * q_n); tanh as
    in :func:`lstm_forward`."""
    hidden = h.shape[1]
    _scaled_sum(p, q, acts, hidden)
    tanh_(acts, (0, 2 * hidden))
    _gru_candidate(p, q, acts)
    tanh_(acts, (2 * hidden, 3 * hidden))
    _gru_state(acts, h_prev, h)


def gru_backward(dh, acts, q_n, h_prev, d_p, d_q):
    """Fill dL/dp and dL/dq of one GRU step; return z dh (the direct path to h_(t-1))."""
    dh_direct = np.empty_like(dh)
    _gru_backward(dh, acts, q_n, h_prev, d_p, d_q, dh_direct)
    return dh_direct


# ------------------------------------------------------------------ erf (for GELU)
@njit(cache=True)
def _erf(x, out):
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for k in range(flat_x.size):
        flat_out[k] = math.erf(flat_x[k])


def erf(x):
    """The error function elementwise (float32 or float64, any shape): GELU's Phi."""
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    out = np.empty_like(x)
    _erf(x, out)
    return out
