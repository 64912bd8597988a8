"""Recurrent layers as one node per layer and direction: the whole time loop fused.

``Recurrent.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode=..., batch_sizes=...,
reverse=...)`` runs an RNN (``"RNN_TANH"``, ``"RNN_RELU"``), an LSTM or a GRU over a
*packed* sequence: ``x`` holds the rows of every time step one after the other,
``batch_sizes[t]`` rows at step t (non-increasing, as ``nn.utils.rnn`` packs them; a
padded (T, N, I) input is the special case batch_sizes = (N,) * T). The input
projection of every step is ONE GEMM before the loop; each step then costs one GEMM
(h W_hh^T) and one fused gate computation (a Numba kernel in ``kernels.recurrent``).
Backward runs the loop in reverse (backpropagation through time) and forms the weight
gradients with one GEMM each at the end.

With H the hidden size and p = x W_ih^T + b_ih, q = h_(t-1) W_hh^T + b_hh (PyTorch's
gate order):

    RNN   h = tanh(p + q)  (or relu)
    LSTM  i, f, g, o = s(p_i + q_i), s(p_f + q_f), tanh(p_g + q_g), s(p_o + q_o)
          c = f c_(t-1) + i g,   h = o tanh(c)   (then h = h W_hr^T with proj_size)
    GRU   r, z = s(p_r + q_r), s(p_z + q_z),  n = tanh(p_n + r q_n)
          h = (1 - z) n + z h_(t-1)

The node's single output is the flat concatenation of the output rows (total, Hout),
h_n (N, Hout) and, for an LSTM, c_n (N, H); :func:`split_outputs` views it as the three
(the layers in ``nn.rnn`` slice it, so each part has its own small node).

Gradients of gradients (``create_graph``) replay the layer step by step with
differentiable ops (``_composite``: matmul, sigmoid, tanh, products) and differentiate
the replay; ordinary backward keeps the fused kernels.

>>> import numpy as np
>>> from autograd_core import Tensor
>>> x = Tensor(np.ones((6, 3)))          # 3 steps of a batch of 2, 3 features
>>> h0 = Tensor(np.zeros((2, 4)))
>>> w_ih, w_hh = Tensor(np.full((4, 3), 0.1)), Tensor(np.full((4, 4), 0.1))
>>> flat = Recurrent.apply(x, h0, None, w_ih, w_hh, None, None, None, mode="RNN_TANH",
...                        batch_sizes=(2, 2, 2), reverse=False)
>>> flat.shape                           # 6 output rows and h_n, 4 wide
torch.Size([32])
"""

import contextlib

import numpy as np

from autograd_core.function import Function
from autograd_core.kernels import recurrent as _kernels
from autograd_core.kernels._threads import (
    SMALL_STEP_GEMM,
    Alongside,
    gemm,
    single_threaded_blas,
)
from autograd_core.ops._formula import Custom

__all__ = ["Recurrent", "GATES", "split_outputs"]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def split_outputs(flat_size_or_array, total, batch, hidden_out, hidden, mode):
    """Sizes (or views) of the parts of the flat output: output rows, h_n, c_n."""
    sizes = [total * hidden_out, batch * hidden_out]
    shapes = [(total, hidden_out), (batch, hidden_out)]
    if mode == "LSTM":
        sizes.append(batch * hidden)
        shapes.append((batch, hidden))
    return sizes, shapes


def _step_blas(batch, w_hh):
    """Single-threaded BLAS for the per-step GEMMs when they are small (by shapes).

    Each step's ``h W_hh^T`` waits for the previous one; with multi-threaded OpenBLAS
    a step occasionally waits a whole time slice for a descheduled worker on a loaded
    machine (issue 17: an LSTM LM step went from 20 ms to seconds).
    """
    if _small_steps(batch, w_hh):
        return single_threaded_blas()
    return contextlib.nullcontext()


def _small_steps(batch, w_hh):
    return batch * w_hh.size < SMALL_STEP_GEMM


#: Forward and backward cut the steps into this many blocks (fewer for short
#: sequences), by their number alone: the weight gradients are sums of the blocks'
#: partial products, added in block order.
STEP_BLOCKS = 8


