"""Physics baseline: ridge regression of D on the bubble's shape features.

The features are :func:`dmilib.dataset.shape.shape_features` (size, x-asymmetry,
elongation, wall length, Fourier descriptors) measured on the **out-of-plane component
m_z of the same degraded images** the CNN sees (same pixelation, blur and noise,
whatever component the CNN is given), on the pixelated disk mask; see
:func:`degraded_shape_features`. A Kerr image of the bubble is an m_z image, so this is
what a hand-crafted analysis of the bubble's shape could use.

The regression is scikit-learn's: a :class:`~sklearn.preprocessing.StandardScaler` (training
mean and standard deviation) then :class:`~sklearn.linear_model.Ridge` (SVD solver, so
collinear features are harmless; the intercept is the training-label mean), the penalty
``alpha`` chosen from :data:`ALPHAS` by k-fold cross-validation on the training samples only,
with whole groups (a source image and its noisy copies) in one fold
(:class:`~sklearn.model_selection.GroupKFold`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHAS = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
"""Penalties tried (on standardized features; the unpenalized sum of squares is ~n)."""

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class RidgeModel:
    """A fitted ridge regression (all arrays float64).

    Attributes
    ----------
    feature_mean, feature_scale : numpy.ndarray
        Standardization of the training features (scale 1 for constant columns).
    coefficients : numpy.ndarray
        Weights on the standardized features.
    intercept : float
        Training-label mean.
    alpha : float
        The cross-validated penalty.
    cv_mae : dict
        Cross-validated MAE for each alpha tried (keys are ``repr(alpha)``).
    """

    feature_mean: np.ndarray
    feature_scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    alpha: float
    cv_mae: dict

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted labels for ``features`` ``(N, F)``."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.coefficients.size:
            raise ValueError(f"features must have shape (N, {self.coefficients.size}), got {x.shape}")
        return ((x - self.feature_mean) / self.feature_scale) @ self.coefficients + self.intercept

    def to_dict(self) -> dict:
        """JSON-safe description (enough to rebuild the predictor)."""
        return {"alpha": self.alpha, "intercept": self.intercept, "coefficients": self.coefficients.tolist(),
                "feature_mean": self.feature_mean.tolist(), "feature_scale": self.feature_scale.tolist(),
                "cv_mae": dict(self.cv_mae)}


def _pipeline(alpha: float):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), Ridge(alpha=alpha, solver="svd"))


def fit_ridge(features: np.ndarray, labels: np.ndarray, *, alphas=ALPHAS, folds: int = DEFAULT_FOLDS,
              seed: int = 0, groups: np.ndarray | None = None) -> RidgeModel:
    """Fit ridge regression with alpha chosen by k-fold cross-validation on these samples.

    Parameters
    ----------
    features : numpy.ndarray, shape (N, F)
        Training features (finite).
    labels : numpy.ndarray, shape (N,)
        Training labels.
    alphas : sequence of float
        Penalties to try (>= 0).
    folds : int
        Number of folds (reduced to N when N is smaller); each fold refits the
        standardization on its own training part.
    seed : int
        Seed of the fold assignment.
    groups : numpy.ndarray, shape (N,), optional
        Samples of one group share a fold, so that no sample is validated against a fit
        that saw another of its group: pass the source image of each row when the rows
        are noisy copies, or copies leak into the validation and favour the smallest alpha.

    Returns
    -------
    RidgeModel
        Refitted on all samples with the alpha of lowest cross-validated MAE (the smallest
        such alpha on ties).

    Raises
    ------
    ValueError
        On shape mismatch, non-finite values, fewer than 2 samples or groups, or invalid
        alphas/folds.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.size:
        raise ValueError(f"features must be (N, F) and labels (N,), got {x.shape} and {y.shape}")
    if y.size < 2:
        raise ValueError(f"ridge regression needs at least 2 training samples, got {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("features and labels must be finite (drop samples without a bubble first)")
    alpha_values = [float(a) for a in alphas]
    if not alpha_values or min(alpha_values) < 0:
        raise ValueError(f"alphas must be a non-empty sequence of numbers >= 0, got {alphas!r}")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    if groups is None:
        group_of = np.arange(y.size)
    else:
        group_of = np.unique(np.asarray(groups).reshape(-1), return_inverse=True)[1]
        if group_of.size != y.size:
            raise ValueError(f"groups must have one entry per sample ({y.size}), got {group_of.size}")
    group_count = int(group_of.max()) + 1
    if group_count < 2:
        raise ValueError("ridge regression needs samples from at least 2 groups for cross-validation")
    from sklearn.model_selection import GroupKFold, cross_val_predict

    k = min(int(folds), group_count)
    # Each group draws its fold with the seed; GroupKFold then holds out one fold label at a time.
    fold_of = (np.random.default_rng(seed).permutation(group_count) % k)[group_of]
    splits = list(GroupKFold(n_splits=k).split(x, y, groups=fold_of))
    cv_mae = {}
    for alpha in alpha_values:
        predictions = cross_val_predict(_pipeline(alpha), x, y, cv=splits)
        cv_mae[repr(alpha)] = float(np.mean(np.abs(predictions - y)))
    best = min(alpha_values, key=lambda a: (cv_mae[repr(a)], a))
    scaler, ridge = _pipeline(best).fit(x, y).named_steps.values()
    return RidgeModel(scaler.mean_.astype(np.float64), scaler.scale_.astype(np.float64),
                      ridge.coef_.astype(np.float64), float(ridge.intercept_), best, cv_mae)


def degraded_shape_features(magnetization: np.ndarray, cell_size_m: float, mask: np.ndarray, thickness_m: float,
                            degradation, *, seed=None, training: bool = False) -> np.ndarray:
    """Shape features of the m_z channel of degraded images, on the degraded disk mask.

    Parameters
    ----------
    magnetization : numpy.ndarray, shape (N, 3, H, W)
        Raw magnetization from the dataset.
    cell_size_m : float
        Cell size of ``magnetization``.
    mask : numpy.ndarray of bool, shape (H, W)
        The disk of the raw images.
    thickness_m : float
        Film thickness (carried into the :class:`~dmilib.simulate.geometry.Grid`).
    degradation : dmilib.degrade.Degradation
        The CNN's degradation; it is applied with ``component="mz"`` and otherwise the same
        settings, ``seed`` and ``training`` flag, so the noise realization matches.

    Returns
    -------
    numpy.ndarray, shape (N * k, len(SHAPE_FEATURE_NAMES))
        One row per degraded image (``k`` noise copies when training); NaN rows for
        images in which no bubble (m_z < 0 in the mask) is left.
    """
    from ..dataset.shape import shape_features
    from ..degrade import Degradation
    from ..simulate.geometry import Grid

    settings = degradation.to_dict()
    settings["component"] = "mz"
    mz_degradation = Degradation.from_dict(settings)
    mz = mz_degradation.apply(magnetization, cell_size_m, seed=seed, training=training)[..., 0]
    # The degraded mask: pixels that receive signal from at least one magnetic cell.
    probe = np.zeros((1, 3, *mask.shape), np.float32)
    probe[0, 2] = mask
    noiseless = Degradation.from_dict({**settings, "noise_sigma": 0.0, "noise_copies": 1})
    coverage = noiseless.apply(probe, cell_size_m, training=False)[0, ..., 0]
    pixel_mask = coverage > 1e-6
    pixel = mz_degradation.output_pixel_size_m(cell_size_m)
    grid = Grid(int(mz.shape[2]), int(mz.shape[1]), (pixel, pixel), thickness_m, pixel_mask)
    m_batch = np.zeros((mz.shape[0], 3, mz.shape[1], mz.shape[2]), np.float32)
    m_batch[:, 2] = mz
    return shape_features(m_batch, grid, on_missing="nan")
