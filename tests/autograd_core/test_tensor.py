"""Tensor construction, dtype rules, attributes, conversions, constructors, seeding."""

import numpy as np
import pytest

import autograd_core as ag
from autograd_core import Tensor


class TestConstructionAndDtypes:
    def test_python_floats_and_lists_become_float32(self):
        assert Tensor(1.5).dtype == np.float32
        assert Tensor([1.0, 2.0]).dtype == np.float32
        assert Tensor([[1, 2.5]]).dtype == np.float32
        assert ag.tensor(0.5).shape == ()

    def test_numpy_float_arrays_keep_their_dtype(self):
        assert Tensor(np.zeros(2, dtype=np.float64)).dtype == np.float64
        assert Tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32
        assert Tensor(np.float64(1.0)).dtype == np.float64

    def test_integers_and_bools_stay_integer_and_bool(self):
        assert Tensor(3).dtype == np.int64
        assert Tensor([1, 2]).dtype == np.int64
        assert Tensor(np.arange(3, dtype=np.int32)).dtype == np.int32
        assert Tensor([True, False]).dtype == np.bool_

    def test_integer_tensors_cannot_require_grad(self):
        with pytest.raises(TypeError, match="floating-point.*int64"):
            Tensor([1, 2], requires_grad=True)
        t = Tensor([1, 2])
        with pytest.raises(RuntimeError, match="int64"):
            t.requires_grad_()
        assert not t.requires_grad  # nothing half-updated

    def test_dtype_argument_converts(self):
        assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
        assert Tensor([1.0], dtype="float64").dtype == np.float64
        assert Tensor([1.7], dtype=ag.int64).tolist() == [1]

    def test_construction_copies_the_data(self):
        array = np.ones(3)
        t = Tensor(array)
        array[0] = 5.0
        assert t.tolist() == [1.0, 1.0, 1.0]
        shared = ag.from_numpy(array)
        array[1] = 7.0
        assert shared.tolist() == [5.0, 7.0, 1.0]

    def test_unsupported_data_is_a_clear_error(self):
        with pytest.raises(TypeError, match="numeric or bool"):
            Tensor(["a", "b"])
        with pytest.raises(ValueError, match="cannot make a Tensor"):
            Tensor([[1.0, 2.0], [3.0]])
        with pytest.raises(TypeError, match="complex"):
            Tensor(np.ones(2, dtype=complex))

    def test_a_tensor_from_a_list_of_tensors(self):
        t = Tensor([Tensor(1.0), Tensor(2.0)])
        assert t.tolist() == [1.0, 2.0] and t.dtype == np.float32


