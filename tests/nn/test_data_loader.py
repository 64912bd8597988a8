"""DataLoader batching, shuffling, drop_last, determinism; TensorDataset; random_split."""

import numpy as np
import pytest

import autograd_core as ag
from nn.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def _dataset(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


def test_batches_cover_the_data_in_order_without_shuffle():
    loader = DataLoader(_dataset(), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert np.concatenate([y.numpy() for _, y in batches]).tolist() == list(range(10))
    x, y = batches[0]
    assert isinstance(x, ag.Tensor) and x.shape == (4, 2) and x.dtype == np.float32
    assert y.dtype == np.int64


def test_drop_last():
    loader = DataLoader(_dataset(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]


def test_shuffle_is_a_permutation_each_epoch_and_seeded():
    loader = DataLoader(_dataset(), batch_size=3, shuffle=True)
    ag.manual_seed(0)
    first = np.concatenate([y.numpy() for _, y in loader])
    second = np.concatenate([y.numpy() for _, y in loader])
    assert sorted(first.tolist()) == list(range(10)) and sorted(second.tolist()) == list(range(10))
    assert first.tolist() != second.tolist()  # a new order every epoch
    ag.manual_seed(0)
    again = np.concatenate([y.numpy() for _, y in loader])
    assert again.tolist() == first.tolist()
    # inputs stay paired with their labels
    for x, y in loader:
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())


def test_generic_datasets_are_collated_sample_by_sample():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.array([i, i * i], dtype=np.float32), "label": i % 2}

    batches = list(DataLoader(Squares(), batch_size=2))
    assert batches[1]["x"].tolist() == [[2.0, 4.0], [3.0, 9.0]]
    assert batches[2]["label"].tolist() == [0]
    custom = DataLoader(Squares(), batch_size=5, collate_fn=lambda s: len(s))
    assert list(custom) == [5]


def test_default_collate_structures():
    batch = default_collate([(np.zeros(2), 1), (np.ones(2), 2)])
    assert isinstance(batch, tuple) and batch[0].shape == (2, 2) and batch[1].tolist() == [1, 2]
    with pytest.raises(TypeError, match="cannot batch"):
        default_collate([object(), object()])


def test_tensor_dataset_checks_lengths_and_applies_the_transform():
    with pytest.raises(ValueError, match="array 0 has 3 rows and array 1 has 2"):
        TensorDataset(np.zeros((3, 1)), np.zeros(2))
    data = TensorDataset(np.ones((4, 1)), np.arange(4), transform=lambda x: x * 10)
    x, y = data[1]
    assert x.tolist() == [10.0] and y.item() == 1
    xb, yb = data.__getitems__([0, 3])
    assert xb.tolist() == [[10.0], [10.0]] and yb.tolist() == [0, 3]
    assert len(data.tensors) == 2


def test_random_split_lengths_fractions_and_disjointness():
    data = _dataset(10)
    ag.manual_seed(1)
    a, b = random_split(data, [7, 3])
    assert len(a) == 7 and len(b) == 3
    assert set(a.indices.tolist()).isdisjoint(b.indices.tolist())
    parts = random_split(data, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    with pytest.raises(ValueError, match="sum to 9.*10 samples"):
        random_split(data, [5, 4])
    # subsets keep batched fetching
    loader = DataLoader(a, batch_size=7)
    (x, y), = list(loader)
    np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())
    assert sorted(y.tolist()) == sorted(a.indices.tolist())


def test_subset_of_a_generic_dataset_and_bad_arguments():
    sub = Subset(list(range(10)), [2, 5])
    assert sub[1] == 5 and len(sub) == 2
    with pytest.raises(IndexError, match="out of range"):
        Subset(list(range(3)), [5])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(_dataset(), batch_size=0)
