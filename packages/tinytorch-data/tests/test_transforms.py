"""Transforms against hand-computed numpy, batched and single-image, seeded."""

from __future__ import annotations

import numpy as np
import pytest
from tinytorch.data.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToTensor,
)
from tinytorch.tensor import Generator, Tensor


def test_to_tensor_hwc_uint8():
    img = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    t = ToTensor()(img)
    assert isinstance(t, Tensor) and t.shape == (3, 5, 4) and t.dtype == np.float32
    np.testing.assert_allclose(t.data, img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    batch = np.stack([img, img[::-1]])
    tb = ToTensor()(batch)
    assert tb.shape == (2, 3, 5, 4)
    np.testing.assert_allclose(tb.data[1], img[::-1].transpose(2, 0, 1) / 255.0, rtol=1e-6)
    chw = ToTensor(layout="CHW")(img.transpose(2, 0, 1))
    np.testing.assert_allclose(chw.data, t.data)
    with pytest.raises(ValueError):
        ToTensor(layout="NHWC")


def test_normalize_matches_numpy_batch_and_single():
    x = np.random.default_rng(1).random((4, 3, 2, 2)).astype(np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    want = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    norm = Normalize(mean, std)
    np.testing.assert_allclose(norm(x), want, rtol=1e-6)
    np.testing.assert_allclose(norm(x[2]), want[2], rtol=1e-6)
    out = norm(Tensor(x))
    assert isinstance(out, Tensor) and out.dtype == np.float32
    with pytest.raises(ValueError, match="3 means for 2 channels"):
        norm(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="std"):
        Normalize([0.0], [0.0])


def test_random_crop_matches_per_sample_slices():
    rng = np.random.default_rng(2)
    x = rng.random((6, 3, 8, 8)).astype(np.float32)
    crop = RandomCrop(8, padding=2, generator=Generator(11))
    out = crop(x)
    # Same offsets drawn again from the same seed, cropped by hand with a loop.
    top, left = RandomCrop(8, padding=2, generator=Generator(11)).offsets(6, 12, 12)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    want = np.stack([padded[i, :, top[i] : top[i] + 8, left[i] : left[i] + 8] for i in range(6)])
    np.testing.assert_array_equal(out, want)
    assert len({(int(a), int(b)) for a, b in zip(top, left, strict=True)}) > 1  # per sample
    single = RandomCrop((4, 5), generator=Generator(0))(x[0])
    assert single.shape == (3, 4, 5)
    with pytest.raises(ValueError, match="larger"):
        RandomCrop(10)(x)


def test_random_crop_reflect_and_edge_padding():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    # A crop of the full padded size has one possible offset: it returns the padded image.
    full = RandomCrop(8, padding=2, padding_mode="reflect")(x)
    row = x[0, 0, 0]  # [0, 1, 2, 3] reflected by 2 without repeating the edge: [2, 1, 0..3, 2, 1]
    np.testing.assert_array_equal(full[0, 0, 2], [2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0])
    assert full[0, 0, 2, 2:6].tolist() == row.tolist()
    np.testing.assert_array_equal(full[:, :, 0], full[:, :, 4])  # row -2 mirrors row +2
    edge = RandomCrop(6, padding=1, padding_mode="edge")(x)
    np.testing.assert_array_equal(edge[0, 0, 0], [0.0, 0.0, 1.0, 2.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="padding_mode"):
        RandomCrop(4, padding=1, padding_mode="wrap")
    with pytest.raises(ValueError, match="reflect padding 4"):
        RandomCrop(4, padding=4, padding_mode="reflect")(x)
    assert "reflect" in repr(RandomCrop(4, padding=1, padding_mode="reflect"))


def test_random_flip_matches_numpy():
    x = np.random.default_rng(3).random((50, 2, 3, 4)).astype(np.float32)
    out = RandomHorizontalFlip(0.5, generator=Generator(5))(x)
    flips = np.random.default_rng(5).random(50) < 0.5
    want = np.where(flips[:, None, None, None], x[..., ::-1], x)
    np.testing.assert_array_equal(out, want)
    assert 0 < flips.sum() < 50
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x[0]), x[0][..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x), x)
    with pytest.raises(ValueError):
        RandomHorizontalFlip(1.5)


def test_compose_seeded_pipeline_is_reproducible():
    x = np.random.default_rng(4).integers(0, 256, size=(8, 3, 6, 6), dtype=np.uint8)

    def pipeline(seed):
        g = Generator(seed)
        return Compose(
            [
                ToTensor(layout="CHW"),
                RandomCrop(6, padding=1, generator=g),
                RandomHorizontalFlip(generator=g),
                Normalize([0.5] * 3, [0.5] * 3),
            ]
        )

    a, b, c = pipeline(0)(x), pipeline(0)(x), pipeline(1)(x)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    assert a.shape == (8, 3, 6, 6) and a.dtype == np.float32
