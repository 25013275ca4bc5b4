"""Reliability of calibrated intervals: nominal against measured coverage, with the diagonal."""

from __future__ import annotations

from matplotlib.figure import Figure

__all__ = ["plot_reliability"]


def plot_reliability(runs: dict, *, caption: str = "") -> Figure:
    """Nominal against measured coverage of the split-conformal intervals of trained runs.

    For each run (a run folder or its parsed ``run.json``, trained with
    ``calibration_fraction > 0``) and each miscoverage of
    :data:`~dmilib.learn.conformal.RELIABILITY_ALPHAS` (50 to 95 % nominal), the half-width
    was taken from the calibration residuals and its coverage measured on the test
    residuals (run.json ``conformal.reliability``). Points on the dashed diagonal are
    intervals that hold what they promise; below it, intervals too narrow. The 90 % point
    is circled. A level whose calibration set is too small for a finite interval has no
    point. With ``n`` test images a measured coverage scatters by about
    ``sqrt(p (1 - p) / n)`` even for a perfect interval, more when images of one run are
    correlated.

    Parameters
    ----------
    runs : dict
        Label -> run folder (path) or run.json dict.
    caption : str
        A line under the plot (e.g. the dataset, split, seeds and epochs).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For a run without calibration.
    """
    from ..learn.artifacts import read_run_info

    figure = Figure(figsize=(4.6, 4.2), layout="constrained")
    axes = figure.add_subplot(xlabel="nominal coverage 1 − α", ylabel="coverage on the test runs",
                              xlim=(0.4, 1.0), ylim=(0.0, 1.02))
    axes.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="ideal")
    for label, run in runs.items():
        info = run if isinstance(run, dict) else read_run_info(run)
        conformal = info.get("conformal")
        if not conformal:
            raise ValueError(f"run {label!r} has no calibration (train it with calibration_fraction > 0)")
        # A coverage is None where the calibration set is too small for that level (infinite interval).
        points = [p for p in conformal["reliability"] if p["coverage"] is not None]
        line, = axes.plot([p["nominal"] for p in points], [p["coverage"] for p in points], "o-",
                          label=f"{label} ({conformal['n_test_images']} test images, "
                                f"{conformal['n_calibration_images']} calibration)")
        if conformal["test_coverage"] is not None:
            axes.plot([1.0 - conformal["alpha"]], [conformal["test_coverage"]], "o", ms=12, mfc="none",
                      color=line.get_color())
    axes.legend(loc="lower right", fontsize="small")
    if caption:
        figure.text(0.01, -0.02, caption, fontsize=7, ha="left", va="top", wrap=True)
    return figure