class TestAttributes:
    def test_shape_ndim_size_and_len(self):
        t = ag.zeros(2, 3, 4)
        assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3
        assert t.size() == (2, 3, 4) and t.size(-1) == 4 and t.numel() == 24
        assert len(t) == 2
        with pytest.raises(TypeError, match="0-d"):
            len(Tensor(1.0))

    def test_leaf_status_and_grad_fn(self):
        x = Tensor(1.0, requires_grad=True)
        y = x * 2
        assert x.is_leaf and x.grad_fn is None
        assert not y.is_leaf and y.grad_fn.op_name == "Mul"
        assert Tensor(1.0).is_leaf and (Tensor(1.0) * 2).is_leaf

    def test_detach_shares_data_outside_the_graph(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        d = (x * 2).detach()
        assert not d.requires_grad and d.grad_fn is None
        y = x * 1
        y_detached = y.detach()
        y_detached.numpy()[0] = 9.0
        assert y.numpy()[0] == 9.0

    def test_item_tolist_numpy_and_array_protocol(self):
        t = Tensor([[1.0, 2.0]])
        assert t.tolist() == [[1.0, 2.0]]
        assert Tensor(2.5).item() == 2.5 and float(Tensor(2.5)) == 2.5 and int(Tensor(3)) == 3
        assert np.asarray(t) is t.numpy() and t.numpy() is t.numpy()
        assert np.asarray(t, dtype=np.float64).dtype == np.float64
        with pytest.raises(ValueError, match="one element"):
            t.item()

    def test_data_and_grad_setters_validate(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        x.data = np.array([3.0, 4.0], dtype=np.float32)
        assert x.tolist() == [3.0, 4.0]
        x.data = Tensor([5.0, 6.0])
        assert isinstance(x.numpy(), np.ndarray)
        with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
            x.grad = np.ones(3)
        x.grad = np.ones(2)
        assert isinstance(x.grad, Tensor)

    def test_bool_and_comparisons(self):
        a = Tensor([1.0, 2.0, 3.0])
        assert (a > 1.5).tolist() == [False, True, True]
        assert (a == Tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]
        assert (a <= 2).dtype == np.bool_ and not (a <= 2).requires_grad
        assert bool(Tensor(1.0)) and not bool(Tensor(0.0))
        with pytest.raises(ValueError, match="ambiguous"):
            bool(a)
        assert ((a > 1) & (a < 3)).tolist() == [False, True, False]
        assert (~(a > 1)).tolist() == [True, False, False]

    def test_tensors_are_hashable_by_identity(self):
        a, b = Tensor(1.0), Tensor(1.0)
        assert len({a: 1, b: 2}) == 2

    def test_repr_shows_values_and_graph_status(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        assert repr(x) == "tensor([1., 2.], requires_grad=True)"
        assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
        assert "dtype=torch.float64" in repr(Tensor(np.zeros(1)))
        assert "name='w'" in repr(Tensor(1.0, name="w"))

    def test_in_place_changes_are_refused_while_recording(self):
        w = Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="no_grad"):
            w.fill_(0.0)
        with ag.no_grad():
            w.fill_(0.5)
            w[0] = 2.0
        assert w.tolist() == [2.0, 0.5]
        t = ag.zeros(2, 2)
        t.copy_(np.array([1.0, 2.0]))
        assert t.tolist() == [[1.0, 2.0], [1.0, 2.0]]
        with pytest.raises(ValueError, match=r"\(3,\).*\(2, 2\)"):
            t.copy_(np.ones(3))


class TestConversions:
    def test_to_float_double_long(self):
        t = Tensor([1.5, 2.5])
        assert t.double().dtype == np.float64 and t.float() is t
        assert t.long().tolist() == [1, 2] and t.to("cpu") is t
        assert t.to(np.float64).dtype == np.float64


class TestConstructorsAndSeeding:
    def test_shapes_and_dtypes(self):
        assert ag.zeros(2, 3).shape == (2, 3) and ag.zeros((2, 3)).dtype == np.float32
        assert ag.ones(4, dtype=np.float64).dtype == np.float64
        assert ag.full((2,), 7).dtype == np.int64 and ag.full((2,), 0.5).dtype == np.float32
        assert ag.arange(5).tolist() == [0, 1, 2, 3, 4] and ag.arange(5).dtype == np.int64
        assert ag.arange(0, 1, 0.25).dtype == np.float32
        assert ag.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
        assert ag.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
        like = ag.zeros_like(Tensor(np.ones((2, 2))))
        assert like.dtype == np.float64 and like.shape == (2, 2)
        assert ag.ones_like(Tensor([1, 2])).tolist() == [1, 1]
        assert ag.randn(3, requires_grad=True).requires_grad

    def test_bad_sizes_are_clear_errors(self):
        with pytest.raises(ValueError, match="non-negative"):
            ag.zeros(2, -1)
        with pytest.raises(TypeError, match="ints"):
            ag.ones(2.5)
        with pytest.raises(ValueError, match="non-negative integer"):
            ag.manual_seed(-3)

    def test_manual_seed_makes_random_draws_reproducible(self):
        ag.manual_seed(42)
        first = (ag.randn(4).tolist(), ag.rand(2).tolist(), ag.randint(10, size=3).tolist(),
                 ag.randperm(5).tolist())
        ag.manual_seed(42)
        second = (ag.randn(4).tolist(), ag.rand(2).tolist(), ag.randint(10, size=3).tolist(),
                  ag.randperm(5).tolist())
        assert first == second
        ag.manual_seed(43)
        assert ag.randn(4).tolist() != first[0]

    def test_random_draws_have_the_right_distribution(self):
        ag.manual_seed(0)
        normal = ag.randn(100_000).numpy()
        uniform = ag.rand(100_000).numpy()
        assert abs(normal.mean()) < 0.02 and abs(normal.std() - 1) < 0.02
        assert uniform.min() >= 0 and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.01


class TestNumpyFunctions:
    def test_graph_equivalents_keep_the_gradient(self):
        w = ag.Tensor([1.0, 2.0, 3.0], requires_grad=True)
        clipped = np.clip(w * 1.0, -1, 2.5)
        mean = np.mean(w * 2)
        joined = np.concatenate([w, w * 2])
        assert all(isinstance(t, Tensor) and t.requires_grad for t in (clipped, mean, joined))
        (clipped.sum() + mean + joined.sum() + np.sum(np.where(w > 1.5, w, 0.0))).backward()
        np.testing.assert_allclose(w.grad.numpy(), [1 + 2 / 3 + 3, 1 + 2 / 3 + 3 + 1,
                                                 2 / 3 + 3 + 1], rtol=1e-6)

    def test_without_grad_numpy_functions_return_arrays(self):
        t = ag.Tensor([1.0, 2.0])
        assert isinstance(np.mean(t), np.floating) and isinstance(np.clip(t, 0, 1), np.ndarray)
        assert np.allclose(ag.Tensor([1.0], requires_grad=True), [1.0])
