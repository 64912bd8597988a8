"""nn.save / nn.load: exact round trip, no pickle, clear errors on hostile files."""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

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
        nn.save({"x": [1, 2]}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="cannot be saved without pickle"):
        nn.save({"x": np.array([object()])}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="strings"):
        nn.save({1: np.zeros(1)}, tmp_path / "x.npz")
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())


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
