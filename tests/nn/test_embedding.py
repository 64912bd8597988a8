"""Embedding and EmbeddingBag against PyTorch (loaded weights, float64), and bad indices."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor
from autograd_core.errors import DTypeError
from tests.reference.nn_torch import assert_close

TOL = 1e-12


def _pair(torch, ours, theirs):
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    return theirs


@pytest.mark.parametrize("options", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                     {"scale_grad_by_freq": True},
                                     {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0}])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_embedding_matches_torch(torch_or_skip, rng, options, shape):
    torch = torch_or_skip
    ours = nn.Embedding(10, 4, **options).double()
    theirs = _pair(torch, ours, torch.nn.Embedding(10, 4, **options).double())
    idx = rng.integers(0, 10, shape)
    idx.flat[0] = idx.flat[-1]  # a repeated index
    out, out_t = ours(Tensor(idx)), theirs(torch.from_numpy(idx))
    assert_close(out, out_t, atol=TOL)
    assert_close(ours.weight, theirs.weight, atol=TOL, what="max_norm renormalised rows")
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    assert_close(ours.weight.grad, theirs.weight.grad, atol=TOL)
    assert repr(ours) == repr(theirs)


def test_embedding_init_and_from_pretrained(torch_or_skip):
    torch = torch_or_skip
    emb = nn.Embedding(5, 3, padding_idx=1)
    assert np.all(emb.weight.numpy()[1] == 0)
    table = np.arange(6.0).reshape(3, 2)
    frozen = nn.Embedding.from_pretrained(Tensor(table))
    assert not frozen.weight.requires_grad
    assert nn.Embedding.from_pretrained(Tensor(table), freeze=False).weight.requires_grad
    assert frozen(Tensor([2])).tolist() == [[4.0, 5.0]]
    assert list(frozen.state_dict()) == list(torch.nn.Embedding(3, 2).state_dict())


def test_embedding_bad_indices():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="index 4 is not in \\[0, 4\\)"):
        emb(Tensor([0, 4]))
    with pytest.raises(IndexError, match="index -1"):
        emb(Tensor([-1, 2]))
    with pytest.raises(DTypeError, match="integer"):
        emb(Tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)
    bag = nn.EmbeddingBag(4, 2)
    with pytest.raises(IndexError, match="index 9"):
        bag(Tensor([[0, 9]]))
    with pytest.raises(ValueError, match="offsets\\[0\\] has to be 0"):
        bag(Tensor([0, 1, 2]), Tensor([1, 2]))
    with pytest.raises(ValueError, match="offsets has to be None"):
        bag(Tensor([[0, 1]]), Tensor([0]))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_bag_matches_torch(torch_or_skip, rng, mode, padding_idx):
    torch = torch_or_skip
    ours = nn.EmbeddingBag(8, 3, mode=mode, padding_idx=padding_idx).double()
    theirs = _pair(torch, ours, torch.nn.EmbeddingBag(8, 3, mode=mode,
                                                      padding_idx=padding_idx).double())
    # 1-D with offsets (an empty bag included), then 2-D fixed-length bags
    idx = rng.integers(0, 8, 9)
    idx[1] = 0
    offsets = np.array([0, 3, 3, 7])
    cases = [((Tensor(idx), Tensor(offsets)), (torch.from_numpy(idx),
                                                 torch.from_numpy(offsets))),
             ((Tensor(idx[:8].reshape(2, 4)),), (torch.from_numpy(idx[:8].reshape(2, 4)),))]
    for args, args_t in cases:
        ours.zero_grad()
        theirs.zero_grad()
        out, out_t = ours(*args), theirs(*args_t)
        assert_close(out, out_t, atol=TOL)
        g = rng.standard_normal(out.shape)
        out.backward(Tensor(g))
        out_t.backward(torch.from_numpy(g))
        assert_close(ours.weight.grad, theirs.weight.grad, atol=TOL)


def test_embedding_bag_per_sample_weights_and_last_offset(torch_or_skip, rng):
    torch = torch_or_skip
    w = rng.standard_normal((6, 2))
    idx, offsets = rng.integers(0, 6, 7), np.array([0, 2, 5, 7])
    psw = rng.standard_normal(7)
    wo, wt = Tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    po, pt = Tensor(psw, requires_grad=True), torch.tensor(psw, requires_grad=True)
    out = F.embedding_bag(Tensor(idx), wo, Tensor(offsets), mode="sum",
                          per_sample_weights=po, include_last_offset=True)
    out_t = torch.nn.functional.embedding_bag(torch.from_numpy(idx), wt,
                                              torch.from_numpy(offsets), mode="sum",
                                              per_sample_weights=pt, include_last_offset=True)
    assert_close(out, out_t, atol=TOL)
    g = rng.standard_normal(out.shape)
    out.backward(Tensor(g))
    out_t.backward(torch.from_numpy(g))
    assert_close(wo.grad, wt.grad, atol=TOL)
    assert_close(po.grad, pt.grad, atol=TOL)
