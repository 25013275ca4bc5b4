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


def _result_rows(maes: dict[str, list[float]], ridge: float | None = None) -> list[dict]:
    rows = []
    for name, values in maes.items():
        for seed, value in enumerate(values):
            rows.append(dict(experiment=name, dataset="d", subset="both", split="random", component="mx",
                             pixelation=1, noise_sigma=0.0, noise_copies=1, model="cnn", seed=seed, epochs=30,
                             n_train=80, n_test=20, train_mae=0.0, train_error_std=0.0, test_mae=value,
                             test_error_std=0.0, mean_predictor_test_mae=0.3, wall_s=1.0))
        if ridge is not None:
            rows.append(dict(rows[-1], model="ridge", seed=0, test_mae=ridge))
    return rows


@pytest.fixture
def result_rows():
    """Builds result rows (CNN, and one ridge row per experiment if ``ridge`` is given) with
    the given test MAE per seed: ``result_rows({"a": [0.1, 0.2]}, ridge=0.3)``."""
    return _result_rows
