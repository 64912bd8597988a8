"""The Optimizer contract: groups, state, zero_grad, step, state dicts, dtypes, repr."""

import copy
import io
import tracemalloc

import numpy as np
import pytest

import optim
from autograd_core import Tensor, is_grad_enabled, no_grad
from tests.optim.helpers import gradients, make_params, torch_float64_scalars

ALL = [
    (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    (optim.Adam, dict(lr=0.05, weight_decay=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.05, amsgrad=True, maximize=True)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01,
                         initial_accumulator_value=0.1)),
    (optim.Adadelta, dict(lr=0.5, rho=0.8, weight_decay=0.01)),
    (optim.Adamax, dict(lr=0.05, weight_decay=0.01, maximize=True)),
    (optim.NAdam, dict(lr=0.05, weight_decay=0.01, momentum_decay=0.01)),
    (optim.NAdam, dict(lr=0.05, weight_decay=0.01, decoupled_weight_decay=True)),
    (optim.RAdam, dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.01)),
    (optim.RAdam, dict(lr=0.05, weight_decay=0.01, decoupled_weight_decay=True, maximize=True)),
]
ALL_IDS = ["SGD", "SGD-nesterov", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "NAdam-decoupled", "RAdam", "RAdam-decoupled"]


def _set_grads(params):
    gw, gb = gradients(params[0].numpy().astype(np.float64), params[1].numpy().astype(np.float64))
    params[0].grad = Tensor(gw.astype(params[0].dtype))
    params[1].grad = Tensor(gb.astype(params[1].dtype))


def _train(opt, params, steps):
    path = []
    for _ in range(steps):
        _set_grads(params)
        opt.step()
        path.append([p.numpy().copy() for p in params])
    return path


# --------------------------------------------------------------------- groups
def test_defaults_fill_groups_and_custom_keys_stay():
    a, b = make_params()
    opt = optim.SGD([{"params": [a], "lr": 0.5, "note": "head"}, {"params": b}], lr=0.1,
                    momentum=0.9)
    first, second = opt.param_groups
    assert first["lr"] == 0.5 and first["momentum"] == 0.9 and first["note"] == "head"
    assert second["lr"] == 0.1 and second["params"][0] is b and len(second["params"]) == 1
    assert opt.defaults["lr"] == 0.1


def test_parameter_in_two_groups_is_an_error():
    a, b = make_params()
    with pytest.raises(ValueError, match="more than one|one group"):
        optim.SGD([{"params": [a, b]}, {"params": [b]}], lr=0.1)


def test_duplicate_parameter_in_a_group_is_an_error():
    a, _ = make_params()
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([a, a], lr=0.1)


def test_add_param_group_then_step_updates_it():
    a, b = make_params()
    opt = optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["momentum"] == 0
    before = b.numpy().copy()
    b.grad = Tensor(np.ones_like(b.numpy()))
    opt.step()
    np.testing.assert_allclose(b.numpy(), before - 0.01)
    with pytest.raises(ValueError, match="already in param group 0"):
        opt.add_param_group({"params": [a]})


def test_adagrad_creates_state_for_added_groups():
    a, b = make_params()
    opt = optim.Adagrad([a], initial_accumulator_value=0.3)
    opt.add_param_group({"params": [b], "initial_accumulator_value": 0.7})
    assert np.all(opt.state[a]["sum"] == 0.3) and np.all(opt.state[b]["sum"] == 0.7)
    assert opt.state[b]["step"] == 0


def test_params_as_generator_dict_and_named_pairs():
    a, b = make_params()
    from_generator = optim.SGD((p for p in [a, b]), lr=0.1).param_groups[0]["params"]
    assert [id(p) for p in from_generator] == [id(a), id(b)]
    opt = optim.SGD({"params": [a, b], "lr": 0.2})
    assert opt.param_groups[0]["lr"] == 0.2 and len(opt.param_groups[0]["params"]) == 2
    named = optim.Adam([("w", a), ("b", b)])
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    assert named.param_groups[0]["params"][1] is b


# --------------------------------------------------------------------- zero_grad, step
def test_zero_grad_to_none_and_in_place():
    a, b = make_params()
    opt = optim.SGD([a, b], lr=0.1)
    _set_grads([a, b])
    grad_array = a.grad.numpy()
    opt.zero_grad(set_to_none=False)
    assert a.grad.numpy() is grad_array and not grad_array.any()
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_returns_the_closure_loss_with_grad_enabled():
    a, _ = make_params()
    opt = optim.SGD([a], lr=0.1)
    seen = []

    def closure():
        seen.append(is_grad_enabled())
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with no_grad():
        loss = opt.step(closure)
    assert seen == [True] and isinstance(loss, Tensor)
    assert opt.step() is None


