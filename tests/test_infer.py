"""Inference from one image: read_image, prepare_inputs, predict and ``dmilib predict``.

A module fixture trains two small runs (component mz and all, pixelation 2, two seeds) on
the shipped quick dataset; the tests feed them a held-out sample as .ovf and .npy, and
Kerr-like .png/.tif images made from it with ``kerr_image``. No accuracy is asserted here
(the learning tests cover that); the predictions must be finite, reproducible, equal to
what training recorded for the same test sample, and the seed spread the std over seeds.
The flags, fields, series and calibrated intervals are tested in test_infer_flags.py.
"""

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
PIL_Image = pytest.importorskip("PIL.Image")
tifffile = pytest.importorskip("tifffile")

# Keras backends convert tensors with np.array(x), which NumPy >= 2.3 flags on every save.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from dmilib.cli import main  # noqa: E402
from dmilib.dataset import Dataset  # noqa: E402
from dmilib.dataset.interop import export_samples  # noqa: E402
from dmilib.degrade import Degradation, kerr_image, pixelate, to_uint8  # noqa: E402
from dmilib.infer import (InputImage, Prediction, flag_codes, format_prediction, predict,  # noqa: E402
                          prepare_inputs, read_image)
from dmilib.learn.artifacts import load_run  # noqa: E402
from dmilib.learn.experiment import ExperimentConfig, run_experiment  # noqa: E402

EPOCHS = 12
CELL_M = 17.5e-9  # quick_b5 cell size
MODEL_PIXEL_M = 35e-9  # pixelation 2
LINE = re.compile(r"^(\S+)  D = -?\d+\.\d{3} mJ/m²  no calibrated interval  \(2 models\)$")


@pytest.fixture(scope="module")
def runs(quick_dataset_path, tmp_path_factory):
    """Run folders {"mz": ..., "all": ...}, trained with two seeds on the quick dataset."""
    root = tmp_path_factory.mktemp("infer_runs")
    paths = {}
    for component in ("mz", "all"):
        degradation = Degradation(component=component, pixelation=2)
        config = ExperimentConfig((str(quick_dataset_path),), degradation=degradation, seeds=(0, 1), epochs=EPOCHS)
        run_experiment(config, root / component, progress=False)
        paths[component] = root / component
    return paths


@pytest.fixture(scope="module")
def loaded(runs):
    return {component: load_run(path) for component, path in runs.items()}


@pytest.fixture(scope="module")
def sample(runs, quick_dataset_path, tmp_path_factory):
    """A held-out sample (the test sample with D nearest 0.6 mJ/m^2) as files of every kind."""
    info = json.loads((runs["mz"] / "run.json").read_text())
    dataset = Dataset(quick_dataset_path)
    labels = np.array(info["test_labels_mJ_per_m2"])
    position = int(np.argmin(np.abs(labels - 0.6)))
    _, index = info["split"]["test_samples"][position]
    m = dataset.magnetization(index)[0]
    folder = tmp_path_factory.mktemp("images")
    ovf = export_samples(dataset, folder, indices=[index])[0]
    npy = folder / "sample.npy"
    np.save(npy, m)
    # Polar Kerr image on the model's pixel, 8-bit PNG; a finer 16-bit TIFF exercises resampling.
    png = folder / "kerr.png"
    PIL_Image.fromarray(to_uint8(kerr_image(m, CELL_M, "mz", blur_fwhm_m=50e-9, pixel_size_m=MODEL_PIXEL_M)),
                        mode="L").save(png)
    tif = folder / "kerr.tif"
    counts = to_uint8(kerr_image(m, CELL_M, "mz", blur_fwhm_m=50e-9, pixel_size_m=1.5 * CELL_M)).astype(np.uint16)
    tifffile.imwrite(tif, counts * 257)
    return {"m": m, "D": float(dataset.array("D_J_per_m2")[index]), "position": position, "info": info,
            "ovf": ovf, "npy": npy, "png": png, "tif": tif, "folder": folder}


def _check(prediction: Prediction, n_models: int = 2) -> None:
    per_model = np.array(prediction.per_model_J_per_m2)
    assert per_model.shape == (n_models,) and np.isfinite(per_model).all()
    assert np.isfinite(prediction.D_J_per_m2) and np.isfinite(prediction.seed_spread_J_per_m2)
    assert prediction.seed_spread_J_per_m2 >= 0
    assert prediction.D_J_per_m2 == pytest.approx(per_model.mean(), rel=1e-12, abs=1e-15)
    assert prediction.seed_spread_J_per_m2 == pytest.approx(per_model.std(ddof=1), rel=1e-12, abs=1e-15)
    # These runs have no calibration runs: no interval, and a flag that says so.
    assert prediction.interval_90_J_per_m2 is None and "no_interval" in flag_codes(prediction.flags)
    assert prediction.n_models == n_models


