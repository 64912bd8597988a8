"""Recurrent layers: RNN, LSTM, GRU and their cells, shaped like ``torch.nn``.

Weights, names and layouts are PyTorch's, so a PyTorch state dict loads as it is:
``weight_ih_l{k}`` (gates * hidden, input), ``weight_hh_l{k}`` (gates * hidden, hidden
or proj_size), ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}`` (proj_size,
hidden; LSTM with ``proj_size``), with ``_reverse`` for the second direction. The gate
order is PyTorch's: (i, f, g, o) for LSTM, (r, z, n) for GRU. Every weight starts
U(-1/sqrt(hidden), 1/sqrt(hidden)).

Each layer and direction is ONE node of the graph over the whole sequence
(``autograd_core.ops.recurrent.Recurrent``: one input GEMM, then per step one GEMM and
one fused gate kernel; backward through time in the same node). A cell is the same op
over one step.

>>> import nn
>>> from autograd_core import randn, manual_seed
>>> _ = manual_seed(0)
>>> lstm = nn.LSTM(input_size=3, hidden_size=5, num_layers=2, batch_first=True)
>>> output, (h_n, c_n) = lstm(randn(4, 7, 3))        # batch 4, 7 steps
>>> output.shape, h_n.shape
(torch.Size([4, 7, 5]), torch.Size([2, 4, 5]))
"""

import math

import numpy as np

from autograd_core.errors import DTypeError, ShapeError
from autograd_core.ops.movement import Cat, GetItem, Reshape, Stack
from autograd_core.ops.recurrent import GATES, Recurrent, split_outputs
from autograd_core.random import get_generator
from autograd_core.tensor import Tensor
from nn import functional as F
from nn.module import Module, check_device
from nn.parameter import Parameter
from nn.utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _positive(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _as_input(x, dtype, layer):
    """The input as a Tensor of the weights' dtype (ints and lists convert; a float
    tensor of another dtype is refused, as PyTorch does)."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.dtype.kind != "f":
        return x.to(dtype)
    if x.dtype != dtype:
        raise DTypeError(
            f"{layer}: the input is {x.dtype} but the weights are {dtype}; convert one "
            f"(module.double() or input.float())")
    return x


def _run_flat(x, h0, c0, weights, mode, batch_sizes, reverse, hidden):
    """One layer in one direction: (output rows, h_n, c_n or None) as graph nodes."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    flat = Recurrent.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode=mode,
                           batch_sizes=batch_sizes, reverse=reverse)
    total, batch, hidden_out = x.shape[0], np.shape(h0)[0], np.shape(h0)[1]
    sizes, shapes = split_outputs(flat.shape[0], total, batch, hidden_out, hidden, mode)
    parts, start = [], 0
    for size, shape in zip(sizes, shapes):
        piece = GetItem.apply(flat, index=(slice(start, start + size),))
        parts.append(Reshape.apply(piece, shape=shape))
        start += size
    return parts[0], parts[1], (parts[2] if mode == "LSTM" else None)


def _state_slice(state, index):
    """state[index] for a Tensor (a graph node) or an array (a constant)."""
    if isinstance(state, Tensor):
        return GetItem.apply(state, index=(index,))
    return state[index]


def _indices(t):
    if t is None:
        return None
    return np.asarray(t._data if isinstance(t, Tensor) else t, dtype=np.int64)


