"""Tests of dmilib.degrade: every expected number comes from arithmetic or physics, not from the code."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.ndimage
from scipy.special import erfinv

from dmilib.degrade import (
    COMPONENTS,
    MIN_OUTPUT_PIXELS,
    Degradation,
    from_camera,
    gaussian_blur,
    kerr_image,
    pixelate,
    resample,
    resampled_size,
    to_uint8,
)

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))  # 2.3548...


def bubble(n: int = 64, radius_cells: float = 12.0, wall_cells: float = 2.0, disk: bool = True) -> np.ndarray:
    """A Neel bubble (mz = -1 inside, +1 outside) in a disk of diameter n cells, zero outside, (3, n, n)."""
    y, x = np.mgrid[0:n, 0:n] + 0.5 - n / 2
    r = np.hypot(x, y)
    theta = 2.0 * np.arctan(np.exp((radius_cells - r) / wall_cells))  # pi at the centre, 0 far out
    phi = np.arctan2(y, x)
    m = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    if disk:
        m *= r <= n / 2
    return m.astype(np.float32)


def half_max_width(profile: np.ndarray) -> float:
    """Full width at half maximum of a single-peaked 1D profile, by linear interpolation."""
    half = profile.max() / 2.0
    above = np.nonzero(profile >= half)[0]
    left, right = above[0], above[-1]
    x_left = left - 1 + (half - profile[left - 1]) / (profile[left] - profile[left - 1])
    x_right = right + (profile[right] - half) / (profile[right] - profile[right + 1])
    return x_right - x_left


def crossing(profile: np.ndarray, level: float) -> float:
    """Position where a rising profile crosses ``level``, by linear interpolation."""
    j = np.nonzero(profile >= level)[0][0]
    return j - 1 + (level - profile[j - 1]) / (profile[j] - profile[j - 1])


# ---- component selection -------------------------------------------------------------


@pytest.mark.parametrize("component, channels", [("mx", [0]), ("my", [1]), ("mz", [2]),
                                                 ("inplane", [0, 1]), ("all", [0, 1, 2])])
def test_component_selection_channels_last(component, channels):
    rng = np.random.default_rng(0)
    m = rng.uniform(-1, 1, size=(2, 3, 10, 12)).astype(np.float32)
    out = Degradation(component=component).apply(m, 3.5e-9)
    assert out.shape == (2, 10, 12, len(channels))
    assert out.dtype == np.float32
    for c, source in enumerate(channels):
        np.testing.assert_array_equal(out[..., c], m[:, source])
    assert Degradation(component=component).channels == len(channels)
    assert COMPONENTS[component] == tuple(channels)


def test_single_image_input_gets_a_batch_axis():
    m = bubble(16, 4.0)
    out = Degradation(component="mz").apply(m, 3.5e-9)
    assert out.shape == (1, 16, 16, 1)
    np.testing.assert_array_equal(out[0, ..., 0], m[2])


# ---- pixelation ----------------------------------------------------------------------


def test_pixelate_constant_field_stays_constant():
    images = np.full((2, 3, 20, 30), 0.37, dtype=np.float32)
    out = pixelate(images, 5)
    assert out.shape == (2, 3, 4, 6)
    np.testing.assert_allclose(out, 0.37, rtol=1e-6)


def test_pixelate_block_means_by_hand():
    # 4 x 4 with values 0..15 row-major; 2 x 2 blocks:
    # top-left (0+1+4+5)/4 = 2.5, top-right (2+3+6+7)/4 = 4.5,
    # bottom-left (8+9+12+13)/4 = 10.5, bottom-right (10+11+14+15)/4 = 12.5
    image = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(pixelate(image, 2)[0, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_pixelate_crop_rule_for_non_divisible_sizes():
    # H = 7, b = 2: remainder 1 -> 0 rows from the top, 1 from the bottom (row 6 dropped).
    # W = 9, b = 4: remainder 1 -> 0 cols from the left, 1 from the right (col 8 dropped).
    image = np.zeros((7, 9), dtype=np.float32)
    image[6, :] = 1000.0  # must vanish
    image[:, 8] = 1000.0  # must vanish
    image[0, 0] = 4.0  # first kept cell, in block (0, 0)
    out = pixelate(image, 2)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out[0, 0], 1.0)
    assert out.max() == 1.0
    # H = 11, b = 4: remainder 3 -> 1 row from the top (row 0), 2 from the bottom (rows 9, 10).
    # W = 10, b = 4: remainder 2 -> 1 col from the left (col 0), 1 from the right (col 9).
    image = np.zeros((11, 10), dtype=np.float32)
    image[[0, 9, 10], :] = 1000.0
    image[:, [0, 9]] = 1000.0
    image[1:9, 1:9] = np.arange(64, dtype=np.float32).reshape(8, 8)
    out = pixelate(image, 4)
    assert out.shape == (2, 2)
    kept = np.arange(64, dtype=np.float64).reshape(8, 8)
    expected = kept.reshape(2, 4, 2, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(out, expected)


def test_pixelation_preserves_the_mean_over_the_cropped_area():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(3, 53, 47))
    b = 5  # 53 % 5 = 3 -> rows 1..50; 47 % 5 = 2 -> cols 1..45
    cropped = image[:, 1:51, 1:46]
    np.testing.assert_allclose(pixelate(image, b).mean(axis=(-2, -1)), cropped.mean(axis=(-2, -1)), rtol=1e-5)


def test_pixelate_b1_is_identity():
    image = np.random.default_rng(2).normal(size=(2, 3, 9, 7)).astype(np.float32)
    np.testing.assert_array_equal(pixelate(image, 1), image)


def test_pixelation_in_apply_averages_the_vector_and_keeps_the_disk_centred():
    m = bubble(64, 12.0)
    out = Degradation(pixelation=4).apply(m, 1.5e-9)
    assert out.shape == (1, 16, 16, 3)
    # Symmetric input, divisible size: the bubble centre (mz = -1) is the middle 2 x 2 pixels,
    # and the image is mirror symmetric in mz.
    mz = out[0, ..., 2]
    np.testing.assert_allclose(mz, mz[::-1, :], atol=1e-6)
    np.testing.assert_allclose(mz, mz[:, ::-1], atol=1e-6)
    assert mz[7:9, 7:9].max() < -0.99
    # The block-averaged vector is shorter than 1 where blocks straddle the wall (no renormalization).
    norm = np.linalg.norm(out[0], axis=-1)
    assert norm.max() <= 1.0 + 1e-6 and norm[4:12, 4:12].min() < 0.999


# ---- noise ---------------------------------------------------------------------------


def test_noise_std_matches_sigma():
    sigma = 0.1
    m = np.zeros((4, 3, 64, 64), dtype=np.float32)
    out = Degradation(noise_sigma=sigma).apply(m, 3.5e-9, seed=0)
    residual = out.ravel()
    n = residual.size
    standard_error = sigma / math.sqrt(2 * (n - 1))
    assert abs(residual.std(ddof=1) - sigma) < 3 * standard_error
    assert abs(residual.mean()) < 3 * sigma / math.sqrt(n)


def test_noise_copies_are_image_major():
    k = 3
    m = np.zeros((2, 3, 32, 32), dtype=np.float32)
    m[0, 2] = -1.0
    m[1, 2] = 1.0
    degradation = Degradation(component="mz", noise_sigma=0.05, noise_copies=k)
    out = degradation.apply(m, 3.5e-9, seed=3, training=True)
    assert out.shape == (2 * k, 32, 32, 1)
    assert degradation.copies_per_image(True) == k
    labels = np.repeat(np.array([-1.0, 1.0]), k)
    # Mean of 1024 noisy pixels: within 0.05 / 32 * 5 of the clean value.
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), labels, atol=5 * 0.05 / 32)
    # The copies carry independent noise.
    assert not np.array_equal(out[0], out[1])
    # At test time one noisy copy per image.
    test = degradation.apply(m, 3.5e-9, seed=3, training=False)
    assert test.shape == (2, 32, 32, 1)
    assert degradation.copies_per_image(False) == 1
    assert test.std() > 0.04  # noisy: the +-1 images plus sigma = 0.05 noise


def test_copies_without_noise_are_not_made():
    m = np.zeros((2, 3, 16, 16), dtype=np.float32)
    out = Degradation(noise_copies=5).apply(m, 3.5e-9, training=True)
    assert out.shape == (2, 16, 16, 3)


def test_noise_is_deterministic_for_a_seed():
    m = bubble(32, 8.0)
    degradation = Degradation(noise_sigma=0.1, noise_copies=2)
    a = degradation.apply(m, 3.5e-9, seed=7, training=True)
    b = degradation.apply(m, 3.5e-9, seed=7, training=True)
    c = degradation.apply(m, 3.5e-9, seed=8, training=True)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_noise_of_a_component_does_not_depend_on_the_selection():
    m = bubble(32, 8.0)
    all_components = Degradation("all", pixelation=2, noise_sigma=0.1).apply(m, 3.5e-9, seed=5)
    mz_only = Degradation("mz", pixelation=2, noise_sigma=0.1).apply(m, 3.5e-9, seed=5)
    np.testing.assert_array_equal(all_components[..., 2], mz_only[..., 0])


@pytest.mark.parametrize("b", [2, 5])
def test_noise_before_pixelation_is_reduced_by_b(b):
    # Averaging b^2 independent values divides the std by b: the paper's robustness to noise.
    sigma = 0.15
    m = np.zeros((4, 3, 100, 100), dtype=np.float32)
    before = Degradation(pixelation=b, noise_sigma=sigma).apply(m, 1.5e-9, seed=11)
    after = Degradation(pixelation=b, noise_sigma=sigma, noise_before_pixelation=False).apply(m, 1.5e-9, seed=11)
    for residual, expected in ((before, sigma / b), (after, sigma)):
        n = residual.size
        assert abs(residual.std(ddof=1) - expected) < 3 * expected / math.sqrt(2 * (n - 1))


# ---- blur ----------------------------------------------------------------------------


@pytest.mark.parametrize("fwhm_px", [10.0, 60.0])  # direct and FFT paths (radius 17 and 102 px)
def test_blur_fwhm_of_a_point(fwhm_px):
    pixel = 10e-9
    n = 301
    image = np.zeros((n, n), dtype=np.float32)
    image[n // 2, n // 2] = 1.0
    blurred = gaussian_blur(image, fwhm_px * pixel, pixel)
    measured = half_max_width(blurred[n // 2].astype(np.float64))
    assert abs(measured - fwhm_px) < 0.05 * fwhm_px
    # The variance of the blurred point is sigma^2 = (FWHM / 2.3548)^2 pixels^2.
    x = np.arange(n) - n // 2
    variance = (blurred.sum(axis=0) * x**2).sum() / blurred.sum()
    assert abs(math.sqrt(variance) * FWHM_PER_SIGMA - fwhm_px) < 0.05 * fwhm_px


def test_blur_edge_width_12_to_88_percent_equals_fwhm():
    # A Gaussian PSF turns an edge into Phi(x / sigma); Phi = 0.12 and 0.88 at -+1.175 sigma,
    # so the 12-88 % width is 2.35 sigma, within 0.3 % of the FWHM (2.3548 sigma).
    z88 = math.sqrt(2) * erfinv(2 * 0.88 - 1)
    assert abs(2 * z88 - FWHM_PER_SIGMA) / FWHM_PER_SIGMA < 0.003
    pixel = 50e-9
    fwhm = 400e-9  # 8 pixels
    image = np.zeros((101, 200), dtype=np.float32)
    image[:, 100:] = 1.0
    profile = gaussian_blur(image, fwhm, pixel)[50].astype(np.float64)
    width_px = crossing(profile, 0.88) - crossing(profile, 0.12)
    assert abs(width_px * pixel - fwhm) < 0.05 * fwhm


def test_blur_conserves_intensity_away_from_the_borders():
    image = np.zeros((2, 128, 128), dtype=np.float32)
    image[:, 54:74, 60:70] = np.random.default_rng(4).uniform(0, 1, size=(2, 20, 10))
    # sigma = 3 px, kernel radius 12 px; the pattern is >= 54 px from every border.
    blurred = gaussian_blur(image, 3 * FWHM_PER_SIGMA * 1e-9, 1e-9)
    np.testing.assert_allclose(blurred.sum(axis=(-2, -1)), image.sum(axis=(-2, -1)), rtol=1e-5)
    # Leading axes are not mixed.
    assert blurred.shape == image.shape


def test_blur_fft_path_equals_gaussian_filter():
    image = np.random.default_rng(5).normal(size=(90, 70))
    sigma_px = 12.0  # radius 48 > 32: FFT path
    blurred = gaussian_blur(image, sigma_px * FWHM_PER_SIGMA * 2e-9, 2e-9)
    reference = scipy.ndimage.gaussian_filter(image, sigma_px, mode="constant", cval=0.0)
    np.testing.assert_allclose(blurred, reference, atol=1e-5)


def test_blur_zero_is_identity():
    image = np.random.default_rng(6).normal(size=(3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(gaussian_blur(image, 0.0, 1e-9), image)


def test_blur_in_apply_uses_the_pixelated_pixel_size():
    # A point of one cell blurred with FWHM = 8 pixelated pixels = 8 * b * cell.
    cell, b = 2e-9, 2
    m = np.zeros((3, 200, 200), dtype=np.float32)
    m[2, 100:102, 100:102] = 1.0  # exactly one pixelated pixel (50, 50)
    out = Degradation("mz", pixelation=b, blur_fwhm_m=8 * b * cell).apply(m, cell)[0, ..., 0]
    assert abs(half_max_width(out[50].astype(np.float64)) - 8.0) < 0.4


# ---- resample ------------------------------------------------------------------------


def test_resampled_size_rule():
    # round(H * from / to), halves up.
    assert resampled_size(530, 1.5e-9, 100e-9) == 8  # 7.95
    assert resampled_size(53, 15e-9, 106e-9) == 8  # 7.5 exactly -> up
    assert resampled_size(100, 1e-9, 3e-9) == 33  # 33.33
    assert resampled_size(100, 1e-9, 1.5e-9) == 67  # 66.67
    assert resampled_size(10, 2e-9, 1e-9) == 20


def test_resample_output_size():
    image = np.zeros((2, 100, 64), dtype=np.float32)
    assert resample(image, 1e-9, 3e-9).shape == (2, 33, 21)  # 33.3, 21.3
    assert resample(image, 1e-9, 0.5e-9).shape == (2, 200, 128)


@pytest.mark.parametrize("ratio", [3.0, 2.5, 7.3])
def test_resample_downsampling_keeps_a_constant(ratio):
    image = np.full((61, 45), -0.6, dtype=np.float32)
    np.testing.assert_allclose(resample(image, 1e-9, ratio * 1e-9), -0.6, rtol=1e-6)


def test_resample_downsampled_ramp_stays_linear():
    # 60 pixels of 1 nm with value = centre position x_j = j + 0.5 (nm); 3 nm pixels tile
    # them exactly and the mean of three consecutive values is the middle one: 1.5, 4.5, ...
    ramp = np.tile(np.arange(60, dtype=np.float64) + 0.5, (6, 1))
    out = resample(ramp, 1e-9, 3e-9)
    np.testing.assert_allclose(out[0], 3.0 * np.arange(20) + 1.5, rtol=1e-6)
    # A non-integer ratio (2.5): a piecewise-constant input deviates from linear by at most
    # slope * pixel / 8 = 0.125 per output pixel; the fitted line has slope 2.5.
    out = resample(np.tile(np.arange(50, dtype=np.float64) + 0.5, (5, 1)), 1e-9, 2.5e-9)[0]
    centres = 2.5 * np.arange(20) + 1.25
    assert np.abs(out - centres).max() <= 0.125 + 1e-6
    assert abs(np.polyfit(centres, out, 1)[0] - 1.0) < 0.01


def test_resample_upsampled_ramp_stays_linear():
    # Linear interpolation reproduces a ramp between the outermost input centres.
    ramp = np.tile(np.arange(20, dtype=np.float64), (4, 1))  # value = index = (x - 0.5) / 1 nm
    out = resample(ramp, 2e-9, 1e-9)  # 40 output pixels; centre of i at (i + 0.5) nm = input index i/2 - 0.25
    expected = np.arange(40) / 2.0 - 0.25
    np.testing.assert_allclose(out[0, 1:-1], expected[1:-1], atol=1e-6)
    np.testing.assert_allclose(out[0, [0, -1]], [0.0, 19.0], atol=1e-6)  # edge values held


def test_resample_up_then_down_returns_close_to_the_original():
    y, x = np.mgrid[0:32, 0:32] + 0.5 - 16
    image = np.exp(-(x**2 + y**2) / (2 * 4.0**2))
    back = resample(resample(image, 1e-9, 0.5e-9), 0.5e-9, 1e-9)
    assert back.shape == image.shape
    # Interior: the round trip averages 0.75 v_j + 0.25 v_(j+-1), an error of h^2/8 * |v''| per
    # axis; |v''| <= 1 / sigma^2 = 1/16, so <= 2 * 1/8 * 1/16 = 0.0156.
    assert np.abs(back - image)[1:-1, 1:-1].max() <= 2 / 8 / 16


def test_resample_identity():
    image = np.random.default_rng(7).normal(size=(5, 9)).astype(np.float32)
    np.testing.assert_array_equal(resample(image, 3e-9, 3e-9), image)


def test_apply_with_camera_pixels():
    # 128 cells of 3.5 nm = 448 nm; 2 x 2 pixelation then 50 nm pixels: round(64 * 7 / 50) = 9.
    m = bubble(128, 30.0)
    degradation = Degradation("mz", pixelation=2, blur_fwhm_m=100e-9, pixel_size_m=50e-9)
    out = degradation.apply(m, 3.5e-9)
    assert out.shape == (1, 9, 9, 1)
    assert degradation.output_shape(128, 128, 3.5e-9) == (9, 9)
    assert degradation.output_pixel_size_m(3.5e-9) == 50e-9
    assert np.abs(out).max() <= 1.0
    assert out[0, 4, 4, 0] < 0  # the bubble centre stays reversed


def test_output_shape_and_pixel_size_without_camera():
    # The paper's grid: 795 nm / 1.5 nm = 530 cells; b = 20 crops 10 rows and leaves 26.
    degradation = Degradation(pixelation=20)
    assert degradation.output_shape(530, 530, 1.5e-9) == (26, 26)
    assert degradation.output_pixel_size_m(1.5e-9) == pytest.approx(30e-9)
    # b = 10 then 100 nm pixels: round(53 * 15 / 100) = round(7.95) = 8.
    assert Degradation(pixelation=10, pixel_size_m=100e-9).output_shape(530, 530, 1.5e-9) == (8, 8)


# ---- Kerr image and camera files -----------------------------------------------------


def test_kerr_image_shape_and_range():
    # 228 cells of 3.5 nm = 798 nm; 100 nm pixels -> round(7.98) = 8.
    m = bubble(228, 60.0, 3.0)
    image = kerr_image(m, 3.5e-9)
    assert image.shape == (8, 8) and image.dtype == np.float32
    assert image.min() >= -1.0 and image.max() <= 1.0
    noisy = kerr_image(m, 3.5e-9, noise_sigma=0.5, seed=0, pixel_size_m=20e-9)
    assert noisy.shape == (40, 40)  # 798 / 20 = 39.9
    assert noisy.min() >= -1.0 and noisy.max() <= 1.0
    assert noisy.min() == -1.0  # sigma = 0.5 on the reversed core saturates the camera
    # Longitudinal Kerr of mx: antisymmetric in x for a Neel bubble.
    mx = kerr_image(m, 3.5e-9, component="mx", pixel_size_m=None)
    assert mx.shape == (228, 228)
    np.testing.assert_allclose(mx, -mx[:, ::-1], atol=1e-5)


def test_to_uint8_maps_the_range():
    np.testing.assert_array_equal(to_uint8(np.array([-1.0, 1.0, -2.0, 3.0])), [0, 255, 0, 255])
    assert to_uint8(np.zeros((2, 2))).dtype == np.uint8


def test_uint8_and_from_camera_invert_each_other():
    image = kerr_image(bubble(128, 30.0, 2.0, disk=False), 3.5e-9, blur_fwhm_m=50e-9, pixel_size_m=7e-9)
    image[0, 0], image[0, 1] = -1.0, 1.0  # the full range, so that the 0 / 100 percentiles are -1 / +1
    back = from_camera(to_uint8(image), 0.0, 100.0)
    # Half a quantization step: (2 / 255) / 2.
    assert np.abs(back - image).max() <= 1 / 255 + 1e-6
    counts = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(to_uint8(from_camera(counts, 0.0, 100.0)), counts)


def test_from_camera_removes_offset_and_gain():
    # A bubble whose domains each cover more than 1 %: the 1 / 99 percentiles are the two levels.
    mz = np.ones((50, 50))
    mz[15:35, 15:35] = -1.0
    camera = (1200.0 + 800.0 * mz).astype(np.uint16)  # offset 1200, gain 800 counts
    np.testing.assert_array_equal(from_camera(camera), mz)
    assert from_camera(camera.astype(np.float64) * 0.01).dtype == np.float32


@pytest.mark.parametrize("bad, match", [
    (np.full((8, 8), 3.0), "constant"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "finite"),
    (np.zeros((2, 8, 8)), "2D"),
])
def test_from_camera_rejects_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        from_camera(bad)


def test_from_camera_rejects_bad_percentiles():
    image = np.arange(16.0).reshape(4, 4)
    with pytest.raises(ValueError, match="lower_percentile"):
        from_camera(image, 50.0, 10.0)
    with pytest.raises(ValueError, match="upper_percentile"):
        from_camera(image, 1.0, 101.0)


# ---- serialization and description ---------------------------------------------------


def test_dict_round_trip_is_json_safe():
    degradation = Degradation("inplane", pixelation=5, noise_sigma=0.1, noise_copies=5,
                              noise_before_pixelation=False, blur_fwhm_m=400e-9, pixel_size_m=100e-9)
    data = json.loads(json.dumps(degradation.to_dict()))
    assert Degradation.from_dict(data) == degradation
    assert Degradation.from_dict({}) == Degradation()
    assert Degradation.from_dict(Degradation(pixelation=np.int64(2)).to_dict()) == Degradation(pixelation=2)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="sigma"):
        Degradation.from_dict({"sigma": 0.1})


def test_describe():
    assert Degradation("mz", pixelation=10, noise_sigma=0.05, noise_copies=5).describe() == "mz, b=10, sigma=0.05 x5"
    assert Degradation().describe() == "all, b=1"
    after = Degradation("mx", noise_sigma=0.1, noise_before_pixelation=False)
    assert after.describe() == "mx, b=1, sigma=0.1 (after b)"
    assert (Degradation("mz", blur_fwhm_m=400e-9, pixel_size_m=100e-9).describe()
            == "mz, b=1, blur=400 nm, pixel=100 nm")


# ---- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("component", "mxy"),
    ("component", 2),
    ("pixelation", 0),
    ("pixelation", 2.5),
    ("pixelation", True),
    ("noise_sigma", -0.1),
    ("noise_sigma", float("nan")),
    ("noise_sigma", float("inf")),
    ("noise_copies", 0),
    ("noise_copies", 1.5),
    ("noise_before_pixelation", "yes"),
    ("blur_fwhm_m", -1e-9),
    ("blur_fwhm_m", float("nan")),
    ("blur_fwhm_m", 400.0),  # nanometres passed as metres
    ("pixel_size_m", 0.0),
    ("pixel_size_m", -100e-9),
    ("pixel_size_m", 100.0),
])
def test_invalid_fields_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        Degradation(**{field: value})


def test_pixel_size_below_the_cell_size_raises():
    degradation = Degradation(pixel_size_m=1e-9)
    with pytest.raises(ValueError, match="pixel_size_m"):
        degradation.validate(1.5e-9)
    with pytest.raises(ValueError, match="pixel_size_m"):
        degradation.apply(np.zeros((3, 16, 16), np.float32), 1.5e-9)
    degradation.validate(1e-9)  # equal is allowed


def test_too_small_output_names_pixelation_and_its_largest_value():
    # 100 x 100 cells: b <= 100 // 8 = 12.
    with pytest.raises(ValueError, match=r"pixelation must be in \[1, 12\]"):
        Degradation(pixelation=13).validate(1e-9, image_shape=(100, 100))
    with pytest.raises(ValueError, match="pixelation"):
        Degradation(pixelation=13).apply(np.zeros((3, 100, 100), np.float32), 1e-9)
    assert Degradation(pixelation=12).output_shape(100, 100, 1e-9) == (8, 8)


def test_too_small_output_names_pixel_size_and_its_largest_value():
    # 530 cells of 1.5 nm, b = 10: 53 pixels of 15 nm; round(53 * 15 / p) >= 8 needs p <= 795 / 7.5 = 106 nm.
    largest = 53 * 15e-9 / 7.5
    assert Degradation(pixelation=10, pixel_size_m=largest).output_shape(530, 530, 1.5e-9) == (8, 8)
    with pytest.raises(ValueError, match=r"pixel_size_m must be in .*1\.06e-07"):
        Degradation(pixelation=10, pixel_size_m=1.01 * largest).output_shape(530, 530, 1.5e-9)


@pytest.mark.parametrize("m, match", [
    (np.zeros((2, 2, 16, 16), np.float32), "m must have shape"),
    (np.zeros((16, 16), np.float32), "m must have shape"),
    (np.full((1, 3, 16, 16), np.nan, np.float32), "finite"),
])
def test_apply_rejects_bad_magnetization(m, match):
    with pytest.raises(ValueError, match=match):
        Degradation().apply(m, 1e-9)


def test_apply_rejects_bad_cell_size():
    with pytest.raises(ValueError, match="cell_size_m"):
        Degradation().apply(np.zeros((3, 16, 16), np.float32), 0.0)
    with pytest.raises(ValueError, match="cell_size_m"):
        Degradation().apply(np.zeros((3, 16, 16), np.float32), 3.5)  # nanometres passed as metres


def test_helpers_reject_bad_arguments():
    image = np.zeros((16, 16), np.float32)
    with pytest.raises(ValueError, match="b"):
        pixelate(image, 0)
    with pytest.raises(ValueError, match="b"):
        pixelate(image, 17)
    with pytest.raises(ValueError, match="fwhm_m"):
        gaussian_blur(image, -1e-9, 1e-9)
    with pytest.raises(ValueError, match="pixel_size_m"):
        gaussian_blur(image, 1e-9, 0.0)
    with pytest.raises(ValueError, match="to_pixel_m"):
        resample(image, 1e-9, -1.0)
    with pytest.raises(ValueError, match="component"):
        kerr_image(np.zeros((3, 16, 16)), 1e-9, component="all")
    with pytest.raises(ValueError, match="pixel_size_m"):
        kerr_image(np.zeros((3, 16, 16)), 1e-9, pixel_size_m=0.5e-9)
    with pytest.raises(ValueError, match="finite"):
        to_uint8(np.array([np.nan]))


def test_min_output_pixels_matches_three_poolings():
    # Three 2 x 2 max-pooling stages need 2^3 = 8 pixels per side.
    assert MIN_OUTPUT_PIXELS == 2**3
