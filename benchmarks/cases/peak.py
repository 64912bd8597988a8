"""What this machine can do: the ``np.matmul`` peak and the ``np.copyto`` bandwidth.

The conv GFLOP/s are reported as a fraction of the float32/float64 matmul peak measured
here, in the same run: a large square GEMM through NumPy's BLAS is the practical limit
of the machine for the work a convolution does (im2col conv *is* a GEMM plus copies).
Likewise im2col/col2im and pooling are memory-bound and are compared with the
bandwidth of a plain array copy, once out of cache (DRAM) and once in cache (L2-sized).
All are measured interleaved.

The in-cache copy is measured twice: with ``np.copyto`` (glibc ``memcpy``) and with a
ufunc loop (``np.positive(src, out=dst)``, NumPy's own vectorised copy).  They should
agree; on some virtual machines ``memcpy`` of 2 KiB..1 MiB (the ``rep movsb`` range)
runs an order of magnitude slower, which then slows every NumPy copy of that size
(``np.copy``, ``ascontiguousarray``, ``concatenate``).  The report flags it.
"""

from __future__ import annotations

import numpy as np

SECTION = "peak"


def run(ctx) -> None:
    n = 512 if ctx.quick else 1536
    rng = np.random.default_rng(0)
    mats = {dt: (rng.standard_normal((n, n)).astype(dt), rng.standard_normal((n, n)).astype(dt),
                 np.empty((n, n), dtype=dt)) for dt in ("float32", "float64")}
    big = (8 if ctx.quick else 64) * 2**20  # bytes
    small = 256 * 2**10
    copies = {}
    for label, nbytes in (("dram", big), ("cache", small)):
        src = rng.standard_normal(nbytes // 8)
        copies[label] = (src, np.empty_like(src))

    contenders = {}
    for dt, (a, b, c) in mats.items():
        contenders[f"matmul_{dt}"] = lambda a=a, b=b, c=c: np.matmul(a, b, out=c)
    for label, (src, dst) in copies.items():
        contenders[f"copy_{label}"] = lambda s=src, d=dst: np.copyto(d, s)
    src, dst = copies["cache"]
    contenders["copy_cache_ufunc"] = lambda s=src, d=dst: np.positive(s, out=d)
    res = ctx.compare(contenders)
    matmul = {}
    for dt in mats:
        st = res.stats[f"matmul_{dt}"]
        flops = 2.0 * n**3
        matmul[dt] = {"n": n, "gflops": flops / st.median / 1e9,
                      "gflops_best": flops / st.min / 1e9}
        ctx.record(SECTION, f"matmul {n}x{n}", dt, res.subset([f"matmul_{dt}"]), flops=flops,
                   params={"n": n})
    copy = {}
    for label in ("dram", "cache", "cache_ufunc"):
        src = copies["cache" if label == "cache_ufunc" else label][0]
        st = res.stats[f"copy_{label}"]
        nbytes = 2.0 * src.nbytes  # read + write
        copy[label] = {"bytes": src.nbytes, "gbs": nbytes / st.median / 1e9,
                       "gbs_best": nbytes / st.min / 1e9}
        ctx.record(SECTION, f"copy {src.nbytes // 1024} KiB", label,
                   res.subset([f"copy_{label}"]), bytes_moved=nbytes,
                   params={"bytes": src.nbytes})
    slow = copy["cache_ufunc"]["gbs"] / copy["cache"]["gbs"]
    if slow > 3:
        ctx.note(SECTION, f"memcpy quirk: np.copyto of {small // 1024} KiB runs at "
                          f"{copy['cache']['gbs']:.1f} GB/s, {slow:.0f}x slower than a ufunc "
                          "copy of the same array (glibc rep-movsb path on this VM?); every "
                          "NumPy memcpy of 2 KiB..1 MiB pays this")
    ctx.peak.update({"matmul": matmul, "copy": copy})