def test_parameters_without_grad_are_skipped_and_get_no_state():
    a, b = make_params()
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = Tensor(np.ones_like(a.numpy()))
    before = b.numpy().copy()
    opt.step()
    assert np.array_equal(b.numpy(), before)
    assert b not in opt.state or not opt.state[b]


@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_step_is_in_place_records_no_graph_and_keeps_float32(cls, kwargs):
    params = make_params(np.float32)
    arrays = [p.numpy() for p in params]
    opt = cls(params, **kwargs)
    _train(opt, params, 3)
    for p, array in zip(params, arrays):
        assert p.numpy() is array and p.dtype == np.float32
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
    for state in opt.state.values():
        for name, value in state.items():
            if name == "step":
                assert type(value) is int
            elif name in cls._scalar_state:
                assert type(value) is float, name
            else:
                assert isinstance(value, np.ndarray) and value.dtype == np.float32, name


@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_warm_step_allocates_no_parameter_sized_arrays(cls, kwargs):
    p = Tensor(np.random.default_rng(0).standard_normal(50_000), requires_grad=True)
    p.grad = Tensor(np.random.default_rng(1).standard_normal(50_000))
    opt = cls([p], **kwargs)
    opt.step()
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < p.numpy().nbytes // 4, f"a warm step allocated {peak} bytes"


def test_grad_of_another_dtype_is_cast_to_the_parameter_dtype():
    p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    p.grad = Tensor(np.full(3, 0.5, dtype=np.float64))
    optim.SGD([p], lr=1.0, momentum=0.9).step()
    assert p.dtype == np.float32 and np.allclose(p.numpy(), 0.5)


@pytest.mark.torch
@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_state_keys_are_pytorch_names(torch_or_skip, cls, kwargs):
    torch = torch_or_skip
    params = make_params()
    opt = cls(params, **kwargs)
    _train(opt, params, 2)
    tp = torch.zeros(3, requires_grad=True, dtype=torch.float64)
    topt = getattr(torch.optim, cls.__name__)([tp], **kwargs)
    tp.grad = torch.ones(3, dtype=torch.float64)
    topt.step()
    assert set(opt.state[params[0]]) == set(topt.state[tp])


# --------------------------------------------------------------------- state dicts
def test_state_dict_layout_refers_to_parameters_by_index():
    a, b = make_params()
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    _train(opt, [a, b], 2)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.01 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["state"]) == {0, 1} and sd["state"][0]["step"] == 2
    sd["state"][0]["exp_avg"][...] = 123.0  # a copy: the optimizer is untouched
    assert not np.any(opt.state[a]["exp_avg"] == 123.0)


@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_state_dict_round_trip_mid_training_continues_identically(cls, kwargs):
    params = make_params()
    opt = cls([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.02}], **kwargs)
    _train(opt, params, 10)
    saved_state = opt.state_dict()
    saved_values = [p.numpy().copy() for p in params]
    expected = _train(opt, params, 10)

    fresh = [Tensor(v.copy(), requires_grad=True) for v in saved_values]
    other = cls([{"params": [fresh[0]]}, {"params": [fresh[1]]}], lr=0.5)  # lrs come back
    other.load_state_dict(saved_state)
    assert other.param_groups[1]["lr"] == 0.02
    resumed = _train(other, fresh, 10)
    for step_a, step_b in zip(expected, resumed):
        for x, y in zip(step_a, step_b):
            assert np.array_equal(x, y)


def _flatten(tree, prefix=""):
    """A nested state dict as flat npz entries (what nn.save would store)."""
    flat = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(tree, list) and tree and isinstance(tree[0], dict):
        for i, value in enumerate(tree):
            flat.update(_flatten(value, f"{prefix}{i}."))
    else:
        flat[prefix[:-1]] = np.asarray(tree)
    return flat


def _unflatten(flat):
    tree = {}
    for key, value in flat.items():
        *path, leaf = key.split(".")
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    tree["param_groups"] = [tree["param_groups"][str(i)] for i in range(len(tree["param_groups"]))]
    return tree


