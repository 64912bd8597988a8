"""Fused gate kernels of one recurrent time step (LSTM, GRU): NumPy arrays in and out.

Each step of an LSTM is, after the two GEMMs, about fifteen elementwise operations on
small (batch, hidden) arrays; run as NumPy calls each one allocates and costs a few
microseconds of overhead, which for the sizes of a language model is more than the
arithmetic. One loop over the (batch, hidden) elements does them all in one pass.

The callers (``ops.recurrent``) pass float32 or float64 arrays of matching shapes, C
contiguous rows; the kernels never allocate except ``gru_backward``'s result.

    lstm_forward(p, q, c, acts, tanh_c, h)   gates from p + q (i f g o), c updated in
                                             place, acts = (i, f, g, o), h = o tanh(c)
    lstm_backward(dh, dc, acts, tanh_c, c_prev, d_gates)
                                             d_gates = dL/d(pre-activations), dc
                                             updated in place to dL/dc_(t-1)
    gru_forward(p, q, h_prev, acts, h)       acts = (r, z, n)
    gru_backward(dh, acts, q_n, h_prev, d_p, d_q) -> dL/dh_(t-1) (the direct part)

>>> import numpy as np
>>> p, q = np.zeros((1, 4)), np.zeros((1, 4)); c = np.zeros((1, 1))
>>> acts, tc, h = np.empty((1, 4)), np.empty((1, 1)), np.empty((1, 1))
>>> lstm_forward(p, q, c, acts, tc, h); acts.tolist()
[[0.5, 0.5, 0.0, 0.5]]
"""

import math

import numpy as np
from numba import njit

from .transcendental import tanh_

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


def lstm_forward(p, q, c, acts, tanh_c, h):
    """One LSTM step's gates and states from the pre-activations p + q (see module).

    The transcendental work is one tanh pass over whole arrays: ``transcendental.tanh_``
    (vectorised, where NumPy's float32 tanh is scalar without AVX-512: measured on a
    Zen 3, one step of batch 32, hidden 128 took 59 us instead of 73 us), NumPy's for
    float64; the loops only
    combine. sigmoid(a) = (1 + tanh(a / 2)) / 2 is exact in real arithmetic and within
    a few ulps of 1 / (1 + e^-a) in floating point.
    """
    hidden = c.shape[1]
    _scaled_sum(p, q, acts, hidden)
    tanh_(acts)
    _lstm_cell(acts, c)
    np.copyto(tanh_c, c)
    tanh_(tanh_c)
    np.multiply(acts[:, 3 * hidden:], tanh_c, out=h)


def lstm_backward(dh, dc, acts, tanh_c, c_prev, d_gates):
    """dL/d(pre-activations) of one LSTM step; ``dc`` becomes dL/dc_(t-1) in place."""
    _lstm_backward(dh, dc, acts, tanh_c, c_prev, d_gates)


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
