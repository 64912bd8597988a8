"""nn.save / nn.load: exact round trip, no pickle, clear errors on hostile files."""

import io
import os
import pickle
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
