"""The torch namespace after ``import autograd_core as torch``: lazy sub-packages,
dtypes, the default dtype, devices (CPU only, said clearly), generators, save/load,
and printing as PyTorch prints."""

import numpy as np
import pytest

import autograd_core as torch
from autograd_core.errors import DTypeError


def test_sub_packages_load_lazily():
    assert torch.nn.Linear(2, 3).weight.shape == (3, 2)
    assert torch.optim.SGD.__name__ == "SGD"
    assert torch.utils.data.DataLoader.__name__ == "DataLoader"
    assert torch.autograd.Function is torch.Function
    assert callable(torch.autograd.functional.jacobian)
    assert torch.nn.functional.relu(torch.tensor([-1.0, 1.0])).tolist() == [0.0, 1.0]
    assert torch.linalg.vector_norm(torch.tensor([3.0, 4.0])).item() == 5.0


def test_dtype_names_compare_with_tensor_dtypes():
    pairs = {"float": torch.float32, "double": torch.float64, "half": torch.float16,
             "int": torch.int32, "long": torch.int64, "bool": torch.bool_}
    for name, dtype in pairs.items():
        assert getattr(torch, name) == dtype
    x = torch.tensor([1.0])
    assert x.dtype == torch.float32 == torch.float and x.long().dtype == torch.long
    assert torch.tensor([True]).dtype == torch.bool and torch.tensor([1]).dtype == torch.int64
    assert x.to(torch.uint8).dtype == torch.uint8 and x.type(torch.double).dtype == torch.double
    assert torch.finfo(torch.float32).eps == np.finfo(np.float32).eps


def test_set_default_dtype_changes_floats_made_without_a_dtype():
    assert torch.get_default_dtype() == torch.float32
    torch.set_default_dtype(torch.float64)
    try:
        assert torch.get_default_dtype() == torch.float64
        assert torch.tensor([1.5]).dtype == torch.float64
        assert torch.zeros(2).dtype == torch.randn(2).dtype == torch.float64
        assert torch.arange(0.0, 1.0, 0.5).dtype == torch.float64
        assert torch.tensor([1, 2]).exp().dtype == torch.float64
        assert torch.nn.Linear(2, 2).weight.dtype == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.tensor([1.5]).dtype == torch.float32
    with pytest.raises(TypeError, match="float32 and float64"):
        torch.set_default_dtype(torch.float16)


def test_devices_are_cpu_only_and_say_so():
    assert torch.device("cpu") == "cpu" and repr(torch.device("cpu:0")) == \
        "device(type='cpu', index=0)"
    assert not torch.cuda.is_available() and torch.cuda.device_count() == 0
    assert not torch.backends.mps.is_available()
    assert torch.accelerator.current_accelerator() is None
    assert not torch.accelerator.is_available()
    torch.set_default_device("cpu")
    assert torch.get_default_device() == "cpu"
    x = torch.ones(2, device="cpu")
    assert x.to(torch.device("cpu")) is x and x.cpu() is x
    for attempt in (lambda: torch.device("cuda"), lambda: x.to("cuda"), lambda: x.cuda(),
                    lambda: torch.randn(2, device="cuda"), lambda: torch.set_default_device("mps"),
                    lambda: torch.cuda.synchronize(), lambda: torch.nn.Linear(1, 1).cuda()):
        with pytest.raises(RuntimeError, match="CPU"):
            attempt()


def test_generators_make_draws_reproducible_and_independent():
    def draws(g):
        return [torch.rand(3, generator=g), torch.randn(2, 2, generator=g),
                torch.randint(0, 10, (4,), generator=g), torch.randperm(5, generator=g),
                torch.normal(0.0, 2.0, (3,), generator=g),
                torch.normal(torch.zeros(2), torch.ones(2), generator=g),
                torch.multinomial(torch.tensor([0.1, 0.5, 0.4]), 5, True, generator=g),
                torch.bernoulli(torch.full((4,), 0.5), generator=g),
                torch.empty(3).normal_(generator=g), torch.empty(3).uniform_(-1, 1, generator=g),
                torch.empty(3).bernoulli_(0.3, generator=g)]

    first = draws(torch.Generator().manual_seed(7))
    torch.manual_seed(0)
    second = draws(torch.Generator().manual_seed(7))
    for a, b in zip(first, second):
        assert a.tolist() == b.tolist()
    assert first[2].dtype == torch.int64 and first[6].dtype == torch.int64
    g = torch.Generator().manual_seed(3)
    state = g.get_state()
    a = torch.rand(2, generator=g)
    g.set_state(state)
    assert torch.rand(2, generator=g).tolist() == a.tolist()


