"""Compilation caching works, or degrades silently, wherever the package is installed,
and a damaged cache file means a recompile, never an error.

Each case runs a fresh interpreter on a copy of the package whose kernel directory is
read-only.  Root ignores file modes, so the copy also gets a plain *file* where Numba
would create its ``__pycache__`` directory, and an unwritable cache home is a path
below a regular file: neither can be created by anyone.
"""

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograd_core

PACKAGE = Path(autograd_core.__file__).parent
SCRIPT = """
import numpy as np
import autograd_core.kernels as K
from autograd_core.kernels import pool
x = np.ones((2, 3, 6, 6), np.float32)
w = np.ones((4, 3, 3, 3), np.float32)
out = K.conv2d_forward(x, w, None, 1, 1)
gx, gw, gb = K.conv2d_backward(out, x, w, 1, 1)
y, idx = pool.max_pool2d_forward(out, 2)
assert out[0, 0, 2, 2] == 27 and gx.shape == x.shape and y.shape == (2, 4, 3, 3)
print("ok")
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions"),
]


def _read_only_copy(root):
    site = root / "site"
    dest = site / "autograd_core"
    shutil.copytree(PACKAGE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    (dest / "kernels" / "__pycache__").write_text("not a directory\n")
    for dirpath, _, files in os.walk(dest):
        os.chmod(dirpath, 0o555)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o444)
    return site


def _unwritable_dir(root):
    blocker = root / "blocker"
    blocker.write_text("a file, so nothing can be created below it\n")
    return blocker / "cache"


def _run(site, tmp_path, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
    env.update({k: str(v) for k, v in env_extra.items()})
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
    assert "Traceback" not in proc.stderr
    return proc


def _cache_files(path):
    return sorted(p.name for p in Path(path).rglob("*.nbi"))


def test_read_only_package_uses_the_user_cache_dir(tmp_path):
    site = _read_only_copy(tmp_path)
    xdg = tmp_path / "xdg"
    _run(site, tmp_path, XDG_CACHE_HOME=xdg)
    assert _cache_files(xdg), "nothing was cached in the user-wide directory"
    assert not _cache_files(site)
    _run(site, tmp_path, XDG_CACHE_HOME=xdg)  # warm: loads from there


def test_numba_cache_dir_is_honoured(tmp_path):
    site = _read_only_copy(tmp_path)
    cache = tmp_path / "numba-cache"
    _run(site, tmp_path, NUMBA_CACHE_DIR=cache, XDG_CACHE_HOME=_unwritable_dir(tmp_path))
    assert _cache_files(cache)


def test_nothing_writable_still_imports_and_runs(tmp_path):
    site = _read_only_copy(tmp_path)
    _run(site, tmp_path, XDG_CACHE_HOME=_unwritable_dir(tmp_path))
    assert not _cache_files(site)


# ------------------------------------------- a damaged cache recompiles (issue 15, 11)

DAMAGED_SCRIPT = """
import numpy as np
from autograd_core.kernels import pool
x = np.arange(16.0).reshape(1, 1, 4, 4)
out, idx = pool.max_pool2d_forward(x, 2)
gx = pool.max_pool2d_backward(np.ones_like(out), idx, x.shape)
assert out.ravel().tolist() == [5.0, 7.0, 13.0, 15.0] and gx.sum() == 4
print("ok")
"""


def _run_with_cache(cache, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(PYTHONPATH=str(PACKAGE.parent), NUMBA_CACHE_DIR=str(cache))
    proc = subprocess.run(
        [sys.executable, "-c", DAMAGED_SCRIPT],
        env=env, capture_output=True, text=True, timeout=600, cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok" and "Traceback" not in proc.stderr
    return proc


def _damage(cache, suffix, content):
    files = sorted(Path(cache).rglob(f"*{suffix}"))
    assert files, f"no {suffix} files to damage"
    for path in files:
        path.write_bytes(content)
    return files


@pytest.mark.parametrize(
    "suffixes,content",
    [
        ((".nbi",), b"\x80\x04garbage, not a pickle"),
        ((".nbi", ".nbc"), b""),
        ((".nbc",), b"\x00" * 64),
        ((".nbi", ".nbc"), b"\x80\x04\x95"),  # truncated pickle
    ],
)
def test_a_damaged_cache_is_recompiled_and_rewritten(tmp_path, suffixes, content):
    cache = tmp_path / "numba-cache"
    _run_with_cache(cache, tmp_path)  # fills the cache
    for suffix in suffixes:
        _damage(cache, suffix, content)
    _run_with_cache(cache, tmp_path)  # loads garbage: recompiles instead of raising
    # ... and wrote the cache afresh: every index unpickles again
    for index in Path(cache).rglob("*.nbi"):
        with open(index, "rb") as f:
            pickle.load(f)
            pickle.loads(f.read())
    _run_with_cache(cache, tmp_path)
