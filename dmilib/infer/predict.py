"""Prediction with a trained run: ensemble D, conformal interval, flags, series, and the text report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .inputs import REFUSING_FLAGS, Prediction, _flag, flag_codes
from .prepare import _model_pixel_size_m, _prepare
from .readers import read_series

_MAX_FIELD_MT = 1e4  # |mu0 H| above 10 T is a unit mistake

_FIELD_TOLERANCE_MT = 0.5  # at least, beyond the trained field range

_D_TOLERANCE = 0.01  # fraction of the trained D span


def _load(run_path):
    from ..learn.artifacts import LoadedRun, load_run

    if isinstance(run_path, LoadedRun):
        return run_path
    try:
        return load_run(run_path)
    except ValueError:
        raise
    except Exception as error:  # Keras raises many types for a damaged archive; report one.
        raise ValueError(f"could not load the models of run {run_path}: {type(error).__name__}: {error}") from error


def _field_values(values, name: str, count: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.atleast_1d(np.asarray(values, dtype=object))
    try:
        numbers = np.array([float(v) for v in array.ravel()], np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers in mT, got {values!r}") from error
    if numbers.size == 1:
        numbers = np.repeat(numbers, count)
    if numbers.size != count:
        raise ValueError(f"{name} needs one value (for every image) or one per image ({count}), got {numbers.size}")
    if not np.isfinite(numbers).all() or np.abs(numbers).max(initial=0.0) > _MAX_FIELD_MT:
        raise ValueError(f"{name} must be finite values in mT (mu0 H, |value| <= {_MAX_FIELD_MT:g} mT), got "
                         f"{numbers.tolist()}")
    return numbers


def fields_array(Hz_mT, Hx_mT, count: int) -> np.ndarray | None:
    """``(count, 2)`` fields in mT from one value or one per image of each; None when both are None."""
    hz, hx = _field_values(Hz_mT, "Hz_mT", count), _field_values(Hx_mT, "Hx_mT", count)
    if hz is None and hx is None:
        return None
    if hz is None or hx is None:
        raise ValueError("give both fields, Hz_mT and Hx_mT (0 for a field not applied)")
    return np.stack([hz, hx], axis=1)


def _field_flags(run, fields: np.ndarray, flags: list) -> None:
    trained = run.training_images
    for number, name in enumerate(("Hz_mT", "Hx_mT")):
        span = trained.get(name)
        if span is None:
            continue
        tolerance = max(_FIELD_TOLERANCE_MT, 0.1 * (span[1] - span[0]))
        value = float(fields[number])
        if not span[0] - tolerance <= value <= span[1] + tolerance:
            flags.append(_flag("fields", f"mu0 {name[:2]} = {value:g} mT is outside the training range "
                                         f"[{span[0]:g}, {span[1]:g}] mT"))


def _half_width_mJ(run, size: int | None = None) -> tuple[float | None, str]:
    """Calibrated 90 % half-width in mJ/m^2 for one image (``size`` None) or a series, or None and why."""
    from ..learn.conformal import DEFAULT_ALPHA, conformal_quantile

    conformal = run.conformal
    if not conformal:
        return None, ("the run has no calibration runs (train with --calibration-fraction and --split grouped): "
                      "there is no measured interval, and the seed spread is not an error bar")
    if size is not None and size > 1:
        sizes = run.series_sizes
        usable = [int(k) for k, entry in sizes.items() if int(k) <= size and entry.get("calibration_residuals_mJ_per_m2")]
        if not usable:
            return None, f"the run has no calibrated interval for a series of {size} images"
        chosen = max(usable)
        residuals = sizes[str(chosen)]["calibration_residuals_mJ_per_m2"]
        where = f"series of {chosen} images"
    else:
        residuals = conformal["calibration_residuals_mJ_per_m2"]
        where = "images"
    half = conformal_quantile(residuals, DEFAULT_ALPHA)
    if not math.isfinite(half):
        needed = math.ceil(round((1 - DEFAULT_ALPHA) / DEFAULT_ALPHA, 9))
        return None, (f"the calibration holds {len(residuals)} {where}, fewer than the {needed} a 90 % split-conformal "
                      "interval needs")
    return half, ""


def _D_range_flag(run, D_mJ: float, flags: list) -> None:
    span = run.training_images.get("D_mJ_per_m2")
    if span is None:
        return
    tolerance = _D_TOLERANCE * (span[1] - span[0])
    if not span[0] - tolerance <= D_mJ <= span[1] + tolerance:
        flags.append(_flag("D_range", f"predicted D = {D_mJ:.3f} mJ/m² lies outside the trained range "
                                      f"[{span[0]:.3g}, {span[1]:.3g}] mJ/m²: the model does not extrapolate"))


def _check_fields_for(run, fields, count: int, notes_lists=None):
    if run.uses_fields and fields is None:
        raise ValueError(f"the model of {run.path} was trained with the applied fields as inputs: give mu0 Hz and "
                         "mu0 Hx of the image(s) in mT (CLI: --Hz-mT and --Hx-mT)")
    if fields is None:
        return None
    array = np.asarray(fields, np.float64)
    if array.shape != (count, 2):
        raise ValueError(f"fields_mT must have shape ({count}, 2): mu0 Hz and mu0 Hx in mT per image, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("fields_mT must be finite")
    return array


def predict_images(images: list, run, *, fields_mT=None, polarity: str = "auto") -> list[Prediction]:
    """Predictions for already-read :class:`InputImage` objects with a loaded run.

    Parameters
    ----------
    fields_mT : array_like, shape (N, 2), optional
        ``mu0 Hz, mu0 Hx`` in mT of each image; required by a run trained with fields,
        noted as ignored otherwise.
    polarity : {"auto", "dark", "bright"}
    """
    fields = _check_fields_for(run, fields_mT, len(images))
    predictions = []
    pixel = _model_pixel_size_m(run)
    seeds = [int(s) for s in run.seeds]
    for number, image in enumerate(images):
        notes, flags = list(image.notes), list(image.flags)
        x, bubble = _prepare(image, run, notes, flags, polarity)
        given = None
        if fields is not None:
            given = {"Hz_mT": float(fields[number, 0]), "Hx_mT": float(fields[number, 1])}
            if run.uses_fields:
                _field_flags(run, fields[number], flags)
            else:
                notes.append("fields ignored: this model reads the image only")
        common = dict(path=image.source, seeds=seeds, input_pixel_size_m=float(image.pixel_size_m),
                      model_input_pixel_size_m=pixel, kind=image.kind, component=str(run.degradation.component),
                      run=str(run.path), notes=notes, flags=flags, fields_mT=given, bubble=bubble)
        if any(code in REFUSING_FLAGS for code in flag_codes(flags)):
            predictions.append(Prediction(D_J_per_m2=None, interval_90_J_per_m2=None, seed_spread_J_per_m2=None,
                                          per_model_J_per_m2=[], **common))
            continue
        row = fields[number:number + 1] if (fields is not None and run.uses_fields) else None
        per_model = np.asarray(run.predict_J_per_m2(x, fields_mT=row)[:, 0], np.float64)
        mean = float(per_model.mean())
        spread = float(per_model.std(ddof=1)) if per_model.size > 1 else 0.0
        half, why = _half_width_mJ(run)
        interval = None if half is None else [mean - half * 1e-3, mean + half * 1e-3]
        if half is None:
            flags.append(_flag("no_interval", why))
        _D_range_flag(run, mean * 1e3, flags)
        predictions.append(Prediction(D_J_per_m2=mean, interval_90_J_per_m2=interval, seed_spread_J_per_m2=spread,
                                      per_model_J_per_m2=[float(v) for v in per_model], **common))
    return predictions


def predict_series(images: list, run, *, fields_mT=None, polarity: str = "auto") -> Prediction:
    """One D from several images of one bubble (a field series), with the stated aggregation rule.

    Rule: every image is predicted as by :func:`predict_images` (with its own fields when
    the model takes them); the series' D is the mean, over the images with a usable bubble,
    of their ensemble means (equivalently, per model the mean over images, then the mean
    over models). Images with a refusing flag (:data:`REFUSING_FLAGS`) are left out and
    flagged ``series_excluded``. The 90 % interval is the split-conformal one calibrated on
    series of the calibration runs (run.json ``series``) of the largest calibrated size not
    above the number of images used (a longer series than calibrated gets the interval of
    the longest calibrated one, which is wider than it needs to be).

    Returns
    -------
    Prediction
        ``path`` joins the sources with ``" + "``; ``members`` holds the per-image
        predictions; every member's flag appears as ``"code: source: reason"`` (their
        ``D_range`` and ``no_interval`` flags are replaced by the series' own).
    """
    images = list(images)
    if not images:
        raise ValueError("a series needs at least one image")
    members = predict_images(images, run, fields_mT=fields_mT, polarity=polarity)
    flags, notes = [], []
    for member in members:
        for flag in member.flags:
            code, reason = flag.split(": ", 1)
            if code not in ("D_range", "no_interval"):
                flags.append(f"{code}: {member.path}: {reason}")
    usable = [m for m in members if m.D_J_per_m2 is not None]
    if len(usable) < len(members):
        left_out = [m.path for m in members if m.D_J_per_m2 is None]
        flags.append(_flag("series_excluded", f"{len(left_out)} of {len(members)} images have no usable bubble and "
                                              f"were left out: {', '.join(left_out)}"))
    first = members[0]
    given = None
    if first.fields_mT is not None:
        given = {"Hz_mT": [m.fields_mT["Hz_mT"] for m in members], "Hx_mT": [m.fields_mT["Hx_mT"] for m in members]}
    common = dict(path=" + ".join(m.path for m in members), seeds=first.seeds,
                  input_pixel_size_m=first.input_pixel_size_m, model_input_pixel_size_m=first.model_input_pixel_size_m,
                  kind=first.kind, component=first.component, run=first.run, notes=notes, flags=flags,
                  fields_mT=given, bubble=None, members=[m.to_dict() for m in members])
    if not usable:
        return Prediction(D_J_per_m2=None, interval_90_J_per_m2=None, seed_spread_J_per_m2=None,
                          per_model_J_per_m2=[], **common)
    per_model = np.mean([m.per_model_J_per_m2 for m in usable], axis=0)
    mean = float(per_model.mean())
    notes.append(f"series of {len(usable)} image(s): D = mean of the per-image ensemble means")
    half, why = _half_width_mJ(run, len(usable))
    if half is None:
        flags.append(_flag("no_interval", why))
    _D_range_flag(run, mean * 1e3, flags)
    return Prediction(D_J_per_m2=mean, interval_90_J_per_m2=None if half is None else
                      [mean - half * 1e-3, mean + half * 1e-3],
                      seed_spread_J_per_m2=float(per_model.std(ddof=1)) if per_model.size > 1 else 0.0,
                      per_model_J_per_m2=[float(v) for v in per_model], **common)


def predict(paths, run_path, *, pixel_size_m: float | None = None, component: str | None = None,
            Hz_mT=None, Hx_mT=None, polarity: str = "auto", levels=None, series: bool = False) -> list[Prediction]:
    """Infer D from each image in ``paths`` (or one D from all of them as a series) with one trained run.

    Parameters
    ----------
    paths : str, Path or list of them
        Image files (:func:`read_image`); a multi-page TIFF counts as one image per page.
        All are read and checked before the run is loaded.
    run_path : str, Path or LoadedRun
        A run folder of ``dmilib train`` (loaded once, ``safe_mode=True``; never
        unpickled), or a run already loaded with :func:`dmilib.learn.artifacts.load_run`.
    pixel_size_m : float, optional
        Pixel size in metres for the files that do not record it (``.npy``, ``.png``, ``.tif``).
    component : {"mx", "my", "mz"}, optional
        Component shown by scalar (camera) images.
    Hz_mT, Hx_mT : float or sequence of float, optional
        Applied ``mu0 Hz`` and ``mu0 Hx`` in mT: one value for every image, or one per image.
        Required by a run trained with fields.
    polarity : {"auto", "dark", "bright"}
        Which grey level is the bubble.
    levels : (float, float), optional
        Camera grey levels of ``m = -1`` and ``m = +1`` (:func:`read_image`).
    series : bool
        Return one prediction for all images, taken as a field series of one bubble
        (:func:`predict_series`).

    Returns
    -------
    list of Prediction
        One per image, in order (one in all with ``series=True``).

    Raises
    ------
    ValueError
        For an unreadable or unsuitable image or run, a fields argument of the wrong
        length, or a run trained with fields called without them (the message names the
        file or the argument).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("paths must name at least one image")
    images = [image for path in paths
              for image in read_series(path, pixel_size_m=pixel_size_m, component=component, levels=levels)]
    fields = fields_array(Hz_mT, Hx_mT, len(images))
    run = _load(run_path)
    if series:
        return [predict_series(images, run, fields_mT=fields, polarity=polarity)]
    return predict_images(images, run, fields_mT=fields, polarity=polarity)


def format_prediction(prediction: Prediction, *, flags: bool = True) -> str:
    """``"path  D = 0.620 mJ/m²  90% interval [0.512, 0.728] mJ/m²  (10 models)"``, then one line per flag.

    Without D: ``"path  no D (no_bubble)  (10 models)"``. Flag lines read ``"  flag: code: reason"``.
    """
    n = prediction.n_models
    models = f"({n} model{'s' if n != 1 else ''})"
    if prediction.D_J_per_m2 is None:
        refusing = [c for c in flag_codes(prediction.flags) if c in REFUSING_FLAGS or c == "series_excluded"]
        line = f"{prediction.path}  no D ({', '.join(dict.fromkeys(refusing)) or 'refused'})  {models}"
    else:
        interval = prediction.interval_90_mJ_per_m2
        shown = ("no calibrated interval" if interval is None
                 else f"90% interval [{interval[0]:.3f}, {interval[1]:.3f}] mJ/m²")
        line = f"{prediction.path}  D = {prediction.D_mJ_per_m2:.3f} mJ/m²  {shown}  {models}"
    if flags:
        line += "".join(f"\n  flag: {flag}" for flag in prediction.flags)
    return line
