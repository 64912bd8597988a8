"""The benchmark suite: ``python -m benchmarks`` (``--quick`` for CI).

Measures the Numba conv/pool kernels and the engine against naive loops, a plain-NumPy
im2col and PyTorch's CPU kernels, as ratios measured in one run with interleaved
repetitions (see :mod:`benchmarks.timing`), and writes a JSON document, a Markdown
report and PNG plots (schema and how to read them: ``benchmarks/README.md``).

Layout: ``timing`` (the measurement core), ``machine`` (machine block, thread control),
``baselines`` (NumPy im2col, naive loops), ``ours`` (where the measured code is),
``context`` (checks and records), ``cases/`` (one module per section), ``targets``,
``report`` and ``plots``.
"""

import os as _os
import sys as _sys

#: OpenBLAS's idle workers busy-wait for 2**OPENBLAS_THREAD_TIMEOUT cycles (default 28:
#: about 0.1 s) after each multi-threaded GEMM.  In a process that interleaves two
#: libraries' steps, those spinning workers take a core from the other library's
#: threads: measured 2026-12-02 on a 2-core AMD EPYC, a Transformer LM step took
#: PyTorch 30 ms alone and 70 ms interleaved with ours, and ours 39 ms
#: went to 57 ms; with the timeout at its minimum (4) both were back at 28-32 and
#: 38-41 ms.  PyTorch does not use OpenBLAS, so this only removes the cross-talk.
#: OpenBLAS reads the variable once, when NumPy loads it: this must run before any
#: import of NumPy (``python -m benchmarks`` imports this package first); a value the
#: user set is kept, and the run records it in its machine block.
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
