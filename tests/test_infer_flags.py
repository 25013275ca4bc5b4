"""What `dmilib predict` must not trust: bubble finding, flags, fields, series and calibrated intervals.

A module fixture trains one field-conditioned run (m_z, pixelation 2, grouped split with
calibration runs, two seeds) on the shipped quick dataset. The flag tests feed it images
they build themselves, each showing one thing the model never saw (a lattice, an inverted
image, a flat image, an all-zero array, an off-centre bubble, a bubble cut by the edge, a
field of view ten times the model's, ...), and check that it gets its flag; a clean
bubble built the same way gets none. No accuracy is asserted (the quick run is tiny).
"""

import json
import math
import shutil

import numpy as np
import pytest
from scipy import ndimage

keras = pytest.importorskip("keras")
PIL_Image = pytest.importorskip("PIL.Image")
tifffile = pytest.importorskip("tifffile")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from dmilib.bubble import find_bubbles  # noqa: E402
from dmilib.cli import main  # noqa: E402
from dmilib.dataset import Dataset  # noqa: E402
from dmilib.dataset.interop import export_samples  # noqa: E402
from dmilib.degrade import Degradation, kerr_image, to_uint8  # noqa: E402
from dmilib.infer import (REFUSING_FLAGS, InputImage, flag_codes, predict, predict_images,  # noqa: E402
                          predict_series, prepare_inputs, read_image, read_series)
from dmilib.learn.artifacts import load_run  # noqa: E402
from dmilib.learn.conformal import conformal_quantile, coverage  # noqa: E402
from dmilib.learn.experiment import ExperimentConfig, experiment_split, run_experiment  # noqa: E402

PIXEL_M = 35e-9  # the model's pixel (quick_b5 cells of 17.5 nm, pixelation 2)
CELL_M = 17.5e-9
WINDOW = 22  # the model's input: 22 x 22 pixels
SPLIT_SEED = 2  # a grouped split whose test runs have D inside the training range
FIELDS = (-8.0, 100.0)  # mu0 Hz, mu0 Hx in mT, inside the training range
RADIUS_M = 280e-9  # inside the training bubbles' radii


def bubbles(shape, centres_px, radius_m=RADIUS_M, pixel_m=PIXEL_M, wall_m=40e-9) -> np.ndarray:
    """m_z-like image: +1 film, -1 discs of ``radius_m`` at ``centres_px`` (row, col), tanh walls."""
    rows, cols = np.indices(shape) + 0.0
    image = np.ones(shape)
    for row, col in centres_px:
        rho = np.hypot(rows - row, cols - col) * pixel_m
        image = np.minimum(image, np.tanh((rho - radius_m) / wall_m))
    return image.astype(np.float32)


CENTRE = ((WINDOW - 1) / 2, (WINDOW - 1) / 2)