# --------------------------------------------------------------------------------------
# Vector inputs
# --------------------------------------------------------------------------------------


def test_ovf_round_trip_equals_npy_and_training(runs, loaded, sample):
    (from_ovf,) = predict([sample["ovf"]], runs["mz"])  # loaded from the folder
    _check(from_ovf)
    assert from_ovf.kind == "vector" and from_ovf.component == "mz" and from_ovf.seeds == [0, 1]
    assert from_ovf.input_pixel_size_m == pytest.approx(CELL_M)
    assert from_ovf.model_input_pixel_size_m == pytest.approx(MODEL_PIXEL_M)
    assert from_ovf.notes == []  # same grid as training: nothing resampled, cropped or padded
    assert flag_codes(from_ovf.flags) == ["no_interval"]  # a held-out sample looks like the training images

    (from_npy,) = predict([sample["npy"]], loaded["mz"], pixel_size_m=CELL_M)
    assert abs(from_npy.D_J_per_m2 - from_ovf.D_J_per_m2) <= 1e-6 * max(abs(from_ovf.D_J_per_m2), 1e-3)
    np.testing.assert_allclose(from_npy.per_model_J_per_m2, from_ovf.per_model_J_per_m2, rtol=1e-6)

    # The exported file reaches the models exactly as its test image did in training.
    recorded = [sample["info"]["models"][str(seed)]["cnn"]["test_predictions_mJ_per_m2"][sample["position"]]
                for seed in (0, 1)]
    np.testing.assert_allclose(np.array(from_ovf.per_model_J_per_m2) * 1e3, recorded, rtol=1e-4, atol=1e-6)
    x = prepare_inputs(read_image(sample["ovf"]), loaded["mz"])
    expected = Degradation(component="mz", pixelation=2).apply(sample["m"], CELL_M)
    np.testing.assert_array_equal(x, expected)

    (with_all,) = predict([sample["ovf"]], loaded["all"])
    _check(with_all)
    assert with_all.component == "all"
    print(f"\nheld-out OVF: true D = {sample['D'] * 1e3:.3f} mJ/m²; "
          f"{format_prediction(from_ovf, flags=False).split('  ', 1)[1]} (mz); "
          f"{format_prediction(with_all, flags=False).split('  ', 1)[1]} (all)")


def test_vector_field_of_view_is_fitted(loaded, sample, tmp_path):
    run = loaded["all"]
    reference = prepare_inputs(InputImage(sample["m"], "vector", CELL_M, None, "ref"), run)
    # Symmetric empty surroundings are cropped away again: the same input.
    padded = np.pad(sample["m"], ((0, 0), (5, 5), (5, 5)))
    notes = []
    np.testing.assert_array_equal(prepare_inputs(InputImage(padded, "vector", CELL_M, None, "pad"), run, notes),
                                  reference)
    assert any("cropped to the training grid's" in note for note in notes)
    # A coarser vector image is interpolated to the training cells and still fits the model.
    coarse = pixelate(sample["m"], 2)
    notes = []
    x = prepare_inputs(InputImage(coarse, "vector", 2 * CELL_M, None, "coarse"), run, notes)
    assert x.shape == (1, *run.input_shape) and np.isfinite(x).all()
    assert any("interpolated" in note for note in notes)


# --------------------------------------------------------------------------------------
# Kerr (scalar) inputs
# --------------------------------------------------------------------------------------


def test_kerr_png_and_tif(loaded, sample):
    image = read_image(sample["png"], pixel_size_m=MODEL_PIXEL_M, component="mz")
    assert image.kind == "scalar" and image.component == "mz" and image.array.ndim == 2
    assert image.array.min() == -1.0 and image.array.max() == 1.0
    (png,) = predict([sample["png"]], loaded["mz"], pixel_size_m=MODEL_PIXEL_M, component="mz")
    (tif,) = predict([sample["tif"]], loaded["mz"], pixel_size_m=1.5 * CELL_M, component="mz")
    for prediction in (png, tif):
        _check(prediction)
        assert prediction.kind == "scalar"
        assert any("from_camera" in note for note in prediction.notes)
    assert any("resampled" in note for note in tif.notes)
    assert not any("resampled" in note for note in png.notes)
    print(f"\nKerr PNG: true D = {sample['D'] * 1e3:.3f} mJ/m²; {format_prediction(png, flags=False).split('  ', 1)[1]}; "
          f"TIFF: {format_prediction(tif, flags=False).split('  ', 1)[1]}")


