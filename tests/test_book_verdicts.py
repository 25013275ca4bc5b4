"""The paper's claims decided on study records (dmilib.book.verdicts), against calculations written here."""

import json
from pathlib import Path

import numpy as np
import pytest

from dmilib.book.verdicts import (STUDY_CHAPTERS, chapter_verdicts, components_verdicts, generalization_rows,
                                  generalization_verdicts, noise_plan, noise_verdicts, pixelation_verdicts,
                                  study_verdicts)

STANDARD_RECORDS = Path(__file__).parents[1] / "book" / "records" / "standard"


def _record(name: str) -> dict:
    path = STANDARD_RECORDS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path.name} is not recorded yet (make standard)")
    return json.loads(path.read_text())


def _mean_and_error(rows: list[dict], experiment: str) -> tuple[float, float]:
    """Mean CNN test MAE over seeds and its standard error (sample std / sqrt(n)), written out here."""
    values = np.array([row["test_mae"] for row in rows if row["experiment"] == experiment and row["model"] == "cnn"])
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def _verdict(differences: list[list[tuple[float, float]]]) -> str:
    """holds / does not hold / undecided for cases of (difference, standard error) pairs, lower is in favour."""
    held = sum(all(d < -2 * e for d, e in case) for case in differences)
    against = sum(any(d > 2 * e for d, e in case) for case in differences)
    return "holds" if held == len(differences) else "does not hold" if against else "undecided"


def test_pixelation_verdicts_map_the_papers_pixel_sizes_onto_the_records_b(result_rows):
    maes = {f"pixelation/mx/b={b}": [v - 0.01, v, v + 0.01] for b, v in ((2, 0.20), (5, 0.20), (10, 0.10), (20, 0.05))}
    rows = result_rows(maes, ridge=0.5)
    # 3 nm cells: 15 nm is b = 5, 30 nm is b = 10, and b = 20 (60 nm) lies beyond the paper's pixels.
    flat, gain, beyond, baseline = pixelation_verdicts(rows, 3e-9)
    assert "b = 2 (6 nm pixels) up to b = 5 (15 nm)" in flat.statement and flat.verdict == "agrees"
    assert "b = 10 (30 nm pixels) than at b = 5" in gain.statement and gain.verdict == "holds"
    assert "b = 20 (60 nm) than at b = 5" in beyond.statement and beyond.verdict == "holds"
    assert baseline.verdict == "better in 4 of 4 experiments"
    # The paper's own 1.5 nm cells: 15 nm is b = 10 and 30 nm is b = 20; nothing lies beyond.
    flat, gain, _ = pixelation_verdicts(rows, 1.5e-9)
    assert "up to b = 10 (15 nm)" in flat.statement and flat.verdict == "agrees"
    assert "b = 20 (30 nm pixels) than at b = 10" in gain.statement and gain.verdict == "holds"
    # A b = 10 twice as bad as b = 2 breaks "flat" only where b = 10 is one of the fine pixels.
    worse = result_rows({**maes, "pixelation/mx/b=10": [0.39, 0.40, 0.41]}, ridge=0.5)
    assert pixelation_verdicts(worse, 1.5e-9)[0].verdict == "differs"
    assert pixelation_verdicts(worse, 3e-9)[0].verdict == "agrees"


def test_noise_verdicts_read_the_grid_from_the_names_and_compare_with_both_references(result_rows):
    rows = result_rows({"noise/mz/b=5/sigma=0": [0.20, 0.21, 0.22], "noise/mz/b=5/clean-x5": [0.10, 0.11, 0.12],
                  "noise/mz/b=5/sigma=0.05": [0.19, 0.20, 0.21], "noise/mz/b=5/sigma=0.15": [0.30, 0.31, 0.32]})
    plan = noise_plan(rows)
    assert (plan.components, plan.pixelations, plan.sigmas, plan.copies) == (["mz"], [5], [0.0, 0.05, 0.15], [5])
    clean, control, _ = noise_verdicts(rows)
    # sigma = 0.15 is 0.10 worse than the clean model (SE 0.008): "no loss" differs on both references.
    assert clean.verdict == "differs" and "mz b=5 σ=0.15" in clean.detail.split("significantly worse:")[1]
    assert control.verdict == "differs" and "mz b=5 σ=0.05" in control.detail.split("significantly worse:")[1]


