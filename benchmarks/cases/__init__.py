"""The sections of the suite, one module each; every ``run(ctx)`` fills a BenchContext.

Order matters only for ``peak``: it runs first, because GFLOP/s elsewhere are reported
as a fraction of the matmul peak it measures.
"""

SECTIONS = ("peak", "kernels", "conv", "pool", "norm", "engine", "scalar", "training",
            "models", "load", "optim", "threads", "compile", "sweep", "distributed")
