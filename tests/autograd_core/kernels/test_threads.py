"""The chunk runner: every task runs once, errors propagate, BLAS threads come back."""

import threading

import numba
import numpy as np
import pytest

from autograd_core.kernels import _threads


def _blas_threads():
    if not _threads.blas_threads_controllable():
        pytest.skip("NumPy's BLAS thread count cannot be controlled here")
    return _threads._blas[0]()


def test_every_task_runs_exactly_once():
    seen = []
    lock = threading.Lock()

    def task(i):
        with lock:
            seen.append(i)

    _threads.run_chunks(task, 37)
    assert sorted(seen) == list(range(37))


def test_blas_and_numba_thread_counts_are_restored():
    before = _blas_threads()
    numba_before = numba.get_num_threads()
    inside = []
    _threads.run_chunks(lambda i: inside.append(_threads._blas[0]()), 6)
    assert _threads._blas[0]() == before
    assert numba.get_num_threads() == numba_before
    if numba_before > 1:
        assert set(inside) == {1}  # single-threaded BLAS while chunks run in parallel


def test_errors_propagate_and_state_is_restored():
    before = _blas_threads()

    def task(i):
        if i == 3:
            raise ZeroDivisionError("chunk 3")
        np.ones((4, 4)) @ np.ones((4, 4))

    with pytest.raises(ZeroDivisionError, match="chunk 3"):
        _threads.run_chunks(task, 8)
    assert _threads._blas[0]() == before


def test_concurrent_callers_leave_blas_threads_as_they_were():
    before = _blas_threads()
    errors = []

    def caller():
        try:
            for _ in range(20):
                _threads.run_chunks(lambda i: np.ones((8, 8)) @ np.ones((8, 8)), 4)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    callers = [threading.Thread(target=caller) for _ in range(3)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert not errors
    assert _threads._blas[0]() == before


def test_tasks_run_with_one_numba_thread_each():
    inside = []
    _threads.run_chunks(lambda i: inside.append(numba.get_num_threads()), 9, uses_blas=False)
    assert inside == [1] * 9


def test_no_numba_thread_count_calls_per_kernel_call(monkeypatch):
    """Numba's get/set_num_threads take a process-wide lock on every call: once the
    runner knows the threading layer, kernel calls make none of them (issue 17)."""
    import autograd_core.kernels as K
    from autograd_core.kernels import pool

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 16, 16)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)

    def calls():
        out = K.conv2d_forward(x, w, None, 1, 1)
        K.conv2d_backward(out, x, w, 1, 1)
        y, idx = pool.max_pool2d_forward(out, 2)
        pool.max_pool2d_backward(y, idx, out.shape)
        pool.avg_pool2d_forward(x[:1, :1], 2)  # small: runs inline

    calls()
    seen = []
    monkeypatch.setattr(numba, "get_num_threads", lambda: seen.append("get") or 1)
    monkeypatch.setattr(numba, "set_num_threads", lambda n: seen.append(f"set({n})"))
    calls()
    assert seen == []


# ------------------------------------------------------------------ size rules (issue 17)


@pytest.mark.parametrize("m,k,n", [(32, 128, 512), (128, 3072, 1024), (2048, 128, 65),
                                   (7, 5000, 5000)])
def test_gemm_runs_small_products_on_one_blas_thread_and_large_ones_on_blas_threads(
        m, k, n, monkeypatch):
    _blas_threads()
    entered = []

    class Recording(_threads.single_threaded_blas):
        def __enter__(self):
            entered.append((m, k, n))
            return super().__enter__()

    monkeypatch.setattr(_threads, "single_threaded_blas", Recording)
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    np.testing.assert_array_equal(_threads.gemm(a, b), np.full((m, n), k, np.float32))
    small = _threads.TINY_GEMM < m * k * n < _threads.SMALL_GEMM
    assert bool(entered) == small


def _with_numba_threads(n, fn):
    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        return fn()
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n,transposed", [(32, 128, 512, False), (128, 1024, 1024, True),
                                              (1100, 300, 70, False), (96, 700, 900, True)])