class _StepBlocks:
    """Blocks of consecutive steps whose big GEMMs run on the other core
    (``kernels._threads.Alongside``) while the per-step loop goes on: forward's input
    projections ahead of the loop, backward's weight gradients behind it.

    Backpropagation through time is one sequential GEMM per step, which keeps one core
    busy; dL/dx, dL/dW_ih and dL/dW_hh are big GEMMs over every row that used to wait
    for the loop's end (measured on the LSTM LM of the benchmarks, batch 32, 64 steps:
    4.5 ms of an 11 ms backward). Cut into ``STEP_BLOCKS`` blocks of steps, each block's
    share runs as soon as the loop has passed it: on the other core when the loop's
    GEMMs are single-threaded (``_step_blas``), else inline. The cut depends on the
    number of steps alone, never on threads, so the sums and their bits are the same on
    any machine.
    """

    def __init__(self, steps):
        n = len(steps)
        self.count = max(1, min(STEP_BLOCKS, n))
        bounds = [n * b // self.count for b in range(self.count + 1)]
        self._starts = {bounds[b]: b for b in range(self.count)}
        self._block_of = [0] * n
        self._left = []
        self.rows = []
        for b in range(self.count):
            positions = range(bounds[b], bounds[b + 1])
            for position in positions:
                self._block_of[position] = b
            self._left.append(len(positions))
            firsts = [steps[p][0] for p in positions]
            lasts = [steps[p][0] + steps[p][1] for p in positions]
            self.rows.append((min(firsts), max(lasts)))

    def starting_at(self, position):
        """The block whose first step (in processing order) is ``position``, or None."""
        return self._starts.get(position)

    def step_done(self, position):
        """Count step ``position`` as done; its block's index when that completes it."""
        b = self._block_of[position]
        self._left[b] -= 1
        return b if self._left[b] == 0 else None


def _block_sum(parts):
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def _steps(batch_sizes, reverse):
    """(start row, rows) of each step in processing order."""
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(int)
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    return [(int(starts[t]), int(batch_sizes[t])) for t in order]


def _recurrent_local(v, i):
    names = ["x", "h0", "c0", "W_ih", "W_hh", "b_ih", "b_hh", "W_hr"]
    return f"BPTT over {len(v.opt.get('batch_sizes', ()))} steps (∂/∂{names[i]})"


def _joined(pieces, size, dim_size):
    """``pieces`` (Tensors of (rows_i, ...) placed one after the other) as one Tensor of
    ``size`` rows: a sum of scatter-adds, each twice differentiable (Cat is not)."""
    from autograd_core.ops.movement import _ScatterAdd

    total, start = None, 0
    for piece in pieces:
        rows = piece.shape[0]
        part = _ScatterAdd.apply(piece, index=(slice(start, start + rows),),
                                 shape=(size,) + tuple(dim_size))
        total = part if total is None else total + part
        start += rows
    return total


def _with_rows(state, new, rows):
    """``state`` with its first ``rows`` rows replaced by ``new`` (a packed step)."""
    if rows == state.shape[0]:
        return new
    return _joined([new, state[rows:]], state.shape[0], state.shape[1:])


def _composite(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, *, mode, batch_sizes, reverse):
    """The layer on Tensors, one step at a time, of twice differentiable ops."""
    hidden = w_hh.shape[1] if w_hr is None else w_hr.shape[1]
    xw = x @ w_ih.T
    if b_ih is not None:
        xw = xw + b_ih
    if b_hh is not None and mode != "GRU":
        xw = xw + b_hh
    w_hh_t = w_hh.T  # one node for the whole sequence, not one per step
    w_hr_t = None if w_hr is None else w_hr.T
    h, c = h0, c0
    outputs = {}
    for start, rows in _steps(batch_sizes, reverse):
        p = xw[start:start + rows]
        h_prev = h[:rows] if rows < h.shape[0] else h
        q = h_prev @ w_hh_t
        if mode == "LSTM":
            a = p + q
            i, f = a[:, :hidden].sigmoid(), a[:, hidden:2 * hidden].sigmoid()
            g, o = a[:, 2 * hidden:3 * hidden].tanh(), a[:, 3 * hidden:].sigmoid()
            c_new = f * (c[:rows] if rows < c.shape[0] else c) + i * g
            h_new = o * c_new.tanh()
            if w_hr_t is not None:
                h_new = h_new @ w_hr_t
            c = _with_rows(c, c_new, rows)
        elif mode == "GRU":
            if b_hh is not None:
                q = q + b_hh
            r = (p[:, :hidden] + q[:, :hidden]).sigmoid()
            z = (p[:, hidden:2 * hidden] + q[:, hidden:2 * hidden]).sigmoid()
            n = (p[:, 2 * hidden:] + r * q[:, 2 * hidden:]).tanh()
            h_new = (1 - z) * n + z * h_prev
        else:
            h_new = (p + q).tanh() if mode == "RNN_TANH" else (p + q).relu()
        outputs[start] = h_new
        h = _with_rows(h, h_new, rows)
    out = _joined([outputs[k] for k in sorted(outputs)], x.shape[0], (h.shape[1],))
    parts = [out.reshape(-1), h.reshape(-1)] + ([c.reshape(-1)] if mode == "LSTM" else [])
    return _joined(parts, sum(part.shape[0] for part in parts), ())


class Recurrent(Function):
    """One recurrent layer in one direction over a packed sequence (module docstring)."""

    formula = Custom("RNN", local=_recurrent_local)
    composite = staticmethod(_composite)  # create_graph replays this

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, *, mode, batch_sizes,
                reverse):
        dtype = x.dtype
        hidden = w_hh.shape[1] if w_hr is None else w_hr.shape[1]
        hidden_out = h0.shape[1]
        total, batch = x.shape[0], h0.shape[0]
        gates = GATES[mode]
        steps = _steps(batch_sizes, reverse)
        blocks = _StepBlocks(steps)
        # The input projections p = x W_ih^T + b_ih (+ b_hh) of every step, block by block
        # of steps (_StepBlocks): the main thread makes the first block's, the other
        # core the rest while the loop runs, each ready before its block's first step.
        xw = np.empty((total, gates * hidden), dtype=np.result_type(x, w_ih))
        w_ih_t = w_ih.T
        biases = [b for b in (b_ih, b_hh if mode != "GRU" else None) if b is not None]
        # (GRU keeps b_hh inside r * (h W_hn^T + b_hn))

        def projections(b):
            r0, r1 = blocks.rows[b]
            part = gemm(x[r0:r1], w_ih_t)
            for i, bias in enumerate(biases):
                np.add(part, bias, out=xw[r0:r1] if i == len(biases) - 1 else part)
            if not biases:
                xw[r0:r1] = part
        # h W_hh^T with W_hh^T as a transposed view runs ~15x slower in OpenBLAS for a
        # language model's shapes (measured: (32, 256) x (256, 1024)) than with a
        # contiguous copy; the copy is made once per sequence, not per step
        w_hh_t = np.ascontiguousarray(w_hh.T)
        w_hr_t = np.ascontiguousarray(w_hr.T) if w_hr is not None else None
        # The node's flat output is allocated first and the output rows, h_n and c_n
        # are written straight into it (no concatenation copy at the end). The plain
        # RNNs' backward reads the output rows, so theirs stay a separate array: an
        # in-place change of the layer's output must not reach the saved copy.
        flat = np.empty(total * hidden_out + batch * hidden_out
                        + (batch * hidden if mode == "LSTM" else 0), dtype=dtype)
        out_view = flat[:total * hidden_out].reshape(total, hidden_out)
        out = out_view if mode in ("LSTM", "GRU") else np.empty_like(out_view)
        h = flat[total * hidden_out:(total + batch) * hidden_out].reshape(batch, hidden_out)
        h[...] = h0
        c = None
        if mode == "LSTM":
            c = flat[(total + batch) * hidden_out:].reshape(batch, hidden)
            c[...] = c0
        h_prev_rows = np.empty((total, hidden_out), dtype=dtype)
        # An LSTM's gate activations overwrite its pre-activations xw in place (each
        # element of a step is read once, then written): one (total, 4H) buffer fewer
        # to allocate and fault in every step (measured: 2275 page faults a training
        # step of the LSTM LM before, with xw, acts and the concatenation separate).
        acts = xw if mode == "LSTM" else np.empty((total, gates * hidden), dtype=dtype)
        extra = None  # LSTM: c_(t-1) and tanh(c); GRU: q_n; proj: h before W_hr
        if mode == "LSTM":
            c_prev_rows = np.empty((total, hidden), dtype=dtype)
            tanh_c = np.empty((total, hidden), dtype=dtype)
            h_full = np.empty((total, hidden), dtype=dtype) if w_hr is not None else None
            extra = (c_prev_rows, tanh_c, h_full)
        elif mode == "GRU":
            q_n = np.empty((total, hidden), dtype=dtype)
            extra = (q_n,)
        q_buffer = np.empty((batch, gates * hidden), dtype=dtype)  # reused every step
        # whether the one-pass float32 LSTM kernel applies: asked once, every step's
        # arrays are row slices of these
        fused = mode == "LSTM" and _kernels.fused_float32(
            acts, q_buffer, c, c_prev_rows, tanh_c, h_full if h_full is not None else out)
        with _step_blas(batch, w_hh):  # small sequential GEMMs: one thread
            alongside = Alongside(enabled=blocks.count > 1 and _small_steps(batch, w_hh))
            ahead = [None] + [alongside.submit(projections, b) for b in range(1, blocks.count)]
            projections(0)
            for position, (start, rows) in enumerate(steps):
                b = blocks.starting_at(position)
                if b is not None and ahead[b] is not None:
                    alongside.finish(ahead[b])
                stop = start + rows
                hp = h[:rows]
                h_prev_rows[start:stop] = hp
                q = np.matmul(hp, w_hh_t, out=q_buffer[:rows])
                if mode == "LSTM":
                    h_new = h_full[start:stop] if h_full is not None else out[start:stop]
                    _kernels.lstm_forward(acts[start:stop], q, c[:rows],
                                          c_prev_rows[start:stop], tanh_c[start:stop], h_new,
                                          fused=fused)
                    if w_hr is not None:
                        np.matmul(h_new, w_hr_t, out=out[start:stop])
                elif mode == "GRU":
                    if b_hh is not None:
                        q += b_hh
                    q_n[start:stop] = q[:, 2 * hidden:]
                    _kernels.gru_forward(xw[start:stop], q, hp, acts[start:stop], out[start:stop])
                else:
                    pre = xw[start:stop] + q
                    if mode == "RNN_TANH":
                        np.tanh(pre, out=out[start:stop])
                    else:
                        np.maximum(pre, 0, out=out[start:stop])
                h[:rows] = out[start:stop]
        ctx.save_for_backward(x, w_ih, w_hh, w_hr, h_prev_rows, acts, out, *(extra or ()))
        ctx.shapes = (total, batch, hidden_out, hidden)
        if out is not out_view:
            out_view[...] = out
        return flat

    @staticmethod
    def backward(ctx, grad):
        mode, reverse = ctx.options["mode"], ctx.options["reverse"]
        batch_sizes = ctx.options["batch_sizes"]
        x, w_ih, w_hh, w_hr, h_prev_rows, acts, out, *extra = ctx.saved_tensors
        total, batch, hidden_out, hidden = ctx.shapes
        sizes, shapes = split_outputs(grad.size, total, batch, hidden_out, hidden, mode)
        pieces = np.split(grad, np.cumsum(sizes)[:-1])
        d_out = pieces[0].reshape(shapes[0])
        dh = np.array(pieces[1].reshape(shapes[1]), copy=True)
        dc = np.array(pieces[2].reshape(shapes[2]), copy=True) if mode == "LSTM" else None
        dtype = grad.dtype
        gates = GATES[mode]
        # dL/dp (input pre-activations) and dL/dq (hidden ones); the same except for GRU
        d_p = np.empty((total, gates * hidden), dtype=dtype)
        d_q = d_p if mode != "GRU" else np.empty_like(d_p)
        d_proj = None  # LSTM with proj_size: dL/d(projected h) of every row
        if mode == "LSTM" and w_hr is not None:
            d_proj = np.empty((total, hidden_out), dtype=dtype)
        dh_buffer = np.empty_like(dh)
        need = ctx.needs_input_grad
        steps = _steps(batch_sizes, reverse)
        blocks = _StepBlocks(steps)
        grad_x = np.empty((total, x.shape[1]), dtype=dtype) if need[0] and blocks.count > 1 \
            else None
        parts_ih = [None] * blocks.count
        parts_hh = [None] * blocks.count

        def block_gradients(b):
            # The GEMMs of dL/dx, dL/dW_ih and dL/dW_hh over one block of steps' rows,
            # as soon as the loop has filled its d_p (on the other core, see _StepBlocks).
            # (gemm: its thread rule depends on the shapes alone, so the same bits)
            r0, r1 = blocks.rows[b]
            if need[0]:
                grad_x[r0:r1] = gemm(d_p[r0:r1], w_ih)
            if need[3]:
                parts_ih[b] = gemm(d_p[r0:r1].T, x[r0:r1])
            if need[4]:
                parts_hh[b] = gemm(d_q[r0:r1].T, h_prev_rows[r0:r1])

        summed = mode == "LSTM" and w_hr is None and _kernels.same_layout(
            dh, d_out, dc, acts, extra[1], extra[0], d_p)  # asked once, as in forward
        with _step_blas(batch, w_hh):
            # the other core only while the loop's GEMMs are single-threaded
            alongside = Alongside(enabled=blocks.count > 1 and _small_steps(batch, w_hh))
            for position in reversed(range(len(steps))):
                start, rows = steps[position]
                stop = start + rows
                if mode == "LSTM" and w_hr is None:
                    # dL/dh_t = dh + d_out is summed inside the fused kernel
                    c_prev_rows, tanh_c, _ = extra
                    _kernels.lstm_backward(dh[:rows], dc[:rows], acts[start:stop],
                                           tanh_c[start:stop], c_prev_rows[start:stop],
                                           d_p[start:stop], d_out=d_out[start:stop],
                                           fused=summed)
                    np.matmul(d_p[start:stop], w_hh, out=dh[:rows])
                elif mode == "LSTM":
                    dh_t = np.add(dh[:rows], d_out[start:stop], out=dh_buffer[:rows])
                    c_prev_rows, tanh_c, _ = extra
                    d_proj[start:stop] = dh_t
                    dh_t = dh_t @ w_hr
                    _kernels.lstm_backward(dh_t, dc[:rows], acts[start:stop], tanh_c[start:stop],
                                           c_prev_rows[start:stop], d_p[start:stop])
                    np.matmul(d_p[start:stop], w_hh, out=dh[:rows])
                elif mode == "GRU":
                    dh_t = np.add(dh[:rows], d_out[start:stop], out=dh_buffer[:rows])
                    (q_n,) = extra
                    dh_direct = _kernels.gru_backward(dh_t, acts[start:stop], q_n[start:stop],
                                                      h_prev_rows[start:stop], d_p[start:stop],
                                                      d_q[start:stop])
                    dh[:rows] = dh_direct + d_q[start:stop] @ w_hh
                else:
                    dh_t = np.add(dh[:rows], d_out[start:stop], out=dh_buffer[:rows])
                    y = out[start:stop]
                    local = (1 - y * y) if mode == "RNN_TANH" else (y > 0).astype(dtype)
                    np.multiply(dh_t, local, out=d_p[start:stop])
                    np.matmul(d_p[start:stop], w_hh, out=dh[:rows])
                done = blocks.step_done(position)
                if done is not None and blocks.count > 1:
                    alongside.submit(block_gradients, done)
            alongside.wait()
        if blocks.count == 1:  # a single step: one GEMM each over all rows
            if need[0]:
                grad_x = gemm(d_p, w_ih)
            grad_w_ih = gemm(d_p.T, x) if need[3] else None
            grad_w_hh = gemm(d_q.T, h_prev_rows) if need[4] else None
        else:  # the blocks' partial sums, added in block order (the same on any machine)
            grad_w_ih = _block_sum(parts_ih) if need[3] else None
            grad_w_hh = _block_sum(parts_hh) if need[4] else None
        grad_h0 = dh if need[1] else None
        grad_c0 = dc if mode == "LSTM" and need[2] else None
        grad_b_ih = d_p.sum(axis=0) if need[5] else None
        grad_b_hh = None
        if need[6]:
            # the same sum for LSTM and RNN; a copy, so the two grads never share memory
            grad_b_hh = (grad_b_ih.copy() if grad_b_ih is not None and d_q is d_p
                         else d_q.sum(axis=0))
        grad_w_hr = None
        if w_hr is not None and need[7]:
            grad_w_hr = gemm(d_proj.T, extra[2])
        return grad_x, grad_h0, grad_c0, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, grad_w_hr

