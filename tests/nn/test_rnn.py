"""RNN, LSTM, GRU and the cells against PyTorch (loaded weights, float64), packed
sequences, and the errors for bad shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import nn
from autograd_core import Tensor
from autograd_core.errors import ShapeError
from nn.utils import rnn as rnn_utils
from tests.reference.nn_torch import assert_close, to_torch

TOL = 1e-10


def _twin(torch, ours, theirs):
    theirs = theirs.double()  # first: loading float64 values into float32 would round them
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    return theirs


def _outputs(result):
    out, state = result
    states = list(state) if isinstance(state, tuple) else [state]
    return out, states


def _compare_grads(ours, theirs, inputs, inputs_t):
    for (name, p), (name_t, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        assert_close(p.grad, pt.grad, atol=TOL, rtol=TOL, what=name)
    for x, xt in zip(inputs, inputs_t):
        assert_close(x.grad, xt.grad, atol=TOL, rtol=TOL, what="input grad")


CONFIGS = [
    dict(num_layers=1),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=2, batch_first=True, bias=False),
    dict(num_layers=3, bidirectional=True, batch_first=True),
]


@pytest.mark.parametrize("kind", ["RNN", "RNN_relu", "LSTM", "GRU", "LSTM_proj"])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_matches_torch(torch_or_skip, rng, kind, config, with_state):
    torch = torch_or_skip
    extra = {}
    name = kind
    if kind == "RNN_relu":
        name, extra = "RNN", {"nonlinearity": "relu"}
    if kind == "LSTM_proj":
        name, extra = "LSTM", {"proj_size": 3}
    ours = getattr(nn, name)(4, 5, **config, **extra).double()
    theirs = _twin(torch, ours, getattr(torch.nn, name)(4, 5, **config, **extra))
    steps, batch = 6, 3
    shape = (batch, steps, 4) if config.get("batch_first") else (steps, batch, 4)
    x = rng.standard_normal(shape)
    xo, xt = Tensor(x, requires_grad=True), to_torch(torch, x, requires_grad=True)
    inputs, inputs_t = [xo], [xt]
    directions = 2 if config.get("bidirectional") else 1
    layers = config["num_layers"] * directions
    hx = hx_t = None
    if with_state:
        hout = extra.get("proj_size", 5)
        h = rng.standard_normal((layers, batch, hout))
        ho, ht = Tensor(h, requires_grad=True), to_torch(torch, h, requires_grad=True)
        inputs.append(ho)
        inputs_t.append(ht)
        hx, hx_t = ho, ht
        if name == "LSTM":
            c = rng.standard_normal((layers, batch, 5))
            co, ct = Tensor(c, requires_grad=True), to_torch(torch, c, requires_grad=True)
            inputs.append(co)
            inputs_t.append(ct)
            hx, hx_t = (ho, co), (ht, ct)
    out, states = _outputs(ours(xo, hx))
    out_t, states_t = _outputs(theirs(xt, hx_t))
    assert_close(out, out_t, atol=TOL, rtol=TOL, what="output")
    weights = [rng.standard_normal(s.shape) for s in states]
    g_out = rng.standard_normal(out.shape)
    loss = (out * Tensor(g_out)).sum()
    loss_t = (out_t * torch.from_numpy(g_out)).sum()
    for s, st, w in zip(states, states_t, weights):
        assert_close(s, st, atol=TOL, rtol=TOL, what="state")
        loss = loss + (s * Tensor(w)).sum()
        loss_t = loss_t + (st * torch.from_numpy(w)).sum()
    loss.backward()
    loss_t.backward()
    _compare_grads(ours, theirs, inputs, inputs_t)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(torch_or_skip, rng, name, batched):
    torch = torch_or_skip
    ours = getattr(nn, name)(4, 6).double()
    theirs = _twin(torch, ours, getattr(torch.nn, name)(4, 6))
    shape = (3, 4) if batched else (4,)
    x = rng.standard_normal(shape)
    h = rng.standard_normal(shape[:-1] + (6,))
    xo, xt = Tensor(x, requires_grad=True), to_torch(torch, x, requires_grad=True)
    ho, ht = Tensor(h, requires_grad=True), to_torch(torch, h, requires_grad=True)
    inputs, inputs_t = [xo, ho], [xt, ht]
    if name == "LSTMCell":
        c = rng.standard_normal(h.shape)
        co, ct = Tensor(c, requires_grad=True), to_torch(torch, c, requires_grad=True)
        inputs.append(co)
        inputs_t.append(ct)
        outs, outs_t = ours(xo, (ho, co)), theirs(xt, (ht, ct))
    else:
        outs, outs_t = (ours(xo, ho),), (theirs(xt, ht),)
    loss, loss_t = 0, 0
    for o, ot in zip(outs, outs_t):
        assert_close(o, ot, atol=TOL, rtol=TOL)
        w = rng.standard_normal(o.shape)
        loss = loss + (o * Tensor(w)).sum()
        loss_t = loss_t + (ot * torch.from_numpy(w)).sum()
    loss.backward()
    loss_t.backward()
    _compare_grads(ours, theirs, inputs, inputs_t)


def test_cell_step_is_one_node(rng):
    cell = nn.LSTMCell(3, 4)
    h, c = cell(Tensor(rng.standard_normal((2, 3)).astype(np.float32)))
    names = set()
    node = h.grad_fn
    while node is not None and node.name() != "RecurrentBackward0":
        names.add(node.name())
        node = node.next_functions[0][0]
    assert node is not None and node.name() == "RecurrentBackward0"


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequences_match_torch(torch_or_skip, rng, name, enforce_sorted, bidirectional):
    torch = torch_or_skip
    from torch.nn.utils import rnn as trnn

    ours = getattr(nn, name)(3, 4, num_layers=2, bidirectional=bidirectional,
                             batch_first=True).double()
    theirs = _twin(torch, ours, getattr(torch.nn, name)(3, 4, num_layers=2,
                                                        bidirectional=bidirectional,
                                                        batch_first=True))
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    x = rng.standard_normal((4, 5, 3))
    xo, xt = Tensor(x, requires_grad=True), to_torch(torch, x, requires_grad=True)
    packed = rnn_utils.pack_padded_sequence(xo, lengths, batch_first=True,
                                            enforce_sorted=enforce_sorted)
    packed_t = trnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                         enforce_sorted=enforce_sorted)
    assert packed.batch_sizes.tolist() == packed_t.batch_sizes.tolist()
    assert_close(packed.data, packed_t.data, atol=0)
    d = 2 if bidirectional else 1
    h = rng.standard_normal((2 * d, 4, 4))
    ho, ht = Tensor(h, requires_grad=True), to_torch(torch, h, requires_grad=True)
    hx, hx_t = ho, ht
    if name == "LSTM":
        hx, hx_t = (ho, Tensor(h * 0.5)), (ht, torch.from_numpy(h * 0.5))
    out, state = ours(packed, hx)
    out_t, state_t = theirs(packed_t, hx_t)
    padded, lens = rnn_utils.pad_packed_sequence(out, batch_first=True, total_length=6)
    padded_t, lens_t = trnn.pad_packed_sequence(out_t, batch_first=True, total_length=6)
    assert lens.tolist() == lens_t.tolist()
    assert_close(padded, padded_t, atol=TOL, rtol=TOL)
    h_n, h_n_t = (state[0], state_t[0]) if name == "LSTM" else (state, state_t)
    assert_close(h_n, h_n_t, atol=TOL, rtol=TOL)
    g, gh = rng.standard_normal(padded.shape), rng.standard_normal(h_n.shape)
    ((padded * Tensor(g)).sum() + (h_n * Tensor(gh)).sum()).backward()
    ((padded_t * torch.from_numpy(g)).sum() + (h_n_t * torch.from_numpy(gh)).sum()).backward()
    _compare_grads(ours, theirs, [xo, ho], [xt, ht])


def test_pad_sequence_matches_torch(torch_or_skip, rng):
    torch = torch_or_skip
    from torch.nn.utils import rnn as trnn

    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    for batch_first in (False, True):
        for side in ("right", "left"):
            ours = rnn_utils.pad_sequence([Tensor(s) for s in seqs], batch_first, -1.0, side)
            theirs = trnn.pad_sequence([torch.from_numpy(s) for s in seqs], batch_first, -1.0,
                                       side)
            assert_close(ours, theirs, atol=0)
    packed = rnn_utils.pack_sequence([Tensor(s) for s in seqs], enforce_sorted=False)
    back = rnn_utils.unpack_sequence(packed)
    for s, b in zip(seqs, back):
        np.testing.assert_array_equal(b.numpy(), s)


def test_state_dict_keys_match_torch(torch_or_skip):
    torch = torch_or_skip
    for kwargs in (dict(num_layers=2, bidirectional=True), dict(proj_size=2, num_layers=2)):
        ours = nn.LSTM(3, 4, **kwargs)
        theirs = torch.nn.LSTM(3, 4, **kwargs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for k, v in theirs.state_dict().items():
            assert tuple(ours.state_dict()[k].shape) == tuple(v.shape)
        ours.load_state_dict(theirs.state_dict())
    assert repr(nn.GRU(3, 4, num_layers=2, dropout=0.5)) == repr(
        torch.nn.GRU(3, 4, num_layers=2, dropout=0.5))


def test_dropout_between_layers_only_in_training(rng):
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = Tensor(rng.standard_normal((5, 2, 3)))
    lstm.eval()
    a, _ = lstm(x)
    b, _ = lstm(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    lstm.train()
    c, _ = lstm(x)
    assert not np.allclose(a.numpy(), c.numpy())


def test_recurrent_bad_input(rng):
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = Tensor(rng.standard_normal((5, 2, 3)).astype(np.float32))
    with pytest.raises(ShapeError, match="2D or 3D, got 4D"):
        lstm(x.unsqueeze(0))
    with pytest.raises(ShapeError, match="input_size. Expected 3, got 2"):
        lstm(x[..., :2])
    h = Tensor(np.zeros((2, 2, 4), dtype=np.float32))
    with pytest.raises(ShapeError, match=r"Expected hidden\[0\] size \(4, 2, 4\), got \[2, 2, 4\]"):
        lstm(x, (h, h))
    with pytest.raises(ShapeError, match=r"hidden\[0\] should also be 3-D"):
        lstm(x, (h[0], h[0]))
    with pytest.raises(TypeError, match="tuple"):
        lstm(x, h)
    gru = nn.GRU(3, 4)
    with pytest.raises(ShapeError, match="unbatched 2-D input, hidden should also be 2-D"):
        gru(x[:, 0], Tensor(np.zeros((1, 2, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match="proj_size"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    cell = nn.GRUCell(3, 4)
    with pytest.raises(ShapeError, match="inconsistent input_size: got 2 expected 3"):
        cell(x[0, :, :2])
    with pytest.raises(ShapeError, match="hidden0 has inconsistent hidden_size: got 5"):
        cell(x[0], Tensor(np.zeros((2, 5), dtype=np.float32)))
    with pytest.raises(ShapeError, match="batch size 2 doesn't match hidden0 batch size 3"):
        cell(x[0], Tensor(np.zeros((3, 4), dtype=np.float32)))
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(x, [2, 3])
    with pytest.raises(ValueError, match="exceeds the 5 steps"):
        rnn_utils.pack_padded_sequence(x, [7, 3])


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_unbatched_input_matches_torch(torch_or_skip, rng, name):
    torch = torch_or_skip
    ours = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True).double()
    theirs = _twin(torch, ours, getattr(torch.nn, name)(3, 4, num_layers=2,
                                                        bidirectional=True))
    x, h = rng.standard_normal((5, 3)), rng.standard_normal((4, 4))
    hx = (Tensor(h), Tensor(h * 0.3)) if name == "LSTM" else Tensor(h)
    hx_t = ((torch.from_numpy(h), torch.from_numpy(h * 0.3)) if name == "LSTM"
            else torch.from_numpy(h))
    out, state = ours(Tensor(x), hx)
    out_t, state_t = theirs(torch.from_numpy(x), hx_t)
    assert_close(out, out_t, atol=TOL)
    for s, st in zip(_outputs((out, state))[1], _outputs((out_t, state_t))[1]):
        assert_close(s, st, atol=TOL)


@settings(max_examples=12, deadline=None)
@given(lengths=hst.lists(hst.integers(1, 6), min_size=1, max_size=5),
       batch_first=hst.booleans(), seed=hst.integers(0, 2 ** 16))
def test_packed_lstm_any_lengths_matches_torch(lengths, batch_first, seed):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as trnn

    rng = np.random.default_rng(seed)
    ours = nn.LSTM(2, 3, batch_first=batch_first).double()
    theirs = _twin(torch, ours, torch.nn.LSTM(2, 3, batch_first=batch_first))
    seqs = [rng.standard_normal((n, 2)) for n in lengths]
    packed = rnn_utils.pack_sequence([Tensor(s) for s in seqs], enforce_sorted=False)
    packed_t = trnn.pack_sequence([torch.from_numpy(s) for s in seqs], enforce_sorted=False)
    out, (h, c) = ours(packed)
    out_t, (h_t, c_t) = theirs(packed_t)
    padded, _ = rnn_utils.pad_packed_sequence(out, batch_first=batch_first)
    padded_t, _ = trnn.pad_packed_sequence(out_t, batch_first=batch_first)
    assert_close(padded, padded_t, atol=TOL)
    assert_close(h, h_t, atol=TOL)
    assert_close(c, c_t, atol=TOL)


def test_a_small_lstm_language_model_learns_a_repeating_sequence():
    import nn.functional as F
    import optim
    from autograd_core import manual_seed

    manual_seed(0)
    vocab = 5

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, 8)
            self.rnn = nn.LSTM(8, 16, batch_first=True)
            self.out = nn.Linear(16, vocab)

        def forward(self, x):
            return self.out(self.rnn(self.emb(x))[0])

    model = LM()
    opt = optim.Adam(model.parameters(), lr=0.05)
    text = np.tile(np.arange(vocab), 8)
    x, y = Tensor(text[None, :-1]), Tensor(text[None, 1:])
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 < losses[0]
