"""The paper's claims, each decided on a chapter's study record (``book/records/<profile>/``).

One function per study chapter turns the record's rows into that chapter's
:class:`~dmilib.learn.report.Finding` lines: the chapter's "On the standard dataset"
section shows them, and :func:`study_verdicts` gathers all of them into the book's
summary table, so a claim is stated and tested in one place. Every test is the
chapters' rule: a difference of two mean test MAEs counts when it exceeds twice its
standard error over the seeds (:func:`~dmilib.learn.report.mae_difference`).

The experiment names are those the chapters give their grids (``mz/uniform``,
``interval-high/mx``, ``pixelation/mx/b=5``, ``noise/mx/b=5/sigma=0.1``); the inputs,
pixelations and noise levels are read from the record, so a profile with fewer of them
is decided on what it has.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..learn.report import (ExperimentKey, Finding, baseline_finding, experiment_key, mae_statistics,
                            noise_findings, pixelation_findings, tested_bound_finding, tested_ordering_finding)

#: Inputs in the study's order; a record holds some of them.
COMPONENTS = ("mx", "my", "mz", "inplane", "all")
#: The components chapter's training subsets.
SUBSETS = ("uniform", "nonuniform", "both")
#: The generalization chapter's disjoint-D splits, and all its splits with the references.
INTERVALS = ("interval-high", "interval-low", "interval-middle")
SPLITS = ("random", *INTERVALS, "grouped")
#: Pixel sizes (nm) of the paper's b = 10 and b = 20 on its 1.5 nm cells: the two
#: pixelations its findings name. A record's own b are mapped to them by pixel size.
PAPER_FLAT_UP_TO_NM = 15.0
PAPER_COARSE_NM = 30.0


def components_verdicts(rows: list[dict]) -> list[Finding]:
    """The paper's three findings on its Fig. 4 and the ridge comparison, on a components record."""
    present = mae_statistics(rows, "cnn")
    components = [c for c in COMPONENTS if f"{c}/both" in present]
    return [
        tested_ordering_finding("In-plane components ($m_x$, $m_y$) give a lower MAE than $m_z$", rows,
                                [([f"{c}/{s}" for c in ("mx", "my")], [f"mz/{s}"]) for s in SUBSETS], "subsets"),
        tested_ordering_finding("All three components together beat each in-plane component", rows,
                                [([f"all/{s}"], [f"{c}/{s}" for c in ("mx", "my")]) for s in SUBSETS], "subsets"),
        tested_ordering_finding("Training on the non-uniform films alone gives the lowest MAE", rows,
                                [([f"{c}/nonuniform"], [f"{c}/uniform", f"{c}/both"]) for c in components],
                                "inputs", preposition="for"),
        baseline_finding(rows),
    ]


def random_references(component_rows: list[dict], subset: str = "both") -> list[dict]:
    """The components chapter's rows on ``subset`` renamed ``random/<input>``: the generalization
    chapter's random-split references (the same images, split at random), not trained again."""
    return [dict(row, experiment=experiment_key("random", ExperimentKey.parse(row["experiment"])[0]))
            for row in component_rows if ExperimentKey.parse(row["experiment"])[1] == subset]


def generalization_rows(record: dict, components_record: dict, subset: str = "both") -> list[dict]:
    """A generalization record's rows plus its :func:`random_references` from the components record."""
    return record["rows"] + random_references(components_record["rows"], subset)


def generalization_verdicts(rows: list[dict]) -> list[Finding]:
    """The paper's two findings on its Fig. 5, our grouped-split bound, and the ridge comparison.

    ``rows``: :func:`generalization_rows`. Bounds: each interval's MAE within twice the
    random split's; the largest interval MAE of an input within twice its smallest; the
    grouped split within 1.5 times the random one.
    """
    cnn = mae_statistics(rows, "cnn")
    components = [c for c in COMPONENTS if all(f"{s}/{c}" in cnn for s in SPLITS)]
    return [
        tested_bound_finding("Robust generalization to $D$ outside the training interval (MAE within twice "
                             "the random split's)", rows,
                             [(f"{s}/{c}", f"random/{c}", 2.0) for c in components for s in INTERVALS],
                             "interval experiments"),
        tested_bound_finding("Weak dependence of the MAE on the selected interval (largest within twice the "
                             "smallest)", rows,
                             [(max(names, key=lambda n: cnn[n][0]), min(names, key=lambda n: cnn[n][0]), 2.0)
                              for c in components for names in [[f"{s}/{c}" for s in INTERVALS]]],
                             "inputs"),
        tested_bound_finding("(Ours, not the paper's) Whole unseen runs inside the trained range, the grouped "
                             "split, cost little: MAE within 1.5 times the random split's", rows,
                             [(f"grouped/{c}", f"random/{c}", 1.5) for c in components], "inputs"),
        baseline_finding(rows, [f"{s}/{c}" for s in SPLITS for c in components]),
    ]


