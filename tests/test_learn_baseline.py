"""The ridge baseline: exact recovery of a linear relation, CV on training data, shape features."""

import numpy as np
import pytest

from dmilib.learn.baseline import degraded_shape_features, fit_ridge


def test_ridge_recovers_a_linear_relation_exactly():
    rng = np.random.default_rng(0)
    # Features on wildly different scales (like metres and dimensionless ratios).
    features = rng.normal(size=(60, 4)) * np.array([1e-7, 1.0, 1e-14, 10.0])
    weights = np.array([3e6, -0.5, 2e13, 0.01])
    labels = features @ weights + 0.7
    model = fit_ridge(features, labels)
    assert model.alpha == 1e-6  # the smallest penalty wins on noiseless data
    np.testing.assert_allclose(model.coefficients / model.feature_scale, weights, rtol=1e-5)
    test = rng.normal(size=(10, 4)) * np.array([1e-7, 1.0, 1e-14, 10.0])
    np.testing.assert_allclose(model.predict(test), test @ weights + 0.7, atol=1e-5)


def test_ridge_handles_collinear_and_constant_columns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2))
    features = np.column_stack([x, x[:, 0] * 2.0, np.full(30, 5.0)])
    labels = x @ [1.0, -2.0]
    model = fit_ridge(features, labels)
    np.testing.assert_allclose(model.predict(features), labels, atol=1e-4)


def test_ridge_prefers_a_larger_penalty_on_noisy_data():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(20, 15))
    labels = features[:, 0] + rng.normal(scale=2.0, size=20)
    model = fit_ridge(features, labels, seed=0)
    assert model.alpha >= 1.0
    assert set(model.cv_mae) == {repr(a) for a in (1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)}


def test_copies_of_an_image_share_a_cross_validation_fold():
    # Labels unrelated to 15 features of 20 images: the honest choice is a large penalty.
    rng = np.random.default_rng(2)
    features = rng.normal(size=(20, 15))
    labels = features[:, 0] + rng.normal(scale=2.0, size=20)
    copies = 5
    noisy = np.repeat(features, copies, axis=0) + rng.normal(scale=1e-3, size=(100, 15))
    repeated = np.repeat(labels, copies)
    # Without groups, each validation row has near-copies in its training part, so an
    # unpenalized fit validates almost perfectly and the smallest penalty wins.
    assert fit_ridge(noisy, repeated, seed=0).alpha == 1e-6
    # With the source image as the group, the copies are validated together, as unseen images.
    grouped = fit_ridge(noisy, repeated, seed=0, groups=np.repeat(np.arange(20), copies))
    assert grouped.alpha >= 1.0


def test_ridge_groups_are_checked():
    features, labels = np.random.default_rng(0).normal(size=(6, 2)), np.arange(6.0)
    with pytest.raises(ValueError, match="one entry per sample"):
        fit_ridge(features, labels, groups=np.arange(5))
    with pytest.raises(ValueError, match="at least 2 groups"):
        fit_ridge(features, labels, groups=np.zeros(6))


@pytest.mark.parametrize("features, labels, match", [
    (np.zeros((1, 2)), np.zeros(1), "at least 2"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), np.zeros(2), "finite"),
    (np.zeros((3, 2)), np.zeros(4), "shape|\\(N, F\\)"),
])
def test_ridge_rejects_bad_input(features, labels, match):
    with pytest.raises(ValueError, match=match):
        fit_ridge(features, labels)


def test_degraded_shape_features_of_a_pixelated_disc():
    from dmilib.dataset.shape import SHAPE_FEATURE_NAMES
    from dmilib.degrade import Degradation

    n, cell = 64, 5e-9
    centres = (np.arange(n) + 0.5) - n / 2
    rho = np.hypot(centres[None, :], centres[:, None])
    mask = rho <= 30
    m = np.zeros((2, 3, n, n), np.float32)
    m[0, 2] = np.where(mask, np.tanh(rho - 12.0), 0.0)
    m[1, 2] = np.where(mask, 1.0, 0.0)  # no bubble
    features = degraded_shape_features(m, cell, mask, 12e-9, Degradation(component="mx", pixelation=4))
    assert features.shape == (2, len(SHAPE_FEATURE_NAMES))
    radius = features[0, SHAPE_FEATURE_NAMES.index("equivalent_radius_m")]
    assert radius == pytest.approx(12 * cell, rel=0.05)
    assert np.isnan(features[1]).all()
    noisy = Degradation(component="mz", pixelation=4, noise_sigma=0.05, noise_copies=3)
    assert degraded_shape_features(m[:1], cell, mask, 12e-9, noisy, seed=0, training=True).shape[0] == 3