def test_scalar_field_of_view_is_fitted(loaded):
    run = loaded["mz"]
    small = prepare_inputs(InputImage(np.full((16, 16), 0.5, np.float32), "scalar", MODEL_PIXEL_M, "mz", "s"), run)
    assert small.shape == (1, 22, 22, 1)
    assert np.all(small[0, 3:19, 3:19] == 0.5) and small.sum() == pytest.approx(0.5 * 16 * 16)
    large = prepare_inputs(InputImage(np.full((30, 31), -0.25, np.float32), "scalar", MODEL_PIXEL_M, "mz", "l"), run)
    assert large.shape == (1, 22, 22, 1) and np.all(large == -0.25)


def test_kerr_camera_run_with_noise(sample):
    """A run trained through the Kerr model (blur, camera pixel, noise), without training one:
    a vector image gets the whole degradation with the fixed noise seed, a camera image none of it."""
    from dmilib.infer import NOISE_SEED
    from dmilib.learn.artifacts import LoadedRun

    degradation = Degradation(component="mz", pixelation=1, noise_sigma=0.05, blur_fwhm_m=100e-9, pixel_size_m=50e-9)
    height, width = degradation.output_shape(45, 45, CELL_M)
    info = {"input_shape": [height, width, 1], "input_pixel_size_m": 50e-9,
            "datasets": [{"cell_size_m": [CELL_M, CELL_M, 12e-9], "shape": [45, 45]}]}
    run = LoadedRun(path=Path("kerr_run"), models=[], seeds=[], info=info, degradation=degradation)
    notes = []
    x = prepare_inputs(InputImage(sample["m"], "vector", CELL_M, None, "v"), run, notes)
    np.testing.assert_array_equal(x, degradation.apply(sample["m"], CELL_M, seed=NOISE_SEED))
    assert any(f"fixed seed {NOISE_SEED}" in note for note in notes)
    camera = kerr_image(sample["m"], CELL_M, "mz", blur_fwhm_m=100e-9, pixel_size_m=50e-9)
    notes = []
    y = prepare_inputs(InputImage(camera, "scalar", 50e-9, "mz", "k"), run, notes)
    assert y.shape == (1, height, width, 1)
    np.testing.assert_array_equal(y[0, ..., 0], camera[:height, :width])  # no blur, no noise, same pixels
    assert any("no noise added" in note for note in notes)


