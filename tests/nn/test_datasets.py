"""The digits split, synthetic sets, and the IDX reader on files the tests generate."""

import gzip
import struct

import numpy as np
import pytest

from nn.datasets import load_digits, load_idx, load_mnist, make_moons, make_spirals


def test_digits_are_real_nchw_float32_in_unit_range_with_a_fixed_split():
    train, val, test = load_digits("train"), load_digits("val"), load_digits("test")
    assert (len(train), len(val), len(test)) == (1258, 179, 360)
    x, y = train.arrays
    assert x.shape == (1258, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # stratified: every class is in every split, in about the same proportion
    for part in (train, val, test):
        counts = np.bincount(part.arrays[1], minlength=10)
        assert counts.min() > 0 and counts.max() - counts.min() <= 3 * max(1, counts.min() // 10)
    # disjoint, and together the whole set
    all_x = load_digits("all").arrays[0]
    joined = np.concatenate([train.arrays[0], val.arrays[0], test.arrays[0]])
    assert len(joined) == len(all_x)
    assert len({row.tobytes() for row in test.arrays[0]} & {row.tobytes() for row in
                                                          train.arrays[0]}) < 5  # duplicates
    # the same split every call
    np.testing.assert_array_equal(load_digits("test").arrays[1], test.arrays[1])
    assert len(load_digits("train+val")) == 1258 + 179
    with pytest.raises(ValueError, match="unknown split"):
        load_digits("holdout")


def test_moons_and_spirals_shapes_classes_and_seeding():
    X, y = make_moons(101, noise=0.05, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float32 and set(y.tolist()) == {0, 1}
    np.testing.assert_array_equal(make_moons(101, noise=0.05, seed=3)[0], X)
    # without noise the two arcs are where the formula puts them
    Xc, yc = make_moons(50, noise=0.0, seed=0)
    upper = Xc[yc == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    S, k = make_spirals(300, n_classes=3, seed=0)
    assert S.shape == (300, 2) and np.bincount(k).tolist() == [100, 100, 100]
    with pytest.raises(ValueError, match="n_classes"):
        make_spirals(10, n_classes=1)


def _write_idx(path, array, code=0x08, compress=False, truncate=0):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if truncate:
        payload = payload[:-truncate]
    opener = gzip.open if compress else open
    with opener(path, "wb") as handle:
        handle.write(payload)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_reader_and_mnist_loader_on_generated_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    suffix = ".gz" if compress else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, compress=compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, compress=compress)
    np.testing.assert_array_equal(load_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}"), images)
    test = load_mnist(tmp_path, "test")
    x, y = test.arrays
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.tolist() == [3, 1, 4, 1, 5]
    np.testing.assert_allclose(x[:, 0], images / 255.0, rtol=1e-6)
    floats = rng.standard_normal((2, 3)).astype(">f4")
    _write_idx(tmp_path / "floats.idx", floats, code=0x0D)
    np.testing.assert_array_equal(load_idx(tmp_path / "floats.idx"), floats)


def test_corrupt_idx_files_get_clear_errors(tmp_path):
    images = np.zeros((2, 4, 4), dtype=np.uint8)
    _write_idx(tmp_path / "truncated", images, truncate=3)
    with pytest.raises(ValueError, match=r"promises shape \(2, 4, 4\).*holds 29 bytes"):
        load_idx(tmp_path / "truncated")
    (tmp_path / "garbage").write_bytes(b"PK\x03\x04 not an idx")
    with pytest.raises(ValueError, match="bad magic"):
        load_idx(tmp_path / "garbage")
    _write_idx(tmp_path / "badtype", images, code=0x42)
    with pytest.raises(ValueError, match="unknown IDX data type code 0x42"):
        load_idx(tmp_path / "badtype")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="cannot read"):
        load_idx(tmp_path / "broken.gz")


def test_missing_mnist_files_say_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.*does not download"):
        load_mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_mnist(tmp_path, "validation")


def test_a_gz_idx_bomb_is_refused_after_reading_only_what_the_header_declares(tmp_path):
    import tracemalloc

    # claims (10, 28, 28) bytes, then holds 64 MiB of zeros (compressed to ~64 KiB)
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 10, 28, 28)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(header + bytes(64 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz.*\(10, 28, 28\).*more"):
            load_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"reading the bomb allocated {peak:,} bytes"


def test_an_idx_header_whose_size_overflows_int64_is_refused_naming_the_file(tmp_path):
    # 2**31 * 2**31 * 4 one-byte items = 2**64 bytes: wraps to 0 in int64 arithmetic
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**31, 2**31, 4))
    with pytest.raises(ValueError, match=r"huge-idx3-ubyte.*more than any array can hold"):
        load_idx(path)


def test_a_corrupt_gz_stream_is_a_value_error_naming_the_file(tmp_path):
    payload = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 4000) + bytes(range(250)) * 16
    data = bytearray(gzip.compress(payload, mtime=0))
    data[10] = 0xFF  # the first byte of the deflate stream: an invalid block type
    broken = tmp_path / "broken-idx1-ubyte.gz"
    broken.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"broken-idx1-ubyte.gz: cannot read the file"):
        load_idx(broken)


def test_the_zen_of_python_as_next_character_windows():
    from nn.datasets import load_zen_of_python

    train, val, test = (load_zen_of_python(s, context=16) for s in ("train", "val", "test"))
    x, y = train[0]
    assert x.shape == (16,) and x.dtype == np.int64
    np.testing.assert_array_equal(x.numpy()[1:], y.numpy()[:-1])  # y is x shifted by one
    assert train.chars == val.chars and len(train) > len(val) > 0 and len(test) > 0
    assert "".join(train.chars[i] for i in x.numpy()).startswith("The Zen of Pytho")
    with pytest.raises(ValueError, match="split"):
        load_zen_of_python("dev")
