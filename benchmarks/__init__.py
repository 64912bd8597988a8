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
