"""Figures of the inference chapter: reliability of calibrated intervals, and what ``predict`` flags."""

from __future__ import annotations

import itertools

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_flag_examples", "plot_reliability"]


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
    for marker, (label, run) in zip(itertools.cycle("osD^v<>"), runs.items()):
        info = run if isinstance(run, dict) else read_run_info(run)
        conformal = info.get("conformal")
        if not conformal:
            raise ValueError(f"run {label!r} has no calibration (train it with calibration_fraction > 0)")
        # A coverage is None where the calibration set is too small for that level (infinite interval).
        points = [p for p in conformal["reliability"] if p["coverage"] is not None]
        # Distinct markers keep a curve visible where it lies on another (e.g. both at 100 %).
        line, = axes.plot([p["nominal"] for p in points], [p["coverage"] for p in points], marker=marker,
                          ms=9 if marker == "o" else 5,
                          label=f"{label} ({conformal['n_test_images']} test images, "
                                f"{conformal['n_calibration_images']} calibration)")
        if conformal["test_coverage"] is not None:
            axes.plot([1.0 - conformal["alpha"]], [conformal["test_coverage"]], "o", ms=12, mfc="none",
                      color=line.get_color())
    axes.legend(loc="lower right", fontsize="small")
    if caption:
        figure.text(0.01, -0.02, caption, fontsize=7, ha="left", va="top", wrap=True)
    return figure


def plot_flag_examples(images: dict, predictions: dict, pixel_size_m: float) -> Figure:
    """The images given to ``predict`` beside what it answered: one panel per image.

    Each panel shows the image in grey (−1 black to +1 white, axes in nm from its top-left
    corner, so that sizes can be compared on the axes) under its name, with the answer as the title's
    second line: ``D = … mJ/m²`` or ``no D``, then the flag codes (``"no flag"`` when none).

    Parameters
    ----------
    images : dict
        Name -> ``(H, W)`` contrast image (e.g. :func:`dmilib.book.flag_examples`).
    predictions : dict
        Name -> :class:`dmilib.infer.Prediction` of that image (the same names).
    pixel_size_m : float
        Pixel size of the images in metres.

    Raises
    ------
    ValueError
        When the names of ``images`` and ``predictions`` differ, or for a pixel size that is
        not a finite number > 0.
    """
    import math

    from ..infer import flag_codes

    if list(images) != list(predictions):
        raise ValueError(f"images and predictions must name the same images in the same order, got {list(images)} "
                         f"and {list(predictions)}")
    if isinstance(pixel_size_m, bool) or not isinstance(pixel_size_m, (int, float)) \
            or not (math.isfinite(pixel_size_m) and pixel_size_m > 0):
        raise ValueError(f"pixel_size_m must be a finite number > 0 (metres), got {pixel_size_m!r}")
    nm = pixel_size_m * 1e9
    figure = Figure(figsize=(2.3 * len(images), 2.9), layout="constrained")
    axes = figure.subplots(1, len(images), squeeze=False)[0]
    for ax, (name, image) in zip(axes, images.items(), strict=True):
        array = np.asarray(image, np.float64)
        rows, cols = array.shape
        ax.imshow(array, cmap="gray", vmin=-1, vmax=1, extent=(0, cols * nm, rows * nm, 0))
        prediction = predictions[name]
        answer = "no D" if prediction.D_J_per_m2 is None else f"D = {prediction.D_mJ_per_m2:.2f} mJ/m²"
        codes = ", ".join(dict.fromkeys(flag_codes(prediction.flags))) or "no flag"
        ax.set_title(f"{name}\n{answer}\n{codes}", fontsize=7)
        ax.set_xlabel("x (nm)", fontsize=7)
        ax.tick_params(labelsize=6)
    return figure
