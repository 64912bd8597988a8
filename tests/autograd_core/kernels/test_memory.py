"""glibc's malloc thresholds (``kernels._memory``): freed step-sized arrays are reused
without page faults after importing the package, the user's own choice and the opt-out
are respected, and ``release_free_memory`` hands the pages back."""

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from autograd_core.kernels import _memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
needs_glibc = pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc malloc's")

# Rounds of 40 arrays of 2 MiB, touched, then all freed: a training step's pattern.
# Prints the page faults of the rounds after the first, and whether the thresholds
# were set.
_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    if sys.argv[1] == "import":
        from autograd_core.kernels import _memory
        configured = _memory.configured
    else:
        configured = False

    def round_():
        arrays = [np.ones(1 << 19, np.float32) for _ in range(40)]
        del arrays

    round_()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        round_()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, configured)
""")


def _faults(mode, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                          "GLIBC_TUNABLES", _memory.OPT_OUT)}
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], env=clean | env,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    faults, configured = out.split()
    return int(faults), configured == "True"


@needs_glibc
def test_importing_the_package_lets_freed_arrays_be_reused_without_faults():
    # 3 rounds x 80 MiB: glibc's defaults trim the heap each time (about 61,000 faults
    # measured); kept, the pages are reused (under 100 measured)
    plain, _ = _faults("plain")
    ours, configured = _faults("import")
    assert configured
    assert plain > 20_000
    assert ours < 2_000


@needs_glibc
@pytest.mark.parametrize("env", [{_memory.OPT_OUT: "0"}, {"MALLOC_TRIM_THRESHOLD_": "65536"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=65536"}])
def test_the_users_choice_and_the_opt_out_leave_glibc_alone(env):
    faults, configured = _faults("import", **env)
    assert not configured
    assert faults > 20_000


@needs_glibc
def test_release_free_memory_returns_kept_pages():
    import numpy as np

    arrays = [np.ones(1 << 19, np.float32) for _ in range(20)]
    del arrays
    assert _memory.release_free_memory() is True


def test_other_c_libraries_change_nothing(monkeypatch):
    monkeypatch.setattr(_memory, "_glibc", lambda: None)
    monkeypatch.delenv(_memory.OPT_OUT, raising=False)
    for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"):
        monkeypatch.delenv(k, raising=False)
    assert _memory.keep_freed_memory() is False
    assert _memory.release_free_memory() is False
