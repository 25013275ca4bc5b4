"""Experiments end to end: results, run.json, resuming, load_run's refusals, CLI and benchmark.

Most tests use a small synthetic store written here in the dataset layout (bubbles whose
radius grows with D), so they run in seconds without a simulation; the last one trains on
the quick dataset fixture.
"""

import csv
import json
import shutil
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

# Keras backends convert tensors with np.array(x), which NumPy >= 2.3 flags on every save.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from dmilib.dataset.store import record_digests, write_layout  # noqa: E402
from dmilib.degrade import Degradation  # noqa: E402
from dmilib.learn.artifacts import RUN_LAYOUT, load_run  # noqa: E402
from dmilib.learn.experiment import (RESULT_COLUMNS, ExperimentConfig, format_summary, read_results,  # noqa: E402
                                     run_experiment, summarize)

SNAPSHOTS = 4
RUNS = [(0.1e-3, -1), (0.3e-3, -1), (0.5e-3, -1), (0.7e-3, -1), (0.9e-3, -1), (1.0e-3, -1), (0.2e-3, 0),
        (0.6e-3, 0), (0.8e-3, 0)]
INVALID_RUN = 8


def _write_synthetic_store(path, size: int = 32, cell_size_m: float = 5e-9):
    """A store with bubbles of radius 3 + 6 D[mJ/m^2] + 0.5 k cells (k: snapshot), Neel walls.

    The last run is marked failed and holds NaN, so any use of an invalid sample fails loudly.
    """
    centres = (np.arange(size) + 0.5) - size / 2
    x, y = np.meshgrid(centres, centres)
    rho, phi = np.hypot(x, y), np.arctan2(y, x)
    mask = rho <= size / 2 - 1
    total = len(RUNS) * SNAPSHOTS
    m = np.zeros((total, 3, size, size), np.float32)
    for run, (d, _) in enumerate(RUNS):
        for k in range(SNAPSHOTS):
            mz = np.tanh((rho - (3 + 6 * d * 1e3 + 0.5 * k)) / 1.5)
            inplane = np.sqrt(1 - mz**2)
            m[run * SNAPSHOTS + k] = np.where(mask, [inplane * np.cos(phi), inplane * np.sin(phi), mz], 0.0)
    m[INVALID_RUN * SNAPSHOTS:] = np.nan
    values = {
        "magnetization": m,
        "D_J_per_m2": np.repeat([d for d, _ in RUNS], SNAPSHOTS).astype(np.float64),
        "Hz_T": np.tile(-6e-3 - 1e-3 * np.arange(SNAPSHOTS), len(RUNS)),
        "Hx_T": np.full(total, 0.1),
        "tessellation": np.repeat([t for _, t in RUNS], SNAPSHOTS).astype(np.int32),
        "run": np.repeat(np.arange(len(RUNS)), SNAPSHOTS).astype(np.int32),
        "valid": np.repeat(np.arange(len(RUNS)) != INVALID_RUN, SNAPSHOTS),
        "run_status": np.where(np.arange(len(RUNS)) == INVALID_RUN, 2, 1).astype(np.int8),
        "mask": mask,
        "ku_maps": np.zeros((0, size, size), np.float32),
    }
    group = write_layout(path, snapshots_per_run=SNAPSHOTS, cell_size_m=(cell_size_m, cell_size_m, 12e-9), values=values,
                         attrs={"parameters_hash": "synthetic-test-store", "preset": "synthetic"})
    record_digests(group)
    return path


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    return _write_synthetic_store(tmp_path_factory.mktemp("store") / "synthetic.zarr")


@pytest.fixture(scope="module")
def trained_run(synthetic_store, tmp_path_factory):
    """A finished two-seed run on the synthetic store (component all, pixelation 2)."""
    out = tmp_path_factory.mktemp("runs") / "all_b2"
    config = ExperimentConfig((str(synthetic_store),), degradation=Degradation(component="all", pixelation=2),
                              seeds=(0, 1), epochs=2)
    rows = run_experiment(config, out, progress=False)
    return config, out, rows