@pytest.fixture(scope="module")
def run(quick_dataset_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("flag_run") / "fields"
    config = ExperimentConfig((str(quick_dataset_path),), split="grouped", split_seed=SPLIT_SEED,
                              degradation=Degradation(component="mz", pixelation=2), seeds=(0, 1), epochs=12,
                              fields=True, calibration_fraction=0.3)
    run_experiment(config, folder, progress=False)
    loaded = load_run(folder)
    info = loaded.info
    assert min(info["test_labels_mJ_per_m2"]) > info["training_images"]["D_mJ_per_m2"][0]
    assert max(info["test_labels_mJ_per_m2"]) < info["training_images"]["D_mJ_per_m2"][1]
    return loaded


def _one(run, array, pixel_m=PIXEL_M, fields=FIELDS, polarity="auto", name="built"):
    (prediction,) = predict_images([InputImage(np.asarray(array, np.float32), "scalar", pixel_m, "mz", name)], run,
                                   fields_mT=[fields], polarity=polarity)
    return prediction


# --------------------------------------------------------------------------------------
# Bubble finding against geometry computed here
# --------------------------------------------------------------------------------------


def test_find_bubbles_measures_centre_radius_and_count():
    image = bubbles((60, 64), [(25.0, 37.0)], radius_m=15 * PIXEL_M, wall_m=0.5 * PIXEL_M)
    search = find_bubbles(image, PIXEL_M)
    assert search.polarity == "dark" and len(search.bubbles) == 1
    bubble = search.bubble
    assert bubble.centroid_px == pytest.approx((25.0, 37.0), abs=0.05)
    # A disc of radius R covers pi R^2: its equivalent radius is R to within the pixel grid.
    assert bubble.equivalent_radius_m == pytest.approx(15 * PIXEL_M, rel=0.03)
    assert not bubble.touches_edge

    inverted = find_bubbles(-image, PIXEL_M)
    assert inverted.polarity == "bright" and inverted.bubble.centroid_px == pytest.approx((25.0, 37.0), abs=0.05)
    assert find_bubbles(-image, PIXEL_M, "dark").bubble.touches_edge  # told "dark", it finds the film

    lattice = [(r, c) for r in (12, 36, 60) for c in (12, 36, 60, 84)]
    assert len(find_bubbles(bubbles((72, 96), lattice, radius_m=6 * PIXEL_M), PIXEL_M).bubbles) == 12
    cut = find_bubbles(bubbles((40, 40), [(20, 2)], radius_m=8 * PIXEL_M), PIXEL_M)
    assert cut.bubble.touches_edge
    # Normalized noise alone forms shallow regions only: no bubble.
    noise = np.random.default_rng(1).normal(0, 1, (40, 40))
    noise = np.clip(2 * (noise - np.percentile(noise, 1)) / np.ptp(np.percentile(noise, [1, 99])) - 1, -1, 1)
    assert find_bubbles(noise, PIXEL_M).bubbles == []
    assert find_bubbles(np.zeros((30, 30)), PIXEL_M).bubbles == []
    with pytest.raises(ValueError, match="polarity must be one of"):
        find_bubbles(image, PIXEL_M, "grey")


def test_edge_width_grows_with_the_blur_as_a_gaussian_edge():
    """A Gaussian blur of std s on a step gives a maximal slope 2 / (sqrt(2 pi) s); the measure
    smooths with 1 pixel first, so for a wide disc the width is sqrt(2 pi (s^2 + 1)) pixels."""
    sharp = bubbles((100, 100), [(49.5, 49.5)], radius_m=30 * PIXEL_M, wall_m=1e-12)
    for sigma in (3.0, 5.0):
        width = find_bubbles(ndimage.gaussian_filter(sharp, sigma), PIXEL_M).bubble.edge_width_m / PIXEL_M
        assert width == pytest.approx(math.sqrt(2 * math.pi * (sigma**2 + 1)), rel=0.1)


# --------------------------------------------------------------------------------------
# One flag per thing the model has never seen
# --------------------------------------------------------------------------------------


def test_a_clean_bubble_gets_no_flag_and_an_inverted_one_the_same_D(run):
    clean = _one(run, bubbles((WINDOW, WINDOW), [CENTRE]))
    assert clean.flags == [] and clean.D_J_per_m2 is not None
    low, high = clean.interval_90_mJ_per_m2
    assert low < clean.D_mJ_per_m2 < high
    inverted = _one(run, -bubbles((WINDOW, WINDOW), [CENTRE]))
    assert flag_codes(inverted.flags) == ["polarity"]
    assert inverted.D_J_per_m2 == pytest.approx(clean.D_J_per_m2, rel=1e-6)
    stated = _one(run, -bubbles((WINDOW, WINDOW), [CENTRE]), polarity="bright")
    assert stated.flags == [] and stated.D_J_per_m2 == pytest.approx(clean.D_J_per_m2, rel=1e-6)


@pytest.mark.parametrize("case, codes", [
    ("lattice", {"several_bubbles"}),
    ("flat", {"constant", "no_bubble"}),
    ("all_zero", {"constant", "no_bubble"}),
])
def test_images_without_one_bubble_get_no_D(run, case, codes):
    images = {
        "lattice": bubbles((66, 66), [(r, c) for r in (11, 33, 55) for c in (11, 33, 55)], radius_m=250e-9),
        "flat": np.full((WINDOW, WINDOW), 0.3),
        "all_zero": np.zeros((WINDOW, WINDOW)),
    }
    prediction = _one(run, images[case])
    assert codes <= set(flag_codes(prediction.flags)), prediction.flags
    assert prediction.D_J_per_m2 is None and prediction.interval_90_J_per_m2 is None
    assert prediction.per_model_J_per_m2 == [] and prediction.to_dict()["D_mJ_per_m2"] is None
    if case == "all_zero":
        assert any("all zero" in flag for flag in prediction.flags)


@pytest.mark.parametrize("case, code", [
    ("off_centre", "off_centre"),
    ("cut_by_edge", "edge"),
    ("field_of_view_10x", "field_of_view"),
    ("coarse_pixels", "pixel_size"),
    ("blurred", "blur"),
    ("small_bubble", "bubble_size"),
    ("field_outside", "fields"),
])
def test_each_unseen_case_gets_its_flag(run, case, code):
    pixel, fields = PIXEL_M, FIELDS
    if case == "off_centre":  # the image is the model's size: the bubble cannot be centred
        image = bubbles((WINDOW, WINDOW), [(7.5, 8.5)], radius_m=230e-9)
    elif case == "cut_by_edge":
        image = bubbles((WINDOW, WINDOW), [(10.5, 1.0)])
    elif case == "field_of_view_10x":
        image = bubbles((10 * WINDOW, 10 * WINDOW), [(120.0, 90.0)])
    elif case == "coarse_pixels":
        pixel = 3 * PIXEL_M
        image = bubbles((8, 8), [(3.5, 3.5)], pixel_m=pixel)
    elif case == "blurred":
        image = ndimage.gaussian_filter(bubbles((WINDOW, WINDOW), [CENTRE]), 4.0)
    elif case == "small_bubble":
        image = bubbles((WINDOW, WINDOW), [CENTRE], radius_m=90e-9)
    else:
        image, fields = bubbles((WINDOW, WINDOW), [CENTRE]), (8.0, 100.0)
    prediction = _one(run, image, pixel_m=pixel, fields=fields)
    assert code in flag_codes(prediction.flags), prediction.flags
    assert prediction.D_J_per_m2 is not None  # flagged, but a single bubble: D is still given
    reason = next(flag for flag in prediction.flags if flag.startswith(code + ": "))
    assert len(reason) > len(code) + 30  # a sentence a person can act on, not a code alone


def test_an_off_centre_bubble_in_a_larger_image_is_cropped_around(run):
    """Cropping follows the bubble: the same bubble anywhere in a large film gives the model
    the same input as when it sits at the centre of a model-sized image."""
    centred = bubbles((WINDOW, WINDOW), [CENTRE])
    moved = bubbles((3 * WINDOW, 3 * WINDOW), [(CENTRE[0] + 9, CENTRE[1] + 40)])
    x_centred = prepare_inputs(InputImage(centred, "scalar", PIXEL_M, "mz", "c"), run)
    x_moved = prepare_inputs(InputImage(moved, "scalar", PIXEL_M, "mz", "m"), run)
    np.testing.assert_allclose(x_moved, x_centred, atol=1e-6)
    prediction = _one(run, moved)
    assert "off_centre" not in flag_codes(prediction.flags) and "edge" not in flag_codes(prediction.flags)


def test_a_noisy_isolated_bubble_is_still_found(run):
    noisy = bubbles((WINDOW, WINDOW), [CENTRE]) + np.random.default_rng(0).normal(0, 0.3, (WINDOW, WINDOW))
    prediction = _one(run, np.clip(noisy, -1, 1))
    assert prediction.bubble["n_bubbles"] == 1 and prediction.D_J_per_m2 is not None
    assert not set(flag_codes(prediction.flags)) & set(REFUSING_FLAGS)


def test_prediction_outside_the_trained_range_is_flagged(run):
    narrowed = {**run.info, "training_images": {**run.info["training_images"], "D_mJ_per_m2": [5.0, 6.0]}}
    prediction = _one(type(run)(run.path, run.models, run.seeds, narrowed, run.degradation),
                      bubbles((WINDOW, WINDOW), [CENTRE]))
    assert "D_range" in flag_codes(prediction.flags)
    assert f"{prediction.D_mJ_per_m2:.3f}" in next(f for f in prediction.flags if f.startswith("D_range"))


def test_saturated_camera_files_and_levels(run, tmp_path):
    # Three quarters of the pixels at 255: an over-exposed camera.
    counts = to_uint8(bubbles((WINDOW, WINDOW), [CENTRE], radius_m=200e-9) * 0.5 + 0.5)
    counts[counts > 200] = 255
    counts[:, : WINDOW // 4] = 255
    path = tmp_path / "saturated.png"
    PIL_Image.fromarray(counts, mode="L").save(path)
    image = read_image(path, pixel_size_m=PIXEL_M, component="mz")
    assert "saturated" in flag_codes(image.flags)
    # --levels: grey 50 is m = -1, 200 is m = +1, so 125 is 0 and 80 is -0.6 (linear map written here).
    levels = np.array([[50, 125, 200, 80, 0, 255]] * 8, np.uint8)
    PIL_Image.fromarray(levels, mode="L").save(tmp_path / "levels.png")
    read = read_image(tmp_path / "levels.png", pixel_size_m=PIXEL_M, component="mz", levels=(50, 200))
    np.testing.assert_allclose(read.array[0], [-1.0, 0.0, 1.0, -0.6, -1.0, 1.0], atol=1e-6)
    with pytest.raises(ValueError, match="white > black"):
        read_image(tmp_path / "levels.png", pixel_size_m=PIXEL_M, component="mz", levels=(200, 50))


# --------------------------------------------------------------------------------------
# Fields, calibration, series
# --------------------------------------------------------------------------------------


def test_a_model_trained_with_fields_refuses_an_image_without_them(run):
    image = InputImage(bubbles((WINDOW, WINDOW), [CENTRE]), "scalar", PIXEL_M, "mz", "x")
    with pytest.raises(ValueError, match="trained with the applied fields as inputs"):
        predict_images([image], run)
    # The fields do reach the model: another Hz gives another D.
    assert _one(run, image.array, fields=(-6.0, 100.0)).D_J_per_m2 != _one(run, image.array, fields=(-10.0, 100.0)).D_J_per_m2


def test_run_json_records_a_conformal_interval_calibrated_on_held_out_runs(run, quick_dataset_path):
    info = run.info
    runs = Dataset(quick_dataset_path).array("run")
    train_runs = {int(runs[i]) for _, i in info["split"]["train_samples"]}
    calibration_runs = {int(runs[i]) for _, i in info["split"]["calibration_samples"]}
    test_runs = {int(runs[i]) for _, i in info["split"]["test_samples"]}
    assert calibration_runs and not (calibration_runs & train_runs) and not (calibration_runs & test_runs)
    assert not (train_runs & test_runs)
    # experiment_split, which the chapter calls before training, names the same runs.
    valid = np.flatnonzero(Dataset(quick_dataset_path).valid)
    labels = Dataset(quick_dataset_path).array("D_J_per_m2")[valid] * 1e3
    parts = experiment_split("grouped", labels, runs[valid], split_seed=SPLIT_SEED, calibration_fraction=0.3)
    assert {int(r) for r in runs[valid][parts.calibration]} == calibration_runs
    assert {int(r) for r in runs[valid][parts.test]} == test_runs
    assert {int(r) for r in runs[valid][parts.train]} == train_runs
    # Recompute the half-width from the stored per-seed predictions: k-th smallest residual.
    seeds = [str(s) for s in info["seeds"]]
    mean = np.mean([info["models"][s]["cnn"]["calibration_predictions_mJ_per_m2"] for s in seeds], axis=0)
    residuals = np.sort(np.abs(mean - np.array(info["calibration_labels_mJ_per_m2"])))
    n = residuals.size
    k = math.ceil((n + 1) * 0.9 - 1e-9)
    conformal = info["conformal"]
    assert conformal["n_calibration_images"] == n and k <= n
    assert conformal["half_width_mJ_per_m2"] == pytest.approx(residuals[k - 1])
    test_mean = np.mean([info["models"][s]["cnn"]["test_predictions_mJ_per_m2"] for s in seeds], axis=0)
    inside = np.abs(test_mean - np.array(info["test_labels_mJ_per_m2"])) <= residuals[k - 1]
    assert conformal["test_coverage"] == pytest.approx(inside.mean())
    assert [p["nominal"] for p in conformal["reliability"]] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    # What the training images looked like, for the flags.
    trained = info["training_images"]
    assert trained["pixel_size_m"] == pytest.approx(PIXEL_M) and trained["Hz_mT"] == [-10.0, -6.0]
    assert trained["bubbles"]["n_without_bubble"] == 0 and trained["bubbles"]["bubbles_per_image"] == [1, 1]


def test_conformal_quantile_uses_the_finite_sample_rank():
    residuals = np.arange(1.0, 11.0)[::-1]  # 10 residuals 1..10
    assert conformal_quantile(residuals, 0.1) == 10.0  # ceil(11 * 0.9) = 10
    assert conformal_quantile(residuals, 0.2) == 9.0  # ceil(11 * 0.8) = 9
    assert conformal_quantile(residuals[:8], 0.1) == math.inf  # ceil(9 * 0.9) = 9 > 8
    # Exchangeable data: the interval covers k / (n + 1) of new points on average (= 0.9 for n = 19).
    rng = np.random.default_rng(0)
    hits = [coverage(np.abs(rng.normal(size=50)), conformal_quantile(np.abs(rng.normal(size=19)), 0.1))
            for _ in range(3000)]
    assert np.mean(hits) == pytest.approx(18 / 20, abs=0.01)


def test_series_of_one_bubble_gives_the_mean_of_its_images(run, quick_dataset_path, tmp_path):
    dataset = Dataset(quick_dataset_path)
    first_test_run = dataset.array("run")[run.info["split"]["test_samples"][0][1]]
    members = np.flatnonzero(dataset.array("run") == first_test_run)
    hz = dataset.array("Hz_T")[members] * 1e3
    pages = [to_uint8(kerr_image(dataset.magnetization(i)[0], CELL_M, "mz", blur_fwhm_m=0, pixel_size_m=PIXEL_M))
             for i in members]
    stack = tmp_path / "series.tif"
    tifffile.imwrite(stack, np.stack(pages))
    images = read_series(stack, pixel_size_m=PIXEL_M, component="mz", levels=(0, 255))
    assert len(images) == members.size == 5
    singles = predict_images(images, run, fields_mT=np.column_stack([hz, np.full(hz.size, 100.0)]))
    (series,) = predict([stack], run, pixel_size_m=PIXEL_M, component="mz", levels=(0, 255), Hz_mT=hz.tolist(),
                        Hx_mT=100.0, series=True)
    assert series.D_J_per_m2 == pytest.approx(np.mean([p.D_J_per_m2 for p in singles]), rel=1e-9)
    assert len(series.members) == 5 and series.fields_mT["Hz_mT"] == pytest.approx(hz.tolist())
    # Calibration holds 2 series per size, fewer than the 9 a 90 % interval needs: said so, not hidden.
    assert series.interval_90_J_per_m2 is None and "no_interval" in flag_codes(series.flags)
    with pytest.raises(ValueError, match="multi-page TIFF"):
        read_image(stack, pixel_size_m=PIXEL_M, component="mz")
    # A page without a bubble is left out of the mean, with a flag naming it.
    blank = InputImage(np.zeros((WINDOW, WINDOW), np.float32), "scalar", PIXEL_M, "mz", "blank")
    mixed = predict_series([*images, blank], run, fields_mT=[[h, 100.0] for h in hz] + [[-8.0, 100.0]])
    assert mixed.D_J_per_m2 == pytest.approx(series.D_J_per_m2, rel=1e-9)
    assert "series_excluded" in flag_codes(mixed.flags) and any("blank" in f for f in mixed.flags)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def test_cli_json_flags_strict_and_omf(run, quick_dataset_path, tmp_path, capsys):
    dataset = Dataset(quick_dataset_path)
    index = run.info["split"]["test_samples"][2][1]
    (ovf,) = export_samples(dataset, tmp_path, indices=[index])
    omf = tmp_path / "sample.omf"
    shutil.copy(ovf, omf)
    hz = f"{dataset.array('Hz_T')[index] * 1e3:g}"
    arguments = ["predict", "--model", str(run.path), "--Hz-mT", hz, "--Hx-mT", "100"]
    assert main([*arguments, str(ovf), str(omf), "--json", "--strict"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["flags"] for r in records] == [[], []]
    assert records[0]["D_mJ_per_m2"] == pytest.approx(records[1]["D_mJ_per_m2"])
    low, high = records[0]["interval_90_mJ_per_m2"]
    half = run.info["conformal"]["half_width_mJ_per_m2"]
    assert (low, high) == pytest.approx((records[0]["D_mJ_per_m2"] - half, records[0]["D_mJ_per_m2"] + half))

    lattice = tmp_path / "lattice.npy"
    np.save(lattice, bubbles((66, 66), [(r, c) for r in (11, 33, 55) for c in (11, 33, 55)], radius_m=250e-9))
    command = [*arguments, str(lattice), "--pixel-size-nm", "35", "--component", "mz"]
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "no D (several_bubbles)" in out and "  flag: several_bubbles: 9 bubbles found" in out
    assert main([*command, "--strict"]) == 3
    assert "--strict" in capsys.readouterr().err

    for extra, message in ((["--Hz-mT", "-8", "--Hz-mT", "-9"], "--Hz-mT needs one value"),
                           ([], "--Hz-mT and --Hx-mT")):
        bad = ["predict", "--model", str(run.path), str(ovf), *extra]
        if extra:
            bad += ["--Hx-mT", "100"]
        with pytest.raises(SystemExit) as exit_info:
            main(bad)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_reliability_plot_and_study_summary_read_run_json(run):
    from dmilib.learn.kerr_study import study_configs, summarize_run
    from dmilib.plotting import plot_reliability

    conformal = run.info["conformal"]
    figure = plot_reliability({"fields": run.path})
    (axes,) = figure.axes
    curve = [line for line in axes.lines if line.get_label().startswith("fields")][0]
    finite = [p for p in conformal["reliability"] if p["half_width"] is not None]
    # With 10 calibration images the 95 % rank ceil(11 * 0.95) = 11 exceeds n: no finite interval, no point.
    assert conformal["n_calibration_images"] == 10 and len(finite) == 5
    np.testing.assert_allclose(curve.get_ydata(), [p["coverage"] for p in finite])
    summary = summarize_run(run.path)
    assert summary["ensemble_test_mae_mJ_per_m2"] == pytest.approx(run.info["ensemble"]["test_mae_mJ_per_m2"])
    assert summary["interval_90"]["test_coverage"] == conformal["test_coverage"]
    assert summary["series"]["size"] == 5
    configs = study_configs("store.zarr", seeds=2)
    assert configs["mz_fields"].fields and not configs["mz_image"].fields
    assert configs["mz_fields"].degradation.blur_fwhm_m == pytest.approx(300e-9)
    assert configs["mz_fields"].degradation.pixel_size_m == pytest.approx(35e-9)
    assert configs["mz_image"].split == "grouped" and configs["mz_image"].calibration_fraction > 0
