"""The elementwise math of issue 13 beyond the op table: second derivatives against
PyTorch, modulo and rounding ops, operators, logic and comparisons, dtype rules, and
gradients at the edges (0 ** y, normalize with p = 0)."""

import numpy as np
import pytest

import autograd_core as ag
import nn.functional as F
from autograd_core.errors import DTypeError
from tests.autograd_core.op_table import compare_with_torch, sample

TWICE = [("tan", "unit"), ("sinh", "real"), ("cosh", "real"), ("asin", "unit"),
         ("acos", "unit"), ("atan", "real"), ("asinh", "real"), ("acosh", "above_one"),
         ("atanh", "unit"), ("erf", "real"), ("erfc", "real"), ("rsqrt", "positive"),
         ("exp2", "real"), ("log2", "positive"), ("log10", "positive"),
         ("log1p", "positive"), ("expm1", "real"), ("reciprocal", "away_from_zero"),
         ("square", "real")]


@pytest.mark.parametrize("name,domain", TWICE, ids=[n for n, _ in TWICE])
def test_second_derivatives_match_torch(name, domain, torch_or_skip):
    torch = torch_or_skip
    a = sample(np.random.default_rng(5), (2, 3), domain)
    w = np.random.default_rng(6).standard_normal((2, 3))
    x, t = ag.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert ag.ops.FUNCTIONS[name].__name__ == name
    (g,) = ag.autograd.grad(getattr(x, name)().sum(), x, create_graph=True)
    (gg,) = ag.autograd.grad((g * ag.tensor(w)).sum(), x)
    (tg,) = torch.autograd.grad(getattr(t, name)().sum(), t, create_graph=True)
    (tgg,) = torch.autograd.grad((tg * torch.tensor(w)).sum(), t)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp"])
def test_binary_second_derivatives_match_torch(name, torch_or_skip):
    torch = torch_or_skip
    rng = np.random.default_rng(8)
    a, b = rng.uniform(0.5, 2, (3,)), rng.uniform(-2, -0.5, (3,))
    xa, xb = ag.tensor(a, requires_grad=True), ag.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ga = ag.autograd.grad(getattr(ag, name)(xa, xb).sum(), (xa, xb), create_graph=True)
    tg = torch.autograd.grad(getattr(torch, name)(ta, tb).sum(), (ta, tb), create_graph=True)
    ours = ag.autograd.grad((ga[0] * ga[1]).sum(), (xa, xb))
    theirs = torch.autograd.grad((tg[0] * tg[1]).sum(), (ta, tb))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-9)