def _grid(rows: list[dict]) -> tuple[list[str], set[tuple[str, ...]]]:
    """The inputs (study order) of a record's grid and its names' parts after the chapter's."""
    parts = {ExperimentKey.parse(row["experiment"]).parts[1:] for row in rows}
    return [c for c in COMPONENTS if any(p[0] == c for p in parts)], parts


def _value(label: str) -> str:
    """``"5"`` of ``"b=5"``."""
    return label.split("=")[1]


def pixelation_plan(rows: list[dict]) -> tuple[list[str], list[int]]:
    """The inputs (study order) and the pixelations ``b`` (ascending) of a pixelation record."""
    components, parts = _grid(rows)
    return components, sorted({int(_value(b)) for _, b in parts})


def pixelation_verdicts(rows: list[dict], cell_size_m: float) -> list[Finding]:
    """The paper's two findings on its Fig. 6, mapped by pixel size, plus ours beyond it.

    The paper's "flat up to b = 10" is tested on the record's ``b`` with pixels up to 15 nm,
    its "slightly better at b = 20" on the ``b`` nearest 30 nm against the finest-but-flat
    one; where the record has coarser pixels still, "smaller at the coarsest ``b``" is our
    own finding beyond the paper's range.
    """
    components, pixelations = pixelation_plan(rows)
    size_nm = {b: b * cell_size_m * 1e9 for b in pixelations}
    fine = [b for b in pixelations if size_nm[b] <= PAPER_FLAT_UP_TO_NM + 1e-9]
    coarser = [b for b in pixelations if size_nm[b] > PAPER_FLAT_UP_TO_NM + 1e-9]
    coarse = min(coarser, key=lambda b: abs(size_nm[b] - PAPER_COARSE_NM), default=None)
    findings = pixelation_findings(rows, components, fine, coarse, size_nm)
    if fine and coarse is not None and pixelations[-1] != coarse:
        coarsest = pixelations[-1]
        findings.append(tested_ordering_finding(
            f"(Ours, beyond the paper's pixels) The MAE is smaller at b = {coarsest} ({size_nm[coarsest]:g} nm) "
            f"than at b = {fine[-1]} ({size_nm[fine[-1]]:g} nm)", rows,
            [([f"pixelation/{c}/b={coarsest}"], [f"pixelation/{c}/b={fine[-1]}"]) for c in components],
            "components", preposition="for"))
    return findings + [baseline_finding(rows)]


@dataclass(frozen=True)
class NoisePlan:
    """What a noise record holds: inputs, pixelations, noise levels and the control's copies."""

    components: list[str]
    pixelations: list[int]
    sigmas: list[float]
    copies: list[int]


def noise_plan(rows: list[dict]) -> NoisePlan:
    """The grid of a noise record, read from its experiment names."""
    components, parts = _grid(rows)
    return NoisePlan(
        components=components,
        pixelations=sorted({int(_value(b)) for _, b, _ in parts}),
        sigmas=sorted({float(_value(label)) for *_, label in parts if label.startswith("sigma=")}),
        copies=sorted({int(label.split("x")[1]) for *_, label in parts if label.startswith("clean-x")}))


def noise_verdicts(rows: list[dict]) -> list[Finding]:
    """The paper's finding on its Fig. 7 (no loss with noise), against the clean model and the control."""
    plan = noise_plan(rows)
    return noise_findings(rows, plan.components, plan.pixelations, sorted({0.0, *plan.sigmas}),
                          plan.pixelations if plan.copies else [], plan.copies[0] if plan.copies else 1) + \
        [baseline_finding(rows)]


#: The study chapters in book order, with the records each needs.
STUDY_CHAPTERS = ("components", "generalization", "pixelation", "noise")


def chapter_verdicts(chapter: str, records: dict[str, dict]) -> list[Finding] | None:
    """``chapter``'s findings from ``records`` (chapter -> record), or None if a record it needs is missing."""
    if chapter not in STUDY_CHAPTERS:
        raise ValueError(f"chapter must be one of {', '.join(STUDY_CHAPTERS)}, got {chapter!r}")
    record = records.get(chapter)
    if record is None:
        return None
    if chapter == "components":
        return components_verdicts(record["rows"])
    if chapter == "generalization":
        if records.get("components") is None:
            return None
        return generalization_verdicts(generalization_rows(record, records["components"]))
    if chapter == "pixelation":
        return pixelation_verdicts(record["rows"], float(record["dataset"]["cell_size_m"][0]))
    return noise_verdicts(record["rows"])


def study_verdicts(records: dict[str, dict]) -> list[tuple[str, Finding]]:
    """Every study chapter's findings that its records allow, as ``(chapter, finding)`` in book order."""
    out = []
    for chapter in STUDY_CHAPTERS:
        out += [(chapter, finding) for finding in chapter_verdicts(chapter, records) or []]
    return out