def test_multinomial_without_replacement_and_its_errors():
    g = torch.Generator().manual_seed(0)
    picks = torch.multinomial(torch.tensor([[1.0, 1.0, 1.0, 0.0]] * 3), 3, generator=g)
    assert picks.shape == (3, 3)
    for row in picks.tolist():
        assert sorted(row) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        torch.multinomial(torch.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        torch.multinomial(torch.tensor([1.0, -1.0]), 1)


def test_random_in_place_fills_respect_leaves():
    w = torch.empty(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.normal_()
    with torch.no_grad():
        w.normal_(0.0, 0.01)
    assert w.requires_grad and float(w.abs().max()) < 0.1


def test_save_and_load_nested_objects_as_npz(tmp_path):
    path = str(tmp_path / "obj.pt")
    obj = {"weights": torch.ones(2, 3), "steps": 4, "history": [torch.tensor(1.5), 2.0],
           "nested": {"ids": torch.arange(3)}}
    torch.save(obj, path)
    back = torch.load(path, weights_only=True)
    assert back["weights"].tolist() == [[1.0] * 3] * 2 and back["steps"] == 4
    assert back["history"][0].item() == 1.5 and back["nested"]["ids"].dtype == torch.int64
    torch.save(torch.tensor([1, 2]), path)
    assert torch.load(path).tolist() == [1, 2]
    with open(path, "rb") as f:
        assert f.read(2) == b"PK"  # a zip of .npy members, never a pickle
    with pytest.raises(TypeError, match="file path"):
        torch.save(obj, open(str(tmp_path / "f"), "wb"))
    with pytest.raises(RuntimeError, match="CPU"):
        torch.load(path, map_location="cuda:0")


PRINTED = [[1.0, 2.0], [1.5, -2.0], [1e-5, 1.0], [[1, 2], [3, 4]], [True, False], 3.5, 2.0,
           [], [1e9, 1.0], [float("nan"), 1.0, float("inf")], [[0.1234567, -10.0]],
           [-1.0, 5.25], [[-1.5, 2.0], [30.25, 4.0]]]


@pytest.mark.parametrize("data", PRINTED, ids=range(len(PRINTED)))
def test_tensors_print_as_pytorch_prints(data, torch_or_skip):
    ours = torch.tensor(data)
    theirs = torch_or_skip.tensor(data)
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)


def test_printing_extras_match_pytorch(torch_or_skip):
    t = torch_or_skip
    cases = [
        (torch.tensor([1.0, 2.0], requires_grad=True), t.tensor([1.0, 2.0], requires_grad=True)),
        (torch.tensor([1.0, 2.0], requires_grad=True) * 2,
         t.tensor([1.0, 2.0], requires_grad=True) * 2),
        (torch.tensor([1.0], dtype=torch.float64), t.tensor([1.0], dtype=t.float64)),
        (torch.tensor([1, 2], dtype=torch.int32), t.tensor([1, 2], dtype=t.int32)),
        (torch.zeros(0, 3), t.zeros(0, 3)),
        (torch.arange(12.0).reshape(3, 4) / 7, t.arange(12.0).reshape(3, 4) / 7),
    ]
    for ours, theirs in cases:
        assert repr(ours) == repr(theirs)
    assert f"{torch.tensor(2.0 / 3):.4f}" == f"{t.tensor(2.0 / 3):.4f}" == "0.6667"
    assert repr(torch.tensor([[1.0]]).shape) == repr(t.tensor([[1.0]]).shape)
    assert torch.zeros(2, 3).shape == (2, 3) == t.zeros(2, 3).shape


def test_int_tensors_refuse_float_results_in_place():
    x = torch.tensor([1, 2])
    with pytest.raises(DTypeError):
        x.exp_()


def test_a_generator_works_where_numpys_is_expected():
    dataset = torch.utils.data.TensorDataset(torch.arange(10))
    splits = [torch.utils.data.random_split(dataset, [7, 3],
                                            generator=torch.Generator().manual_seed(42))
              for _ in range(2)]
    assert [x[0].item() for x in splits[0][1]] == [x[0].item() for x in splits[1][1]]
    g = torch.Generator().manual_seed(1)
    assert g.permutation(4).shape == (4,) and g.initial_seed() == 1
