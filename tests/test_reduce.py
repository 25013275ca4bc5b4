"""Reduced copies: block averages follow the crop rule and compose (b = 5 then 2 is b = 10)."""

import numpy as np
import pytest

from dmilib.dataset import Dataset
from dmilib.dataset.reduce import block_average, reduce_store


def test_block_average_by_hand():
    m = np.arange(2 * 5 * 7, dtype=np.float32).reshape(2, 5, 7)
    out = block_average(m, 2)
    # 5 rows -> crop 1 (top 0, bottom 1); 7 columns -> crop 1 (left 0, right 1)
    assert out.shape == (2, 2, 3)
    assert out[0, 0, 0] == pytest.approx(np.mean([0, 1, 7, 8]))
    assert out[1, 1, 2] == pytest.approx(np.mean(m[1, 2:4, 4:6]))
    m = np.ones((3, 11, 11))
    assert block_average(m, 5).shape == (3, 2, 2) and np.all(block_average(m, 5) == 1)


def test_blocks_compose_when_the_crop_agrees():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(3, 40, 40)).astype(np.float32)
    np.testing.assert_allclose(block_average(block_average(m, 5), 2), block_average(m, 10), atol=1e-6)


def test_bad_block_size():
    with pytest.raises(ValueError, match="b must be"):
        block_average(np.zeros((4, 4)), 0)
    with pytest.raises(ValueError, match="exceeds"):
        block_average(np.zeros((4, 4)), 5)


def test_shipped_reduced_quick_dataset_is_consistent(quick_dataset_path):
    dataset = Dataset(quick_dataset_path)
    reduced = dataset.attrs["reduced_from"]
    assert reduced["pixelation"] == 5 and reduced["dtype"] == "float16"
    assert dataset.grid.dx == pytest.approx(5 * 3.5e-9)
    valid = np.flatnonzero(dataset.valid)
    assert valid.size >= 40
    m = dataset.magnetization(valid)
    inside = dataset.mask
    # Block averages of unit vectors have |m| <= 1 (equality in uniform blocks).
    norms = np.linalg.norm(m, axis=1)
    assert norms.max() <= 1.0 + 2e-3 and np.median(norms[:, inside]) > 0.99
    assert set(np.round(dataset.array("D_J_per_m2")[valid] * 1e3, 3)) >= {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}


def test_reduce_store_round_trip(tmp_path, quick_dataset_path):
    copy = reduce_store(quick_dataset_path, tmp_path / "again.zarr", pixelation=3, dtype="float32")
    source = Dataset(quick_dataset_path)
    assert copy.grid.nx == source.grid.nx // 3
    np.testing.assert_array_equal(copy.array("D_J_per_m2"), source.array("D_J_per_m2"))
    np.testing.assert_allclose(copy.magnetization([0])[0], block_average(source.magnetization([0])[0], 3)
                               * copy.mask, atol=1e-6)
    with pytest.raises(ValueError, match="exists"):
        reduce_store(quick_dataset_path, tmp_path / "again.zarr")