def test_run_experiment_writes_results_models_and_provenance(trained_run, synthetic_store):
    config, out, rows = trained_run
    assert [(r["seed"], r["model"]) for r in rows] == [(0, "cnn"), (0, "ridge"), (1, "cnn"), (1, "ridge")]
    with open(out / "results.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == RESULT_COLUMNS
        assert len(list(reader)) == 4
    assert read_results(out / "results.csv")[0]["n_train"] == rows[0]["n_train"]
    valid = (len(RUNS) - 1) * SNAPSHOTS
    assert rows[0]["n_train"] + rows[0]["n_test"] == valid
    assert rows[0]["experiment"] == "all_b2" and rows[0]["dataset"] == "synthetic.zarr"
    assert (rows[0]["component"], rows[0]["pixelation"], rows[0]["epochs"]) == ("all", 2, 2)
    for row in rows:
        assert row["test_mae"] >= 0 and row["mean_predictor_test_mae"] > 0 and row["wall_s"] > 0
    assert sorted(p.name for p in out.glob("*.keras")) == ["seed_00.keras", "seed_01.keras"]

    info = json.loads((out / "run.json").read_text())
    assert info["layout"] == RUN_LAYOUT
    assert info["label"] == {"name": "D_J_per_m2", "model_unit": "mJ/m^2", "model_unit_scale": 1000.0}
    assert info["input_shape"] == [16, 16, 3]
    assert info["input_pixel_size_m"] == pytest.approx(10e-9)
    assert info["degradation"] == config.degradation.to_dict()
    assert info["keras_backend"] == keras.backend.backend() and info["keras_version"] == keras.__version__
    assert info["datasets"][0]["parameters_hash"] == "synthetic-test-store"
    assert info["seeds"] == [0, 1] and info["epochs"] == 2
    train = {tuple(p) for p in info["split"]["train_samples"]}
    test = {tuple(p) for p in info["split"]["test_samples"]}
    assert not train & test and len(train | test) == valid
    assert all(index < INVALID_RUN * SNAPSHOTS for _, index in train | test)  # invalid samples never used
    assert info["models"]["0"]["cnn"]["test_mae"] == pytest.approx(rows[0]["test_mae"])

    summary = summarize(rows)
    assert [(s["model"], s["n_seeds"]) for s in summary] == [("cnn", 2), ("ridge", 2)]
    cnn = summary[0]
    values = [r["test_mae"] for r in rows if r["model"] == "cnn"]
    assert cnn["test_mae_mean"] == pytest.approx(np.mean(values))
    assert cnn["test_mae_std"] == pytest.approx(np.std(values, ddof=1))
    assert "ridge test MAE" in format_summary(summary)


def test_load_run_gives_the_recorded_test_predictions(trained_run, synthetic_store):
    from dmilib.dataset import Dataset

    _, out, _ = trained_run
    run = load_run(out)
    assert run.seeds == [0, 1] and len(run.models) == 2
    assert isinstance(run.degradation, Degradation) and run.degradation.to_dict() == run.info["degradation"]
    # the fixture's store has 5 nm cells on a 32 x 32 grid; pixelation 2 makes 10 nm pixels
    assert run.training_cell_size_m == pytest.approx(5e-9) and run.training_grid_shape == (32, 32)
    assert run.input_pixel_size_m == pytest.approx(10e-9)
    assert run.conformal is None  # trained without calibration runs
    dataset = Dataset(synthetic_store)
    test_indices = [index for _, index in run.info["split"]["test_samples"]]
    images = run.degradation.apply(dataset.magnetization(test_indices), dataset.grid.dx)
    predictions = run.predict_J_per_m2(images)
    assert predictions.shape == (2, len(test_indices))
    recorded = np.array(run.info["models"]["1"]["cnn"]["test_predictions_mJ_per_m2"]) / 1e3
    np.testing.assert_allclose(predictions[1], recorded, rtol=1e-4, atol=1e-7)


def test_resuming_skips_trained_seeds_and_refuses_another_configuration(trained_run, tmp_path):
    config, out, rows = trained_run
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed)
    before = {p.name: p.stat().st_mtime_ns for p in resumed.glob("seed_*.keras")}
    more = ExperimentConfig(config.dataset_paths, degradation=config.degradation, seeds=(0, 1, 2), epochs=2,
                            name="all_b2")
    again = run_experiment(more, resumed, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in resumed.glob("seed_*.keras") if p.name in before} == before
    assert (resumed / "seed_02.keras").is_file()
    assert again[:4] == rows  # the skipped seeds' rows come back unchanged
    assert json.loads((resumed / "run.json").read_text())["seeds"] == [0, 1, 2]
    other = ExperimentConfig(config.dataset_paths, degradation=Degradation(component="mz", pixelation=2),
                             seeds=(0,), epochs=2)
    with pytest.raises(ValueError, match="another configuration"):
        run_experiment(other, resumed, progress=False)


