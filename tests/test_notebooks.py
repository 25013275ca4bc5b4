"""The book's notebooks execute: under nbval (lax mode, after jupytext conversion) and
through papermill with tiny smoke parameters, checking the values each one records."""

import math
import subprocess
import sys

import pytest

from dmilib.book import notebook_sources, prepare_notebook, run_notebooks

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("papermill")
    return run_notebooks("smoke", out, work_dir=tmp_path_factory.mktemp("work"))


def test_every_notebook_runs_under_papermill_and_records(smoke_run):
    names = [source.stem for source in notebook_sources()]
    assert sorted(smoke_run) == sorted(names)


def test_solver_notebook_record(smoke_run):
    record = smoke_run["solver"]
    assert record["converged"] == [True, True]
    assert all(math.isfinite(value) for value in record["mean_mz"])


def test_dataset_notebook_record(smoke_run):
    record = smoke_run["dataset"]
    # The tiny preset: 4 runs of 3 snapshots, the D = 0 run collapses (see test_dataset_generate).
    assert record["samples"] == 12 and record["valid_samples"] == 9
    assert record["runs_done"] == 3 and record["runs_failed"] == 1


def _finite(mapping):
    return all(math.isfinite(value) for value in mapping.values())


def test_components_notebook_record(smoke_run):
    # The smoke profile trains mx and mz (book/profiles/smoke.yaml) on the three subsets.
    record = smoke_run["components"]
    expected = {f"{c}/{s}" for c in ("mx", "mz") for s in ("uniform", "nonuniform", "both")}
    assert set(record["cnn_test_mae"]) == expected == set(record["ridge_test_mae"])
    assert _finite(record["cnn_test_mae"]) and _finite(record["ridge_test_mae"])
    # D spans 0..1 mJ/m2, so no MAE can exceed 1 mJ/m2.
    assert all(0 <= value <= 1 for value in record["cnn_test_mae"].values())


def test_generalization_notebook_record(smoke_run):
    record = smoke_run["generalization"]
    splits = ("random", "interval-high", "interval-low", "interval-middle", "grouped")
    assert set(record["cnn_test_mae"]) == {f"{s}/mz" for s in splits} == set(record["ridge_test_mae"])
    assert _finite(record["cnn_test_mae"]) and _finite(record["ridge_test_mae"])


def test_pixelation_notebook_record(smoke_run):
    # The shipped store has 17.5 nm pixels (3.5 nm cells averaged 5 x 5): b = 2 and 4 give 35 and 70 nm.
    record = smoke_run["pixelation"]
    assert record["pixel_size_nm"] == pytest.approx({"pixelation/mz/b=2": 35.0, "pixelation/mz/b=4": 70.0})
    assert _finite(record["cnn_test_mae"]) and set(record["cnn_test_mae"]) == set(record["pixel_size_nm"])


def test_noise_notebook_record(smoke_run):
    # Averaging b x b independent Gaussian samples divides their standard deviation by b.
    measured = smoke_run["noise"]["noise_std_after_pixelation"]
    assert measured["b=1 sigma=0.1"] == pytest.approx(0.1, rel=0.1)
    assert measured["b=2 sigma=0.1"] == pytest.approx(0.1 / 2, rel=0.1)
    assert _finite(smoke_run["noise"]["cnn_test_mae"])


def test_verdicts_notebook_record(smoke_run):
    # The summary page reads the committed standard records whatever the profile: every study
    # chapter with a record appears, and its training time is the records' own sum.
    import json

    from dmilib.book import RECORDS_FOLDER
    from dmilib.book.verdicts import STUDY_CHAPTERS

    record = smoke_run["verdicts"]
    paths = {chapter: RECORDS_FOLDER / "standard" / f"{chapter}.json" for chapter in STUDY_CHAPTERS}
    committed = {chapter for chapter, path in paths.items() if path.is_file()}
    assert set(record["missing"]) == set(STUDY_CHAPTERS) - committed
    assert {key.split(":")[0] for key in record["verdicts"]} <= committed
    seconds = sum(json.loads(paths[chapter].read_text())["training_seconds"] for chapter in committed)
    assert record["training_hours"] == pytest.approx(seconds / 3600)


