"""What an experiment writes and reads back: ``results.csv`` rows and ``run.json`` (atomic writes)."""

from __future__ import annotations

import csv
import datetime
import json
import os
from pathlib import Path

import numpy as np

RESULT_COLUMNS = (
    "experiment", "dataset", "subset", "split", "component", "pixelation", "noise_sigma", "noise_copies", "model",
    "seed", "epochs", "n_train", "n_test", "train_mae", "train_error_std", "test_mae", "test_error_std",
    "mean_predictor_test_mae", "wall_s",
)
"""Columns of ``results.csv``: one row per (configuration, seed, model); errors in mJ/m^2.
``n_train`` and ``n_test`` count samples (images before noise copies). ``wall_s``: seconds
spent on that model for that seed (CNN: degrading the training images, training,
predicting; ridge: measuring the training shape features, fitting, predicting); without
noise the training images and features are made once, at the first seed trained."""


CONFIGURATION_COLUMNS = ("experiment", "dataset", "subset", "split", "component", "pixelation", "noise_sigma",
                         "noise_copies", "model", "epochs")
"""Columns identifying one configuration in :func:`summarize`."""


MODELS = ("cnn", "ridge")


def _format_json(value, depth: int = 0) -> str:
    """JSON with one key per line for objects and every list on one line (sample lists stay short)."""
    if isinstance(value, dict) and value:
        pad, inner = " " * depth, " " * (depth + 1)
        items = ",\n".join(f"{inner}{json.dumps(str(key))}: {_format_json(item, depth + 1)}"
                           for key, item in value.items())
        return "{\n" + items + "\n" + pad + "}"
    return json.dumps(value, default=_json_default)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(_format_json(data) + "\n")
    os.replace(tmp, path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _row(base: dict, model: str, seed: int, metrics: dict) -> dict:
    row = dict(base, model=model, seed=int(seed))
    row.update({k: metrics[k] for k in ("train_mae", "train_error_std", "test_mae", "test_error_std",
                                        "mean_predictor_test_mae", "wall_s")})
    return {column: row[column] for column in RESULT_COLUMNS}


def _write_results(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def read_results(path) -> list[dict]:
    """Rows of a ``results.csv`` with numbers converted back (for :func:`summarize`)."""
    integers = {"pixelation", "noise_copies", "seed", "epochs", "n_train", "n_test"}
    floats = {"noise_sigma", "train_mae", "train_error_std", "test_mae", "test_error_std",
              "mean_predictor_test_mae", "wall_s"}
    rows = []
    with open(path, newline="") as handle:
        for raw in csv.DictReader(handle):
            row = dict(raw)
            for column in integers & row.keys():
                row[column] = int(row[column])
            for column in floats & row.keys():
                row[column] = float(row[column])
            rows.append(row)
    return rows


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _dmilib_version() -> str:
    from ... import __version__

    return __version__
