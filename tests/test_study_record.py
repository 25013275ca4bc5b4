"""Study records: a chapter's experiments collected into one JSON, checked against a preset.

The record's numbers are compared with the ``results.csv`` files read here with the csv
module (an independent reading), and the staleness check with a store made under another
preset. The committed ``book/records/standard`` records are checked against today's
``standard`` preset, so a preset change without a new ``make standard`` fails here.
"""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from dmilib.dataset.config import preset  # noqa: E402
from dmilib.degrade import Degradation  # noqa: E402
from dmilib.learn.experiment import ExperimentConfig  # noqa: E402
from dmilib.learn.report import run_grid  # noqa: E402
from dmilib.learn.study_record import (check_study_record, collect_study_record, main,  # noqa: E402
                                       read_study_record, write_study_record)
from test_learn_experiment import _write_synthetic_store  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
STANDARD_RECORDS = REPOSITORY / "book" / "records" / "standard"
STUDY_CHAPTERS = ("components", "generalization", "pixelation", "noise")


@pytest.fixture(scope="module")
def chapter_results(tmp_path_factory):
    store = _write_synthetic_store(tmp_path_factory.mktemp("store") / "synthetic.zarr")
    root = tmp_path_factory.mktemp("results") / "pixelation"
    experiments = {f"mz/b={b}": ExperimentConfig((str(store),), degradation=Degradation(component="mz", pixelation=b),
                                                seeds=(0, 1), epochs=1, name=f"pixelation/mz/b={b}")
                   for b in (1, 2)}
    run_grid(experiments, root, progress=False)
    return root


def test_record_holds_every_result_row_of_every_experiment(chapter_results):
    record = collect_study_record(chapter_results, chapter="pixelation", profile="test")
    assert [e["folder"] for e in record["experiments"]] == ["mz/b=1", "mz/b=2"]
    expected = []
    for folder in ("mz/b=1", "mz/b=2"):
        with open(chapter_results / folder / "results.csv", newline="") as handle:
            expected += list(csv.DictReader(handle))
    assert len(record["rows"]) == len(expected) == 2 * 2 * 2  # experiments x seeds x (CNN, ridge)
    for row, raw in zip(record["rows"], expected, strict=True):
        assert row["experiment"] == raw["experiment"] and row["model"] == raw["model"]
        assert row["seed"] == int(raw["seed"])
        assert row["test_mae"] == pytest.approx(float(raw["test_mae"]), rel=1e-12)
    for experiment in record["experiments"]:
        assert experiment["seeds"] == [0, 1] and experiment["epochs"] == 1
        assert experiment["n_train"] + experiment["n_test"] == 32  # the store's 8 valid runs x 4 snapshots
        cnn_seconds = [float(r["wall_s"]) for r in expected
                       if r["model"] == "cnn" and r["experiment"] == experiment["experiment"]]
        assert experiment["training_seconds"] == pytest.approx(sum(cnn_seconds))
    assert record["dataset"]["parameters_hash"] == "synthetic-test-store"
    assert record["dataset"]["valid_samples"] == 32
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", record["git_commit"])


def test_seeds_reused_from_another_chapter_are_named_and_not_counted_as_training(chapter_results, tmp_path):
    source = collect_study_record(chapter_results, chapter="pixelation")
    b2 = next(e for e in source["experiments"] if e["folder"] == "mz/b=2")
    config = ExperimentConfig(tuple(json.loads((chapter_results / "mz/b=2/run.json").read_text())
                                    ["configuration"]["dataset_paths"]),
                              degradation=Degradation(component="mz", pixelation=2), seeds=(0, 1, 2), epochs=1)
    root = tmp_path / "noise"
    run_grid({"mz/b=2/sigma=0": config}, root, progress=False, reuse_from=[chapter_results])
    record = collect_study_record(root, chapter="noise")
    (experiment,) = record["experiments"]
    assert experiment["seeds"] == [0, 1, 2]
    assert experiment["reused_seeds"] == {"0": str(chapter_results / "mz/b=2"), "1": str(chapter_results / "mz/b=2")}
    with open(root / "mz/b=2/sigma=0" / "results.csv", newline="") as handle:
        seed_2 = [float(r["wall_s"]) for r in csv.DictReader(handle) if r["model"] == "cnn" and r["seed"] == "2"]
    assert experiment["training_seconds"] == pytest.approx(sum(seed_2))  # seed 2 only: 0 and 1 were copied
    copied = [r for r in record["rows"] if r["seed"] in (0, 1)]
    original = [r for r in source["rows"] if r["experiment"] == "mz/b=2"]
    assert [r["test_mae"] for r in copied] == [r["test_mae"] for r in original]
    assert b2["reused_seeds"] == {}