def test_gemm_matches_matmul_and_is_bit_identical_for_any_thread_count(dtype, m, k, n,
                                                                       transposed):
    _blas_threads()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((n, k)).astype(dtype).T if transposed else \
        rng.standard_normal((k, n)).astype(dtype)
    one = _with_numba_threads(1, lambda: _threads.gemm(a, b))
    two = _with_numba_threads(2, lambda: _threads.gemm(a, b))
    assert one.tobytes() == two.tobytes()
    assert one.shape == (m, n) and one.dtype == dtype
    reference = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(one, reference, rtol=tol, atol=tol * np.sqrt(k))


def test_gemm_falls_back_to_matmul_for_anything_else():
    from autograd_core import Tensor

    a = np.arange(6).reshape(2, 3)
    assert _threads.gemm(a, a.T).tolist() == (a @ a.T).tolist()  # integers
    f = np.ones((2, 3), np.float32)
    assert _threads.gemm(f, np.ones((3, 2))).dtype == np.float64  # mixed: NumPy promotes
    batched = np.ones((4, 2, 3))
    assert _threads.gemm(batched, np.ones((3, 5))).shape == (4, 2, 5)
    out = _threads.gemm(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4))))
    assert isinstance(out, Tensor) and out.shape == (2, 4)
    with pytest.raises(ValueError):
        _threads.gemm(np.ones((2, 3)), np.ones((4, 2)))


def test_gemm_and_single_threaded_blas_restore_the_blas_thread_count():
    before = _blas_threads()
    with _threads.single_threaded_blas():
        assert _threads._blas[0]() == 1
        with _threads.single_threaded_blas():  # nested: reference-counted
            assert _threads._blas[0]() == 1
        assert _threads._blas[0]() == 1
    assert _threads._blas[0]() == before
    _threads.gemm(np.ones((512, 512)), np.ones((512, 512)))
    assert _threads._blas[0]() == before


def test_inline_chunks_run_with_single_threaded_blas():
    """With one Numba thread the chunks run on the caller, still with one BLAS thread
    (multi-threaded OpenBLAS inside them stalled for seconds on a loaded machine)."""
    before = _blas_threads()
    inside = []
    _with_numba_threads(1, lambda: _threads.run_chunks(
        lambda i: inside.append(_threads._blas[0]()), 3))
    assert inside == [1, 1, 1]
    assert _threads._blas[0]() == before


def test_threaded_planes_are_bit_identical_to_inline(monkeypatch):
    """run_planes' size rule only chooses who runs the ranges: forcing the threaded
    path (SMALL_WORK = 1) gives the bytes of the inline path, for norm and pooling."""
    from autograd_core.kernels import norm, pool

    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6, 12, 12)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = rng.standard_normal(6).astype(np.float32)

    def results():
        y, xhat, invstd, mean, var = norm.batch_norm_forward(x, w, w, None, None,
                                                             training=True, eps=1e-5)
        grads = norm.batch_norm_backward(g, xhat, invstd, w, training=True)
        p, idx = pool.max_pool2d_forward(x, 3, 2, 1)
        return [y, xhat, invstd, mean, var, *grads, p, idx]

    inline = _with_numba_threads(2, results)
    monkeypatch.setattr(_threads, "SMALL_WORK", 1)
    threaded = _with_numba_threads(2, results)
    for a, b in zip(inline, threaded):
        assert a.tobytes() == b.tobytes()


def test_recurrent_small_step_rule_does_not_change_results(monkeypatch):
    """The per-step GEMMs of an LSTM run single-threaded when small (by shapes): the
    same bytes as with multi-threaded BLAS, and for one and two Numba threads."""
    import autograd_core as torch
    import nn
    from autograd_core.ops import recurrent

    torch.manual_seed(0)
    lstm = nn.LSTM(16, 64, batch_first=True)
    x = torch.randn(8, 20, 16)

    def run():
        for p in lstm.parameters():
            p.grad = None
        out, _ = lstm(x)
        out.square().sum().backward()
        return [out.detach().numpy()] + [p.grad.numpy() for p in lstm.parameters()]

    small = _with_numba_threads(2, run)
    assert 8 * lstm.weight_hh_l0.numel() < recurrent.SMALL_STEP_GEMM  # the rule applied
    one = _with_numba_threads(1, run)
    monkeypatch.setattr(recurrent, "SMALL_STEP_GEMM", 0)  # per-step BLAS as it comes
    threaded = _with_numba_threads(2, run)
    for a, b, c in zip(small, one, threaded):
        assert a.tobytes() == b.tobytes() == c.tobytes()