def test_grouped_split_with_noise_copies(synthetic_store, tmp_path):
    from dmilib.dataset import Dataset

    degradation = Degradation(component="mz", pixelation=2, noise_sigma=0.05, noise_copies=2)
    config = ExperimentConfig((str(synthetic_store),), subset="both", split="grouped", degradation=degradation,
                              seeds=(0,), epochs=1)
    run_experiment(config, tmp_path / "grouped", progress=False)
    info = json.loads((tmp_path / "grouped" / "run.json").read_text())
    runs = Dataset(synthetic_store).array("run")
    train_runs = {int(runs[i]) for _, i in info["split"]["train_samples"]}
    test_runs = {int(runs[i]) for _, i in info["split"]["test_samples"]}
    assert train_runs and test_runs and not train_runs & test_runs
    cnn = info["models"]["0"]["cnn"]
    assert cnn["n_train_images"] == 2 * len(info["split"]["train_samples"])
    assert info["models"]["0"]["ridge"]["missing_test"] == 0
    inference = load_run(tmp_path / "grouped").inference_degradation
    assert (inference.noise_sigma, inference.pixelation, inference.component) == (0.0, 2, "mz")


def test_subsets_and_interval_split_select_the_right_samples(synthetic_store, tmp_path):
    config = ExperimentConfig((str(synthetic_store),), subset="uniform", split="interval-high",
                              degradation=Degradation(component="my", pixelation=2), seeds=(0,), epochs=1)
    rows = run_experiment(config, tmp_path / "uniform_high", progress=False)
    info = json.loads((tmp_path / "uniform_high" / "run.json").read_text())
    labels = np.repeat([d for d, _ in RUNS], SNAPSHOTS) * 1e3
    uniform = {i for i, (_, t) in enumerate(RUNS) if t == -1}
    for key, low, high in (("train_samples", 0.05, 0.6 - 1e-9), ("test_samples", 0.6, 1.0)):
        for _, index in info["split"][key]:
            assert index // SNAPSHOTS in uniform and low <= labels[index] <= high
    assert (rows[0]["n_train"], rows[0]["n_test"]) == (3 * SNAPSHOTS, 3 * SNAPSHOTS)


def test_experiment_config_rejects_bad_fields(synthetic_store):
    for field, value in (("subset", "all"), ("split", "kfold"), ("epochs", 0), ("seeds", ()), ("seeds", (1, 1)),
                         ("batch_size", 0), ("learning_rate", -1.0), ("test_fraction", 1.5)):
        with pytest.raises(ValueError, match=field):
            ExperimentConfig((str(synthetic_store),), **{field: value})


def _copy_run(trained_run, tmp_path):
    _, out, _ = trained_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    return copy


def test_load_run_refuses_a_missing_run_json(trained_run, tmp_path):
    copy = _copy_run(trained_run, tmp_path)
    (copy / "run.json").unlink()
    with pytest.raises(ValueError, match="no run.json"):
        load_run(copy)


def test_load_run_refuses_a_non_zip_model(trained_run, tmp_path):
    copy = _copy_run(trained_run, tmp_path)
    (copy / "seed_01.keras").write_bytes(b"\x80\x04\x95 not a zip but could be a pickle")
    with pytest.raises(ValueError, match="not a zip"):
        load_run(copy)


def test_load_run_refuses_a_zip_without_config_json(trained_run, tmp_path):
    copy = _copy_run(trained_run, tmp_path)
    with zipfile.ZipFile(copy / "seed_00.keras", "w") as archive:
        archive.writestr("model.pkl", b"anything")
    with pytest.raises(ValueError, match="without config.json"):
        load_run(copy)