def test_inference_notebook_record(smoke_run):
    record = smoke_run["inference"]
    assert record["n_models"] == 1
    # An exported sample read back from its OVF file reaches the models exactly as the stored
    # sample does through the run's degradation (float32 files: agreement to rounding).
    assert record["ovf_D_J_per_m2"] == pytest.approx(record["direct_D_J_per_m2"], rel=1e-5, abs=1e-9)
    for key in ("png_D_J_per_m2", "png_calibrated_D_J_per_m2"):
        assert math.isfinite(record[key]), key
    assert 0 <= record["true_D_J_per_m2"] <= 1e-3


def test_inference_notebook_fields_intervals_series_and_flags(smoke_run, quick_dataset_path):
    import numpy as np

    from dmilib.dataset import Dataset

    record = smoke_run["inference"]
    # The study's runs: test and calibration runs disjoint, their D strictly inside the training range.
    store = Dataset(quick_dataset_path)  # the smoke profile's store
    valid = np.flatnonzero(store.valid)
    runs, D = store.array("run")[valid], store.array("D_J_per_m2")[valid] * 1e3
    test, calibration = set(record["study_test_runs"]), set(record["study_calibration_runs"])
    train = set(runs.tolist()) - test - calibration
    assert test and calibration and not test & calibration
    train_D = D[np.isin(runs, sorted(train))]
    for run in test | calibration:
        assert train_D.min() < D[runs == run][0] < train_D.max()
    # The mean predictor answers the mean training D; its MAE on the test images, computed here.
    test_D = D[np.isin(runs, sorted(test))]
    assert record["n_test_images"] == test_D.size
    assert record["mean_predictor_test_mae_mJ_per_m2"] == pytest.approx(np.mean(np.abs(test_D - train_D.mean())))
    for key in ("fields_test_mae_mJ_per_m2", "image_test_mae_mJ_per_m2"):
        assert 0 <= record[key] <= 1, key  # D spans 0..1 mJ/m2
    # 10 calibration images: the 90 % half-width is the ceil(11 * 0.9) = 10th, i.e. the largest, residual.
    assert 0 < record["fields_half_width_90_mJ_per_m2"] < 1.5
    assert record["fields_coverage_90"] in [k / record["n_test_images"] for k in range(record["n_test_images"] + 1)]
    # The series' D is the mean of its snapshots' D; two calibration runs give two series, fewer than
    # the nine a 90 % interval needs, so it has none and says so.
    members = record["series_member_D_mJ_per_m2"]
    assert len(members) == 5 and record["series_D_mJ_per_m2"] == pytest.approx(np.mean(members))
    assert record["series_interval_90_mJ_per_m2"] is None and "no_interval" in record["series_flag_codes"]
    # Flags: no D without exactly one bubble; the inverted image is read as the reference.
    codes, values = record["flag_codes"], record["flag_D_mJ_per_m2"]
    assert codes["held-out bubble"] == [] and values["held-out bubble"] is not None
    assert "several_bubbles" in codes["lattice of bubbles"] and values["lattice of bubbles"] is None
    assert "constant" in codes["flat image"] and values["flat image"] is None
    assert codes["inverted contrast"] == ["polarity"]
    assert values["inverted contrast"] == pytest.approx(values["held-out bubble"], rel=1e-6)
    assert "off_centre" in codes["off-centre, model-sized"] and "edge" in codes["cut by the edge"]
    assert "off_centre" not in codes["off-centre, larger view"]
    assert record["strict_exit_status"] == {"default": 0, "--strict": 3}


def test_notebooks_pass_nbval_lax(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for source in notebook_sources():
        prepare_notebook(source, tmp_path / "notebooks", "smoke", work)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(tmp_path / "notebooks")],
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "passed" in result.stdout
