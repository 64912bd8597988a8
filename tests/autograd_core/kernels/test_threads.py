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