MIXED = np.array([[-3.5, -2.0, -0.7, 0.4], [1.0, 2.6, 5.5, -7.25]])
DIVISOR = np.array([[1.5, -2.5, 0.3, -1.1], [0.9, -1.7, 2.0, 3.0]])
BINARY = [
    ("fmod", lambda t, a, b: t.fmod(a, b)),
    ("remainder", lambda t, a, b: t.remainder(a, b)),
    ("mod_operator", lambda t, a, b: a % b),
    ("rmod_operator", lambda t, a, b: 7.5 % b.detach() + b),
    ("copysign", lambda t, a, b: t.copysign(a, b)),
    ("floor_divide", lambda t, a, b: (a.detach() // b.detach()) + a),
    ("div_floor", lambda t, a, b: t.div(a.detach(), b.detach(), rounding_mode="floor") + a),
    ("lerp_tensor_weight", lambda t, a, b: t.lerp(a, b, t.sigmoid(a))),
    ("clamp_min", lambda t, a, b: t.clamp_min(a, 0.5)),
    ("clamp_max", lambda t, a, b: a.clamp_max(0.5)),
    ("round_decimals", lambda t, a, b: (a * 1.37).round(decimals=1) + a),
]


@pytest.mark.parametrize("name,fn", BINARY, ids=[b[0] for b in BINARY])
def test_modulo_and_rounding_match_torch(name, fn, torch_or_skip):
    torch = torch_or_skip
    compare_with_torch(torch, lambda a, b: fn(ag, a, b), lambda a, b: fn(torch, a, b),
                       [MIXED, DIVISOR])


def test_integer_operators_and_logic_match_torch(torch_or_skip):
    torch = torch_or_skip
    a, b = np.array([5, -3, 12, 7]), np.array([2, 4, 5, 3])
    ours, theirs = ag.tensor(a), torch.tensor(a)
    ob, tb = ag.tensor(b), torch.tensor(b)
    pairs = [(ours % ob, theirs % tb), (ours // ob, theirs // tb), (ours & ob, theirs & tb),
             (ours | ob, theirs | tb), (ours ^ ob, theirs ^ tb), (~ours, ~theirs),
             (ours << 2, theirs << 2), (ours >> 1, theirs >> 1), (3 & ours, 3 & theirs),
             (ours % 3, theirs % 3), (abs(ours), abs(theirs)), (ours.square(), theirs.square()),
             (ag.logical_and(ours > 0, ob > 2), torch.logical_and(theirs > 0, tb > 2)),
             (ag.logical_or(ours > 0, ob > 4), torch.logical_or(theirs > 0, tb > 4)),
             (ag.logical_xor(ours > 0, ob > 2), torch.logical_xor(theirs > 0, tb > 2)),
             (ag.logical_not(ours > 0), torch.logical_not(theirs > 0)),
             (ours.sign(), theirs.sign()), (ours.floor(), theirs.floor())]
    for mine, ref in pairs:
        assert mine.tolist() == ref.tolist()
        assert str(mine.dtype) == str(ref.dtype).replace("torch.", "")


def test_tests_and_comparisons_match_torch(torch_or_skip):
    torch = torch_or_skip
    a = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit"):
        assert getattr(ag, name)(ag.tensor(a)).tolist() == getattr(torch, name)(
            torch.tensor(a)).tolist()
    x, y = ag.tensor([1.0, 2.0]), ag.tensor([1.0, 2.0 + 1e-6])
    assert ag.allclose(x, y) and x.allclose(y) and not ag.equal(x, y)
    assert ag.isclose(x, y, rtol=0, atol=1e-9).tolist() == [True, False]
    assert ag.equal(x, x.clone()) and not ag.equal(x, ag.tensor([1.0]))


def test_float_functions_of_integers_give_float32_and_bad_dtypes_raise():
    ints = ag.tensor([1, 2, 3])
    for name in ("tan", "erf", "log2", "rsqrt", "expm1", "atan"):
        assert getattr(ints, name)().dtype == ag.float32
    assert ints.square().dtype == ag.int64
    with pytest.raises(DTypeError, match="bool and integer"):
        ag.tensor([1.0]) & ag.tensor([1.0])
    with pytest.raises(ZeroDivisionError):
        ints // 0


def test_pow_gradients_at_zero_are_pytorchs(torch_or_skip):
    torch = torch_or_skip
    for exponent in (2.0, 0.5, 0.0, -1.0, 3.0):
        compare_with_torch(torch, lambda a, b: a ** b, lambda a, b: a ** b,
                           [np.array([0.0, 1.0, 2.0]), np.array(exponent)])
    base = ag.tensor([0.0, 2.0], requires_grad=True)
    (base ** ag.tensor([0.0, 0.0])).sum().backward()
    assert base.grad.tolist() == [0.0, 0.0]


def test_normalize_with_p_zero_does_not_divide_by_zero(torch_or_skip):
    torch = torch_or_skip
    a = np.array([[0.0, 2.0, -1.0], [0.0, 0.0, 0.0]])
    for p in (0, 1, 2, 3):
        compare_with_torch(torch, lambda x, p=p: F.normalize(x, p=p, dim=1),
                           lambda x, p=p: torch.nn.functional.normalize(x, p=p, dim=1), [a],
                           rtol=1e-9)


@pytest.mark.parametrize("name", ["cumsum", "lerp", "floor", "frac", "sign"])
def test_more_second_derivatives_match_torch(name, torch_or_skip):
    torch = torch_or_skip
    programs = {
        "cumsum": lambda t, x: (x * x).cumsum(1),
        "lerp": lambda t, x: t.lerp(x, x * x, t.sigmoid(x)),
        "floor": lambda t, x: (x * x).floor() + x ** 3,
        "frac": lambda t, x: (x * x).frac() * x,
        "sign": lambda t, x: x.sign() * x ** 2,
    }
    a = np.random.default_rng(3).standard_normal((2, 3))
    results = []
    for lib in (ag, torch):
        x = lib.tensor(a, requires_grad=True)
        ones = lib.ones(2, 3, dtype=lib.float64)
        (g,) = lib.autograd.grad(programs[name](lib, x), x, grad_outputs=ones,
                                 create_graph=True)
        (gg,) = lib.autograd.grad(g, x, grad_outputs=ones)
        results.append((g.detach().numpy(), gg.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfinv"])
def test_special_functions_match_torch(name, torch_or_skip):
    torch = torch_or_skip
    data = np.array([-0.999, -0.7, -0.1, 0.0, 0.3, 0.9, 0.99999]) if name == "erfinv" else \
        np.array([-2.5, -0.3, 0.2, 0.5, 1.0, 3.3, 7.5, 20.0])
    compare_with_torch(torch, lambda x: getattr(x, name)(),
                       lambda x: getattr(x, name)(), [data], rtol=1e-8, atol=1e-9)
    assert getattr(ag.special, {"lgamma": "gammaln", "digamma": "psi"}.get(name, name))(
        ag.tensor([0.5])).dtype == ag.float32