def test_record_holds_the_cnn_error_per_D_of_every_experiment(chapter_results):
    record = collect_study_record(chapter_results, chapter="pixelation")
    for experiment in record["experiments"]:
        info = json.loads((chapter_results / experiment["folder"] / "run.json").read_text())
        labels = info["test_labels_mJ_per_m2"]
        by_value = {}
        for entry in info["models"].values():  # an independent loop over seeds and images
            for label, prediction in zip(labels, entry["cnn"]["test_predictions_mJ_per_m2"], strict=True):
                by_value.setdefault(round(label, 6), []).append(prediction - label)
        curve = experiment["cnn_error_by_D"]
        assert curve["D_mJ_per_m2"] == sorted(by_value)
        for value, mae, bias, images in zip(curve["D_mJ_per_m2"], curve["mae"], curve["bias"], curve["images"],
                                            strict=True):
            errors = by_value[value]
            assert images * len(info["models"]) == len(errors)
            assert mae == pytest.approx(sum(abs(e) for e in errors) / len(errors), rel=1e-9)
            assert bias == pytest.approx(sum(errors) / len(errors), rel=1e-9, abs=1e-12)
        assert sum(curve["images"]) == experiment["n_test"]


def test_error_by_D_refuses_mismatched_shapes():
    from dmilib.learn.report import error_by_D

    with pytest.raises(ValueError, match="predictions_mJ_per_m2"):
        error_by_D([0.1, 0.2], [[0.1, 0.2, 0.3]])
    with pytest.raises(ValueError, match="test_labels_mJ_per_m2"):
        error_by_D([], [[]])


def test_record_round_trip_and_cli(chapter_results, tmp_path, capsys):
    out = tmp_path / "records" / "pixelation.json"
    assert main([str(chapter_results), "--chapter", "pixelation", "--out", str(out)]) == 0
    assert "2 experiments, 4 trained CNNs, 32 images" in capsys.readouterr().out
    record = read_study_record(out)
    assert json.loads(out.read_text()) == record
    assert write_study_record(record, tmp_path / "again.json").read_text() == out.read_text()


def test_a_record_from_another_dataset_is_stale(chapter_results):
    record = collect_study_record(chapter_results, chapter="pixelation")
    problems = check_study_record(record, "standard")
    assert len(problems) == 1 and "stale" in problems[0]
    fresh = dict(record, dataset=dict(record["dataset"], parameters_hash=preset("standard").parameters_hash()))
    assert check_study_record(fresh, "standard") == []
    assert check_study_record(dict(fresh, rows=[]), "standard") == ["the record holds no result rows"]


def test_cli_refuses_a_stale_record_and_a_missing_folder(chapter_results, tmp_path, capsys):
    out = tmp_path / "noise.json"
    with pytest.raises(SystemExit) as stop:
        main([str(chapter_results), "--chapter", "noise", "--out", str(out), "--check", "standard"])
    assert stop.value.code == 2 and "stale" in capsys.readouterr().err and not out.exists()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nowhere"), "--chapter", "noise", "--out", str(out)])
    assert "does not exist" in capsys.readouterr().err


def test_reading_refuses_what_is_not_a_record(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="not a dmilib study record"):
        read_study_record(path)


@pytest.mark.parametrize("chapter", STUDY_CHAPTERS)
def test_committed_standard_records_match_the_standard_preset(chapter):
    path = STANDARD_RECORDS / f"{chapter}.json"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPOSITORY)} is not recorded yet (make standard)")
    record = read_study_record(path)
    assert check_study_record(record, "standard") == []
    seeds = {len(e["seeds"]) for e in record["experiments"]}
    assert record["dataset"]["valid_samples"] >= 1000 and max(seeds) >= 3
    assert np.isfinite([row["test_mae"] for row in record["rows"]]).all()


@pytest.mark.parametrize("name", ["dataset", "kerr_study"])
def test_committed_standard_dataset_records_match_the_preset(name):
    record = json.loads((STANDARD_RECORDS / f"{name}.json").read_text())
    found = record.get("parameters_hash", record.get("dataset_parameters_hash"))
    assert found == preset("standard").parameters_hash()


