"""nn.save / nn.load: exact round trip, no pickle, clear errors on hostile files."""

import io
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest

import autograd_core as ag
import nn
from autograd_core import Tensor


class _Boom:
    """Unpickling this would run code; loading must never get that far."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2, dtype=np.float64))


def test_round_trip_is_exact(tmp_path):
    model = _model()
    model(Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)))
    state = model.state_dict()
    path = tmp_path / "model.npz"
    nn.save(state, path)
    loaded = nn.load(path)
    assert list(loaded) == list(state)
    for key in state:
        assert isinstance(loaded[key], Tensor)
        assert loaded[key].dtype == state[key].dtype, key
        assert loaded[key].shape == state[key].shape, key
        np.testing.assert_array_equal(loaded[key].numpy(), state[key].numpy())
    assert loaded["1.num_batches_tracked"].shape == ()
    assert loaded["1.num_batches_tracked"].item() == 1
    fresh = _model()
    fresh.load_state_dict(loaded)
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key].numpy())


def test_numpy_can_read_it_and_plain_npz_loads(tmp_path):
    path = tmp_path / "m.npz"
    nn.save({"a": np.arange(3), "b.c": Tensor([1.0]), "n": 3}, str(path))
    with np.load(path, allow_pickle=False) as data:
        assert list(data.files) == ["a", "b.c", "n"]
    other = tmp_path / "plain.npz"
    np.savez(other, w=np.ones((2, 2)), step=np.int64(4))
    loaded = nn.load(other)
    assert list(loaded) == ["w", "step"] and loaded["step"].item() == 4


def test_save_rejects_objects(tmp_path):
    with pytest.raises(TypeError, match="only Tensors, NumPy arrays and numbers"):
        nn.save({"x": {1, 2}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="only Tensors, NumPy arrays and numbers"):
        nn.save({"x": [object()]}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="cannot be saved without pickle"):
        nn.save({"x": np.array([object()])}, tmp_path / "x.npz")
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())
    # lists and int keys are nested structure, saved without pickle (as JSON)
    nn.save({1: np.zeros(1), "x": [1, 2]}, tmp_path / "x.npz")
    assert nn.load(tmp_path / "x.npz")["x"] == [1, 2]


def test_pickled_member_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, ok=np.zeros(2), evil=np.array([_Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(nn.SerializationError, match="pickled Python objects"):
        nn.load(path)


def test_raw_pickle_and_torch_like_files_are_refused(tmp_path):
    raw = tmp_path / "raw.npz"
    raw.write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(nn.SerializationError, match="not a zip archive"):
        nn.load(raw)
    pt = tmp_path / "model.pt"
    with zipfile.ZipFile(pt, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_Boom()))
    with pytest.raises(nn.SerializationError, match="PyTorch"):
        nn.load(pt)


def test_truncated_file(tmp_path):
    path = tmp_path / "m.npz"
    nn.save(_model().state_dict(), path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        broken = tmp_path / f"cut{cut}.npz"
        broken.write_bytes(data[:cut])
        with pytest.raises(nn.SerializationError):
            nn.load(broken)


def test_corrupt_npy_member(tmp_path):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", b"\x93NUMPY garbage")
    with pytest.raises(nn.SerializationError, match="not a valid .npy"):
        nn.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        nn.load(tmp_path / "nope.npz")


def test_save_to_file_object_path_types(tmp_path):
    # str and PathLike both work; the file is replaced atomically
    path = tmp_path / "m.npz"
    nn.save({"a": np.zeros(1)}, path)
    nn.save({"b": np.ones(1)}, os.fspath(path))
    assert list(nn.load(path)) == ["b"]
    assert isinstance(io.BytesIO(path.read_bytes()).read(2), bytes)


def test_a_header_promising_more_than_the_file_holds_is_refused_before_allocating(tmp_path):
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**13,)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", header.getvalue())
    with pytest.raises(nn.SerializationError, match=r"promises shape \(10000000000000,\)"):
        nn.load(path)


def test_nested_state_dicts_round_trip_exactly(tmp_path):
    state = {"state": {0: {"step": 3, "exp_avg": np.arange(3.0)}, 1: {}},
             "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                               "name": "all", "foreach": None, "eps": float("inf")}],
             "weights": ag.Tensor([1.0, 2.0])}
    path = tmp_path / "nested.npz"
    nn.save(state, path)
    back = nn.load(path)
    assert back["state"][0]["step"] == 3 and list(back["state"]) == [0, 1]
    np.testing.assert_array_equal(back["state"][0]["exp_avg"], np.arange(3.0))
    group = back["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and group["params"] == [0, 1]
    assert group["foreach"] is None and group["eps"] == float("inf") and group["name"] == "all"
    assert isinstance(back["weights"], ag.Tensor) and back["weights"].tolist() == [1.0, 2.0]


def test_an_optimizer_resumes_from_a_saved_state_dict(tmp_path):
    import optim

    ag.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(ag.randn(4, 3)).sum().backward()
    opt.step()
    nn.save(opt.state_dict(), tmp_path / "opt.npz")
    fresh = optim.Adam(model.parameters(), lr=0.01)
    fresh.load_state_dict(nn.load(tmp_path / "opt.npz"))
    np.testing.assert_array_equal(fresh.state[model.weight]["exp_avg"],
                                  opt.state[model.weight]["exp_avg"])


# ----------------------------------------------------------------- hostile files (issue 15)
def _npz_with_member(path, name, payload, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr(name, payload)


def _npy_header(descr, shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue()


def test_a_deflate_bomb_is_refused_without_inflating_it(tmp_path):
    import tracemalloc

    # A header promising 4 floats, followed by 64 MiB of zeros that deflate to ~64 KiB.
    path = tmp_path / "bomb.npz"
    _npz_with_member(path, "w.npy", _npy_header("<f4", (4,)) + bytes(64 << 20))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(nn.SerializationError, match=r"'w'.*promises shape \(4,\)"):
            nn.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"loading the bomb allocated {peak:,} bytes"


def test_a_bomb_whose_zip_directory_lies_about_the_size_is_refused_cheaply(tmp_path):
    import struct
    import tracemalloc

    header = _npy_header("<f4", (4,))
    path = tmp_path / "liar.npz"
    _npz_with_member(path, "w.npy", header + bytes(64 << 20))
    data = bytearray(path.read_bytes())
    declared = struct.pack("<I", len(header) + 16)  # what the npy header promises
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 22:local + 26] = declared      # uncompressed size, local header
    data[central + 24:central + 28] = declared  # uncompressed size, central directory
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(nn.SerializationError, match="'w'"):
            nn.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"loading the bomb allocated {peak:,} bytes"


def test_a_member_is_read_in_place_not_copied_twice(tmp_path):
    import tracemalloc

    path = tmp_path / "big.npz"
    nn.save({"w": np.ones(4 << 20, dtype=np.float32)}, path)  # 16 MiB
    tracemalloc.start()
    try:
        loaded = nn.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded["w"].numpy().sum() == 4 << 20
    assert peak < 24 << 20, f"loading 16 MiB peaked at {peak:,} bytes"


@pytest.mark.skipif(os.name != "posix", reason="POSIX files: devices, FIFOs, modes, fsync")
def test_special_files_are_refused_without_reading(tmp_path):
    with pytest.raises(nn.SerializationError, match="not a regular file"):
        nn.load("/dev/zero")
    with pytest.raises(nn.SerializationError, match="not a regular file"):
        nn.load(tmp_path)
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    with pytest.raises(nn.SerializationError, match="not a regular file"):
        nn.load(fifo)


@pytest.mark.parametrize("descr", ["<U3", "|V8", "<M8[D]", "<m8[s]", "|S4"])
def test_members_that_are_not_numbers_are_refused_by_name(tmp_path, descr):
    dtype = np.dtype(descr)
    path = tmp_path / "odd.npz"
    _npz_with_member(path, "odd.npy", _npy_header(descr, (2,)) + bytes(2 * dtype.itemsize))
    with pytest.raises(nn.SerializationError, match=r"entry 'odd'.*dtype"):
        nn.load(path)


def _npz_with_structure(path, structure_text, **arrays):
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", "w") as member:
                np.lib.format.write_array(member, array)
        with archive.open("__structure__.npy", "w") as member:
            np.lib.format.write_array(
                member, np.frombuffer(structure_text.encode(), dtype=np.uint8))


@pytest.mark.parametrize("structure", [
    "[" * 100_000 + "]" * 100_000,                                # RecursionError in json
    '{"t": "list", "items": ' * 500 + "[]" + "}" * 500,           # RecursionError in _decode
    '{"t": "dict", "items": [[{"t": "list", "items": []}, {"t": "none"}]]}',  # unhashable
    '{"t": "dict", "items": 3}',                                   # TypeError
    '{"t": "dict", "items": [[{"t": "int"}]]}',                    # not a pair / KeyError
    '{"t": "int"}', '{"t": "float", "v": [1]}', '{"v": 1}', "[1, 2]", '"text"',
    '{"t": "array", "key": ["w"]}', '{"t": "tensor", "key": "missing"}',
    '{"t": "dict", "items": [[{"t": "str", "v": "a"}, {"t": "bogus"}]]}',
])
def test_crafted_structures_give_a_serialization_error_naming_the_member(tmp_path, structure):
    path = tmp_path / "crafted.npz"
    _npz_with_structure(path, structure, w=np.zeros(2))
    with pytest.raises(nn.SerializationError, match=r"'__structure__' in '.*crafted.npz'"):
        nn.load(path)


def test_a_structure_that_is_not_bytes_is_refused(tmp_path):
    path = tmp_path / "crafted.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("__structure__.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros(3))
    with pytest.raises(nn.SerializationError, match="__structure__"):
        nn.load(path)


def test_save_refuses_too_deep_or_self_referring_structures(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(nn.SerializationError, match="nested more than"):
        nn.save({"x": loop}, tmp_path / "loop.npz")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------- saving safely (issue 15)
@pytest.mark.parametrize("key", ["a\x00b", "x" * 70_000, "bad\udc80"])
def test_a_key_the_format_cannot_hold_leaves_the_good_file_alone(tmp_path, key):
    path = tmp_path / "model.npz"
    nn.save({"w": np.arange(3.0)}, path)
    good = path.read_bytes()
    with pytest.raises(nn.SerializationError, match="key"):
        nn.save({key: np.zeros(1)}, path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX files: devices, FIFOs, modes, fsync")
def test_save_fsyncs_the_file_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        return real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    nn.save({"w": np.zeros(2)}, tmp_path / "m.npz")
    assert events == ["fsync-file", "replace", "fsync-dir"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX files: devices, FIFOs, modes, fsync")
def test_save_keeps_the_targets_mode_or_follows_the_umask(tmp_path):
    path = tmp_path / "m.npz"
    old = os.umask(0o027)
    try:
        nn.save({"w": np.zeros(2)}, path)
        assert path.stat().st_mode & 0o777 == 0o640
        os.chmod(path, 0o644)
        nn.save({"w": np.ones(2)}, path)
        assert path.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    nn.save({"w": np.ones(2)}, path)
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX files: devices, FIFOs, modes, fsync")
def test_save_removes_stale_temporaries_of_the_same_target(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".tmp-model.npz.{dead_pid}.abc123.npz"   # a save killed by SIGKILL
    running = tmp_path / f".tmp-model.npz.{os.getpid()}.def456.npz"  # a save in progress
    other = tmp_path / f".tmp-other.npz.{dead_pid}.ghi789.npz"     # another target's
    for p in (stale, running, other):
        p.write_bytes(b"partial")
    nn.save({"w": np.zeros(2)}, tmp_path / "model.npz")
    assert not stale.exists()
    assert running.exists() and other.exists()
    assert list(nn.load(tmp_path / "model.npz")) == ["w"]