def test_grey_rgb_png_is_read_and_colour_refused(sample, tmp_path):
    grey = np.asarray(PIL_Image.open(sample["png"]))
    rgb = tmp_path / "grey_rgb.png"
    PIL_Image.fromarray(np.stack([grey] * 3, axis=-1), mode="RGB").save(rgb)
    image = read_image(rgb, pixel_size_m=MODEL_PIXEL_M, component="mz")
    np.testing.assert_array_equal(image.array, read_image(sample["png"], pixel_size_m=MODEL_PIXEL_M,
                                                          component="mz").array)
    colour = np.stack([grey, grey // 2, 255 - grey], axis=-1).astype(np.uint8)
    PIL_Image.fromarray(colour, mode="RGB").save(tmp_path / "colour.png")
    with pytest.raises(ValueError, match="colour image"):
        read_image(tmp_path / "colour.png", pixel_size_m=MODEL_PIXEL_M, component="mz")


# --------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------


def _npy(folder, name, array):
    path = folder / name
    np.save(path, array)
    return path


def test_bad_images_are_refused(loaded, sample, tmp_path):
    m = sample["m"]
    cases = [
        (_npy(tmp_path, "two.npy", m[:2]), dict(pixel_size_m=CELL_M), "has 2 components"),
        (_npy(tmp_path, "four.npy", np.concatenate([m, m[:1]])), dict(pixel_size_m=CELL_M), "has 4 components"),
        (_npy(tmp_path, "last.npy", np.moveaxis(m, 0, -1)), dict(pixel_size_m=CELL_M), "channels-last"),
        (_npy(tmp_path, "batch.npy", m[None]), dict(pixel_size_m=CELL_M), r"\(3, H, W\)"),
        (_npy(tmp_path, "nan.npy", np.where(np.arange(45) == 20, np.nan, m)), dict(pixel_size_m=CELL_M), "NaN"),
        (_npy(tmp_path, "big.npy", m * 8e5), dict(pixel_size_m=CELL_M), "reduced magnetization"),
        (_npy(tmp_path, "vec.npy", m), {}, "pixel_size_m is required"),
        (_npy(tmp_path, "vec0.npy", m), dict(pixel_size_m=0.0), "pixel_size_m must be a finite number > 0"),
        (_npy(tmp_path, "vecneg.npy", m), dict(pixel_size_m=-35e-9), "pixel_size_m must be a finite number > 0"),
        (_npy(tmp_path, "vecnm.npy", m), dict(pixel_size_m=35.0), "give it in metres"),
        (_npy(tmp_path, "scalar.npy", m[2]), dict(pixel_size_m=CELL_M), "component is required"),
        (_npy(tmp_path, "scalar2.npy", m[2]), dict(pixel_size_m=CELL_M, component="all"), "component must be one"),
        (sample["png"], dict(component="mz"), "pixel_size_m is required: a PNG file"),
        (sample["tif"], dict(pixel_size_m=CELL_M), "component is required"),
        (tmp_path / "missing.npy", dict(pixel_size_m=CELL_M), "does not exist"),
    ]
    (tmp_path / "image.jpg").write_bytes(b"\xff\xd8\xff")
    cases.append((tmp_path / "image.jpg", dict(pixel_size_m=CELL_M, component="mz"), "unsupported file type '.jpg'"))
    np.save(tmp_path / "objects.npy", np.array([{"m": 1}], dtype=object), allow_pickle=True)
    cases.append((tmp_path / "objects.npy", dict(pixel_size_m=CELL_M), "unpickling"))
    for path, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            read_image(path, **kwargs)
        if path.exists():
            with pytest.raises(ValueError, match=re.escape(path.name)):
                read_image(path, **kwargs)


def test_unsuitable_images_for_the_model_are_refused(loaded, sample, tmp_path):
    tiny = _npy(tmp_path, "tiny.npy", sample["m"][:, 17:27, 17:27])
    with pytest.raises(ValueError, match=r"tiny\.npy: field of view 175 x 175 nm .* 770 x 770 nm"):
        predict([tiny], loaded["mz"], pixel_size_m=CELL_M)
    with pytest.raises(ValueError, match="needs a single-component model .* 'all'"):
        predict([sample["png"]], loaded["all"], pixel_size_m=MODEL_PIXEL_M, component="mz")
    mx = _npy(tmp_path, "mx.npy", sample["m"][0])
    with pytest.raises(ValueError, match="component 'mx' does not match the model's component 'mz'"):
        predict([mx], loaded["mz"], pixel_size_m=CELL_M, component="mx")


def test_damaged_model_files_are_refused(runs, sample, tmp_path):
    random_bytes = tmp_path / "random_bytes"
    shutil.copytree(runs["mz"], random_bytes)
    (random_bytes / "seed_00.keras").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match="not a Keras archive"):
        predict([sample["ovf"]], random_bytes)
    no_config = tmp_path / "no_config"
    shutil.copytree(runs["mz"], no_config)
    with zipfile.ZipFile(no_config / "seed_01.keras", "w") as archive:
        archive.writestr("model.weights.h5", b"not weights")
    with pytest.raises(ValueError, match="without config.json"):
        predict([sample["ovf"]], no_config)
    with pytest.raises(ValueError, match="no run.json"):
        predict([sample["ovf"]], tmp_path)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def test_cli_predict(runs, sample, capsys):
    assert main(["predict", "--model", str(runs["mz"]), str(sample["ovf"]), str(sample["png"]),
                 "--pixel-size-nm", "35", "--component", "mz"]) == 0
    out = [line for line in capsys.readouterr().out.strip().splitlines() if not line.startswith("  flag: ")]
    assert len(out) == 2 and all(LINE.match(line) for line in out), out
    assert [LINE.match(line).group(1) for line in out] == [str(sample["ovf"]), str(sample["png"])]

    assert main(["predict", "--model", str(runs["mz"]), str(sample["ovf"]), "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["n_models"] == 2 and record["seeds"] == [0, 1] and record["path"] == str(sample["ovf"])
    assert record["seed_spread_J_per_m2"] == pytest.approx(np.std(record["per_model_J_per_m2"], ddof=1))
    assert record["D_mJ_per_m2"] == pytest.approx(1e3 * np.mean(record["per_model_J_per_m2"]))


def test_cli_bad_inputs_exit_2(runs, sample, tmp_path, capsys):
    wrong = _npy(tmp_path, "wrong.npy", sample["m"][:2])
    broken = tmp_path / "broken"
    shutil.copytree(runs["mz"], broken)
    (broken / "seed_00.keras").write_bytes(b"\x00" * 100)
    cases = [
        (["--model", str(runs["mz"]), str(wrong), "--pixel-size-nm", "17.5"], "wrong.npy: a vector image"),
        (["--model", str(runs["mz"]), str(sample["png"]), "--component", "mz"], "--pixel-size-nm"),
        (["--model", str(runs["all"]), str(sample["png"]), "--component", "mz", "--pixel-size-nm", "35"],
         "single-component model"),
        (["--model", str(runs["mz"]), str(sample["npy"]), "--pixel-size-nm", "-3"], "--pixel-size-nm must be"),
        (["--model", str(runs["mz"]), str(tmp_path / "x.bmp")], "unsupported file type"),
        (["--model", str(broken), str(sample["ovf"])], "seed_00.keras is not a Keras archive"),
    ]
    for arguments, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["predict", *arguments])
        assert exit_info.value.code == 2
        error = capsys.readouterr().err
        assert error.startswith("dmilib predict: error: ") and message in error, error