def test_a_batch_of_small_products_runs_single_threaded_with_the_same_bytes():
    before = _blas_threads()
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 4, 32, 16)).astype(np.float32)
    b = rng.standard_normal((6, 4, 16, 32)).astype(np.float32)
    assert _threads.gemm(a, b).tobytes() == np.matmul(a, b).tobytes()
    assert _threads._blas[0]() == before


_SPY_ON_POOL_START = """
import json, os, numba
seen = []
real = numba.get_num_threads
def spy():
    seen.append({k: os.environ.get(k) for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")})
    return real()
numba.get_num_threads = spy
import autograd_core.kernels as k
after = {k_: os.environ.get(k_) for k_ in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
print(json.dumps({"at_start": seen[:1], "after": after, "spin": k.SPIN_COUNT}))
"""


def _pool_start_environment(**env_vars):
    """What the OpenMP runtime sees when the kernels start Numba's pool, in a fresh
    process (the runtime reads its settings once): the environment at that call and
    after the import."""
    import json

    out = _in_a_fresh_process(_SPY_ON_POOL_START, ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY"),
                              env_vars)
    return json.loads(out.strip().splitlines()[-1])


def _in_a_fresh_process(script, unset, env_vars, *args):
    """stdout of ``python -c script *args`` with the ``unset`` variables removed from
    this environment and ``env_vars`` added (the runtimes read them once, at load)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(env_vars)
    return subprocess.run([sys.executable, "-c", script, *args], env=env, check=True,
                          capture_output=True, text=True, timeout=300).stdout


def test_the_pool_starts_with_a_short_spin_and_no_passive_policy():
    # A short spin, not OMP_WAIT_POLICY=PASSIVE: PyTorch's libgomp shares this runtime,
    # and sleeping workers made its small ops several times slower.
    seen = _pool_start_environment()
    assert seen["at_start"] == [{"GOMP_SPINCOUNT": str(seen["spin"]), "OMP_WAIT_POLICY": None}]
    assert 1_000 <= seen["spin"] <= 100_000
    assert seen["after"] == {"GOMP_SPINCOUNT": None, "OMP_WAIT_POLICY": None}


@pytest.mark.parametrize("name, value", [("OMP_WAIT_POLICY", "ACTIVE"), ("GOMP_SPINCOUNT", "7")])
def test_a_users_own_wait_policy_is_kept(name, value):
    seen = _pool_start_environment(**{name: value})
    expected = {"GOMP_SPINCOUNT": None, "OMP_WAIT_POLICY": None, name: value}
    assert seen["at_start"] in ([], [expected])
    assert seen["after"] == expected


_NESTING_AFTER_IMPORT = """
import ctypes, json, numba
import autograd_core.kernels
layer = numba.threading_layer()
levels = None
if layer == "omp":
    from numba.np.ufunc import omppool
    runtime = ctypes.CDLL(omppool.__file__)
    levels = runtime.omp_get_max_active_levels()
print(json.dumps({"layer": layer, "levels": levels}))
"""


def _nesting_after_import(**env_vars):
    import json

    out = _in_a_fresh_process(_NESTING_AFTER_IMPORT, ("OMP_MAX_ACTIVE_LEVELS", "OMP_NESTED"),
                              env_vars)
    return json.loads(out.strip().splitlines()[-1])


def test_importing_the_kernels_leaves_no_nested_openmp_teams():
    # Numba's OpenMP layer turns nesting on; PyTorch imported afterwards shares the
    # runtime, and its regions inside regions then oversubscribed the cores (20x slower)
    seen = _nesting_after_import()
    if seen["layer"] != "omp":
        pytest.skip(f"Numba's threading layer here is {seen['layer']}, not OpenMP")
    assert seen["levels"] == 1


def test_a_users_own_nesting_is_kept():
    seen = _nesting_after_import(OMP_MAX_ACTIVE_LEVELS="3")
    if seen["layer"] != "omp":
        pytest.skip(f"Numba's threading layer here is {seen['layer']}, not OpenMP")
    assert seen["levels"] == 3


_CPU_WHILE_IDLE = """
import resource, sys, time
import numpy as np
if sys.argv[1] == "import":
    import autograd_core.kernels
