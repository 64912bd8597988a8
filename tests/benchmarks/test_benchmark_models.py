"""The models section's pieces in a tiny configuration: one definition builds both
libraries' models, PyTorch's initial weights load into ours, and the first-step
cross-check passes (and catches a model that differs).  No timing is asserted.
"""

import dataclasses
import os

import numpy as np
import pytest

from benchmarks import model_zoo
from benchmarks.cases import models
from benchmarks.context import BenchContext
from benchmarks.timing import Settings


def _ctx(torch):
    return BenchContext(Settings.quick(), quick=True, threads=1, torch=torch)


@pytest.mark.parametrize("case", models.QUICK_CASES, ids=lambda c: c.name)
def test_quick_models_agree_on_the_first_step(case, torch_or_skip):
    ctx = _ctx(torch_or_skip)
    ours, theirs = models.build_pair(case, torch_or_skip)
    assert sorted(ours.model.state_dict()) == sorted(theirs.model.state_dict())
    assert models.n_params(ours.model) == sum(p.numel() for p in theirs.model.parameters())
    assert models.cross_check(ctx, case, ours, theirs), ctx.checks
    assert [c["case"] for c in ctx.checks] == [f"{case.name} first-step loss",
                                                f"{case.name} first-step gradients"]
    assert all(c["passed"] for c in ctx.checks)


def test_cross_check_fails_loudly_on_a_different_model(torch_or_skip):
    """A model whose weights differ from PyTorch's is reported, not timed."""
    case = dataclasses.replace(models.QUICK_CASES[0], name="broken")
    ctx = _ctx(torch_or_skip)
    ours, theirs = models.build_pair(case, torch_or_skip)
    first = next(iter(ours.model.parameters()))
    first._data[...] *= 1.5
    assert not models.cross_check(ctx, case, ours, theirs)
    assert not all(c["passed"] for c in ctx.checks)
    assert any("CHECK FAILED" in line for line in ctx.notes[models.SECTION])


def test_resnet18_cifar_layout():
    """Stem, 8 BasicBlocks with 1x1 shortcuts opening stages 2-4, no conv bias."""
    import nn

    net = model_zoo.resnet18_cifar(nn, width=2)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 8 * 2 + 3
    assert all(c.bias is None for c in convs)
    assert [c.out_channels for c in convs if c.kernel_size == (1, 1)] == [4, 8, 16]
    assert net.fc.in_features == 16


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
def test_rss_delta_sees_a_short_peak():
    """The kernel's high-water mark catches memory that is freed before the step ends."""

    def step():
        a = np.ones(64 * 2**20 // 8)  # 64 MiB, touched, then freed
        del a

    assert models.rss_delta(step) >= 48 * 2**20
    assert models.traced_peak(step) >= 64 * 2**20


def test_omp_wait_script_times_a_case_and_refuses_bad_arguments(capsys):
    from benchmarks import omp_wait

    assert omp_wait.main(["none", "lenet5", "1"]) == 0
    assert capsys.readouterr().out.startswith("lenet5: ours ")
    assert omp_wait.main(["none", "no_such_model"]) == 2
    assert "unknown cases ['no_such_model']" in capsys.readouterr().out
    assert omp_wait.main(["sideways", "lenet5"]) == 2
