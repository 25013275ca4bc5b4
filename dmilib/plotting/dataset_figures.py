"""The paper's Fig. 2 (the micromagnetic dataset) and dataset statistics, from a store.

* :func:`plot_dataset_snapshots` - Fig. 2(a): ``m_z`` with in-plane arrows on a grid of
  DMI strengths (rows) and perpendicular fields (columns), uniform film.
* :func:`plot_disorder_sample` - Fig. 2(b) and (c): a sample with Voronoi ``Ku`` disorder,
  its grain boundaries overlaid, and an enlarged view of a domain-wall region.
* :func:`plot_figure2` - both in one figure (what the book calls).
* :func:`plot_dataset_statistics` - labels histogram, bubble area against ``|Hz|`` and the
  expansion asymmetry against ``D``.
* :func:`plot_component_statistics` - mean and spread of each component over the disk
  against ``D`` (from :func:`~dmilib.dataset.figures.component_statistics`).

Samples are picked by the nearest stored label values, and every panel title states the
values actually shown. Figures follow :mod:`dmilib.plotting.maps`: built without pyplot, colour
map ``RdBu_r`` on ``[-1, 1]`` (red ``m_z = +1``, blue ``-1``), axes in nm from the disk centre.

The data behind the panels come from :mod:`dmilib.dataset.figures`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..dataset.figures import (_check_dataset, _check_stride, _default_stride, _first_tessellation, _grain_ids,
                               _labels, _title, _values, _wall_centre, bubble_measures, grain_boundary_segments,
                               select_nearest)
from ..dataset.store import Dataset, _finite, _mJ, _mT
from .maps import _window, plot_mz_with_arrows

GRAIN_BOUNDARY_GID = "grain_boundaries"
"""``gid`` of the grain-boundary :class:`~matplotlib.collections.LineCollection` overlays."""


ZOOM_GID = "zoom_region"
"""``gid`` of the rectangle marking the enlarged region in Fig. 2(b)."""


def _draw_snapshots(container: Figure | SubFigure, dataset: Dataset, D_values, Hz_values_T, tessellation: int,
                    stride: int | None, D_tolerance: float, Hz_tolerance: float) -> np.ndarray:
    D_values = _values("D_values", D_values)
    Hz_values_T = _values("Hz_values_T", Hz_values_T)
    # Resolve every panel before drawing, so a bad request fails before any work.
    indices = [[select_nearest(dataset, d, h, tessellation, D_tolerance_J_per_m2=D_tolerance,
                               Hz_tolerance_T=Hz_tolerance) for h in Hz_values_T] for d in D_values]
    grid = dataset.grid
    stride = _default_stride(max(grid.shape)) if stride is None else stride
    axes = container.subplots(len(D_values), len(Hz_values_T), squeeze=False, sharex=True, sharey=True)
    for r, row in enumerate(indices):
        for c, index in enumerate(row):
            ax = axes[r, c]
            plot_mz_with_arrows(dataset.magnetization(index)[0], grid, ax=ax, stride=stride, colorbar=False)
            ax.set_title(_title(dataset, index), fontsize="medium")
            ax.label_outer()
    container.colorbar(axes[0, 0].images[0], ax=axes, label="$m_z$", shrink=0.8)
    return axes


def plot_dataset_snapshots(
    dataset: Dataset,
    D_values: Sequence[float] = (0.05e-3, 1.0e-3),
    Hz_values_T: Sequence[float] = (-6e-3, -10e-3),
    tessellation: int = -1,
    *,
    stride: int | None = None,
    D_tolerance_J_per_m2: float = 0.1e-3,
    Hz_tolerance_T: float = 1e-3,
    panel_size_in: float = 3.2,
) -> Figure:
    """Fig. 2(a): ``m_z`` with in-plane arrows, one row per ``D`` and one column per ``Hz``.

    Parameters
    ----------
    dataset : Dataset
    D_values : sequence of float
        DMI strengths in J/m^2 of the rows (paper: 0.05 and 1.0 mJ/m^2).
    Hz_values_T : sequence of float
        Perpendicular fields mu0 Hz in T of the columns (paper: -6 and -10 mT).
    tessellation : int
        Voronoi seed of the samples, -1 (default) for the uniform film.
    stride : int, optional
        Arrow spacing in cells (default: about 16 arrows across the grid).
    D_tolerance_J_per_m2, Hz_tolerance_T : float
        Largest accepted distance to the nearest stored value (see :func:`select_nearest`).
    panel_size_in : float
        Width of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(D_values) x len(Hz_values_T)`` image axes, row by row, each titled with the
        stored labels it shows (``"D = 1.00 mJ/m², Hz = -6 mT\\nHx = 100 mT"``), then one
        colour bar axes labelled ``$m_z$``.

    Raises
    ------
    ValueError
        If a requested value has no valid sample within the tolerance, or the arguments are
        malformed.
    """
    _check_dataset(dataset)
    stride = _check_stride(stride)
    rows, cols = len(_values("D_values", D_values)), len(_values("Hz_values_T", Hz_values_T))
    panel = _finite("panel_size_in", panel_size_in)
    if panel <= 0:
        raise ValueError(f"panel_size_in must be positive, got {panel_size_in!r}")
    # "compressed" packs the equal-aspect panels without the row gaps "constrained" leaves.
    fig = Figure(figsize=(cols * panel + 1.0, rows * (panel + 0.3)), layout="compressed")
    _draw_snapshots(fig, dataset, D_values, Hz_values_T, tessellation, stride, D_tolerance_J_per_m2,
                    Hz_tolerance_T)
    return fig


def _overlay_grains(ax: Axes, segments: np.ndarray, linewidth: float) -> LineCollection:
    lines = LineCollection(segments, colors="k", linewidths=linewidth, alpha=0.55, label="grain boundaries")
    lines.set_gid(GRAIN_BOUNDARY_GID)
    ax.add_collection(lines, autolim=False)
    return lines


def _draw_disorder(container: Figure | SubFigure, dataset: Dataset, D: float, Hz_T: float, tessellation: int | None,
                   zoom_m: float | None, centre_m: tuple[float, float] | None, stride: int | None,
                   vertical: bool, D_tolerance: float, Hz_tolerance: float) -> tuple[Axes, Axes]:
    labels = _labels(dataset)
    if tessellation is None:
        tessellation = _first_tessellation(labels)
    elif isinstance(tessellation, bool) or not isinstance(tessellation, (int, np.integer)) or tessellation < 0:
        raise ValueError(f"tessellation must be a Voronoi seed >= 0 (the uniform film -1 has no grains), "
                         f"got {tessellation!r}")
    index = select_nearest(dataset, D, Hz_T, int(tessellation), D_tolerance_J_per_m2=D_tolerance,
                           Hz_tolerance_T=Hz_tolerance)
    grid = dataset.grid
    m = dataset.magnetization(index)[0]
    if zoom_m is None:
        grain = dataset.config.disorder.mean_grain_diameter_m if dataset.config is not None else 20e-9
        # A few grains across, but never more than half the disk: the point is the wall.
        zoom_m = min(2.5 * grain, 0.25 * max(grid.nx * grid.dx, grid.ny * grid.dy))
    zoom_m = _finite("zoom_m", zoom_m)
    if zoom_m <= 0:
        raise ValueError(f"zoom_m must be a positive half-width in metres, got {zoom_m!r}")
    centre = _wall_centre(m, grid) if centre_m is None else (_finite("centre_m[0]", centre_m[0]),
                                                            _finite("centre_m[1]", centre_m[1]))
    ids = _grain_ids(dataset, int(tessellation), grid)

    ax_b, ax_c = container.subplots(2, 1) if vertical else container.subplots(1, 2)
    plot_mz_with_arrows(m, grid, ax=ax_b, stride=_default_stride(max(grid.shape)) if stride is None else stride,
                        colorbar=False)
    _overlay_grains(ax_b, grain_boundary_segments(ids, grid), 0.5)
    ax_b.set_title(f"(b) Voronoi tessellation {int(tessellation)}\n{_title(dataset, index)}", fontsize="medium")

    # The same window the zoomed panel shows, so the rectangle matches panel (c) exactly.
    rows, cols, extent = _window(grid, zoom_m, centre)
    ax_b.add_patch(Rectangle((extent[0], extent[2]), extent[1] - extent[0], extent[3] - extent[2], fill=False,
                             edgecolor="k", linewidth=1.2, linestyle="--", gid=ZOOM_GID))
    zoom_cells = max(rows.stop - rows.start, cols.stop - cols.start)
    plot_mz_with_arrows(m, grid, ax=ax_c, stride=_default_stride(zoom_cells), zoom_m=zoom_m, centre_m=centre,
                        colorbar=False)
    _overlay_grains(ax_c, grain_boundary_segments(ids, grid, rows, cols), 0.9)
    ax_c.set_title("(c) domain-wall region of (b), enlarged", fontsize="medium")
    # Stacked panels leave no width to spare: the colour bar goes below them.
    container.colorbar(ax_b.images[0], ax=[ax_b, ax_c], label="$m_z$", shrink=0.8,
                       location="bottom" if vertical else "right")
    return ax_b, ax_c


def plot_disorder_sample(
    dataset: Dataset,
    D: float = 1.0e-3,
    Hz_T: float = -6e-3,
    tessellation: int | None = None,
    zoom_m: float | None = None,
    *,
    centre_m: tuple[float, float] | None = None,
    stride: int | None = None,
    D_tolerance_J_per_m2: float = 0.1e-3,
    Hz_tolerance_T: float = 1e-3,
) -> Figure:
    """Fig. 2(b) and (c): a sample with ``Ku`` disorder, grain boundaries, and a wall zoom.

    The grains are rebuilt from the store's configuration (``dataset.config.disorder`` and
    the seed, with :class:`~dmilib.dataset.voronoi.Tessellation`), or, for a store without
    configuration, outlined from its stored ``Ku`` map. Boundaries are drawn as thin black
    lines along the cell faces between grains, inside the disk.

    Parameters
    ----------
    dataset : Dataset
    D : float
        Requested DMI strength in J/m^2 (paper: 1.0 mJ/m^2); the nearest stored is shown.
    Hz_T : float
        Requested mu0 Hz in T (paper: -6 mT).
    tessellation : int, optional
        Voronoi seed (>= 0); default: the tessellation of the first valid non-uniform
        sample in the store.
    zoom_m : float, optional
        Half-width in m of the enlarged window (default: 2.5 mean grain diameters, at most
        a quarter of the grid width).
    centre_m : tuple of float, optional
        Centre ``(x, y)`` in m from the disk centre of the enlarged window (default: the
        wall point of the bubble farthest along +x, where the field-driven expansion is).
    stride : int, optional
        Arrow spacing in cells of panel (b) (default: about 16 arrows across the grid);
        panel (c) puts about 16 arrows across its window.
    D_tolerance_J_per_m2, Hz_tolerance_T : float
        See :func:`select_nearest`.

    Returns
    -------
    matplotlib.figure.Figure
        Two image axes side by side, (b) the whole sample (title starting ``"(b)"`` and
        stating the stored labels) with a dashed rectangle (``gid`` :data:`ZOOM_GID`)
        around the window of (c), and (c) the enlarged window; each carries a
        grain-boundary LineCollection (``gid`` :data:`GRAIN_BOUNDARY_GID`). Then one colour
        bar axes.

    Raises
    ------
    ValueError
        If the store has no valid non-uniform sample, ``tessellation`` is negative or has no
        valid sample, no sample lies near ``D`` / ``Hz_T``, or ``zoom_m`` is not positive.
    """
    _check_dataset(dataset)
    stride = _check_stride(stride)
    fig = Figure(figsize=(10.0, 4.6), layout="constrained")
    _draw_disorder(fig, dataset, D, Hz_T, tessellation, zoom_m, centre_m, stride, False, D_tolerance_J_per_m2,
                   Hz_tolerance_T)
    return fig


def plot_figure2(
    dataset: Dataset,
    *,
    D_values: Sequence[float] = (0.05e-3, 1.0e-3),
    Hz_values_T: Sequence[float] = (-6e-3, -10e-3),
    disorder_D: float = 1.0e-3,
    disorder_Hz_T: float = -6e-3,
    tessellation: int | None = None,
    zoom_m: float | None = None,
    D_tolerance_J_per_m2: float = 0.1e-3,
    Hz_tolerance_T: float = 1e-3,
) -> Figure:
    """The paper's Fig. 2 in one figure: (a) on the left, (b) above (c) on the right.

    Parameters
    ----------
    dataset : Dataset
    D_values, Hz_values_T : sequence of float
        Rows (J/m^2) and columns (T) of panel (a), uniform film; see
        :func:`plot_dataset_snapshots`.
    disorder_D, disorder_Hz_T : float
        Labels (J/m^2, T) of the disordered sample of (b) and (c).
    tessellation, zoom_m
        See :func:`plot_disorder_sample`.
    D_tolerance_J_per_m2, Hz_tolerance_T : float
        See :func:`select_nearest`.

    Returns
    -------
    matplotlib.figure.Figure
        One figure with two subfigures (``fig.subfigs``): the left one titled
        ``"(a) uniform film"`` holds the snapshot grid and its colour bar, the right one the
        panels (b) and (c) and their colour bar.

    Raises
    ------
    ValueError
        As :func:`plot_dataset_snapshots` and :func:`plot_disorder_sample`.
    """
    _check_dataset(dataset)
    cols = len(_values("Hz_values_T", Hz_values_T))
    rows = len(_values("D_values", D_values))
    # Sizes chosen so that the equal-aspect panels fill their rows without large gaps.
    left_width, right_width = 3.2 * cols + 1.0, 4.2
    fig = Figure(figsize=(left_width + right_width, max(3.0 * rows + 0.9, 6.9)), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[left_width, right_width])
    left.suptitle("(a) uniform film", fontweight="bold")
    _draw_snapshots(left, dataset, D_values, Hz_values_T, -1, None, D_tolerance_J_per_m2, Hz_tolerance_T)
    right.suptitle("Voronoi Ku disorder", fontweight="bold")
    _draw_disorder(right, dataset, disorder_D, disorder_Hz_T, tessellation, zoom_m, None, None, True,
                   D_tolerance_J_per_m2, Hz_tolerance_T)
    return fig


def plot_dataset_statistics(dataset: Dataset) -> Figure:
    """Dataset statistics: labels, bubble area against ``|Hz|``, asymmetry against ``D``.

    Every valid sample is read once (one at a time, to bound memory) and measured with
    :func:`~dmilib.dataset.shape.measure_bubble` (about 10 ms per 530 x 530 sample on one
    CPU core, plus reading it: some tens of seconds for the paper's ~1400 samples).

    Parameters
    ----------
    dataset : Dataset

    Returns
    -------
    matplotlib.figure.Figure
        Three axes and a colour bar axes (``D`` in mJ/m²):

        1. histogram of the valid samples' ``D`` (one bin per stored value, stacked:
           uniform film, Voronoi disorder);
        2. bubble area (10³ nm²) against ``|Hz|`` (mT), one line per ``(D, tessellation)``
           run, coloured by ``D``; uniform film solid, disordered dashed;
        3. ``x_asymmetry`` against ``D`` at the largest ``|Hz|`` of the valid samples,
           uniform film as a line, each tessellation as its own markers.

    Raises
    ------
    ValueError
        If the dataset has no valid sample.
    """
    _check_dataset(dataset)
    labels = _labels(dataset)
    valid = np.flatnonzero(labels["valid"])
    if valid.size == 0:
        raise ValueError("dataset: no valid sample to summarise")
    area, asymmetry = bubble_measures(dataset)

    d_mJ = labels["D"] * 1e3
    tess = labels["tessellation"]
    uniform = labels["valid"] & (tess < 0)
    disordered = labels["valid"] & (tess >= 0)
    stored = np.unique(d_mJ[valid])
    step = float(np.min(np.diff(stored))) if stored.size > 1 else 0.1
    edges = np.arange(stored.min() - step / 2, stored.max() + step, step)
    norm = Normalize(float(stored.min()), float(stored.max()) if stored.size > 1 else float(stored.min()) + 1)
    cmap = "viridis"
    mappable = ScalarMappable(norm=norm, cmap=cmap)

    fig = Figure(figsize=(14.0, 4.2), layout="constrained")
    ax_hist, ax_area, ax_asym = fig.subplots(1, 3)

    ax_hist.hist([d_mJ[uniform], d_mJ[disordered]], bins=edges, stacked=True, color=["0.35", "tab:orange"],
                 edgecolor="white", label=["uniform film", "Voronoi disorder"])
    ax_hist.set_xlabel("D (mJ/m²)")
    ax_hist.set_ylabel("valid samples")
    ax_hist.set_title(f"labels: {valid.size} valid of {len(dataset)} samples", fontsize="medium")
    ax_hist.legend(fontsize="small")

    runs = sorted({(float(labels["D"][i]), int(tess[i])) for i in valid})
    for d, t in runs:
        members = labels["valid"] & np.isclose(labels["D"], d, rtol=0, atol=1e-12) & (tess == t)
        members &= np.isfinite(area)
        order = np.argsort(np.abs(labels["Hz"][members]))
        ax_area.plot(np.abs(labels["Hz"][members])[order] * 1e3, area[members][order] * 1e18 / 1e3,
                     color=mappable.to_rgba(d * 1e3), linestyle="-" if t < 0 else "--", marker=".",
                     linewidth=1.0, label=f"D = {_mJ(d)} mJ/m², tessellation {t}")
    ax_area.set_xlabel("|Hz| (mT)")
    ax_area.set_ylabel("bubble area (10³ nm²)")
    ax_area.set_title("bubble area against |Hz|", fontsize="medium")
    ax_area.legend(handles=[Line2D([], [], color="0.3", linestyle="-", label="uniform film"),
                            Line2D([], [], color="0.3", linestyle="--", label="Voronoi disorder")],
                   fontsize="small")

    largest = float(np.max(np.abs(labels["Hz"][valid])))
    at_largest = labels["valid"] & np.isclose(np.abs(labels["Hz"]), largest, rtol=0, atol=1e-12)
    at_largest &= np.isfinite(asymmetry)
    group = at_largest & (tess < 0)
    order = np.argsort(d_mJ[group])
    ax_asym.plot(d_mJ[group][order], asymmetry[group][order], color="0.2", marker="o", label="uniform film")
    for marker, t in zip(itertools.cycle("s^vD<>ph*"), sorted({int(t) for t in tess[at_largest & (tess >= 0)]})):
        group = at_largest & (tess == t)
        ax_asym.scatter(d_mJ[group], asymmetry[group], marker=marker, c=[mappable.to_rgba(v) for v in d_mJ[group]],
                        edgecolors="k", linewidths=0.5, zorder=3, label=f"tessellation {t}")
    ax_asym.axhline(0.0, color="0.7", linewidth=0.8)
    ax_asym.set_xlabel("D (mJ/m²)")
    ax_asym.set_ylabel("x asymmetry")
    hz_signed = labels["Hz"][at_largest][0] if at_largest.any() else -largest
    ax_asym.set_title(f"expansion asymmetry at Hz = {_mT(hz_signed)} mT", fontsize="medium")
    ax_asym.legend(fontsize="small")
    fig.colorbar(mappable, ax=[ax_area, ax_asym], label="D (mJ/m²)", shrink=0.9)
    return fig


def plot_component_statistics(D_J_per_m2, mean, std, *, caption: str = "") -> Figure:
    """Mean and spread over the disk of each component against ``D``, one panel per component.

    Parameters
    ----------
    D_J_per_m2 : array, shape (n,)
    mean, std : arrays, shape (n, 3)
        As returned by :func:`~dmilib.dataset.figures.component_statistics`.
    caption : str
        A line under the panels (dataset, film, field).

    Returns
    -------
    matplotlib.figure.Figure
        Three axes (``m_x``, ``m_y``, ``m_z``), each with the mean (solid) and the standard
        deviation over the disk (dashed) against ``D`` in mJ/m²; each has its own scale, since
        ``m_z`` spans ``-1..1`` while the in-plane components stay within a few tenths.

    Raises
    ------
    ValueError
        If the shapes disagree or there is no sample.
    """
    d = np.asarray(D_J_per_m2, dtype=np.float64) * 1e3
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if d.ndim != 1 or d.size == 0 or mean.shape != (d.size, 3) or std.shape != (d.size, 3):
        raise ValueError(f"D_J_per_m2 must have shape (n,) with n >= 1 and mean, std shape (n, 3); got "
                         f"{d.shape}, {mean.shape}, {std.shape}")
    fig = Figure(figsize=(13.0, 3.6), layout="constrained")
    for component, ax in enumerate(fig.subplots(1, 3)):
        name = "xyz"[component]
        ax.plot(d, mean[:, component], "-o", color="tab:blue", markersize=3, label="mean over the disk")
        ax.plot(d, std[:, component], "--s", color="tab:red", markersize=3, label="std over the disk")
        ax.set_title(f"$m_{name}$")
        ax.set_xlabel("D (mJ/m²)")
        ax.grid(alpha=0.3)
        if component == 0:
            ax.set_ylabel("in units of $M_s$")
            ax.legend(fontsize=8)
    if caption:
        fig.suptitle(caption, y=-0.02, va="top", fontsize=9)
    return fig