a = np.ones((384, 384), np.float32)
for _ in range(3):
    a @ a
before = resource.getrusage(resource.RUSAGE_SELF)
a @ a  # on OpenBLAS's threads; then the process only sleeps
time.sleep(0.2)
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
print(cpu * 1e3)
"""


def _cpu_while_idle(mode, **env_vars):
    """The CPU milliseconds a fresh process uses for one threaded GEMM followed by 0.2 s
    of sleep (a spinning BLAS worker shows up here)."""
    out = _in_a_fresh_process(_CPU_WHILE_IDLE, ("OPENBLAS_THREAD_TIMEOUT",), env_vars, mode)
    return float(out.split()[-1])


def test_importing_the_kernels_stops_openblas_workers_spinning_for_0_1_s():
    if not _threads.blas_threads_controllable() or _threads._blas[0]() < 2:
        pytest.skip("no multi-threaded OpenBLAS here: no idle workers to spin")
    plain = _cpu_while_idle("plain")
    ours = _cpu_while_idle("import")
    users = _cpu_while_idle("import", OPENBLAS_THREAD_TIMEOUT="30")
    # measured: about 110 ms plain (a worker spins through most of the sleep) and with
    # the user's own 2**30 cycles, 4-14 ms after the import
    assert plain > 50 and users > 50
    assert ours < 40


@pytest.mark.parametrize("enabled", [True, False])
def test_alongside_runs_every_task_once_and_finish_waits_for_one(enabled):
    seen, lock = [], threading.Lock()
    started = threading.Event()

    def task(i):
        if i == 0:
            started.set()
        with lock:
            seen.append(i)

    with _threads.single_threaded_blas():
        alongside = _threads.Alongside(enabled=enabled)
        tasks = [alongside.submit(task, i) for i in range(12)]
        alongside.finish(tasks[7])  # run here if the worker has not taken it yet
        assert 7 in seen and tasks[7].done.is_set()
        alongside.wait()
    assert sorted(seen) == list(range(12)) and started.is_set()
    assert all(t.done.is_set() for t in tasks)


def test_alongside_reraises_a_failure_from_finish_and_wait():
    def bad(i):
        if i == 2:
            raise KeyError("task 2")

    with _threads.single_threaded_blas():
        alongside = _threads.Alongside(enabled=True)
        tasks = [alongside.submit(bad, i) for i in range(4)]
        with pytest.raises(KeyError, match="task 2"):
            alongside.finish(tasks[2])
        with pytest.raises(KeyError, match="task 2"):
            alongside.wait()


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_recurrent_step_blocks_give_the_same_bits_on_the_other_core_or_inline(monkeypatch,
                                                                               mode):
    """Forward's input projections and backward's weight gradients run block by block
    of steps, on the worker or inline: the bytes do not depend on which."""
    import autograd_core as torch
    import nn
    from autograd_core.ops import recurrent

    torch.manual_seed(1)
    layer = getattr(nn, mode)(12, 24, batch_first=True)
    x = torch.randn(5, 19, 12, requires_grad=True)

    def run():
        for p in layer.parameters():
            p.grad = None
        x.grad = None
        out, _ = layer(x)
        out.square().sum().backward()
        return [out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy()
                                                          for p in layer.parameters()]

    assert recurrent._StepBlocks(recurrent._steps((5,) * 19, False)).count == \
        recurrent.STEP_BLOCKS
    alongside = _with_numba_threads(2, run)
    original = _threads.Alongside.__init__
    monkeypatch.setattr(recurrent.Alongside, "__init__",
                        lambda self, enabled=True: original(self, enabled=False))
    inline = _with_numba_threads(2, run)
    for a, b in zip(alongside, inline):
        assert a.tobytes() == b.tobytes()
