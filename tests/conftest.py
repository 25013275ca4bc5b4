"""Shared fixtures."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def quick_dataset_path() -> Path:
    """The quick dataset, reduced 5x (block average, float16), shipped with the tests.

    Made by ``dmilib generate --preset quick --out data/quick.zarr`` then
    ``dmilib.dataset.reduce.reduce_store("data/quick.zarr", "tests/data/quick_b5.zarr")``;
    pixelation p on it equals the study's pixelation 5p on the full store.
    """
    path = DATA / "quick_b5.zarr"
    if not path.exists():
        pytest.skip(f"{path} is missing (see the fixture's docstring to regenerate it)")
    return path
