"""Figures of magnetization states on a :class:`~dmilib.simulate.Grid` (matplotlib only).

Every function builds its own :class:`matplotlib.figure.Figure` (or draws into an Axes it
is given) and returns it: nothing here touches pyplot's current figure or the rcParams.

Conventions, as in the study's figures: a diverging colour map ``"RdBu_r"`` fixed to
``[-1, 1]`` (red ``+1``, white ``0``, blue ``-1``), cells outside the grid's mask left
blank, and physical axes in nanometres measured from the centre of the grid (for a
:meth:`~dmilib.simulate.Grid.disk` grid, the centre of the disk).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..cropping import block_window
from ..simulate.geometry import Grid

COLORMAP = "RdBu_r"
COMPONENT_TITLES = ("$m_x$", "$m_y$", "$m_z$")


def _as_batch(m: np.ndarray, grid: Grid, name: str = "m") -> np.ndarray:
    """``m`` as a float NumPy array ``(B, 3, ny, nx)``, from ``(B, 3, ny, nx)`` or ``(3, ny, nx)``."""
    array = np.asarray(m)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    if array.ndim == 3:
        array = array[None]
    expected = (3, *grid.shape)
    if array.ndim != 4 or array.shape[1:] != expected or array.shape[0] < 1:
        raise ValueError(
            f"{name} must have shape (B, 3, ny, nx) or (3, ny, nx) with (ny, nx) = {grid.shape}, "
            f"got {array.shape}"
        )
    return array.astype(np.float64, copy=False)


def _window(
    grid: Grid, zoom_m: float | None, centre_m: tuple[float, float] | None
) -> tuple[slice, slice, tuple[float, float, float, float]]:
    """Row and column slices of the cells to show and their ``imshow`` extent in nm.

    The window is the square of half-width ``zoom_m`` around ``centre_m`` (metres from the
    grid centre, default the centre itself); ``zoom_m=None`` shows the whole grid.
    """
    cx, cy = (0.0, 0.0) if centre_m is None else (float(centre_m[0]), float(centre_m[1]))
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise ValueError(f"centre_m must be two finite numbers (metres), got {centre_m!r}")
    if zoom_m is None:
        rows, cols = slice(0, grid.ny), slice(0, grid.nx)
    else:
        zoom_m = float(zoom_m)
        if not (math.isfinite(zoom_m) and zoom_m > 0):
            raise ValueError(f"zoom_m must be a positive finite half-width in metres, got {zoom_m!r}")
        cols = _cell_range(grid.nx, grid.dx, cx - zoom_m, cx + zoom_m)
        rows = _cell_range(grid.ny, grid.dy, cy - zoom_m, cy + zoom_m)
        if cols.start >= cols.stop or rows.start >= rows.stop:
            raise ValueError(f"the zoom window (centre_m={centre_m!r}, zoom_m={zoom_m!r}) lies outside the grid")
    x0 = (cols.start - grid.nx / 2) * grid.dx * 1e9
    x1 = (cols.stop - grid.nx / 2) * grid.dx * 1e9
    y0 = (rows.start - grid.ny / 2) * grid.dy * 1e9
    y1 = (rows.stop - grid.ny / 2) * grid.dy * 1e9
    return rows, cols, (x0, x1, y0, y1)


def _cell_range(n: int, h: float, low_m: float, high_m: float) -> slice:
    """Cells of one axis (``n`` cells of size ``h``) whose centres lie in ``[low, high]``."""
    centres = (np.arange(n) + 0.5 - n / 2) * h
    inside = np.flatnonzero((centres >= low_m) & (centres <= high_m))
    if inside.size == 0:
        return slice(0, 0)
    return slice(int(inside[0]), int(inside[-1]) + 1)


def _masked(component: np.ndarray, mask: np.ndarray) -> np.ma.MaskedArray:
    return np.ma.masked_array(component, mask=~mask)


def _outline(ax: Axes, mask: np.ndarray, extent: tuple[float, float, float, float]) -> None:
    """A thin grey line along the mask edge, so that the disk shows where m is near 0."""
    if mask.all() or not mask.any():
        return
    ax.contour(mask.astype(float), levels=[0.5], colors="0.6", linewidths=0.6, extent=extent, origin="lower")


def _show(ax: Axes, component: np.ndarray, mask: np.ndarray, extent: tuple[float, float, float, float]):
    """One component on [-1, 1] in the book's colour map, cells outside ``mask`` blank, with the disk outline."""
    image = ax.imshow(_masked(component, mask), cmap=COLORMAP, vmin=-1.0, vmax=1.0, origin="lower", extent=extent,
                      interpolation="nearest")
    _outline(ax, mask, extent)
    return image


