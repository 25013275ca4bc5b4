"""Split-conformal intervals for D: calibrated on held-out runs, checked on other held-out runs.

The seed spread of an ensemble says how much its models disagree, not how far they are
from the truth; on the quick data it is several times smaller than the error. A
split-conformal interval is measured instead: hold out whole simulation runs from
training (the *calibration* runs), take the absolute residuals ``r_i = |mean_i - D_i|`` of
the ensemble mean on their ``n`` images, and use as half-width the ``k``-th smallest
residual, ``k = ceil((n + 1) (1 - alpha))``, i.e. the empirical quantile at level
``ceil((n + 1)(1 - alpha)) / n`` (the finite-sample correction). For a new image
exchangeable with the calibration images, ``[mean - q, mean + q]`` then holds the truth
with probability at least ``1 - alpha``. When ``k > n`` no finite quantile exists (for
``alpha = 0.1`` at least 9 calibration images are needed) and the half-width is ``inf``.

Images of one run are correlated (one D, one film, neighbouring fields), so the images of
the calibration runs are not quite exchangeable with those of a new run: the guarantee
is approximate, and the coverage is therefore *measured* on test runs never used for
calibration (:func:`coverage`, :func:`reliability`).

Field series (several images of one bubble, one D) are treated alike, one residual per
series, with series of the calibration runs (:func:`series_residuals`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DEFAULT_ALPHA", "RELIABILITY_ALPHAS", "conformal_quantile", "coverage", "reliability",
           "series_residuals", "series_draws"]

DEFAULT_ALPHA = 0.1
"""Miscoverage of the reported interval: 90 %."""

RELIABILITY_ALPHAS = (0.5, 0.4, 0.3, 0.2, 0.1, 0.05)
"""Miscoverages at which :func:`reliability` compares nominal and measured coverage."""


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (0.1 for a 90 % interval), got {alpha!r}")
    return float(alpha)


def _residuals(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"{name} must be finite absolute residuals (>= 0)")
    return array


def conformal_quantile(residuals, alpha: float = DEFAULT_ALPHA) -> float:
    """Half-width of the split-conformal interval: the ``ceil((n+1)(1-alpha))``-th smallest residual.

    Parameters
    ----------
    residuals : array_like
        Absolute residuals ``|prediction - truth|`` of the calibration images (any unit).
    alpha : float
        Miscoverage, in (0, 1).

    Returns
    -------
    float
        The half-width, or ``inf`` when ``ceil((n+1)(1-alpha)) > n`` (too few residuals).

    Raises
    ------
    ValueError
        For an empty or invalid residual list, or alpha outside (0, 1).
    """
    alpha = _check_alpha(alpha)
    values = np.sort(_residuals(residuals, "residuals"))
    n = values.size
    if n == 0:
        raise ValueError("residuals must hold at least one calibration residual")
    # The product is rounded first so that e.g. (9 + 1) * 0.9 = 9.000000000000002 gives 9, not 10.
    rank = math.ceil(round((n + 1) * (1.0 - alpha), 9))
    return float(values[rank - 1]) if rank <= n else float("inf")


def coverage(residuals, half_width: float) -> float:
    """Fraction of ``residuals`` within ``half_width`` (``|r| <= q``); nan for none."""
    values = _residuals(residuals, "residuals")
    return float(np.mean(values <= half_width)) if values.size else float("nan")


def reliability(calibration_residuals, test_residuals, alphas=RELIABILITY_ALPHAS) -> list[dict]:
    """Nominal against measured coverage: per ``alpha``, the calibrated half-width and its test coverage.

    Returns
    -------
    list of dict
        ``alpha``, ``nominal`` (``1 - alpha``), ``half_width`` and ``coverage`` (fraction of
        the test residuals within it), one per alpha in the order given.
    """
    return [{"alpha": float(a), "nominal": 1.0 - float(a),
             "half_width": conformal_quantile(calibration_residuals, a),
             "coverage": coverage(test_residuals, conformal_quantile(calibration_residuals, a))}
            for a in (_check_alpha(a) for a in alphas)]


def series_draws(groups, size: int, seed: int = 0) -> list[np.ndarray]:
    """One series of ``size`` images per group (run) that has at least ``size`` images.

    The members are drawn without replacement with ``numpy.random.default_rng(seed)``, in
    ascending group order, so the draw is reproducible.

    Returns
    -------
    list of numpy.ndarray
        Positions into ``groups`` (sorted), one array per series.
    """
    keys = np.asarray(groups)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be an integer >= 1, got {size!r}")
    generator = np.random.default_rng(seed)
    draws = []
    for key in np.unique(keys):
        members = np.flatnonzero(keys == key)
        if members.size >= size:
            draws.append(np.sort(generator.choice(members, size, replace=False)))
    return draws


def series_residuals(predictions, truth, groups, size: int, seed: int = 0) -> np.ndarray:
    """Absolute residuals of series means: ``|mean(predictions[s]) - truth[s][0]|`` per series ``s``.

    The aggregation rule of a field series: the mean of the per-image predictions (each
    already the ensemble mean over seeds). Series come from :func:`series_draws`.
    """
    predicted = np.asarray(predictions, np.float64)
    true = np.asarray(truth, np.float64)
    if predicted.shape != true.shape or predicted.shape != np.shape(groups):
        raise ValueError("predictions, truth and groups must have one entry per image")
    return np.array([abs(float(predicted[s].mean()) - float(true[s][0])) for s in series_draws(groups, size, seed)])