def test_tested_ordering_finding_counts_only_differences_beyond_two_standard_errors(result_rows):
    from dmilib.learn.report import tested_ordering_finding

    # a: mean 0.10, b: mean 0.20, c: mean 0.11; sample std 0.01 each over 3 seeds,
    # so SE of a difference = sqrt(2 * 0.01**2 / 3) = 0.00816
    rows = result_rows({"a": [0.09, 0.10, 0.11], "b": [0.19, 0.20, 0.21], "c": [0.10, 0.11, 0.12]})
    error = np.sqrt(2 * 0.01**2 / 3)
    line = tested_ordering_finding("a beats b", rows, [(["a"], ["b"])], "cases")
    assert "**holds**" in line and f"a − b -0.100 ± {error:.3f}" in line
    assert "**undecided**" in tested_ordering_finding("a beats c", rows, [(["a"], ["c"])], "cases")
    assert "**does not hold**" in tested_ordering_finding("b beats a", rows, [(["b"], ["a"])], "cases")
    mixed = tested_ordering_finding("a beats b and c", rows, [(["a"], ["b"]), (["a"], ["c"])], "cases")
    assert "**undecided**" in mixed and "in 1 of 2 cases" in mixed
    assert "**not measured**" in tested_ordering_finding("a beats d", rows, [(["a"], ["d"])], "cases")


def test_tested_bound_finding_scales_the_reference_and_its_error(result_rows):
    from dmilib.learn.report import mae_difference, tested_bound_finding

    rows = result_rows({"interval": [0.28, 0.30, 0.32], "random": [0.09, 0.10, 0.11], "far": [0.50, 0.52, 0.54]})
    delta, error = mae_difference(rows, "interval", "random", factor=2.0)
    # 0.30 - 2 x 0.10; SE = sqrt(0.02**2 / 3 + 4 x 0.01**2 / 3)
    assert delta == pytest.approx(0.10) and error == pytest.approx(np.sqrt((0.02**2 + 4 * 0.01**2) / 3))
    assert "**does not hold**" in tested_bound_finding("within 2x", rows, [("interval", "random", 2.0)], "inputs")
    assert "**holds**" in tested_bound_finding("within 4x", rows, [("interval", "random", 4.0)], "inputs")
    line = tested_bound_finding("within 3x", rows, [("interval", "random", 3.0), ("far", "random", 6.0)], "inputs")
    assert "**undecided**" in line and "interval − 3 × random +0.000" in line


def test_noise_findings_compare_each_noisy_model_with_the_clean_one_and_the_control(result_rows):
    from dmilib.learn.report import noise_findings

    rows = result_rows({"noise/mx/b=5/sigma=0": [0.20, 0.21, 0.22], "noise/mx/b=5/clean-x5": [0.10, 0.11, 0.12],
                  "noise/mx/b=5/sigma=0.15": [0.11, 0.12, 0.13]})
    clean, control = noise_findings(rows, ["mx"], [5], [0.0, 0.15], [5], 5)
    # -0.09 against the clean model (better: no degradation); +0.01 ± 0.008 against the control
    assert "**agrees**" in clean and "-0.090" in clean
    assert "**agrees**" in control and "+0.010" in control
    worse = result_rows({"noise/mx/b=5/sigma=0": [0.10, 0.11, 0.12], "noise/mx/b=5/sigma=0.15": [0.20, 0.21, 0.22]})
    (line,) = noise_findings(worse, ["mx"], [5], [0.0, 0.15], [], 5)
    assert "**differs**" in line and "significantly worse: mx b=5 σ=0.15" in line
    (untested,) = noise_findings(worse, ["mx"], [5], [0.0], [], 5)
    assert untested.verdict == "not tested" and "no σ > 0" in untested


def test_pixelation_findings_test_flatness_and_the_coarse_gain(result_rows):
    from dmilib.learn.report import pixelation_findings

    rows = result_rows({"pixelation/mz/b=2": [0.20, 0.21, 0.22], "pixelation/mz/b=5": [0.20, 0.21, 0.22],
                  "pixelation/mz/b=10": [0.10, 0.11, 0.12]})
    flat, gain = pixelation_findings(rows, ["mz"], [2, 5], 10, {2: 6.0, 5: 15.0, 10: 30.0})
    assert "**agrees**" in flat and "b = 2 (6 nm pixels) up to b = 5 (15 nm)" in flat
    assert "**holds**" in gain and "pixelation/mz/b=10 − pixelation/mz/b=5 -0.100" in gain


def test_baseline_finding_sorts_experiments_by_the_tested_difference(result_rows):
    from dmilib.learn.report import baseline_finding

    rows = result_rows({"a": [0.05, 0.06, 0.07], "b": [0.30, 0.31, 0.32], "c": [0.10, 0.12, 0.14]})
    for row in list(rows):
        if row["seed"] == 0:  # one closed-form ridge fit per experiment, MAE 0.11
            rows.append(dict(row, model="ridge", test_mae=0.11))
    line = baseline_finding(rows)
    # a: -0.05 with SE 0.01/sqrt(3) (better); b: +0.20 (worse); c: +0.01 with SE 0.02/sqrt(3) (tied)
    assert "better in 1 of 3 experiments" in line
    assert "the ridge is better in b 0.310 vs 0.110" in line and "within the seed scatter in c 0.120 vs 0.110" in line