def plot_components(
    m: np.ndarray,
    grid: Grid,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    zoom_m: float | None = None,
    *,
    centre_m: tuple[float, float] | None = None,
    panel_size_in: float = 3.0,
) -> Figure:
    """The three components of one or more magnetization states, one row per state.

    Parameters
    ----------
    m : numpy.ndarray
        Reduced magnetization ``(B, 3, ny, nx)`` (a batch) or ``(3, ny, nx)`` (one state),
        as a host (NumPy) array; use ``system.backend.to_numpy`` for a GPU array.
    grid : Grid
        The grid of ``m``; its cell size sets the axes (nm) and its mask the blank cells.
    titles : sequence of str, optional
        Titles of the three columns (default ``$m_x$``, ``$m_y$``, ``$m_z$``).
    row_labels : sequence of str, optional
        One label per state, written as the y label of the row's first panel.
    zoom_m : float, optional
        Half-width in metres of a square window to show (default: the whole grid).
    centre_m : tuple of float, optional
        Centre ``(x, y)`` of the zoom window in metres from the grid centre (default 0, 0).
    panel_size_in : float
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        ``3 B`` image axes (row by row, ``m_x, m_y, m_z``) and one shared colour bar axes
        labelled ``"m component"`` with limits ``[-1, 1]``.

    Raises
    ------
    ValueError
        If ``m`` does not have shape ``(B, 3, ny, nx)`` or ``(3, ny, nx)`` matching ``grid``,
        if ``titles`` does not hold 3 entries or ``row_labels`` not ``B``, or if ``zoom_m``
        is not a positive length.
    """
    batch = _as_batch(m, grid)
    count = batch.shape[0]
    titles = list(COMPONENT_TITLES if titles is None else titles)
    if len(titles) != 3:
        raise ValueError(f"titles must hold 3 entries (m_x, m_y, m_z), got {len(titles)}")
    if row_labels is not None:
        row_labels = list(row_labels)
        if len(row_labels) != count:
            raise ValueError(f"row_labels must hold one entry per state ({count}), got {len(row_labels)}")
    if not (math.isfinite(panel_size_in) and panel_size_in > 0):
        raise ValueError(f"panel_size_in must be positive, got {panel_size_in!r}")
    rows, cols, extent = _window(grid, zoom_m, centre_m)
    mask = grid.mask[rows, cols]

    fig = Figure(figsize=(3 * panel_size_in + 0.9, count * panel_size_in + 0.3), layout="constrained")
    axes = fig.subplots(count, 3, squeeze=False, sharex=True, sharey=True)
    image = None
    for b in range(count):
        for c in range(3):
            ax = axes[b, c]
            image = _show(ax, batch[b, c, rows, cols], mask, extent)
            ax.set_aspect("equal")
            if b == 0:
                ax.set_title(titles[c])
            if b == count - 1:
                ax.set_xlabel("x (nm)")
            if c == 0:
                ylabel = "y (nm)" if row_labels is None else f"{row_labels[b]}\ny (nm)"
                ax.set_ylabel(ylabel)
    fig.colorbar(image, ax=axes, label="m component", shrink=min(1.0, 0.9 if count > 1 else 0.8))
    return fig