def test_generalization_needs_the_components_record_for_its_random_references():
    assert chapter_verdicts("generalization", {"generalization": {"rows": []}}) is None
    assert study_verdicts({}) == []
    with pytest.raises(ValueError, match="chapter must be one of"):
        chapter_verdicts("inference", {})


def test_components_verdicts_on_the_committed_record_match_a_test_written_here():
    rows = _record("components")["rows"]
    inplane, all_three, nonuniform, _ = components_verdicts(rows)

    def case(lower, higher):
        out = []
        for a in lower:
            for b in higher:
                (ma, ea), (mb, eb) = _mean_and_error(rows, a), _mean_and_error(rows, b)
                out.append((ma - mb, np.hypot(ea, eb)))
        return out

    subsets = ("uniform", "nonuniform", "both")
    assert inplane.verdict == _verdict([case([f"mx/{s}", f"my/{s}"], [f"mz/{s}"]) for s in subsets])
    assert all_three.verdict == _verdict([case([f"all/{s}"], [f"mx/{s}", f"my/{s}"]) for s in subsets])
    inputs = sorted({row["experiment"].split("/")[0] for row in rows})
    assert nonuniform.verdict == _verdict([case([f"{c}/nonuniform"], [f"{c}/uniform", f"{c}/both"]) for c in inputs])


def test_generalization_bound_on_the_committed_records_matches_a_test_written_here():
    rows = generalization_rows(_record("generalization"), _record("components"))
    robust = generalization_verdicts(rows)[0]
    differences = []
    for component in ("mx", "my", "mz", "all"):
        for interval in ("interval-high", "interval-low", "interval-middle"):
            m, e = _mean_and_error(rows, f"{interval}/{component}")
            mr, er = _mean_and_error(rows, f"random/{component}")
            differences.append([(m - 2 * mr, np.hypot(e, 2 * er))])
    # A bound holds when every case holds; one broken case is enough to break it.
    assert robust.verdict == _verdict(differences)


def test_every_committed_record_gets_a_verdict_for_each_claim():
    records = {chapter: json.loads((STANDARD_RECORDS / f"{chapter}.json").read_text())
               for chapter in STUDY_CHAPTERS if (STANDARD_RECORDS / f"{chapter}.json").is_file()}
    if not records:
        pytest.skip("no standard record yet")
    verdicts = study_verdicts(records)
    expected = set(records) - (set() if "components" in records else {"generalization"})
    assert {chapter for chapter, _ in verdicts} == expected
    assert not [finding for _, finding in verdicts if finding.verdict in ("not measured", "not tested")]


def test_verdict_figure_standardizes_each_comparison_and_draws_one_row_per_claim():
    from dmilib.learn.report import Finding
    from dmilib.plotting.verdicts import Z_LIMIT, plot_verdicts, standardized_differences

    # -0.1 / 0.02 = -5; +0.03 / 0.01 = +3; a closed-form pair (no error) goes to the edge.
    comparisons = [("a", -0.1, 0.02), ("b", 0.03, 0.01), ("c", 0.2, 0.0), ("d", -9.0, 0.1)]
    assert standardized_differences(comparisons) == pytest.approx([-5.0, 3.0, Z_LIMIT, -Z_LIMIT])
    entries = [("x", Finding("one", "holds", "d", comparisons[:1])), ("x", Finding("no numbers", "holds", "d")),
               ("y", Finding("two", "does not hold", "d", comparisons))]
    figure = plot_verdicts(entries)
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels == ["x: one [holds]", "y: two [does not hold]"]
    with pytest.raises(ValueError, match="at least one finding"):
        plot_verdicts(entries[1:2])
