"""Conv and pooling results are bit-identical on any machine and with any thread count.

The split of work into lanes depends on the shapes alone; each sum has one writer in a
fixed order.  Checked by hashing the bytes of forward and backward results computed
with Numba's thread count varied in this process and, in child processes, with
``os.cpu_count()`` patched (1 and 64 "cores") and more Numba threads than this
machine has cores.
"""

import hashlib
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import autograd_core.kernels as K
from autograd_core.kernels import conv as C
from autograd_core.kernels import pool as P

# (N, C, H, W, OC, k, stride, padding, groups): batch 1 (lanes inside a sample), fewer
# samples than lanes, more samples than lanes, grouped, pointwise, direct (depthwise),
# Winograd;
# most are large enough (> 4 MFLOP) to be cut into several lanes.
CONV_CASES = [
    (1, 32, 32, 32, 32, 3, 1, 1, 1),  # Winograd, one lane
    (1, 32, 32, 32, 32, 5, 1, 2, 1),  # im2col, lanes inside the sample (two col2im phases)
    (20, 16, 12, 12, 32, 3, 2, 1, 1),
    (70, 8, 8, 8, 16, 3, 1, 1, 2),
    (40, 32, 8, 8, 64, 1, 1, 0, 1),
    (5, 8, 10, 10, 8, 3, 1, 1, 8),
    (12, 16, 16, 16, 16, 3, 1, 1, 1),  # Winograd F(2x2, 3x3): forward and both gradients
]


def _results():
    """Every conv and pooling output of the cases above, as one list of arrays."""
    rng = np.random.default_rng(1234)
    arrays = []
    for N, Cin, H, W, OC, k, s, p, g in CONV_CASES:
        x = rng.standard_normal((N, Cin, H, W)).astype(np.float32)
        w = rng.standard_normal((OC, Cin // g, k, k)).astype(np.float32)
        b = rng.standard_normal(OC).astype(np.float32)
        out = K.conv2d_forward(x, w, b, s, p, 1, g)
        go = rng.standard_normal(out.shape).astype(np.float32)
        arrays += [out, *K.conv2d_backward(go, x, w, s, p, 1, g)]
        # small chunks: many chunks per lane, partials summed across them
        arrays += list(K.conv2d_backward(go, x, w, s, p, 1, g, chunk_bytes=4096))
    x = rng.standard_normal((4, 6, 13, 11)).astype(np.float32)
    for k, s, p in ((2, 2, 0), (3, 2, 1), (3, 1, 1)):
        out, idx = P.max_pool2d_forward(x, k, s, p)
        go = rng.standard_normal(out.shape).astype(np.float32)
        arrays += [out, idx, P.max_pool2d_backward(go, idx, x.shape)]
        arrays += [P.avg_pool2d_forward(x, k, s, p), P.avg_pool2d_backward(go, x.shape, k, s, p)]
        arrays += [P.avg_pool2d_forward(x, k, s, p, True, False, 3),  # divisor_override
                   P.avg_pool2d_backward(go, x.shape, k, s, p, False, True, 5)]
    out = P.adaptive_avg_pool2d_forward(x, (4, 3))
    arrays += [out, P.adaptive_avg_pool2d_backward(np.ones_like(out), x.shape)]
    arrays += list(P.adaptive_max_pool2d_forward(x, (5, 4)))
    return arrays


def _digest(arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(str((a.dtype, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


_CHILD = textwrap.dedent(
    """
    import os, sys
    cores = int(sys.argv[1])
    os.cpu_count = lambda: cores          # before anything imports the kernels
    if hasattr(os, "sched_getaffinity"):
        os.sched_getaffinity = lambda pid: set(range(cores))
    import numba
    from tests.autograd_core.kernels import test_determinism as t
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        print(threads, t._digest(t._results()))
    """
)


def test_lane_count_is_a_constant():
    geo = K.conv_geometry((1, 64, 64, 64), (64, 64, 3, 3), padding=1)
    chunks, lanes, split = C._plan(geo, 64 * 64 * 10 * 4, K.CHUNK_BYTES)
    assert len(lanes) == C._LANES == 8 and split


def test_lane_counts_are_powers_of_two_by_the_shapes_alone():
    # ResNet-18's 512->512 on 7x7 at batch 8: 392 output columns would make three
    # lanes (3, 3 and 2 samples), which leave one of two cores idle a third of the time
    geo = K.conv_geometry((8, 512, 7, 7), (512, 512, 3, 3), padding=1)
    assert C._lanes_wanted(geo, 128) == 2
    _, lanes, _ = C._plan(geo, (512 * 9 + 512) * 7 * 4, K.CHUNK_BYTES, 128)
    assert len(lanes) == 2
    for n, c, size in ((1, 3, 8), (3, 16, 9), (8, 256, 14), (16, 128, 16), (5, 64, 33)):
        wanted = C._lanes_wanted(K.conv_geometry((n, c, size, size), (c, c, 3, 3), padding=1))
        assert 1 <= wanted <= C._LANES and wanted & (wanted - 1) == 0


def test_bit_identical_with_any_numba_thread_count():
    before = numba.get_num_threads()
    digests = set()
    try:
        for threads in sorted({1, 2, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            digests.add(_digest(_results()))
    finally:
        numba.set_num_threads(before)
    assert len(digests) == 1


@pytest.mark.parametrize("cores,numba_threads", [(1, 1), (64, 5)])
def test_bit_identical_with_any_core_count(cores, numba_threads):
    here = _digest(_results())
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    env = dict(os.environ, NUMBA_NUM_THREADS=str(numba_threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(cores)],
        capture_output=True, text=True, timeout=900, cwd=repo, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split("\n")
    runs = dict(line.split() for line in lines if line.strip())
    assert set(runs) == {str(t) for t in sorted({1, numba_threads})}
    assert set(runs.values()) == {here}


def test_the_workqueue_threading_layer_gives_the_same_bytes():
    """Numba's workqueue layer must not be entered from two threads at once (it ends
    the process): the chunk runner then runs chunks on the caller, same results."""
    here = _digest(_results())
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    child = ("import numba\nfrom tests.autograd_core.kernels import test_determinism as t\n"
             "print(t._digest(t._results()), numba.threading_layer())\n")
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=900, cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == [here, "workqueue"]