def plot_mz_with_arrows(
    m: np.ndarray,
    grid: Grid,
    ax: Axes | None = None,
    stride: int = 8,
    *,
    zoom_m: float | None = None,
    centre_m: tuple[float, float] | None = None,
    colorbar: bool = True,
) -> Axes:
    """``m_z`` as a colour map with arrows of the in-plane moment ``(m_x, m_y)``.

    Arrows are drawn at every ``stride``-th cell along x and y (inside the mask only); an
    arrow of an in-plane moment of length 1 spans 0.9 ``stride`` cells, so arrows in the
    domains show the tilt the in-plane field gives them and arrows in the walls show the
    wall moment.

    Parameters
    ----------
    m : numpy.ndarray
        One reduced magnetization ``(3, ny, nx)`` (or a batch of one, ``(1, 3, ny, nx)``).
    grid : Grid
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; by default a new figure with one axes is made.
    stride : int
        Spacing of the arrows in cells (>= 1).
    zoom_m : float, optional
        Half-width in metres of a square window to show (default: the whole grid).
    centre_m : tuple of float, optional
        Centre ``(x, y)`` of the window in metres from the grid centre (default 0, 0).
    colorbar : bool
        Add a colour bar labelled ``m_z`` next to the axes.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into (``ax.figure`` is its figure).

    Raises
    ------
    ValueError
        If ``m`` is not a single state matching ``grid``, ``stride`` is not a positive
        integer, or the zoom window is invalid.
    """
    batch = _as_batch(m, grid)
    if batch.shape[0] != 1:
        raise ValueError(f"m must be a single state (3, ny, nx), got a batch of {batch.shape[0]}")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    state = batch[0]
    rows, cols, extent = _window(grid, zoom_m, centre_m)
    mask = grid.mask[rows, cols]
    if ax is None:
        fig = Figure(figsize=(5.2, 4.4), layout="constrained")
        ax = fig.add_subplot()
    image = _show(ax, state[2, rows, cols], mask, extent)
    # Arrows at every stride-th cell, offset by half a stride so that they sit inside the window.
    j = np.arange(rows.start + stride // 2, rows.stop, stride)
    i = np.arange(cols.start + stride // 2, cols.stop, stride)
    jj, ii = np.meshgrid(j, i, indexing="ij")
    inside = grid.mask[jj, ii]
    x_nm = (ii[inside] + 0.5 - grid.nx / 2) * grid.dx * 1e9
    y_nm = (jj[inside] + 0.5 - grid.ny / 2) * grid.dy * 1e9
    length_nm = 0.9 * stride * min(grid.dx, grid.dy) * 1e9
    ax.quiver(
        x_nm,
        y_nm,
        state[0][jj, ii][inside],
        state[1][jj, ii][inside],
        angles="xy",
        scale_units="xy",
        scale=1.0 / length_nm,
        pivot="middle",
        color="k",
        width=0.004,
        headwidth=3.5,
        headlength=4.0,
        headaxislength=3.5,
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="$m_z$")
    return ax


def _pixelated_panel(ax: Axes, image: np.ndarray, grid: Grid, b: int, zoom_nm: float | None,
                     centre_nm: tuple[float, float]):
    """imshow of the ``b x b`` block average of one ``(ny, nx)`` component, in nm from the grid centre."""
    from ..degrade import pixelate

    coarse = pixelate(image, b)
    # pixelate() keeps the centred window of whole blocks: place the blocks where they lie.
    rows, cols = block_window(*image.shape, b)
    top, left = rows.start, cols.start
    x0 = (left - image.shape[1] / 2) * grid.dx * 1e9
    y0 = (top - image.shape[0] / 2) * grid.dy * 1e9
    extent = (x0, x0 + coarse.shape[1] * b * grid.dx * 1e9, y0, y0 + coarse.shape[0] * b * grid.dy * 1e9)
    shown = ax.imshow(coarse, cmap=COLORMAP, vmin=-1, vmax=1, origin="lower", extent=extent, interpolation="nearest")
    if zoom_nm is not None:
        ax.set_xlim(centre_nm[0] - zoom_nm, centre_nm[0] + zoom_nm)
        ax.set_ylim(centre_nm[1] - zoom_nm, centre_nm[1] + zoom_nm)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def plot_pixelation_schematic(m: np.ndarray, grid: Grid, pixelations: Sequence[int], *, zoom_nm: float = 100.0,
                              zoom_centre_nm: tuple[float, float] = (0.0, 0.0)) -> Figure:
    """The paper's Fig. 6a: one state block averaged over ``b x b`` cells, one column per ``b``.

    Rows: m_z over the whole grid, m_x over the whole grid (with the zoom window dashed), and
    m_x in a ``2 zoom_nm`` window centred on ``zoom_centre_nm`` (for example a wall). Every
    panel covers the same area, so the pixels grow with ``b``; titles give the pixel size
    ``b dx`` in nm and the image size.

    Parameters
    ----------
    m : numpy.ndarray
        ``(3, ny, nx)`` unit magnetization on ``grid``.
    grid : Grid
        Its grid (cell sizes in metres).
    pixelations : sequence of int
        The ``b`` of each column (1 = the cells themselves).
    zoom_nm, zoom_centre_nm : float, (float, float)
        Half width and centre of the enlarged window, in nm from the grid centre.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Rectangle

    state = _as_batch(m, grid)[0]
    bs = [int(b) for b in pixelations]
    if not bs or min(bs) < 1:
        raise ValueError(f"pixelations must be a non-empty sequence of integers >= 1, got {pixelations!r}")
    figure = Figure(figsize=(1.9 * len(bs) + 0.8, 6.0), layout="constrained")
    axes = figure.subplots(3, len(bs), squeeze=False)
    rows = [("$m_z$", state[2], None), ("$m_x$", state[0], None), ("$m_x$, zoomed", state[0], zoom_nm)]
    for column, b in enumerate(bs):
        for row, (label, image, zoom) in enumerate(rows):
            shown = _pixelated_panel(axes[row, column], image, grid, b, zoom, zoom_centre_nm)
            if column == 0:
                axes[row, column].set_ylabel(label)
        axes[0, column].set_title(f"b = {b}: {b * grid.dx * 1e9:.3g} nm\n{grid.ny // b} x {grid.nx // b} pixels",
                                  fontsize=9)
        axes[1, column].add_patch(Rectangle((zoom_centre_nm[0] - zoom_nm, zoom_centre_nm[1] - zoom_nm), 2 * zoom_nm,
                                            2 * zoom_nm, fill=False, ls="--", lw=0.8, color="k"))
    figure.colorbar(shown, ax=axes, shrink=0.6, label="reduced magnetization")
    return figure


def plot_noise_schematic(m: np.ndarray, grid: Grid, *, sigma: float = 0.15, pixelation: int = 5,
                         seed: int = 1) -> Figure:
    """The paper's Fig. 7a: a state clean, with noise, noise then pixelation, pixelation then noise.

    Columns: the cells clean; Gaussian noise of standard deviation ``sigma`` (units of Ms) on
    every cell; that noisy image block averaged over ``pixelation x pixelation`` cells (the
    order :class:`~dmilib.degrade.Degradation` uses by default, which leaves ``sigma / b``);
    and the clean image pixelated first with the noise added to the pixels. Rows: m_z, m_x.

    Parameters
    ----------
    m : numpy.ndarray
        ``(3, ny, nx)`` unit magnetization on ``grid``.
    grid : Grid
        Its grid.
    sigma : float
        Noise standard deviation (> 0).
    pixelation : int
        Block size ``b`` (>= 1).
    seed : int
        Seed of the noise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..degrade import Degradation

    state = _as_batch(m, grid)

    def degraded(b=1, noise=0.0, before=True):
        degradation = Degradation(component="all", pixelation=b, noise_sigma=noise, noise_before_pixelation=before)
        return degradation.apply(state, grid.dx, seed=seed)[0]

    panels = [("clean", degraded()), (f"σ = {sigma:g}", degraded(noise=sigma)),
              (f"σ = {sigma:g}, then b = {pixelation}", degraded(pixelation, sigma)),
              (f"b = {pixelation}, then σ = {sigma:g}", degraded(pixelation, sigma, False))]
    figure = Figure(figsize=(9.5, 5.0), layout="constrained")
    axes = figure.subplots(2, len(panels))
    half = grid.nx * grid.dx * 1e9 / 2
    for column, (title, image) in enumerate(panels):
        for row, (channel, label) in enumerate(((2, "$m_z$"), (0, "$m_x$"))):
            ax = axes[row, column]
            shown = ax.imshow(image[..., channel], cmap=COLORMAP, vmin=-1, vmax=1, origin="lower",
                              extent=(-half, half, -half, half), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(label)
        axes[0, column].set_title(title, fontsize=9)
    figure.colorbar(shown, ax=axes, shrink=0.6, label="reduced magnetization")
    return figure
