"""One experiment of the study: a dataset, a subset, a split, a degradation, many seeds.

:func:`run_experiment` trains the paper's CNN once per seed (default 10 seeds, 30 epochs,
batch 32, Adam 1e-3) and, on exactly the same split and images, the ridge baseline on the
bubble's shape features; it writes ``results.csv``, ``run.json`` and ``seed_XX.keras`` into
the output folder (layout in :mod:`dmilib.learn.artifacts`).

Data flow, with no test information reaching training:

1. the valid samples of every dataset, restricted to the subset (uniform films, Voronoi
   films, or both) are pooled;
2. the split is made on those samples (before any augmentation);
3. test images are degraded once, with ``training=False`` and a fixed test-noise seed, so
   every model is scored on the same images; training images are degraded with
   ``training=True`` (``noise_copies`` noisy copies each) and a noise seed derived from the
   model's seed;
4. the CNN's per-channel normalization is computed on the training images;
5. metrics are in mJ/m^2: MAE and standard deviation of the error (prediction - truth) on
   the training images (noise copies included) and on the test images, and the test MAE of
   predicting the training-label mean.

Resuming: the run is keyed by a hash of everything that changes the results except the
seed list; rerunning with the same configuration skips every seed whose model file and
metrics are already recorded; a folder holding another configuration is refused.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..dataset.store import writer_lock
from .artifacts import RUN_FILE, RUN_LAYOUT, file_sha256, model_file_name, read_run_info
from .baseline import degraded_shape_features, fit_ridge
from .model import DEFAULT_LEARNING_RATE, LABEL_NAME, LABEL_SCALE
from .splits import DEFAULT_TEST_FRACTION, SPLIT_NAMES, SUBSET_NAMES, grouped_split, make_split, subset_mask

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
DEGRADE_CHUNK = 64
"""Images read and degraded at once (noise seeds are derived per chunk, so this is fixed)."""

_TRAIN_NOISE, _TEST_NOISE, _SHUFFLE, _CALIBRATION, _CALIBRATION_NOISE, _SERIES = 1, 2, 3, 4, 5, 6


def _default_degradation():
    from ..degrade import Degradation

    return Degradation()


def _derived_seed(seed: int, role: int, chunk: int | None = None) -> int:
    """A 32-bit seed derived from ``(seed, role[, chunk])``; independent streams per role."""
    entropy = [int(seed), int(role)] + ([] if chunk is None else [int(chunk)])
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines an experiment.

    Attributes
    ----------
    dataset_paths : tuple of str
        Dataset stores; their valid samples are pooled. They must share cell size and shape.
    subset : {"both", "uniform", "nonuniform"}
        Uniform films (tessellation -1), Voronoi films, or both.
    split : str
        One of :data:`dmilib.learn.splits.SPLIT_NAMES`.
    split_seed : int
        Seed of the random/grouped split (and of the test-image noise).
    test_fraction : float
        Held-out fraction for the random (samples) and grouped (runs) splits.
    degradation : dmilib.degrade.Degradation
        Component, pixelation, noise, blur applied to the images.
    seeds : tuple of int
        One model per seed (weights initialization, batch order, training noise).
    epochs, batch_size : int
    learning_rate : float
    name : str or None
        Experiment name for the tables; default: the output folder's name.
    fields : bool
        Train the field-conditioned CNN (:mod:`dmilib.learn.field_model`: the image and the
        applied ``mu0 Hz``, ``mu0 Hx``) instead of the paper's CNN; the ridge baseline then
        gets the two fields as extra features.
    calibration_fraction : float
        Fraction of the *training runs* held out (whole runs, like the grouped split) to
        calibrate a split-conformal interval (:mod:`dmilib.learn.conformal`); 0 (default)
        trains on all of them and records no interval. Needs ``split="grouped"``, so that
        the coverage is measured on test runs that neither training nor calibration saw.
    """

    dataset_paths: tuple[str, ...]
    subset: str = "both"
    split: str = "random"
    split_seed: int = 0
    test_fraction: float = DEFAULT_TEST_FRACTION
    degradation: object = field(default_factory=_default_degradation)
    seeds: tuple[int, ...] = tuple(range(10))
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = DEFAULT_LEARNING_RATE
    name: str | None = None
    fields: bool = False
    calibration_fraction: float = 0.0

    def __post_init__(self) -> None:
        paths = (self.dataset_paths,) if isinstance(self.dataset_paths, (str, os.PathLike)) else self.dataset_paths
        object.__setattr__(self, "dataset_paths", tuple(str(p) for p in paths))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if not self.dataset_paths:
            raise ValueError("dataset_paths must name at least one dataset store")
        if self.subset not in SUBSET_NAMES:
            raise ValueError(f"subset must be one of {SUBSET_NAMES}, got {self.subset!r}")
        if self.split not in SPLIT_NAMES:
            raise ValueError(f"split must be one of {SPLIT_NAMES}, got {self.split!r}")
        for name in ("split_seed", "epochs", "batch_size"):
            value = getattr(self, name)
            minimum = 0 if name == "split_seed" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if not (isinstance(self.test_fraction, (int, float)) and 0 < self.test_fraction < 1):
            raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {self.test_fraction!r}")
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed")
        for seed in self.seeds:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise ValueError(f"seeds must be integers >= 0, got {seed!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {list(self.seeds)}")
        if not (isinstance(self.learning_rate, (int, float)) and np.isfinite(self.learning_rate)
                and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not isinstance(self.fields, (bool, np.bool_)):
            raise ValueError(f"fields must be True or False, got {self.fields!r}")
        if isinstance(self.calibration_fraction, bool) or not isinstance(self.calibration_fraction, (int, float)) \
                or not 0 <= self.calibration_fraction < 1:
            raise ValueError(f"calibration_fraction must lie in [0, 1) (fraction of the training runs), "
                             f"got {self.calibration_fraction!r}")
        if self.calibration_fraction > 0 and self.split != "grouped":
            raise ValueError(f"calibration_fraction > 0 needs split='grouped' (calibration and test runs must be "
                             f"whole runs never seen in training), got split={self.split!r}")
        if not (hasattr(self.degradation, "apply") and hasattr(self.degradation, "to_dict")):
            raise ValueError(f"degradation must be a dmilib.degrade.Degradation, got {type(self.degradation).__name__}")

    def to_dict(self) -> dict:
        """JSON-safe form (the degradation as ``Degradation.to_dict()``)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["dataset_paths"] = list(self.dataset_paths)
        data["seeds"] = [int(s) for s in self.seeds]
        data["degradation"] = self.degradation.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentConfig":
        """Inverse of :meth:`to_dict`."""
        from ..degrade import Degradation

        values = dict(data)
        values["degradation"] = Degradation.from_dict(dict(values["degradation"]))
        values["dataset_paths"] = tuple(values["dataset_paths"])
        values["seeds"] = tuple(values["seeds"])
        return cls(**values)


@dataclass
class _Pool:
    """The pooled samples of an experiment (after the validity and subset filters)."""

    datasets: list
    dataset_index: np.ndarray
    sample_index: np.ndarray
    D_mJ_per_m2: np.ndarray
    groups: np.ndarray
    cell_size_m: float
    thickness_m: float
    mask: np.ndarray
    provenance: list
    fields_mT: np.ndarray  # (N, 2): mu0 Hz, mu0 Hx in mT


def _load_pool(config: ExperimentConfig) -> _Pool:
    from ..dataset import Dataset

    datasets, parts, provenance = [], [], []
    reference, run_offset = None, 0
    for number, path in enumerate(config.dataset_paths):
        dataset = Dataset(path)
        attrs = dataset.attrs
        geometry = (tuple(float(v) for v in attrs["cell_size_m"]), tuple(dataset.mask.shape))
        if reference is None:
            reference = geometry
            mask = dataset.mask.astype(bool)
        elif geometry != reference:
            raise ValueError(f"dataset_paths: {path} has cell size / shape {geometry}, unlike "
                             f"{config.dataset_paths[0]} ({reference}); pool only datasets of one grid")
        elif not np.array_equal(dataset.mask.astype(bool), mask):
            raise ValueError(f"dataset_paths: {path} has another disk mask than {config.dataset_paths[0]}")
        keep = dataset.valid & subset_mask(dataset.array("tessellation"), config.subset)
        index = np.flatnonzero(keep)
        runs = dataset.array("run")[index].astype(np.int64)
        # Runs are numbered per store; shift them so every run of the pool has its own key.
        fields = np.stack([dataset.array("Hz_T")[index], dataset.array("Hx_T")[index]], axis=1) * 1e3
        parts.append((np.full(index.size, number), index, dataset.array(LABEL_NAME)[index] * LABEL_SCALE,
                      runs + run_offset, fields.astype(np.float64)))
        run_offset += int(dataset.run_status.size)
        datasets.append(dataset)
        provenance.append({
            "path": str(path), "parameters_hash": attrs.get("parameters_hash"), "preset": attrs.get("preset"),
            "cell_size_m": list(attrs["cell_size_m"]), "shape": list(dataset.mask.shape),
            "dmilib_version": attrs.get("dmilib_version"), "git_commit": attrs.get("git_commit"),
            "reduced_from": attrs.get("reduced_from"), "valid_samples": int(dataset.valid.sum()),
            "selected_samples": int(index.size),
        })
    dataset_index, sample_index, d, groups, fields = (np.concatenate([p[i] for p in parts]) for i in range(5))
    if d.size < 2:
        raise ValueError(f"subset {config.subset!r} of {list(config.dataset_paths)} has {d.size} valid sample(s); "
                         "at least 2 are needed")
    dx, _, thickness = reference[0]
    return _Pool(datasets, dataset_index.astype(np.int64), sample_index.astype(np.int64), d.astype(np.float64),
                 groups.astype(np.int64), dx, thickness, mask, provenance, fields)


def _raw_blocks(pool: _Pool, positions: np.ndarray):
    """Yield ``(chunk_number, magnetization (n, 3, H, W))`` for ``positions``, in order."""
    for chunk, start in enumerate(range(0, positions.size, DEGRADE_CHUNK)):
        block = positions[start:start + DEGRADE_CHUNK]
        pieces = []
        owners = pool.dataset_index[block]
        boundaries = np.flatnonzero(np.diff(owners)) + 1
        for run in np.split(np.arange(block.size), boundaries):
            dataset = pool.datasets[int(owners[run[0]])]
            pieces.append(dataset.magnetization(pool.sample_index[block[run]]))
        yield chunk, np.concatenate(pieces)


def _degraded(pool: _Pool, positions: np.ndarray, degradation, *, noise_seed: int, training: bool,
              features: bool = False) -> np.ndarray:
    """Degraded images ``(n*k, H', W', C)`` of ``positions`` (or their shape features)."""
    out = []
    for chunk, m in _raw_blocks(pool, positions):
        seed = _derived_seed(noise_seed, 0, chunk)
        if features:
            out.append(degraded_shape_features(m, pool.cell_size_m, pool.mask, pool.thickness_m, degradation,
                                               seed=seed, training=training))
        else:
            out.append(np.asarray(degradation.apply(m, pool.cell_size_m, seed=seed, training=training), np.float32))
    return np.concatenate(out)


def _metrics(train_true, train_pred, test_true, test_pred, train_label_mean: float) -> dict:
    train_error = np.asarray(train_pred, np.float64) - train_true
    test_error = np.asarray(test_pred, np.float64) - test_true
    return {
        "train_mae": float(np.mean(np.abs(train_error))),
        "train_error_std": float(np.std(train_error)),
        "test_mae": float(np.mean(np.abs(test_error))),
        "test_error_std": float(np.std(test_error)),
        "mean_predictor_test_mae": float(np.mean(np.abs(test_true - train_label_mean))),
    }


def _configuration_hash(config: ExperimentConfig, provenance: list) -> str:
    """SHA-256 of what changes the results: data identity, subset, split, degradation, training."""
    key = {
        "datasets": [{k: p[k] for k in ("parameters_hash", "cell_size_m", "shape", "valid_samples", "reduced_from")}
                     for p in provenance],
        "subset": config.subset, "split": config.split, "split_seed": config.split_seed,
        "test_fraction": float(config.test_fraction), "degradation": config.degradation.to_dict(),
        "epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": float(config.learning_rate),
        "label_scale": LABEL_SCALE,
    }
    # Only when set, so that runs trained before these options existed keep their hash.
    if config.fields:
        key["fields"] = True
    if config.calibration_fraction:
        key["calibration_fraction"] = float(config.calibration_fraction)
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


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


def _ridge_for_seed(train_features, train_labels, test_features, train_label_mean, seed, train_groups):
    """Fit ridge on the finite training rows and predict; rows without a bubble get the mean.

    ``train_groups`` names the source image of each training row (noisy copies share it),
    so that the cross-validation of the ridge penalty keeps an image's copies together.
    """
    finite_train = np.all(np.isfinite(train_features), axis=1)
    finite_test = np.all(np.isfinite(test_features), axis=1)
    extra = {"missing_train": int((~finite_train).sum()), "missing_test": int((~finite_test).sum())}
    if finite_train.sum() < 2:
        train_pred = np.full(train_labels.size, train_label_mean)
        test_pred = np.full(test_features.shape[0], train_label_mean)
        return train_pred, test_pred, dict(extra, alpha=None, note="fewer than 2 training images with a bubble")
    model = fit_ridge(train_features[finite_train], train_labels[finite_train], seed=seed,
                      groups=train_groups[finite_train])
    train_pred = np.full(train_labels.size, train_label_mean)
    train_pred[finite_train] = model.predict(train_features[finite_train])
    test_pred = np.full(test_features.shape[0], train_label_mean)
    test_pred[finite_test] = model.predict(test_features[finite_test])
    return train_pred, test_pred, dict(extra, alpha=model.alpha)


def run_experiment(config: ExperimentConfig, out_dir, progress: bool = True) -> list[dict]:
    """Train the CNN and the ridge baseline for every seed of ``config``; resumable.

    Parameters
    ----------
    config : ExperimentConfig
    out_dir : str or Path
        Created if needed; gets ``run.json``, ``results.csv`` and ``seed_XX.keras``.
    progress : bool
        Show a tqdm bar over the seeds.

    Returns
    -------
    list of dict
        Rows of :data:`RESULT_COLUMNS` for the seeds of ``config`` (CNN and ridge per seed),
        including seeds skipped because a previous call already trained them.

    Raises
    ------
    ValueError
        For an invalid configuration, too few samples, a split with an empty side, or an
        ``out_dir`` holding a run of another configuration; StoreBusyError (a ValueError)
        while another process trains into ``out_dir``.
    """
    import keras

    from ..dataset.store import git_commit
    from .field_model import FIELD_NAMES, build_field_cnn, field_statistics, fit_field_cnn, predict_field_cnn
    from .model import build_cnn, fit_cnn, normalization_statistics, parameter_count, predict

    config.validate()
    out = Path(out_dir)
    pool = _load_pool(config)
    configuration_hash = _configuration_hash(config, pool.provenance)
    split = make_split(config.split, pool.D_mJ_per_m2, pool.groups, seed=config.split_seed,
                       test_fraction=config.test_fraction)
    train_positions, calibration = split.train, np.zeros(0, np.int64)
    calibration_description = None
    if config.calibration_fraction > 0:
        # Whole training runs go to calibration, drawn with their own seed stream.
        inner = grouped_split(pool.groups[split.train], config.calibration_fraction,
                              seed=_derived_seed(config.split_seed, _CALIBRATION) % (2**31))
        train_positions, calibration = split.train[inner.train], split.train[inner.test]
        calibration_description = {"fraction_of_training_runs": float(config.calibration_fraction),
                                   "groups": inner.description["test_groups"], "n_samples": int(calibration.size)}
    pairs = np.stack([pool.dataset_index, pool.sample_index], axis=1)
    train_samples, test_samples = pairs[train_positions].tolist(), pairs[split.test].tolist()

    previous = None
    if (out / RUN_FILE).exists():
        previous = read_run_info(out)
        if previous.get("configuration_hash") != configuration_hash:
            raise ValueError(f"out_dir {out} holds a run of another configuration "
                             f"({previous.get('configuration', {}).get('split')!r} split, hash "
                             f"{str(previous.get('configuration_hash'))[:12]}); choose another --out")
        if (previous["split"]["train_samples"] != train_samples or previous["split"]["test_samples"] != test_samples):
            raise ValueError(f"out_dir {out}: the recorded train/test samples differ from this split; "
                             "choose another --out")
    degradation = config.degradation
    settings = degradation.to_dict()
    name = config.name or out.resolve().name
    base = {
        "experiment": name, "dataset": "+".join(Path(p).name for p in config.dataset_paths),
        "subset": config.subset, "split": config.split, "component": settings.get("component"),
        "pixelation": settings.get("pixelation"), "noise_sigma": settings.get("noise_sigma"),
        "noise_copies": settings.get("noise_copies"), "epochs": config.epochs,
        "n_train": int(train_positions.size), "n_test": int(split.test.size),
    }
    y_train = pool.D_mJ_per_m2[train_positions]
    y_test = pool.D_mJ_per_m2[split.test]
    y_calibration = pool.D_mJ_per_m2[calibration]
    h_train, h_test, h_calibration = (pool.fields_mT[p] for p in (train_positions, split.test, calibration))
    train_label_mean = float(y_train.mean())
    test_noise_seed = _derived_seed(config.split_seed, _TEST_NOISE)
    x_test = _degraded(pool, split.test, degradation, noise_seed=test_noise_seed, training=False)
    f_test = _degraded(pool, split.test, degradation, noise_seed=test_noise_seed, training=False, features=True)
    x_calibration = f_calibration = None
    if calibration.size:
        calibration_noise_seed = _derived_seed(config.split_seed, _CALIBRATION_NOISE)
        x_calibration = _degraded(pool, calibration, degradation, noise_seed=calibration_noise_seed, training=False)
        f_calibration = _degraded(pool, calibration, degradation, noise_seed=calibration_noise_seed,
                                  training=False, features=True)
    input_shape = list(x_test.shape[1:])
    input_pixel_size_m = float(degradation.output_pixel_size_m(pool.cell_size_m))
    noisy_training = float(settings.get("noise_sigma") or 0.0) > 0
    if config.fields:
        model_info = {"architecture": "field-conditioned CNN (dmilib.learn.field_model.build_field_cnn)",
                      "inputs": ["image", "fields"], "fields": list(FIELD_NAMES), "field_unit": "mT",
                      "parameters": None, "optimizer": "Adam", "loss": "mean_squared_error",
                      "metrics": ["mean_absolute_error"]}
    else:
        model_info = {"architecture": "paper compact CNN (dmilib.learn.model.build_cnn)", "inputs": ["image"],
                      "parameters": parameter_count(input_shape[-1]), "optimizer": "Adam",
                      "loss": "mean_squared_error", "metrics": ["mean_absolute_error"]}

    info = {
        "layout": RUN_LAYOUT,
        "dmilib_version": _dmilib_version(),
        "git_commit": git_commit(),
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "created": (previous or {}).get("created") or _now(),
        "updated": _now(),
        "experiment": name,
        "configuration": config.to_dict(),
        "configuration_hash": configuration_hash,
        "datasets": pool.provenance,
        "degradation": settings,
        "degradation_description": _describe(degradation),
        "input_shape": input_shape,
        "input_pixel_size_m": input_pixel_size_m,
        "label": {"name": LABEL_NAME, "model_unit": "mJ/m^2", "model_unit_scale": LABEL_SCALE},
        "model": model_info,
        "baseline": {"model": "ridge regression (dmilib.learn.baseline.fit_ridge)",
                     "features": "dmilib.dataset.shape.SHAPE_FEATURE_NAMES of the m_z channel of the same degraded "
                                 "images, on the degraded disk mask"
                                 + (", and mu0 Hz, mu0 Hx in mT" if config.fields else "")},
        "split": dict(split.description, train_samples=train_samples, test_samples=test_samples,
                      n_train=int(train_positions.size),
                      **({"calibration": calibration_description,
                          "calibration_samples": pairs[calibration].tolist()} if calibration.size else {})),
        "test_labels_mJ_per_m2": y_test.tolist(),
        "test_groups": pool.groups[split.test].tolist(),
        "test_fields_mT": h_test.tolist(),
        "training_images": _training_images(pool, train_positions, degradation, input_pixel_size_m, input_shape),
        "noise_seeds": {"test": test_noise_seed, "train_per_seed": "SeedSequence([seed, 1]) per model seed"},
        "seeds": [],
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "learning_rate": float(config.learning_rate),
        "models": dict((previous or {}).get("models", {})),
    }
    if calibration.size:
        info["calibration_labels_mJ_per_m2"] = y_calibration.tolist()
        info["calibration_groups"] = pool.groups[calibration].tolist()

    def completed(seed: int) -> bool:
        entry = info["models"].get(str(seed))
        return (bool(entry) and (out / entry["file"]).is_file() and all(m in entry for m in MODELS)
                and (not calibration.size or "calibration_predictions_mJ_per_m2" in entry["cnn"]))

    def flush() -> None:
        info["models"] = {k: info["models"][k] for k in sorted(info["models"], key=int) if completed(int(k))}
        info["seeds"] = [int(k) for k in info["models"]]
        info["updated"] = _now()
        info.update(_ensemble_summary(info, config.split_seed))
        _write_json(out / RUN_FILE, info)
        rows = [_row(base, model, int(seed), entry[model]) for seed, entry in info["models"].items()
                for model in MODELS]
        _write_results(out / "results.csv", rows)

    out.mkdir(parents=True, exist_ok=True)
    with writer_lock(out, "the run folder"):
        _train_seeds(config, out, info, completed, flush, pool, degradation, train_positions, calibration, y_train,
                     y_test, h_train, h_test, h_calibration, train_label_mean, x_test, f_test, x_calibration,
                     noisy_training, name, progress)
    return [_row(base, model, seed, info["models"][str(seed)][model]) for seed in config.seeds for model in MODELS]


def _train_seeds(config, out, info, completed, flush, pool, degradation, train_positions, calibration, y_train,
                 y_test, h_train, h_test, h_calibration, train_label_mean, x_test, f_test, x_calibration,
                 noisy_training, name, progress) -> None:
    import keras
    from tqdm.auto import tqdm

    from .field_model import build_field_cnn, field_statistics, fit_field_cnn, predict_field_cnn
    from .model import build_cnn, fit_cnn, normalization_statistics, predict

    cached_train = None
    bar = tqdm(config.seeds, desc=f"train {name}", unit="seed", disable=not progress)
    for seed in bar:
        if completed(seed):
            bar.set_postfix(skipped=seed)
            continue
        train_noise_seed = _derived_seed(seed, _TRAIN_NOISE)
        if noisy_training or cached_train is None:
            start = time.perf_counter()
            x_train = _degraded(pool, train_positions, degradation, noise_seed=train_noise_seed, training=True)
            images_s = time.perf_counter() - start
            f_train = _degraded(pool, train_positions, degradation, noise_seed=train_noise_seed, training=True,
                                features=True)
            features_s = time.perf_counter() - start - images_s
            if not noisy_training:
                cached_train = (x_train, f_train)
        else:
            (x_train, f_train), images_s, features_s = cached_train, 0.0, 0.0
        copies = x_train.shape[0] // train_positions.size
        y_train_images = np.repeat(y_train, copies)
        h_train_images = np.repeat(h_train, copies, axis=0)

        start = time.perf_counter() - images_s
        keras.utils.set_random_seed(int(seed))
        mean, variance = normalization_statistics(x_train)
        extra = {}
        if config.fields:
            field_mean, field_variance = field_statistics(h_train_images)
            model = build_field_cnn(x_train.shape[1:], mean, variance, field_mean, field_variance,
                                    learning_rate=config.learning_rate)
            fit_field_cnn(model, x_train, h_train_images, y_train_images, epochs=config.epochs,
                          batch_size=config.batch_size, seed=_derived_seed(seed, _SHUFFLE))
            train_pred = predict_field_cnn(model, x_train, h_train_images)
            test_pred = predict_field_cnn(model, x_test, h_test)
            calibration_pred = predict_field_cnn(model, x_calibration, h_calibration) if calibration.size else None
            extra = {"field_mean_mT": field_mean, "field_variance_mT2": field_variance}
            info["model"]["parameters"] = int(model.count_params())
        else:
            model = build_cnn(x_train.shape[1:], mean, variance, learning_rate=config.learning_rate)
            fit_cnn(model, x_train, y_train_images, epochs=config.epochs, batch_size=config.batch_size,
                    seed=_derived_seed(seed, _SHUFFLE))
            train_pred = predict(model, x_train)
            test_pred = predict(model, x_test)
            calibration_pred = predict(model, x_calibration) if calibration.size else None
        cnn = _metrics(y_train_images, train_pred, y_test, test_pred, train_label_mean)
        final_loss = float(np.mean((train_pred - y_train_images) ** 2))  # MSE on the training images
        cnn.update(wall_s=time.perf_counter() - start, final_loss=final_loss,
                   normalization_mean=mean, normalization_variance=variance, n_train_images=int(x_train.shape[0]),
                   train_noise_seed=train_noise_seed, test_predictions_mJ_per_m2=test_pred.astype(float).tolist(),
                   **extra)
        if calibration_pred is not None:
            cnn["calibration_predictions_mJ_per_m2"] = calibration_pred.astype(float).tolist()
        file_name = model_file_name(seed)
        tmp = out / f".{file_name}.{os.getpid()}.partial.keras"
        model.save(tmp)
        os.replace(tmp, out / file_name)
        model_sha256 = file_sha256(out / file_name)

        start = time.perf_counter() - features_s
        source_image = np.repeat(np.arange(train_positions.size), copies)  # the layout of y_train_images
        ridge_train_features, ridge_test_features = f_train, f_test
        if config.fields:
            ridge_train_features = np.column_stack([f_train, h_train_images])
            ridge_test_features = np.column_stack([f_test, h_test])
        ridge_train, ridge_test, ridge_extra = _ridge_for_seed(ridge_train_features, y_train_images,
                                                               ridge_test_features, train_label_mean, int(seed),
                                                               source_image)
        ridge = _metrics(y_train_images, ridge_train, y_test, ridge_test, train_label_mean)
        ridge.update(ridge_extra, wall_s=time.perf_counter() - start,
                     test_predictions_mJ_per_m2=ridge_test.astype(float).tolist())
        info["models"][str(seed)] = {"file": file_name, "sha256": model_sha256, "cnn": cnn, "ridge": ridge}
        flush()
        bar.set_postfix(test_mae=f"{cnn['test_mae']:.3f}")
        keras.backend.clear_session()
    flush()


def _training_images(pool: _Pool, positions: np.ndarray, degradation, pixel_size_m: float,
                     input_shape: list) -> dict:
    """What the training images looked like, for :mod:`dmilib.infer`'s flags (``run.json`` ``training_images``).

    The bubble measures (:func:`dmilib.bubble.bubble_statistics`) are taken on the ``m_z``
    view of the training images through the run's degradation without noise, whatever
    components the model reads, since bubbles are found in ``m_z``.
    """
    from ..bubble import bubble_statistics
    from ..degrade import Degradation

    view = Degradation.from_dict({**degradation.to_dict(), "component": "mz", "noise_sigma": 0.0,
                                  "noise_copies": 1})
    images = _degraded(pool, positions, view, noise_seed=0, training=False)[..., 0]
    d, fields = pool.D_mJ_per_m2[positions], pool.fields_mT[positions]
    return {
        "note": "ranges over the training images (calibration and test runs excluded); bubble measures from "
                "dmilib.bubble.find_bubbles on the m_z view without noise",
        "D_mJ_per_m2": [float(d.min()), float(d.max())],
        "Hz_mT": [float(fields[:, 0].min()), float(fields[:, 0].max())],
        "Hx_mT": [float(fields[:, 1].min()), float(fields[:, 1].max())],
        "pixel_size_m": float(pixel_size_m),
        "blur_fwhm_m": float(degradation.blur_fwhm_m),
        "field_of_view_m": [float(input_shape[0] * pixel_size_m), float(input_shape[1] * pixel_size_m)],
        "bubbles": bubble_statistics(images, pixel_size_m),
    }


def _ensemble_summary(info: dict, split_seed: int) -> dict:
    """``ensemble``, ``conformal`` and ``series`` entries of run.json from the completed seeds."""
    from .conformal import DEFAULT_ALPHA, conformal_quantile, coverage, reliability, series_residuals

    seeds = list(info["models"])
    if not seeds:
        return {}
    y_test = np.asarray(info["test_labels_mJ_per_m2"], np.float64)
    test_groups = np.asarray(info["test_groups"])
    test_mean = np.mean([info["models"][s]["cnn"]["test_predictions_mJ_per_m2"] for s in seeds], axis=0)
    test_residuals = np.abs(test_mean - y_test)
    out = {"ensemble": {
        "seeds": [int(s) for s in seeds], "rule": "mean of the per-seed predictions",
        "test_mae_mJ_per_m2": float(test_residuals.mean()),
        "per_seed_test_mae_mean_mJ_per_m2": float(np.mean([info["models"][s]["cnn"]["test_mae"] for s in seeds])),
        "test_predictions_mJ_per_m2": test_mean.tolist()}}

    def finite(value: float):
        return float(value) if np.isfinite(value) else None

    calibrated = "calibration_labels_mJ_per_m2" in info
    if calibrated:
        y_cal = np.asarray(info["calibration_labels_mJ_per_m2"], np.float64)
        cal_groups = np.asarray(info["calibration_groups"])
        cal_mean = np.mean([info["models"][s]["cnn"]["calibration_predictions_mJ_per_m2"] for s in seeds], axis=0)
        cal_residuals = np.abs(cal_mean - y_cal)
        n = int(cal_residuals.size)
        half_width = conformal_quantile(cal_residuals, DEFAULT_ALPHA)
        out["conformal"] = {
            "method": "split conformal: half-width = ceil((n+1)(1-alpha))-th smallest |ensemble mean - D| over the "
                      "images of the calibration runs (held out from training by run); inf when that rank exceeds n",
            "alpha": DEFAULT_ALPHA, "n_calibration_images": n,
            "n_calibration_runs": int(np.unique(cal_groups).size),
            "quantile_level": min(1.0, math.ceil(round((n + 1) * (1 - DEFAULT_ALPHA), 9)) / n),
            "half_width_mJ_per_m2": finite(half_width),
            "calibration_residuals_mJ_per_m2": np.sort(cal_residuals).tolist(),
            "test_coverage": coverage(test_residuals, half_width) if np.isfinite(half_width) else None,
            "n_test_images": int(test_residuals.size),
            "n_test_runs": int(np.unique(test_groups).size),
            "test_residuals_mJ_per_m2": test_residuals.tolist(),
            "reliability": [dict(r, half_width=finite(r["half_width"]),
                                 coverage=r["coverage"] if np.isfinite(r["half_width"]) else None)
                            for r in reliability(cal_residuals, test_residuals)],
        }
    # Field series: the same runs, several images of one bubble, one D per series.
    sizes = {}
    largest = int(np.bincount(np.unique(test_groups, return_inverse=True)[1]).max())
    for size in range(2, largest + 1):
        seed = _derived_seed(split_seed, _SERIES, size) % (2**31)
        test_series = series_residuals(test_mean, y_test, test_groups, size, seed)
        entry = {"n_test_series": int(test_series.size),
                 "test_mae_mJ_per_m2": float(test_series.mean()) if test_series.size else None}
        if calibrated:
            cal_series = series_residuals(cal_mean, y_cal, cal_groups, size, seed)
            if cal_series.size:
                q = conformal_quantile(cal_series, DEFAULT_ALPHA)
                entry.update(n_calibration_series=int(cal_series.size), half_width_mJ_per_m2=finite(q),
                             calibration_residuals_mJ_per_m2=np.sort(cal_series).tolist(),
                             test_coverage=coverage(test_series, q) if test_series.size and np.isfinite(q) else None)
        sizes[str(size)] = entry
    out["series"] = {"rule": "D of a series = mean over its images of the per-image ensemble means (each image "
                             "with its own fields when the model takes them); one series of each size drawn per "
                             "run", "alpha": DEFAULT_ALPHA, "sizes": sizes}
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _dmilib_version() -> str:
    from .. import __version__

    return __version__


def _describe(degradation) -> str:
    describe = getattr(degradation, "describe", None)
    return str(describe()) if callable(describe) else repr(degradation)


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds, per configuration and model.

    Parameters
    ----------
    rows : list of dict
        Rows of :data:`RESULT_COLUMNS` (from :func:`run_experiment` or ``results.csv``).

    Returns
    -------
    list of dict
        One dict per (configuration, model), in first-seen order: the
        :data:`CONFIGURATION_COLUMNS`, ``n_seeds``, ``n_train``, ``n_test``, and for each
        of ``train_mae``, ``train_error_std``, ``test_mae``, ``test_error_std``,
        ``mean_predictor_test_mae`` and ``wall_s`` its ``_mean`` and ``_std`` over seeds
        (sample standard deviation, ddof = 1; 0 for a single seed).
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[c] for c in CONFIGURATION_COLUMNS), []).append(row)
    summary = []
    for key, members in groups.items():
        entry = dict(zip(CONFIGURATION_COLUMNS, key, strict=True))
        entry.update(n_seeds=len(members), n_train=members[0]["n_train"], n_test=members[0]["n_test"])
        for column in ("train_mae", "train_error_std", "test_mae", "test_error_std", "mean_predictor_test_mae",
                       "wall_s"):
            values = np.array([float(m[column]) for m in members])
            entry[f"{column}_mean"] = float(values.mean())
            entry[f"{column}_std"] = float(values.std(ddof=1)) if values.size > 1 else 0.0
        summary.append(entry)
    return summary


def format_summary(summary: list[dict]) -> str:
    """A text table: one line per configuration, CNN and ridge test MAE side by side (mJ/m^2)."""
    by_configuration: dict[tuple, dict] = {}
    for entry in summary:
        key = tuple(entry[c] for c in CONFIGURATION_COLUMNS if c != "model")
        by_configuration.setdefault(key, {})[entry["model"]] = entry
    header = (f"{'subset':>10} {'split':>15} {'comp':>7} {'pix':>3} {'sigma':>5} {'copies':>6} {'seeds':>5} "
              f"{'train/test':>10} {'CNN test MAE':>16} {'ridge test MAE':>16} {'mean-pred MAE':>13}")
    lines = [header]

    def cell(models: dict, model: str) -> str:
        entry = models.get(model)
        return "-" if entry is None else f"{entry['test_mae_mean']:.4f}±{entry['test_mae_std']:.4f}"

    for models in by_configuration.values():
        first = next(iter(models.values()))
        lines.append(f"{first['subset']:>10} {first['split']:>15} {str(first['component']):>7} "
                     f"{str(first['pixelation']):>3} {float(first['noise_sigma'] or 0):>5.2f} "
                     f"{str(first['noise_copies']):>6} {first['n_seeds']:>5} "
                     f"{str(first['n_train']) + '/' + str(first['n_test']):>10} {cell(models, 'cnn'):>16} "
                     f"{cell(models, 'ridge'):>16} {first['mean_predictor_test_mae_mean']:>13.4f}")
    return "\n".join(lines)


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