def test_load_run_refuses_a_newer_layout(trained_run, tmp_path):
    copy = _copy_run(trained_run, tmp_path)
    info = json.loads((copy / "run.json").read_text())
    info["layout"] = RUN_LAYOUT + 1
    (copy / "run.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="newer"):
        load_run(copy)


def test_cli_train_prints_the_summary_and_rejects_bad_input(synthetic_store, tmp_path, capsys):
    from dmilib.cli import main

    out = tmp_path / "cli_run"
    status = main(["train", "--dataset", str(synthetic_store), "--component", "mz", "--pixelation", "2",
                   "--seeds", "1", "--epochs", "1", "--out", str(out), "--quiet"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "CNN test MAE" in printed and "ridge test MAE" in printed
    assert (out / "seed_00.keras").is_file()
    for flags, field in ((["--pixelation", "0"], "pixelation"), (["--seeds", "0"], "seeds"),
                         (["--noise-sigma", "-1"], "noise_sigma"), (["--epochs", "0"], "epochs"),
                         (["--test-fraction", "1.5"], "test_fraction")):
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--dataset", str(synthetic_store), "--out", str(tmp_path / "bad"), *flags])
        assert exit_info.value.code == 2
        error = capsys.readouterr().err
        assert field in error
        if field not in ("seeds",):  # --seeds is a count, checked by the CLI itself
            assert f"({flags[0]})" in error  # the flag the user typed, from FieldValueError.field
    assert not (tmp_path / "bad").exists()


def test_configuration_errors_name_their_field():
    from dmilib.errors import FieldValueError

    with pytest.raises(FieldValueError) as info:
        Degradation(noise_sigma=-0.1)
    assert info.value.field == "noise_sigma"
    with pytest.raises(FieldValueError) as info:
        ExperimentConfig(("x.zarr",), degradation={"component": "mz"})
    assert info.value.field == "degradation"


def test_bench_train_reports_images_per_second(capsys):
    from dmilib.bench import bench_train, main

    records = bench_train(sizes=(16,), channels=(1, 3), batch_size=4, steps=1, repeats=1)
    assert [r["channels"] for r in records] == [1, 3]
    assert all(r["images_per_s"] > 0 and r["backend"] == keras.backend.backend() for r in records)
    assert main(["train", "--size", "16", "--channels", "1", "--batch", "2", "--steps", "1", "--repeats", "1",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["image"] == "16x16"


def test_cnn_learns_on_quick_dataset(quick_dataset_path, tmp_path):
    """The quick dataset (5x reduced): pixelation 2 is the study's b = 10 on the full store.

    Three seeds, 30 epochs. The batch is 8 rather than 32: the 36 training images would give
    only 2 optimizer steps per epoch at 32 (the paper's ~1100 training images give ~35).
    """
    summaries = {}
    for component in ("mx", "my", "mz"):
        config = ExperimentConfig((str(quick_dataset_path),), subset="both", split="random",
                                  degradation=Degradation(component=component, pixelation=2), seeds=(0, 1, 2),
                                  epochs=30, batch_size=8)
        rows = run_experiment(config, tmp_path / component, progress=False)
        summaries[component] = {s["model"]: s for s in summarize(rows)}
    for component, summary in summaries.items():
        cnn = summary["cnn"]
        assert cnn["test_mae_mean"] < 0.5 * cnn["mean_predictor_test_mae_mean"], (component, cnn)
    grouped = ExperimentConfig((str(quick_dataset_path),), split="grouped",
                               degradation=Degradation(component="mz", pixelation=2), seeds=(0,), epochs=2)
    rows = run_experiment(grouped, tmp_path / "grouped", progress=False)
    assert rows[0]["n_test"] > 0 and np.isfinite(rows[0]["test_mae"])


def test_run_grid_in_two_processes_gives_the_rows_of_one(synthetic_store, tmp_path):
    from dmilib.learn.report import run_grid

    experiments = {f"{component}": ExperimentConfig((str(synthetic_store),),
                                                    degradation=Degradation(component=component, pixelation=2),
                                                    seeds=(0,), epochs=1)
                   for component in ("mx", "mz")}
    serial = run_grid(experiments, tmp_path / "serial", progress=False)
    parallel = run_grid(experiments, tmp_path / "parallel", workers=2)
    assert [(r["experiment"], r["model"], r["seed"]) for r in parallel] == \
        [(r["experiment"], r["model"], r["seed"]) for r in serial]
    for one, two in zip(serial, parallel):
        if one["model"] == "ridge":  # NumPy: identical in any process
            assert one["test_mae"] == two["test_mae"]
        assert np.isfinite(two["test_mae"])
    assert all((tmp_path / "parallel" / name / "results.csv").exists() for name in experiments)
    with pytest.raises(ValueError, match="workers"):
        run_grid(experiments, tmp_path / "bad", workers=0)


def test_load_run_refuses_a_same_shape_model_swapped_in(trained_run, tmp_path):
    copy = _copy_run(trained_run, tmp_path)
    info = json.loads((copy / "run.json").read_text())
    assert len(info["models"]["0"]["sha256"]) == 64
    shutil.copyfile(copy / "seed_00.keras", copy / "seed_01.keras")  # a valid archive of the same shape
    with pytest.raises(ValueError, match="seed_01.keras: its SHA-256 differs"):
        load_run(copy)


def test_a_second_training_into_one_folder_is_refused(trained_run, tmp_path):
    from dmilib.dataset.store import StoreBusyError, writer_lock

    config, _, _ = trained_run
    out = tmp_path / "busy_run"
    with writer_lock(out, "the run folder"):
        with pytest.raises(StoreBusyError, match="another process is writing the run folder"):
            run_experiment(config, out, progress=False)
    assert not (out / "run.json").exists()


def test_an_identical_configuration_reuses_finished_seeds_instead_of_training(trained_run, tmp_path, monkeypatch):
    config, out, rows = trained_run
    source = tmp_path / "other_chapter" / "all_b2"
    shutil.copytree(out, source)
    before = {p.name: p.read_bytes() for p in source.glob("seed_*.keras")}
    import dmilib.learn.model as model_module

    def no_training(*args, **kwargs):
        raise AssertionError("a reusable seed was trained again")

    monkeypatch.setattr(model_module, "fit_cnn", no_training)
    renamed = ExperimentConfig(config.dataset_paths, degradation=config.degradation, seeds=(0, 1), epochs=2,
                               name="pixelation/all/b=2")
    target = tmp_path / "pixelation" / "all" / "b=2"
    again = run_experiment(renamed, target, progress=False, reuse_from=[tmp_path / "other_chapter"])
    # The same test predictions and MAEs, under the new experiment's name.
    assert [{k: v for k, v in r.items() if k != "experiment"} for r in again] == \
        [{k: v for k, v in r.items() if k != "experiment"} for r in rows]
    assert {r["experiment"] for r in again} == {"pixelation/all/b=2"}
    assert {p.name: p.read_bytes() for p in target.glob("seed_*.keras")} == before
    assert {p.name: p.read_bytes() for p in source.glob("seed_*.keras")} == before  # the source is untouched
    info = json.loads((target / "run.json").read_text())
    assert info["seeds"] == [0, 1]
    assert all(entry["reused_from"] == str(source) for entry in info["models"].values())
    load_run(target)  # the copied run reads back with its checksums


def test_reuse_skips_other_configurations_and_damaged_models(trained_run, tmp_path, monkeypatch):
    config, out, rows = trained_run
    source = tmp_path / "other_chapter" / "all_b2"
    shutil.copytree(out, source)
    (source / "seed_01.keras").write_bytes(b"not the recorded model")
    trained = []
    import dmilib.learn.model as model_module
    real_fit = model_module.fit_cnn

    def counting_fit(*args, **kwargs):
        trained.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(model_module, "fit_cnn", counting_fit)
    same = ExperimentConfig(config.dataset_paths, degradation=config.degradation, seeds=(0, 1), epochs=2)
    run_experiment(same, tmp_path / "same", progress=False, reuse_from=[tmp_path / "other_chapter"])
    assert len(trained) == 1  # seed 0 copied, seed 1 (checksum mismatch) trained
    info = json.loads((tmp_path / "same" / "run.json").read_text())
    assert "reused_from" in info["models"]["0"] and "reused_from" not in info["models"]["1"]
    other = ExperimentConfig(config.dataset_paths, degradation=config.degradation, seeds=(0,), epochs=3)
    run_experiment(other, tmp_path / "other", progress=False, reuse_from=[tmp_path / "other_chapter"])
    assert len(trained) == 2  # another epoch count is another configuration: trained
