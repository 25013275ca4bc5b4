"""Experiment grids and their figures, for the book's results chapters.

:func:`run_grid` trains a list of named experiments (each a resumable run folder under one
results root) and returns the tidy rows of all of them; :func:`summary_table` and
:func:`plot_mae` turn them into the tables and bar charts of the paper's Figs. 4-7, with
the CNN beside the ridge shape baseline. Every figure's caption line names the dataset,
split, seeds and epochs (:func:`provenance_line`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .experiment import ExperimentConfig, run_experiment, summarize


@dataclass(frozen=True)
class ExperimentKey:
    """The name of one experiment of a grid as its parts: ``("mz", "uniform")`` is ``"mz/uniform"``.

    The name is the ``experiment`` column of the rows and the run folder under the results
    root (one folder level per part). Chapters build keys from their grid's axes and read
    the axes back with :meth:`parse` instead of splitting strings.
    """

    parts: tuple[str, ...]

    SEPARATOR = "/"

    def __post_init__(self) -> None:
        parts = (self.parts,) if isinstance(self.parts, str) else tuple(self.parts)
        if not parts or any(not isinstance(p, str) or not p or self.SEPARATOR in p for p in parts):
            raise ValueError(f"parts must be non-empty strings without {self.SEPARATOR!r}, got {self.parts!r}")
        object.__setattr__(self, "parts", parts)

    @classmethod
    def parse(cls, name) -> "ExperimentKey":
        """The key of an experiment name (a key is returned as it is)."""
        return name if isinstance(name, cls) else cls(tuple(str(name).split(cls.SEPARATOR)))

    @property
    def name(self) -> str:
        return self.SEPARATOR.join(self.parts)

    @property
    def label(self) -> str:
        """The last part: the bar label inside a group of :func:`plot_mae`."""
        return self.parts[-1]

    def __getitem__(self, index: int) -> str:
        return self.parts[index]

    def __str__(self) -> str:
        return self.name


def experiment_key(*parts) -> str:
    """The experiment name of ``parts`` (``experiment_key("mz", "uniform") == "mz/uniform"``)."""
    return ExperimentKey(tuple(str(p) for p in parts)).name


def run_grid(experiments: dict[str, ExperimentConfig], results_root, *, progress: bool = True,
             workers: int = 1, reuse_from=()) -> list[dict]:
    """Run every experiment into ``results_root/<name>`` (resumable) and pool their rows.

    Parameters
    ----------
    experiments : dict
        Experiment name (str or :class:`ExperimentKey`) -> configuration. Names become
        folder names and the ``experiment`` column of the rows.
    results_root : path
        Folder holding one run folder per experiment; rerunning skips finished seeds.
    progress : bool
        A progress bar per experiment (only with ``workers=1``).
    workers : int
        Experiments trained at once, each in its own process. On a CPU, small images
        (the quick profile's 22 x 22 pixels) leave a core idle while Keras runs its
        Python side, so 2 workers on 2 cores train about twice as fast; on a GPU keep 1.
    reuse_from : sequence of paths
        Folders whose finished runs of an identical configuration are copied in rather than
        trained again (see :func:`~dmilib.learn.experiment.run_experiment`); for example
        the components chapter's results, whose ``mx/both`` at b = 5 is the pixelation
        chapter's ``mx`` at b = 5.

    Returns
    -------
    list of dict
        The rows of every experiment, in the order of ``experiments`` (as one worker gives).

    Raises
    ------
    ValueError
        If ``workers`` is not an integer >= 1, or an experiment's configuration is invalid.
    """
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    root = Path(results_root)
    reuse = tuple(str(path) for path in reuse_from)
    names = {str(ExperimentKey.parse(name)): config for name, config in experiments.items()}
    named = {name: config if config.name == name else replace(config, name=name) for name, config in names.items()}
    if workers == 1 or len(named) == 1:
        return [row for name, config in named.items()
                for row in run_experiment(config, root / name, progress=progress, reuse_from=reuse)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": a fresh interpreter per worker, never a fork of a process holding a Keras session.
    with ProcessPoolExecutor(max_workers=int(workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {name: pool.submit(run_experiment, config, root / name, False, reuse)
                   for name, config in named.items()}
        return [row for name in named for row in futures[name].result()]


def summary_table(rows: list[dict], columns=("experiment",)) -> list[dict]:
    """One record per experiment: CNN and ridge test MAE (mean ± std over seeds, mJ/m²).

    Returns plain dicts (``experiment``, ``n_train``, ``n_test``, ``seeds``, ``cnn``,
    ``ridge``, ``mean_predictor``, and the CNN's train MAE) ready for display.
    """
    by_experiment: dict[str, dict] = {}
    for entry in summarize(rows):
        record = by_experiment.setdefault(entry["experiment"], {
            "experiment": entry["experiment"],
            "n_train": entry["n_train"],
            "n_test": entry["n_test"],
            "seeds": entry["n_seeds"],
            "mean_predictor": f"{entry['mean_predictor_test_mae_mean']:.3f}",
        })
        cell = f"{entry['test_mae_mean']:.3f} ± {entry['test_mae_std']:.3f}"
        record[entry["model"]] = cell
        if entry["model"] == "cnn":
            record["cnn_train"] = f"{entry['train_mae_mean']:.3f} ± {entry['train_mae_std']:.3f}"
    return list(by_experiment.values())


def pooled_seed_scatter(rows: list[dict], model: str = "cnn") -> float:
    """Root-mean-square over experiments of the seed-to-seed std of the test MAE (mJ/m²).

    Only experiments with at least two seeds count; 0.0 when there are none.
    """
    return _pooled_scatter(summarize(rows), model)


def _pooled_scatter(summary: list[dict], model: str) -> float:
    spreads = [entry["test_mae_std"] ** 2 for entry in summary if entry["model"] == model and entry["n_seeds"] > 1]
    return float(np.sqrt(np.mean(spreads))) if spreads else 0.0


def _means_and_errors(rows: list[dict]) -> dict[tuple[str, str], tuple[float, float]]:
    """(experiment, model) -> (mean test MAE, its standard error over seeds), the rule of :func:`mae_difference`."""
    summary = summarize(rows)
    pooled = {model: _pooled_scatter(summary, model) for model in {entry["model"] for entry in summary}}
    return {(entry["experiment"], entry["model"]):
            (entry["test_mae_mean"],
             (entry["test_mae_std"] if entry["n_seeds"] > 1 else pooled[entry["model"]]) / np.sqrt(entry["n_seeds"]))
            for entry in summary}


def mae_difference(rows: list[dict], name: str, reference: str, model: str = "cnn",
                   factor: float = 1.0) -> tuple[float, float]:
    """Test-MAE difference ``name - factor * reference`` (means over seeds) and its standard error.

    The standard error is ``sqrt(s1**2 / n1 + factor**2 * s2**2 / n2)`` with ``s`` the std
    over the ``n`` seeds of each experiment; an experiment with a single seed is given the
    :func:`pooled_seed_scatter` of the experiments in ``rows`` that have several.
    """
    statistics = _means_and_errors(rows)
    (first, first_error), (second, second_error) = statistics[(name, model)], statistics[(reference, model)]
    return float(first - factor * second), float(np.hypot(first_error, factor * second_error))


def mae_statistics(rows: list[dict], model: str = "cnn") -> dict[str, tuple[float, float]]:
    """Experiment -> (mean, std over seeds) of the test MAE in mJ/m² for one model."""
    out = {}
    for entry in summarize(rows):
        if entry["model"] == model:
            out[entry["experiment"]] = (entry["test_mae_mean"], entry["test_mae_std"])
    return out


def provenance_line(rows: list[dict], dataset_label: str) -> str:
    """"dataset ..., split ..., N seeds x E epochs" for a caption, read from the rows."""
    splits = sorted({str(r["split"]) for r in rows})
    seeds = sorted({int(r["seed"]) for r in rows})
    epochs = sorted({int(r["epochs"]) for r in rows})
    return (f"dataset: {dataset_label}; split: {', '.join(splits)}; seeds {seeds[0]}..{seeds[-1]} "
            f"({len(seeds)}) x {', '.join(map(str, epochs))} epochs; MAE in mJ/m²")


def plot_mae(rows: list[dict], groups: list[tuple[str, list[str]]], *, title: str = "", caption: str = "",
             ylabel: str = "test MAE (mJ/m²)"):
    """Grouped bars of test MAE (mean ± std over seeds), CNN beside the ridge baseline.

    Parameters
    ----------
    rows : list of dict
        Rows from :func:`run_grid`.
    groups : list of (label, [experiment names])
        One cluster of bars per group (e.g. a component), one pair of bars (CNN, ridge)
        per experiment in it; the experiment name is the bar's tick label.
    """
    from matplotlib.figure import Figure

    cnn, ridge = mae_statistics(rows, "cnn"), mae_statistics(rows, "ridge")
    missing = [name for _, names in groups for name in names if name not in cnn]
    if missing:
        raise ValueError(f"groups name experiments without results: {missing}")
    figure = Figure(figsize=(max(6.0, 1.1 * sum(len(n) for _, n in groups)), 4.2), layout="constrained")
    axes = figure.add_subplot()
    position, ticks, labels, separators = 0.0, [], [], []
    width = 0.38
    for group_index, (group_label, names) in enumerate(groups):
        start = position
        for name in names:
            mean, std = cnn[name]
            axes.bar(position - width / 2, mean, width, yerr=std, capsize=3, color="tab:blue",
                     label="CNN" if not ticks else None)
            if name in ridge:
                mean_r, std_r = ridge[name]
                axes.bar(position + width / 2, mean_r, width, yerr=std_r, capsize=3, color="tab:gray",
                         label="ridge on shape features" if not ticks else None)
            ticks.append(position)
            labels.append(ExperimentKey.parse(name).label)
            position += 1.0
        axes.text((start + position - 1) / 2, 1.0, group_label, transform=axes.get_xaxis_transform(),
                  ha="center", va="bottom", fontsize=9)
        separators.append(position - 0.5)
        position += 0.5
    for x in separators[:-1]:
        axes.axvline(x + 0.25, color="0.8", lw=0.8)
    axes.set_xticks(ticks, labels, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel(ylabel)
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper right", fontsize=8)
    if title:
        figure.suptitle(title)
    if caption:
        figure.text(0.01, -0.02, caption, fontsize=7, ha="left", va="top", wrap=True)
    return figure


def error_by_D(test_labels_mJ_per_m2, predictions_mJ_per_m2) -> dict[str, list]:
    """Test error per distinct ``D``, pooled over seeds: where in ``D`` a model goes wrong.

    Parameters
    ----------
    test_labels_mJ_per_m2 : array, shape (n,)
        The test images' ``D`` in mJ/m².
    predictions_mJ_per_m2 : array, shape (seeds, n)
        Each seed's prediction for every test image, in mJ/m².

    Returns
    -------
    dict
        ``D_mJ_per_m2`` (the distinct test values, ascending, rounded to 1e-6), ``mae``
        (mean absolute error over seeds and the images of that ``D``), ``bias`` (mean signed
        error, prediction minus truth: negative means predicted too small) and ``images``
        (test images per value), all lists of equal length.

    Raises
    ------
    ValueError
        If the shapes do not match or there is no test image.

    Examples
    --------
    >>> curve = error_by_D([0.1, 0.1, 0.2], [[0.1, 0.3, 0.1], [0.1, 0.1, 0.4]])
    >>> curve["D_mJ_per_m2"], [round(v, 6) for v in curve["mae"]], [round(v, 6) for v in curve["bias"]]
    ([0.1, 0.2], [0.05, 0.15], [0.05, 0.05])
    """
    labels = np.round(np.asarray(test_labels_mJ_per_m2, dtype=np.float64), 6)
    predictions = np.asarray(predictions_mJ_per_m2, dtype=np.float64)
    if labels.ndim != 1 or labels.size == 0 or predictions.ndim != 2 or predictions.shape[1] != labels.size \
            or predictions.shape[0] == 0:
        raise ValueError(f"test_labels_mJ_per_m2 must have shape (n,) with n >= 1 and predictions_mJ_per_m2 shape "
                         f"(seeds, n); got {labels.shape} and {predictions.shape}")
    errors = predictions - labels
    values = np.unique(labels)
    chosen = [labels == value for value in values]
    return {"D_mJ_per_m2": [float(v) for v in values],
            "mae": [float(np.mean(np.abs(errors[:, keep]))) for keep in chosen],
            "bias": [float(np.mean(errors[:, keep])) for keep in chosen],
            "images": [int(keep.sum()) for keep in chosen]}


def plot_error_by_D(curves: dict[str, dict], groups: list[tuple[str, list[str]]], *, references=None,
                    title: str = "", caption: str = ""):
    """Test MAE against ``D`` (from :func:`error_by_D`), one panel per group, one line per experiment.

    Parameters
    ----------
    curves : dict
        Experiment name -> the dict of :func:`error_by_D`.
    groups : list of (label, [experiment names])
        One panel per group (e.g. a component); each named experiment is a line, labelled by
        its first name part (e.g. the split).
    references : dict, optional
        Group label -> a reference MAE drawn as a dotted horizontal line (e.g. the random split's).

    Raises
    ------
    ValueError
        If a group names an experiment without a curve.
    """
    from matplotlib.figure import Figure

    missing = [name for _, names in groups for name in names if name not in curves]
    if missing:
        raise ValueError(f"groups name experiments without an error curve: {missing}")
    figure = Figure(figsize=(3.4 * len(groups) + 0.6, 3.6), layout="constrained")
    axes = figure.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    for ax, (label, names) in zip(axes, groups):
        for number, name in enumerate(names):
            d, mae = np.asarray(curves[name]["D_mJ_per_m2"], float), np.asarray(curves[name]["mae"], float)
            if d.size > 2:  # no line across a gap in the test D (the middle split's two pieces)
                gap = np.flatnonzero(np.diff(d) > 5 * np.median(np.diff(d))) + 1
                d, mae = np.insert(d, gap, np.nan), np.insert(mae, gap, np.nan)
            ax.plot(d, mae, ".-", color=f"C{number}", ms=3, lw=0.8, label=ExperimentKey.parse(name)[0])
        if references and label in references:
            ax.axhline(references[label], color="0.3", ls=":", lw=1, label="random split")
        ax.set_title(label)
        ax.set_xlabel("D (mJ/m²)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test MAE (mJ/m²)")
    axes[0].legend(fontsize=7)
    if title:
        figure.suptitle(title)
    if caption:
        figure.text(0.01, -0.02, caption, fontsize=7, ha="left", va="top", wrap=True)
    return figure


class Finding(str):
    """One Markdown line of a verdict list, ``- statement: **verdict** (detail).``, that keeps its parts.

    A ``str``, so chapters join and display findings as text; ``statement``, ``verdict`` and
    ``detail`` let a summary (:mod:`dmilib.book.verdicts`) tabulate them without parsing.
    ``comparisons`` holds the tested differences as ``(label, difference, standard error)``
    in mJ/m², each signed so that a negative difference speaks for the statement (a lower
    MAE where the statement expects one, a bound kept, no loss) and a positive one against.
    """

    statement: str
    verdict: str
    detail: str
    comparisons: tuple[tuple[str, float, float], ...]

    def __new__(cls, statement: str, verdict: str, detail: str, comparisons=()) -> "Finding":
        line = super().__new__(cls, f"- {statement}: **{verdict}** ({detail}).")
        line.statement, line.verdict, line.detail = statement, verdict, detail
        line.comparisons = tuple((str(label), float(delta), float(error)) for label, delta, error in comparisons)
        return line


def _not_measured(statement: str, missing) -> Finding:
    return Finding(statement, "not measured", f"needs {', '.join(missing)}")


def compare(statement: str, ours: bool, detail: str, comparisons=()) -> Finding:
    """One line of the "compared with the paper" list: ``agrees``/``differs`` + detail."""
    return Finding(statement, "agrees" if ours else "differs", detail, comparisons)


def ordering_finding(statement: str, means: dict[str, tuple[float, float]], cases: list[tuple[list[str], list[str]]],
                     scope: str, preposition: str = "in") -> Finding:
    """A :func:`compare` line for "``lower`` beats ``higher``", checked case by case.

    Each case ``(lower, higher)`` holds when every experiment of ``lower`` has a smaller mean
    test MAE than every one of ``higher``; the finding agrees when all cases hold. ``means``
    is :func:`mae_statistics`' result. A case naming an experiment without results makes
    the finding "not measured".
    """
    missing = sorted({name for case in cases for name in (*case[0], *case[1]) if name not in means})
    if missing:
        return _not_measured(statement, missing)
    holds = [all(means[a][0] < means[b][0] for a in lower for b in higher) for lower, higher in cases]
    detail = "; ".join(", ".join(f"{name} {means[name][0]:.3f} ± {means[name][1]:.3f}" for name in (*lower, *higher))
                       for lower, higher in cases)
    return compare(statement, all(holds), f"holds {preposition} {sum(holds)} of {len(holds)} {scope}; {detail}")


def tested_ordering_finding(statement: str, rows: list[dict], cases: list[tuple[list[str], list[str]]],
                            scope: str, model: str = "cnn", preposition: str = "in") -> Finding:
    """A verdict on "``lower`` beats ``higher``" that counts only differences beyond the seed scatter.

    Every pair (a of ``lower``, b of ``higher``) of a case is tested with
    :func:`mae_difference`: ``MAE(a) - MAE(b) < -2 SE`` supports the statement,
    ``> +2 SE`` contradicts it, anything between is within the scatter between seeds. A case
    *holds* when all its pairs support it and is *contradicted* when any pair contradicts it.
    The verdict is **holds** when every case holds, **does not hold** when any case is
    contradicted, and **undecided** otherwise; the detail gives each difference and its
    standard error in mJ/m².
    """
    entries = mae_statistics(rows, model)
    missing = sorted({name for case in cases for name in (*case[0], *case[1]) if name not in entries})
    if missing:
        return _not_measured(statement, missing)
    held, contradicted, details, comparisons = 0, 0, [], []
    for lower, higher in cases:
        tests = [(a, b, *mae_difference(rows, a, b, model)) for a in lower for b in higher]
        comparisons += [(f"{a} − {b}", delta, error) for a, b, delta, error in tests]
        if all(delta < -2 * error for *_, delta, error in tests):
            held += 1
        elif any(delta > 2 * error for *_, delta, error in tests):
            contradicted += 1
        details += [f"{a} − {b} {delta:+.3f} ± {error:.3f}"
                    for a, b, delta, error in tests]
    verdict = "holds" if held == len(cases) else "does not hold" if contradicted else "undecided"
    summary = (f"supported beyond 2 standard errors {preposition} {held} of {len(cases)} {scope}, "
               f"contradicted {preposition} {contradicted}")
    return Finding(statement, verdict, f"{summary}; MAE differences, mJ/m²: {'; '.join(details)}", comparisons)


def tested_bound_finding(statement: str, rows: list[dict], cases: list[tuple[str, str, float]], scope: str,
                         model: str = "cnn", preposition: str = "for") -> Finding:
    """A verdict on bounds "MAE(name) <= factor x MAE(reference)", tested against the seed scatter.

    Each case ``(name, reference, factor)`` is tested with :func:`mae_difference`
    (``name - factor * reference``): below ``-2 SE`` supports the bound, above ``+2 SE``
    breaks it, between is within the scatter. The verdict is **holds** when every case
    supports it, **does not hold** when any case breaks it, **undecided** otherwise.
    """
    entries = mae_statistics(rows, model)
    missing = sorted({n for name, reference, _ in cases for n in (name, reference) if n not in entries})
    if missing:
        return _not_measured(statement, missing)
    tests = [(name, reference, factor, *mae_difference(rows, name, reference, model, factor))
             for name, reference, factor in cases]
    held = sum(delta < -2 * error for *_, delta, error in tests)
    broken = sum(delta > 2 * error for *_, delta, error in tests)
    verdict = "holds" if held == len(tests) else "does not hold" if broken else "undecided"
    details = "; ".join(f"{name} − {factor:g} × {reference} {delta:+.3f} ± {error:.3f}"
                        for name, reference, factor, delta, error in tests)
    return Finding(statement, verdict, f"supported beyond 2 standard errors {preposition} {held} of "
                   f"{len(tests)} {scope}, broken {preposition} {broken}; mJ/m²: {details}",
                   [(f"{name} − {factor:g} × {reference}", delta, error)
                    for name, reference, factor, delta, error in tests])


def significance_finding(statement: str, rows: list[dict], pairs: list[tuple[str, str, str]],
                         model: str = "cnn") -> Finding:
    """A :func:`compare` line for "no significant degradation": each ``(name, reference, label)``.

    A change ``name - reference`` of the mean test MAE counts as significant when it exceeds
    twice its standard error (:func:`mae_difference`); the finding agrees when none does.
    """
    worse, details, comparisons = [], [], []
    for name, reference, label in pairs:
        delta, error = mae_difference(rows, name, reference, model)
        details.append(f"{label}: {delta:+.3f} ± {error:.3f}")
        comparisons.append((label, delta, error))
        if delta > 2 * error:
            worse.append(label)
    return compare(statement, not worse, "change of the test MAE, mJ/m²: " + "; ".join(details)
                   + (f"; significantly worse: {', '.join(worse)}" if worse else "; none significantly worse"),
                   comparisons)


def baseline_finding(rows: list[dict], names: list[str] | None = None) -> Finding:
    """Where the CNN beats the ridge baseline on shape features, tested against the seed scatter.

    Both models are scored on the same test images of each experiment. The difference of
    their mean test MAEs counts when it exceeds twice its standard error (each model's std
    over its seeds over the root of their number, the pooled scatter for a single seed, as in
    :func:`mae_difference`; the ridge, fitted in closed form, usually has none). Returns one
    Markdown line listing the experiments where the CNN is better, where the ridge is, and
    where neither is beyond the scatter.
    """
    statistics = _means_and_errors(rows)
    names = names or [name for name, model in statistics if model == "cnn"]
    better, worse, tied, comparisons = [], [], [], []
    for name in names:
        if (name, "cnn") not in statistics or (name, "ridge") not in statistics:
            continue
        (cnn, cnn_error), (ridge, ridge_error) = statistics[(name, "cnn")], statistics[(name, "ridge")]
        delta, error = cnn - ridge, float(np.hypot(cnn_error, ridge_error))
        comparisons.append((f"{name}: CNN − ridge", delta, error))
        text = f"{name} {cnn:.3f} vs {ridge:.3f}"
        (better if delta < -2 * error else worse if delta > 2 * error else tied).append(text)
    parts = []
    if worse:
        parts.append("the ridge is better in " + "; ".join(worse))
    if tied:
        parts.append("within the seed scatter in " + "; ".join(tied))
    return Finding("The CNN against the ridge regression on the bubble's shape",
                   f"better in {len(better)} of {len(better) + len(worse) + len(tied)} experiments",
                   "test MAE, mJ/m², CNN vs ridge: " + ", ".join(parts) if parts
                   else "each beyond twice the standard error of the difference", comparisons)


def pixelation_findings(rows: list[dict], components: list[str], fine: list[int], coarse: int | None,
                        pixel_size_nm: dict[int, float],
                        key=lambda component, b: f"pixelation/{component}/b={b}") -> list[Finding]:
    """The paper's two findings on pixelation (its Fig. 6), tested on ``rows``, as Markdown lines.

    The paper finds the MAE flat from b = 2 up to b = 10 and slightly smaller at b = 20
    (pixels of 3, 15 and 30 nm on its 1.5 nm cells). The chapter says which of its own
    pixelations play those roles (by ``b`` on the quick dataset, by pixel size on the
    standard one, whose 3 nm cells make b = 5 the paper's 15 nm):

    1. "does not grow from ``fine[0]`` up to ``fine[-1]``": no experiment at a ``b`` of
       ``fine`` is significantly worse than at ``fine[0]`` (:func:`significance_finding`);
    2. "smaller at ``coarse`` than at ``fine[-1]``", tested against the seed scatter
       (:func:`tested_ordering_finding`).

    ``pixel_size_nm`` maps each ``b`` to its pixel size (for the text); ``key(component, b)``
    names an experiment.
    """
    fine = sorted(fine)
    lines = []
    if len(fine) >= 2:
        lines.append(significance_finding(
            f"The CNN's MAE does not grow from b = {fine[0]} ({pixel_size_nm[fine[0]]:g} nm pixels) up to "
            f"b = {fine[-1]} ({pixel_size_nm[fine[-1]]:g} nm)", rows,
            [(key(c, b), key(c, fine[0]), f"{c} b={b}") for c in components for b in fine[1:]]))
    if coarse is not None and fine:
        lines.append(tested_ordering_finding(
            f"The MAE is smaller at b = {coarse} ({pixel_size_nm[coarse]:g} nm pixels) than at b = {fine[-1]} "
            f"({pixel_size_nm[fine[-1]]:g} nm)", rows,
            [([key(c, coarse)], [key(c, fine[-1])]) for c in components], "components", preposition="for"))
    return lines or [Finding("The paper's findings on pixelation", "not tested",
                             "these parameters need two pixelations")]


def noise_findings(rows: list[dict], components: list[str], pixelations: list[int], sigmas: list[float],
                   control_pixelations: list[int], copies: int,
                   key=lambda component, b, label: f"noise/{component}/b={b}/{label}") -> list[Finding]:
    """The paper's finding on noise (its Fig. 7: no significant loss), tested on ``rows``, as Markdown lines.

    Each noisy experiment (``sigma > 0``, label ``sigma=<sigma>``) is compared by
    :func:`significance_finding` with the clean one of the same component and ``b``
    (label ``sigma=0``) and, at the ``b`` of ``control_pixelations``, with the clean control
    trained on ``copies`` copies (label ``clean-x<copies>``), which has as many training steps.
    """
    noisy = [sigma for sigma in sigmas if sigma > 0]
    if not noisy:
        return [Finding("The paper's finding on noise", "not tested", "no σ > 0 in these parameters")]

    def verdict(reference_label, what, bs):
        pairs = [(key(c, b, f"sigma={sigma:g}"), key(c, b, reference_label), f"{c} b={b} σ={sigma:g}")
                 for c in components for b in bs for sigma in noisy]
        return significance_finding(f"No significant degradation with noise, against {what}", rows, pairs)

    lines = [verdict("sigma=0", "the clean model", pixelations)]
    controlled = [b for b in pixelations if b in control_pixelations]
    if controlled:
        lines.append(verdict(f"clean-x{copies}", f"the {copies}-copy clean control (same training steps)", controlled))
    return lines


def ordered(values: dict[str, tuple[float, float]], names: list[str]) -> np.ndarray:
    """Mean MAE of ``names`` in that order (for comparisons in the chapters)."""
    return np.array([values[name][0] for name in names])


def plot_split_ranges(splits: dict, D_mJ_per_m2: np.ndarray):
    """Where each split's training and test images lie on the D axis (the paper's Fig. 5a).

    One row per split: markers at the D values of the images in the training set (blue
    circles), the test set (orange squares) and neither (grey crosses); for the disjoint
    interval splits, bands show the interval rule itself, evaluated on a fine D grid.

    Parameters
    ----------
    splits : dict
        Split name (one of :data:`~dmilib.learn.splits.SPLIT_NAMES`) -> its
        :class:`~dmilib.learn.splits.Split` of the images.
    D_mJ_per_m2 : numpy.ndarray
        The D label of every image the splits index, in mJ/m².

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from .splits import make_split

    labels = np.asarray(D_mJ_per_m2, dtype=float)
    fine = np.round(np.linspace(0.0, 1.0, 401), 6)
    figure = Figure(figsize=(7, 0.55 * len(splits) + 0.8), layout="constrained")
    axes = figure.add_subplot(yticks=range(len(splits)), yticklabels=list(splits), xlabel="D (mJ/m²)")
    for row, (name, split) in enumerate(splits.items()):
        bands = make_split(name, fine, np.arange(fine.size)) if name.startswith("interval-") else None
        left_out = np.setdiff1d(np.arange(labels.size), np.concatenate([split.train, split.test]))
        for side, color, marker, dy in (("train", "tab:blue", "o", -0.1), ("test", "tab:orange", "s", 0.1),
                                        ("", "0.5", "x", 0.0)):
            values = np.unique(labels[getattr(split, side) if side else left_out])
            axes.plot(values, np.full(values.size, row + dy), marker, color=color, ls="none")
            if bands is not None and side:
                axes.fill_between(fine, row - 0.3, row + 0.3, where=np.isin(np.arange(fine.size), getattr(bands, side)),
                                  color=color, alpha=0.25, lw=0)
    axes.invert_yaxis()
    return figure