class RNNBase(Module):
    """The common multi-layer, optionally bidirectional recurrent layer (see module)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        check_device(device, name)
        self.mode = mode
        self.input_size = _positive(input_size, "input_size", name)
        self.hidden_size = _positive(hidden_size, "hidden_size", name)
        self.num_layers = _positive(num_layers, "num_layers", name)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout <= 1:
            raise ValueError(
                f"{name}: dropout should be a number in range [0, 1] representing the "
                f"probability of an element being zeroed, got {dropout!r}")
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a non-negative int, got {proj_size!r}")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            if proj_size:
                raise ValueError(
                    f"{name}: proj_size has to be smaller than hidden_size, got proj_size="
                    f"{proj_size} and hidden_size={hidden_size}")
        self.proj_size = int(proj_size)
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        gates = GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gates, layer_input)), ("weight_hh", (gates, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for base, shape in shapes:
                    setattr(self, base + suffix, Parameter(np.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(base + suffix)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """The weights per layer and direction, in PyTorch's order."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional
                                                                    else 1))
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def flatten_parameters(self):
        """Accepted for PyTorch code (cuDNN's weight packing); nothing to do here."""

    def reset_parameters(self):
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        generator = get_generator()
        for p in self.parameters():
            p._data[...] = generator.uniform(-bound, bound, p.shape)

    def _layer_weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")

        def get(base):
            return getattr(self, base + suffix, None)

        return (get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                get("weight_hr"))

    # ------------------------------------------------------------------ forward
    def _layer_name(self):
        return type(self).__name__

    def _check_state(self, state, expected, what, batched):
        name = self._layer_name()
        if not isinstance(state, Tensor):
            state = Tensor(state)
        if batched and state.ndim != 3:
            raise ShapeError(
                f"{name}: for batched 3-D input, {what} should also be 3-D but got "
                f"{state.ndim}-D tensor of shape {tuple(state.shape)}")
        if not batched and state.ndim != 2:
            raise ShapeError(
                f"{name}: for unbatched 2-D input, {what} should also be 2-D but got "
                f"{state.ndim}-D tensor of shape {tuple(state.shape)}")
        if not batched:
            state = state.unsqueeze(1)
        if tuple(state.shape) != expected:
            shown = expected if batched else (expected[0], expected[2])
            got = tuple(state.shape) if batched else (state.shape[0], state.shape[2])
            raise ShapeError(
                f"{name}: Expected {what} size {shown}, got {list(got)} (the first dim is "
                f"num_layers * num_directions = {self.num_layers} * "
                f"{2 if self.bidirectional else 1})")
        return state

    def forward(self, input, hx=None):
        name = self._layer_name()
        dtype = self.weight_ih_l0.dtype
        directions = 2 if self.bidirectional else 1
        hidden_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        packed = isinstance(input, PackedSequence)
        if packed:
            data = _as_input(input.data, dtype, name)
            batch_sizes = tuple(int(b) for b in _indices(input.batch_sizes))
            sorted_indices = _indices(input.sorted_indices)
            unsorted_indices = _indices(input.unsorted_indices)
            batch, batched = batch_sizes[0], True
            if data.ndim != 2:
                raise ShapeError(f"{name}: packed data must be 2-D (rows, input_size), got "
                                 f"shape {tuple(data.shape)}")
        else:
            x = _as_input(input, dtype, name)
            if x.ndim not in (2, 3):
                raise ShapeError(
                    f"{name}: Expected input to be 2D or 3D, got {x.ndim}D tensor instead "
                    f"(shape {tuple(x.shape)}; (L, N, H_in), (N, L, H_in) with "
                    "batch_first, or (L, H_in) unbatched)")
            batched = x.ndim == 3
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
            steps, batch = x.shape[0], x.shape[1]
            data = x.reshape(steps * batch, x.shape[2])
            batch_sizes = (batch,) * steps
            sorted_indices = unsorted_indices = None
        if data.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {data.shape[-1]}")
        if not batch_sizes or min(batch_sizes) == 0:
            raise ShapeError(f"{name}: the input has no time steps or an empty batch")
        layers = self.num_layers * directions
        h_shape = (layers, batch, hidden_out)
        c_shape = (layers, batch, self.hidden_size)
        h0 = c0 = None
        if hx is None:
            h0 = np.zeros(h_shape, dtype=dtype)
            c0 = np.zeros(c_shape, dtype=dtype) if self.mode == "LSTM" else None
        else:
            if self.mode == "LSTM":
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
                h0 = self._check_state(hx[0], h_shape, "hidden[0]", batched)
                c0 = self._check_state(hx[1], c_shape, "hidden[1]", batched)
            else:
                if isinstance(hx, (tuple, list)):
                    raise TypeError(f"{name}: hx must be a Tensor, got a {type(hx).__name__}")
                h0 = self._check_state(hx, h_shape, "hidden", batched)
            if sorted_indices is not None:
                h0 = GetItem.apply(h0, index=(slice(None), sorted_indices))
                if c0 is not None:
                    c0 = GetItem.apply(c0, index=(slice(None), sorted_indices))
        layer_input = data
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                out, h, c = _run_flat(
                    layer_input, _state_slice(h0, index),
                    None if c0 is None else _state_slice(c0, index),
                    self._layer_weights(layer, direction), self.mode, batch_sizes,
                    direction == 1, self.hidden_size)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if directions == 1 else Cat.apply(*outputs, dim=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        h_n = Stack.apply(*h_n, dim=0)
        c_n = Stack.apply(*c_n, dim=0) if self.mode == "LSTM" else None
        if packed:
            output = PackedSequence(layer_input, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
            if unsorted_indices is not None:
                h_n = GetItem.apply(h_n, index=(slice(None), unsorted_indices))
                if c_n is not None:
                    c_n = GetItem.apply(c_n, index=(slice(None), unsorted_indices))
        else:
            output = layer_input.reshape(len(batch_sizes), batch, directions * hidden_out)
            if not batched:
                output = output.squeeze(1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if c_n is not None else None
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) (or relu).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; returns (output, h_n).
    """

    def __init__(self, *args, nonlinearity: str = "tanh", **kwargs):
        if len(args) > 3:  # PyTorch's positional order puts nonlinearity fourth
            nonlinearity, args = args[3], args[:3] + args[4:]
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)
        self.nonlinearity = nonlinearity

    def extra_repr(self):
        text = super().extra_repr()
        return text + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o; see the module docstring); returns
    (output, (h_n, c_n)). ``proj_size > 0`` projects h to that size (weight_hr)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n; see the module docstring); returns
    (output, h_n)."""

    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One step: weight_ih (gates * hidden, input), weight_hh (gates * hidden, hidden),
    bias_ih, bias_hh; U(-1/sqrt(hidden), 1/sqrt(hidden)) init."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        self.input_size = _positive(input_size, "input_size", name)
        self.hidden_size = _positive(hidden_size, "hidden_size", name)
        self.bias = bool(bias)
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        rows = num_chunks * hidden_size
        self.weight_ih = Parameter(np.empty((rows, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((rows, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.empty((rows,), dtype=dtype))
            self.bias_hh = Parameter(np.empty((rows,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        generator = get_generator()
        for p in self.parameters():
            p._data[...] = generator.uniform(-bound, bound, p.shape)

    def _check(self, input, states):
        """(x as (N, I), states as (N, H) each, batched?) with PyTorch's errors."""
        name = type(self).__name__
        x = _as_input(input, self.weight_ih.dtype, name)
        if x.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D input "
                             f"instead (shape {tuple(x.shape)})")
        batched = x.ndim == 2
        if not batched:
            x = x.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got {x.shape[1]} "
                             f"expected {self.input_size}")
        batch = x.shape[0]
        checked = []
        for k, state in enumerate(states):
            if state is None:
                checked.append(np.zeros((batch, self.hidden_size), dtype=x.dtype))
                continue
            if not isinstance(state, Tensor):
                state = Tensor(state)
            if state.ndim != (2 if batched else 1):
                raise ShapeError(
                    f"{name}: Expected hidden to be {2 if batched else 1}D like the input, got "
                    f"{state.ndim}D (shape {tuple(state.shape)})")
            if not batched:
                state = state.unsqueeze(0)
            if state.shape[1] != self.hidden_size:
                raise ShapeError(f"{name}: hidden{k} has inconsistent hidden_size: got "
                                 f"{state.shape[1]}, expected {self.hidden_size}")
            if state.shape[0] != batch:
                raise ShapeError(f"{name}: Input batch size {batch} doesn't match hidden{k} "
                                 f"batch size {state.shape[0]}")
            checked.append(state)
        return x, checked, batched

    def _step(self, x, h, c):
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, None)
        return _run_flat(x, h, c, weights, self._mode, (x.shape[0],), False, self.hidden_size)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), one node."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; use 'tanh' "
                             "or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input, hx=None):
        x, (h,), batched = self._check(input, (hx,))
        _, h_new, _ = self._step(x, h, None)
        return h_new if batched else h_new.squeeze(0)


class LSTMCell(RNNCellBase):
    """(h', c') of one LSTM step, the four gates from one node; returns (h', c')."""

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        x, (h, c), batched = self._check(input, (None, None) if hx is None else hx)
        _, h_new, c_new = self._step(x, h, c)
        if not batched:
            return h_new.squeeze(0), c_new.squeeze(0)
        return h_new, c_new


class GRUCell(RNNCellBase):
    """h' of one GRU step, the three gates from one node."""

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._check(input, (hx,))
        _, h_new, _ = self._step(x, h, None)
        return h_new if batched else h_new.squeeze(0)