@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_state_dict_survives_an_npz_round_trip(cls, kwargs):
    params = make_params(np.float32)
    opt = cls(params, **kwargs)
    _train(opt, params, 5)
    buffer = io.BytesIO()
    np.savez(buffer, **_flatten(opt.state_dict()))
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        loaded = _unflatten(dict(npz))
    values = [p.numpy().copy() for p in params]
    expected = _train(opt, params, 5)

    fresh = [Tensor(v, requires_grad=True) for v in values]
    other = cls(fresh, lr=0.5)
    other.load_state_dict(loaded)
    restored = {k: v for k, v in other.param_groups[0].items() if k != "params"}
    assert restored == {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    assert all(type(v) is not np.ndarray for v in restored.values())
    assert all(type(s["step"]) is int for s in other.state.values() if "step" in s)
    resumed = _train(other, fresh, 5)
    for step_a, step_b in zip(expected, resumed):
        for x, y in zip(step_a, step_b):
            assert np.array_equal(x, y)


def test_load_state_dict_rejects_mismatches():
    a, b = make_params()
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    _train(opt, [a, b], 1)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="param groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameters"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    swapped = optim.SGD([b, a], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="shape"):
        swapped.load_state_dict(sd)
    with pytest.raises(ValueError, match="state"):
        opt.load_state_dict({"param_groups": sd["param_groups"]})


@pytest.mark.torch
@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_loads_a_pytorch_state_dict_converted_to_numpy(torch_or_skip, cls, kwargs):
    torch = torch_or_skip
    with torch_float64_scalars(torch):
        _loads_a_pytorch_state_dict(torch, cls, kwargs)


def _loads_a_pytorch_state_dict(torch, cls, kwargs):
    tparams = [torch.tensor(p.numpy(), requires_grad=True) for p in make_params()]
    topt = getattr(torch.optim, cls.__name__)(tparams, foreach=False, **kwargs)
    for _ in range(4):
        gw, gb = gradients(tparams[0].detach().numpy(), tparams[1].detach().numpy())
        tparams[0].grad, tparams[1].grad = torch.tensor(gw), torch.tensor(gb)
        topt.step()
    tsd = topt.state_dict()
    converted = {
        "state": {k: {n: v.numpy() if torch.is_tensor(v) else v for n, v in s.items()}
                  for k, s in tsd["state"].items()},
        "param_groups": tsd["param_groups"],
    }
    params = [Tensor(t.detach().numpy().copy(), requires_grad=True) for t in tparams]
    opt = cls(params, lr=1.0)
    opt.load_state_dict(converted)
    _train(opt, params, 5)
    for _ in range(5):
        gw, gb = gradients(tparams[0].detach().numpy(), tparams[1].detach().numpy())
        tparams[0].grad, tparams[1].grad = torch.tensor(gw), torch.tensor(gb)
        topt.step()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), atol=1e-12, rtol=0)


# --------------------------------------------------------------------- repr, copies
@pytest.mark.torch
@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_repr_has_pytorchs_layout(torch_or_skip, cls, kwargs):
    torch = torch_or_skip
    a, b = make_params()
    ours = repr(cls([{"params": [a]}, {"params": [b], "lr": 0.003}], **kwargs))
    ta, tb = (torch.zeros(2, requires_grad=True) for _ in range(2))
    theirs = repr(getattr(torch.optim, cls.__name__)(
        [{"params": [ta]}, {"params": [tb], "lr": 0.003}], **kwargs))
    torch_only = ("capturable", "differentiable", "foreach", "fused", "decoupled_weight_decay")
    theirs = "\n".join(line for line in theirs.split("\n")
                       if line.strip().split(":")[0] not in torch_only)
    ours = "\n".join(line for line in ours.split("\n")
                     if line.strip().split(":")[0] != "decoupled_weight_decay")
    assert ours == theirs


def test_deepcopy_gives_an_independent_optimizer():
    params = make_params()
    opt = optim.Adam(params, lr=0.1)
    _train(opt, params, 2)
    clone = copy.deepcopy(opt)
    clone_params = clone.param_groups[0]["params"]
    assert clone_params[0] is not params[0]
    _train(clone, clone_params, 2)
    assert opt.state[params[0]]["step"] == 2 and clone.state[clone_params[0]]["step"] == 4


@pytest.mark.parametrize("cls, kwargs", ALL, ids=ALL_IDS)
def test_scalar_parameters_step_like_one_element_arrays(cls, kwargs):
    """Micrograd-style 0-d parameters, trained through the engine."""
    scalar = Tensor(np.float64(1.5), requires_grad=True)
    vector = Tensor(np.array([1.5]), requires_grad=True)
    optimizers = [(scalar, cls([scalar], **kwargs)), (vector, cls([vector], **kwargs))]
    for _ in range(5):
        for p, opt in optimizers:
            opt.zero_grad()
            (p * p * p - p).sum().backward()
            opt.step()
    assert scalar.numpy().shape == () and scalar.numpy().item() == vector.numpy().item() != 1.5
