"""The viz tools on nn's fused ops: flat code exact, checks pass, edges labelled."""

import numpy as np
import pytest

import nn
import nn.functional as F
from autograd_core import Tensor
from autograd_core.viz import check_graph, draw_graph, flat_code

from .helpers import assert_flat_code_matches_engine


def t(rng, shape, name="x", low=-2.0, high=2.0, requires_grad=True):
    return Tensor(rng.uniform(low, high, size=shape), requires_grad=requires_grad, name=name)


def _cases(rng):
    targets = np.array([0, 2, 1, 2])
    return {
        # one-line formulas
        "leaky_relu": lambda: (F.leaky_relu(t(rng, (3, 4)), 0.2) * t(rng, (4,), "w")).sum(),
        "elu": lambda: F.elu(t(rng, (3, 4)), alpha=0.7).sum(),
        "selu": lambda: F.selu(t(rng, (3, 4))).sum(),
        "softplus": lambda: (F.softplus(t(rng, (3, 4), low=-30, high=30), beta=2.0,
                                        threshold=15.0)).sum(),
        "silu": lambda: F.silu(t(rng, (3, 4))).sum(),
        "hardtanh_relu6": lambda: (F.hardtanh(t(rng, (5,)), -0.5, 0.5)
                                   + F.relu6(t(rng, (5,), "y", high=8))).sum(),
        "dropout": lambda: F.dropout(t(rng, (4, 5)), 0.4).sum(),
        "dropout2d": lambda: F.dropout2d(t(rng, (2, 3, 2, 2)), 0.5).sum(),
        "drop_connect": lambda: F.drop_connect(t(rng, (2, 3)), t(rng, (4, 3), "w"),
                                               t(rng, (4,), "b"), p=0.3).sum(),
        "mse_mean": lambda: F.mse_loss(t(rng, (3, 4)), t(rng, (3, 4), "y")),
        "mse_sum_none": lambda: F.mse_loss(t(rng, (3,)), t(rng, (3,), "y"), reduction="sum")
        + F.mse_loss(t(rng, (3,), "z"), t(rng, (3,), "w", requires_grad=False),
                     reduction="none").sum(),
        "l1": lambda: F.l1_loss(t(rng, (3, 4)), t(rng, (3, 4), "y", requires_grad=False)),
        # called by name
        "prelu": lambda: F.prelu(t(rng, (2, 3, 4)), t(rng, (3,), "w")).sum(),
        "batch_norm_train": lambda: (F.batch_norm(t(rng, (4, 3, 2)), None, None,
                                                  t(rng, (3,), "w"), t(rng, (3,), "b"),
                                                  training=True) * t(rng, (2,), "v")).sum(),
        "batch_norm_eval": lambda: F.batch_norm(t(rng, (4, 3)), np.zeros(3), np.ones(3),
                                                t(rng, (3,), "w"), None, training=False).sum(),
        "layer_norm": lambda: (F.layer_norm(t(rng, (3, 4)), (4,), t(rng, (4,), "w"),
                                            t(rng, (4,), "b")) * t(rng, (3, 4), "v")).sum(),
        "instance_norm": lambda: (F.instance_norm(t(rng, (2, 3, 2, 2)), weight=t(rng, (3,), "w"),
                                                  bias=t(rng, (3,), "b"))
                                  * t(rng, (2, 3, 2, 2), "v")).sum(),
        "huber": lambda: F.huber_loss(t(rng, (6,)), t(rng, (6,), "y"), delta=0.5),
        "cross_entropy": lambda: F.cross_entropy(t(rng, (4, 3)), targets),
        "cross_entropy_smoothing": lambda: F.cross_entropy(t(rng, (4, 3)), targets,
                                                           label_smoothing=0.1),
        "nll": lambda: F.nll_loss(F.log_softmax(t(rng, (4, 3)), dim=1), targets),
        "bce": lambda: F.binary_cross_entropy(t(rng, (5,), low=0.1, high=0.9),
                                              t(rng, (5,), "y", 0, 1, requires_grad=False)),
        "bce_logits": lambda: F.binary_cross_entropy_with_logits(
            t(rng, (5,)), t(rng, (5,), "y", 0, 1, requires_grad=False)),
        "focal": lambda: F.focal_loss(t(rng, (4, 3)), targets, gamma=2.0),
        "maxout_logsigmoid": lambda: F.logsigmoid(F.maxout(t(rng, (2, 3)), t(rng, (4, 3), "w"),
                                                           t(rng, (4,), "b"), 2)).sum(),
    }


CASES = sorted(_cases(np.random.default_rng(0)))
ONE_LINE = {"leaky_relu", "elu", "selu", "softplus", "silu", "hardtanh_relu6", "dropout",
            "dropout2d", "drop_connect", "mse_mean", "mse_sum_none", "l1",
            "maxout_logsigmoid",
            # written out as the slides do: softmax-CE and the three-term BN backward
            "cross_entropy", "batch_norm_train"}
# ops whose engine path sums on the Numba kernels, in float64 and their own order
# (kernels.norm): the NumPy flat code matches them to rounding, not bit for bit
KERNEL_SUMS = {"batch_norm_train"}


@pytest.mark.parametrize("case", CASES)
def test_flat_code_reproduces_nn_ops_exactly(case, rng):
    loss = _cases(rng)[case]()
    source = assert_flat_code_matches_engine(loss, rtol=1e-12 if case in KERNEL_SUMS else None)
    assert ("op_backward" not in source) == (case in ONE_LINE), source


@pytest.mark.parametrize("case", CASES)
def test_every_nn_op_passes_the_numerical_check(case, rng):
    loss = _cases(rng)[case]()
    failed = [c for c in check_graph(loss) if c.ok is False]
    assert not failed, failed


@pytest.mark.parametrize("case", CASES)
def test_every_nn_op_edge_has_a_derivative_label(case, rng):
    loss = _cases(rng)[case]()
    src = draw_graph(loss, show_grad=True).source
    assert ".backward>" not in src and ".backward<BR/>" not in src  # a rule for every op


def test_a_real_model_collapses_by_module(rng):
    from autograd_core import manual_seed

    manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 8),
                          nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 3))
    x = Tensor(rng.normal(size=(5, 6)), name="x")
    loss = F.cross_entropy(model(x), np.array([0, 1, 2, 0, 1]))
    src = draw_graph(loss, params=model, collapse=True, show_grad=True).source
    for module in ("<B>0</B>", "<B>3</B>", "<B>4</B>", "<B>6</B>"):
        assert module in src
    assert "weight (8, 6)" in src
    assert "<B>0.weight</B>" not in src
    code = flat_code(loss, params=dict(model.named_parameters()))
    assert "def forward_backward(" in code and "'0.weight': grad__0_weight" in code
    assert_flat_code_matches_engine(loss, params=model)
