"""The tested comparisons behind each verdict on the paper's claims, in units of their standard error."""

from __future__ import annotations

import numpy as np

#: Where |difference| / standard error is drawn at the axis edge (a ridge fit without seed
#: scatter against a CNN can give hundreds): the verdict only needs to know it is beyond 2.
Z_LIMIT = 30.0
VERDICT_COLOURS = {"holds": "tab:green", "agrees": "tab:green", "does not hold": "tab:red", "differs": "tab:red",
                   "undecided": "tab:orange"}


def standardized_differences(comparisons) -> np.ndarray:
    """difference / standard error of each ``(label, difference, error)``, clipped to ±:data:`Z_LIMIT`.

    A zero error (two closed-form fits) gives ±:data:`Z_LIMIT` by the sign of the difference,
    and 0 where the difference is zero too.
    """
    values = []
    for _, delta, error in comparisons:
        if error > 0:
            values.append(delta / error)
        else:
            values.append(np.sign(delta) * Z_LIMIT)
    return np.clip(np.asarray(values, dtype=float), -Z_LIMIT, Z_LIMIT)


def plot_verdicts(entries, *, title: str = "", caption: str = ""):
    """One row per claim: each of its comparisons as difference / standard error.

    Parameters
    ----------
    entries : list of (chapter, Finding)
        From :func:`dmilib.book.verdicts.study_verdicts`; findings without comparisons are
        left out. A comparison left of -2 speaks for the claim, right of +2 against it; the
        grey band is the seed scatter (|z| < 2). The marker colour is the claim's verdict.
    """
    from matplotlib.figure import Figure

    shown = [(chapter, finding) for chapter, finding in entries if finding.comparisons]
    if not shown:
        raise ValueError("entries must hold at least one finding with comparisons")
    figure = Figure(figsize=(10.0, 0.42 * len(shown) + 1.4), layout="constrained")
    axes = figure.add_subplot()
    axes.axvspan(-2, 2, color="0.88", zorder=0)
    axes.axvline(0, color="0.5", linewidth=0.8)
    rng = np.random.default_rng(0)  # vertical jitter only, so overlapping comparisons stay visible
    labels = []
    for row, (chapter, finding) in enumerate(shown):
        z = standardized_differences(finding.comparisons)
        colour = VERDICT_COLOURS.get(finding.verdict, "tab:blue")
        axes.scatter(z, row + rng.uniform(-0.18, 0.18, z.size), s=14, color=colour, edgecolor="none", alpha=0.8)
        statement = finding.statement if len(finding.statement) <= 70 else finding.statement[:67] + "..."
        labels.append(f"{chapter}: {statement} [{finding.verdict}]")
    axes.set_yticks(range(len(shown)), labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xscale("symlog", linthresh=2.0)
    axes.set_xlim(-Z_LIMIT * 1.2, Z_LIMIT * 1.2)
    ticks = [-Z_LIMIT, -10, -2, 0, 2, 10, Z_LIMIT]
    axes.set_xticks(ticks, [f"{tick:g}" for tick in ticks])
    axes.set_xlabel("difference / its standard error (negative: for the claim; grey: within 2; clipped at ±30)")
    if title:
        axes.set_title(title, fontsize=10)
    if caption:
        figure.text(0.01, -0.01, caption, fontsize=7, ha="left", va="top", wrap=True)
    return figure
