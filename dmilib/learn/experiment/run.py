"""Training and scoring of one experiment (:func:`run_experiment`); the data flow is in :mod:`dmilib.learn.experiment`."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...dataset.store import writer_lock
from ..artifacts import RUN_FILE, RUN_LAYOUT, file_sha256, model_file_name, read_run_info
from ..baseline import fit_ridge
from ..model import LABEL_NAME, LABEL_SCALE
from ..splits import DEFAULT_TEST_FRACTION, Split, grouped_split, make_split
from .config import ExperimentConfig
from .pool import (_CALIBRATION, _CALIBRATION_NOISE, _SERIES, _SHUFFLE, _TEST_NOISE, _TRAIN_NOISE, _degraded,
                   _derived_seed, _load_pool, _training_images)
from .records import MODELS, _dmilib_version, _now, _row, _write_json, _write_results

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


class ExperimentSplit(NamedTuple):
    """Where :func:`run_experiment` puts each pooled sample (positions into the pooled arrays).

    Attributes
    ----------
    split : dmilib.learn.splits.Split
        The train/test split; its ``train`` side still holds the calibration runs.
    train, calibration, test : numpy.ndarray of int64
        Sorted, disjoint positions: what the models are fitted on, the runs held out to
        calibrate the interval (empty without calibration), the test images.
    calibration_description : dict or None
        JSON-safe: the fraction, the calibration runs (groups) and their sample count.
    """

    split: Split
    train: np.ndarray
    calibration: np.ndarray
    test: np.ndarray
    calibration_description: dict | None


def experiment_split(split: str, D_mJ_per_m2, groups, *, split_seed: int = 0,
                     test_fraction: float = DEFAULT_TEST_FRACTION,
                     calibration_fraction: float = 0.0) -> ExperimentSplit:
    """The train, calibration and test positions that :func:`run_experiment` uses for these options.

    The split (:func:`dmilib.learn.splits.make_split`) comes first; with
    ``calibration_fraction > 0`` that fraction of its *training runs* (whole runs, like the
    grouped split) goes to calibration, drawn with a seed derived from ``split_seed``. A
    chapter can thus see which runs a configuration will hold out before training anything.
    """
    split_ = make_split(split, np.asarray(D_mJ_per_m2, np.float64), np.asarray(groups), seed=split_seed,
                        test_fraction=test_fraction)
    if not calibration_fraction:
        return ExperimentSplit(split_, split_.train, np.zeros(0, np.int64), split_.test, None)
    # Whole training runs go to calibration, drawn with their own seed stream.
    inner = grouped_split(np.asarray(groups)[split_.train], calibration_fraction,
                          seed=_derived_seed(split_seed, _CALIBRATION) % (2**31))
    calibration = split_.train[inner.test]
    description = {"fraction_of_training_runs": float(calibration_fraction),
                   "groups": inner.description["test_groups"], "n_samples": int(calibration.size)}
    return ExperimentSplit(split_, split_.train[inner.train], calibration, split_.test, description)


def interior_split_seed(D_mJ_per_m2, groups, *, test_fraction: float = DEFAULT_TEST_FRACTION,
                        calibration_fraction: float = 0.0, seeds=range(100)) -> int:
    """The first grouped split seed whose test and calibration D lie strictly inside the training D range.

    A network does not extrapolate in D, and with few runs a grouped split easily holds out
    the smallest or largest D; its error would then measure extrapolation, and calibration
    residuals of such runs would not be exchangeable with those of interior test runs.

    Raises
    ------
    ValueError
        When no seed in ``seeds`` gives such a split.
    """
    labels = np.round(np.asarray(D_mJ_per_m2, np.float64), 9)
    for seed in seeds:
        parts = experiment_split("grouped", labels, groups, split_seed=int(seed), test_fraction=test_fraction,
                                 calibration_fraction=calibration_fraction)
        low, high = labels[parts.train].min(), labels[parts.train].max()
        held_out = labels[np.concatenate([parts.test, parts.calibration])]
        if np.all((held_out > low) & (held_out < high)):
            return int(seed)
    raise ValueError(f"no grouped split seed in {seeds!r} holds out only runs whose D lies strictly inside the "
                     "training D range; use more runs or a smaller test_fraction/calibration_fraction")


def _reusable_runs(reuse_from, out: Path, configuration_hash: str, train_samples, test_samples):
    """``(folder, run_info)`` of every finished run under ``reuse_from`` with this exact configuration.

    A run qualifies only with the same configuration hash (data identity, subset, split,
    degradation and training settings) *and* the same recorded train and test samples, so
    that its seeds are the very models this configuration would train.
    """
    found = []
    for root in reuse_from:
        root = Path(root)
        if not root.is_dir():
            continue
        for run_file in sorted(root.rglob(RUN_FILE)):
            folder = run_file.parent
            if folder.resolve() == out.resolve():
                continue
            try:
                info = read_run_info(folder)
            except ValueError:
                continue  # a run folder that does not read is not a source, and not ours to judge here
            if (info.get("configuration_hash") == configuration_hash
                    and info.get("split", {}).get("train_samples") == train_samples
                    and info.get("split", {}).get("test_samples") == test_samples):
                found.append((folder, info))
    return found


def _import_seeds(sources, out: Path, info: dict, seeds, completed) -> list[int]:
    """Copy each seed of ``seeds`` not yet ``completed`` from the first source that holds it intact.

    The model file is copied (never moved: the source stays whole) and accepted only when
    its SHA-256 matches the source's record; the seed's entry gains ``reused_from``.
    """
    import shutil

    imported = []
    for seed in seeds:
        if completed(seed):
            continue
        for folder, source in sources:
            entry = source.get("models", {}).get(str(seed))
            if not entry or not all(m in entry for m in MODELS) or not (folder / entry["file"]).is_file():
                continue
            if file_sha256(folder / entry["file"]) != entry.get("sha256"):
                continue
            tmp = out / f".{entry['file']}.{os.getpid()}.partial.keras"
            shutil.copyfile(folder / entry["file"], tmp)
            os.replace(tmp, out / entry["file"])
            info["models"][str(seed)] = dict(entry, reused_from=str(folder))
            imported.append(int(seed))
            break
    return imported


def run_experiment(config: ExperimentConfig, out_dir, progress: bool = True, reuse_from=()) -> list[dict]:
    """Train the CNN and the ridge baseline for every seed of ``config``; resumable.

    Parameters
    ----------
    config : ExperimentConfig
    out_dir : str or Path
        Created if needed; gets ``run.json``, ``results.csv`` and ``seed_XX.keras``.
    progress : bool
        Show a tqdm bar over the seeds.
    reuse_from : sequence of str or Path
        Folders searched (recursively) for finished runs of exactly this configuration (same
        configuration hash and the same train and test samples), for example another
        chapter's results. Their seeds are copied in instead of trained again, since training
        is deterministic per seed; each copied seed's entry in ``run.json`` names its source
        (``reused_from``). Default: none.

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

    from ...dataset.store import git_commit
    from ..field_model import FIELD_NAMES, build_field_cnn, field_statistics, fit_field_cnn, predict_field_cnn
    from ..model import build_cnn, fit_cnn, normalization_statistics, parameter_count, predict

    config.validate()
    out = Path(out_dir)
    pool = _load_pool(config)
    configuration_hash = _configuration_hash(config, pool.provenance)
    parts = experiment_split(config.split, pool.D_mJ_per_m2, pool.groups, split_seed=config.split_seed,
                             test_fraction=config.test_fraction, calibration_fraction=config.calibration_fraction)
    split, train_positions, calibration = parts.split, parts.train, parts.calibration
    calibration_description = parts.calibration_description
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
        if reuse_from and not all(completed(seed) for seed in config.seeds):
            sources = _reusable_runs(reuse_from, out, configuration_hash, train_samples, test_samples)
            if _import_seeds(sources, out, info, config.seeds, completed):
                flush()
        _train_seeds(config, out, info, completed, flush, pool, degradation, train_positions, calibration, y_train,
                     y_test, h_train, h_test, h_calibration, train_label_mean, x_test, f_test, x_calibration,
                     noisy_training, name, progress)
    return [_row(base, model, seed, info["models"][str(seed)][model]) for seed in config.seeds for model in MODELS]


def _train_seeds(config, out, info, completed, flush, pool, degradation, train_positions, calibration, y_train,
                 y_test, h_train, h_test, h_calibration, train_label_mean, x_test, f_test, x_calibration,
                 noisy_training, name, progress) -> None:
    import keras
    from tqdm.auto import tqdm

    from ..field_model import build_field_cnn, field_statistics, fit_field_cnn, predict_field_cnn
    from ..model import build_cnn, fit_cnn, normalization_statistics, predict

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


def _ensemble_summary(info: dict, split_seed: int) -> dict:
    """``ensemble``, ``conformal`` and ``series`` entries of run.json from the completed seeds."""
    from ..conformal import DEFAULT_ALPHA, conformal_quantile, coverage, reliability, series_residuals

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


def _describe(degradation) -> str:
    describe = getattr(degradation, "describe", None)
    return str(describe()) if callable(describe) else repr(degradation)
