"""Each transform's effect, on single images and batches, and its seeding."""

import numpy as np
import pytest

import autograd_core as ag
from nn.transforms import (
    Compose,
    Cutout,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    mixup,
)


def _images(n=6, c=2, h=5, w=7):
    return np.random.default_rng(0).random((n, c, h, w)).astype(np.float32)


def test_normalize_per_channel_and_keeps_kind_and_dtype():
    x = _images()
    out = Normalize([0.5, 0.2], [0.1, 0.4])(x)
    np.testing.assert_allclose(out[:, 1], (x[:, 1] - 0.2) / 0.4, rtol=1e-6, atol=1e-6)
    assert out.dtype == np.float32 and out.shape == x.shape
    single = Normalize([0.5, 0.2], [0.1, 0.4])(ag.Tensor(x[0]))
    assert isinstance(single, ag.Tensor) and single.shape == x[0].shape
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="3 means for images with 2 channels"):
        Normalize([0, 0, 0], [1, 1, 1])(x)


def test_normalize_transform_turns_integer_images_into_floats():
    out = Normalize([0.5], [0.5])(np.full((1, 2, 2), 200, np.uint8))
    assert out.dtype == np.float32 and np.allclose(out, (200 - 0.5) / 0.5)


def test_horizontal_flip_flips_exactly_the_chosen_images():
    x = _images(200)
    ag.manual_seed(0)
    out = RandomHorizontalFlip(0.5)(x)
    flipped = [np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)]
    unchanged = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or u for f, u in zip(flipped, unchanged))
    assert 70 < sum(flipped) < 130
    assert np.array_equal(RandomHorizontalFlip(1.0)(x[0]), x[0][..., ::-1])


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x = _images(50)
    ag.manual_seed(1)
    out = RandomCrop((5, 7), padding=1)(x)
    assert out.shape == x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for o, p in zip(out, padded):
        matches = [(dy, dx) for dy in range(3) for dx in range(3)
                   if np.array_equal(o, p[:, dy:dy + 5, dx:dx + 7])]
        assert matches
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(9)(x)


def test_rotation_by_90_degrees_is_rot90_and_zero_is_identity():
    x = _images(2, 1, 5, 5)
    rotation = RandomRotation(90)
    np.testing.assert_allclose(rotation(x, angles=[90, 90]), np.rot90(x, axes=(2, 3)), atol=1e-6)
    np.testing.assert_allclose(rotation(x, angles=[0, 0]), x, atol=1e-6)
    ag.manual_seed(2)
    small = RandomRotation(15)(x)
    assert small.shape == x.shape and not np.allclose(small, x)
    with pytest.raises(ValueError, match="non-negative"):
        RandomRotation(-5)


def test_cutout_zeroes_one_square_per_image():
    x = np.ones((100, 1, 8, 8), dtype=np.float32)
    ag.manual_seed(3)
    out = Cutout(3)(x)
    zeros = (out == 0).sum(axis=(1, 2, 3))
    assert zeros.max() == 9 and zeros.min() >= 4  # clipped at borders: at least 2x2
    for image in out[:, 0]:
        rows, cols = np.nonzero(image == 0)
        assert rows.max() - rows.min() < 3 and cols.max() - cols.min() < 3


def test_mixup_mixes_inputs_and_soft_targets_consistently():
    ag.manual_seed(4)
    x = np.eye(4, dtype=np.float32).reshape(4, 1, 2, 2)
    y = np.array([0, 1, 2, 3])
    mx, my = mixup(x, y, alpha=0.4, num_classes=4)
    assert mx.shape == x.shape and my.shape == (4, 4)
    np.testing.assert_allclose(my.numpy().sum(axis=1), 1.0, rtol=1e-6)
    # with one-hot images, the mixed image equals its mixed target
    np.testing.assert_allclose(mx.numpy().reshape(4, 4), my.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="alpha must be positive"):
        mixup(x, y, alpha=0)


def test_transforms_are_reproducible_under_manual_seed():
    pipeline = Compose([RandomCrop(5, padding=2), RandomHorizontalFlip(), RandomRotation(15),
                        Cutout(2)])
    x = _images(8, 1, 5, 5)
    ag.manual_seed(9)
    first = pipeline(x)
    ag.manual_seed(9)
    np.testing.assert_array_equal(pipeline(x), first)
    assert "RandomCrop" in repr(pipeline)


@pytest.mark.parametrize("degrees", [float("nan"), -5, float("inf"), (0.0, float("nan"))])
def test_rotation_refuses_nan_negative_or_infinite_degrees(degrees):
    with pytest.raises(ValueError, match="RandomRotation: degrees"):
        RandomRotation(degrees)
