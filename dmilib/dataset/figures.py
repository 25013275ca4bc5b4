"""What the dataset figures show, computed from a store; the drawing is :mod:`dmilib.plotting.dataset_figures`.

* :func:`select_nearest` - the sample nearest requested labels (:meth:`Dataset.find`).
* :func:`grain_boundary_segments` - the faces between Voronoi grains, as line segments in nm.
* :func:`bubble_measures` - bubble area and expansion asymmetry of every valid sample.
* :func:`component_statistics` - mean and spread of each component over the disk against
  ``D``: how much each input a network may be given changes with ``D``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..simulate.geometry import Grid
from .shape import measure_bubble, reversed_domain
from .store import Dataset, _finite, _mJ, _mT, _nearest_within
from .voronoi import Tessellation


def _labels(dataset: Dataset) -> dict[str, np.ndarray]:
    return {
        "D": dataset.array("D_J_per_m2"),
        "Hz": dataset.array("Hz_T"),
        "Hx": dataset.array("Hx_T"),
        "tessellation": dataset.array("tessellation"),
        "valid": dataset.valid,
    }


def _check_dataset(dataset) -> None:
    if not isinstance(dataset, Dataset):
        raise ValueError(f"dataset must be a dmilib.dataset.Dataset, got {type(dataset).__name__}")


def _values(name: str, values) -> list[float]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
    return [_finite(f"{name}[{k}]", v) for k, v in enumerate(values)]


def select_nearest(
    dataset: Dataset,
    D: float,
    Hz_T: float,
    tessellation: int,
    *,
    D_tolerance_J_per_m2: float = 0.1e-3,
    Hz_tolerance_T: float = 1e-3,
) -> int:
    """Index of the valid sample nearest the requested labels: :meth:`Dataset.find <dmilib.dataset.store.Dataset.find>`.

    Parameters
    ----------
    dataset : Dataset
    D : float
        Requested DMI strength in J/m^2.
    Hz_T : float
        Requested perpendicular field mu0 Hz in T.
    tessellation : int
        Voronoi seed of the sample, -1 for the uniform film (matched exactly).
    D_tolerance_J_per_m2, Hz_tolerance_T : float
        Largest accepted distance between the requested and the stored value.

    Returns
    -------
    int
        The sample index; of several samples with the chosen labels (none in a generated
        store), the first. Ties in distance go to the value of larger magnitude.

    Raises
    ------
    ValueError
        If no valid sample has this tessellation, or the nearest stored ``D`` (among valid
        samples) or ``Hz`` (at that ``D``) is farther than the tolerance.
    """
    _check_dataset(dataset)
    return dataset.find(D, Hz_T, tessellation, D_tolerance_J_per_m2=D_tolerance_J_per_m2,
                        Hz_tolerance_T=Hz_tolerance_T)


def _title(dataset: Dataset, index: int) -> str:
    d = float(dataset.group["D_J_per_m2"][index])
    hz = float(dataset.group["Hz_T"][index])
    hx = float(dataset.group["Hx_T"][index])
    return f"D = {_mJ(d)} mJ/m², Hz = {_mT(hz)} mT\nHx = {_mT(hx)} mT"


def _default_stride(cells: int) -> int:
    # About 16 arrows across the view: denser arrows merge at print size.
    return max(1, int(round(cells / 16)))


def _check_stride(stride) -> int | None:
    if stride is None:
        return None
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1 (cells), got {stride!r}")
    return int(stride)


def _grain_ids(dataset: Dataset, seed: int, grid: Grid) -> np.ndarray:
    """Grain index of every cell for tessellation ``seed``, as used to generate the store."""
    config = dataset.config
    if config is not None:
        return Tessellation(
            seed=int(seed),
            mean_grain_diameter_m=config.disorder.mean_grain_diameter_m,
            Ku0_J_per_m3=config.material.Ku_J_per_m3,
            relative_sigma=config.disorder.relative_sigma,
        ).grain_ids(grid)
    # Imported stores carry no configuration; their stored Ku map still outlines the grains
    # (two neighbouring grains drawing the same float32 Ku is negligible).
    seeds = list(dataset.attrs.get("tessellation_seeds") or [])
    if int(seed) not in seeds:
        raise ValueError(f"tessellation: the store has neither a configuration nor a Ku map for seed {seed}")
    ku = dataset.group["ku_maps"][seeds.index(int(seed))]
    return np.unique(ku, return_inverse=True)[1].reshape(ku.shape).astype(np.int32)


def grain_boundary_segments(grain_ids: np.ndarray, grid: Grid, rows: slice | None = None,
                            cols: slice | None = None) -> np.ndarray:
    """Cell faces between different grains inside the mask, as line segments in nm.

    Parameters
    ----------
    grain_ids : numpy.ndarray of int, shape ``(ny, nx)``
        Grain index of every cell.
    grid : Grid
        Cell size and mask; faces with a cell outside the mask are left out.
    rows, cols : slice, optional
        Only faces between two cells of this window (default: the whole grid).

    Returns
    -------
    numpy.ndarray, shape ``(K, 2, 2)``
        Segment end points ``(x, y)`` in nm from the grid centre, for a LineCollection.
    """
    ids = np.asarray(grain_ids)
    if ids.shape != grid.shape:
        raise ValueError(f"grain_ids must have shape {grid.shape}, got {ids.shape}")
    rows = slice(0, grid.ny) if rows is None else rows
    cols = slice(0, grid.nx) if cols is None else cols
    window = np.zeros(grid.shape, bool)
    window[rows, cols] = True
    keep = grid.mask & window
    dx, dy = grid.dx * 1e9, grid.dy * 1e9
    x0, y0 = -grid.nx / 2 * dx, -grid.ny / 2 * dy
    # A face between columns i and i+1 is vertical, at x = i + 1; between rows, horizontal.
    j, i = np.nonzero((ids[:, :-1] != ids[:, 1:]) & keep[:, :-1] & keep[:, 1:])
    x = x0 + (i + 1) * dx
    vertical = np.stack([np.stack([x, y0 + j * dy], -1), np.stack([x, y0 + (j + 1) * dy], -1)], 1)
    j, i = np.nonzero((ids[:-1, :] != ids[1:, :]) & keep[:-1, :] & keep[1:, :])
    y = y0 + (j + 1) * dy
    horizontal = np.stack([np.stack([x0 + i * dx, y], -1), np.stack([x0 + (i + 1) * dx, y], -1)], 1)
    return np.concatenate([vertical, horizontal]).reshape(-1, 2, 2)


def _wall_centre(m: np.ndarray, grid: Grid) -> tuple[float, float]:
    """A point of the bubble's wall on its +x side, in m from the grid centre.

    The +x side is where the in-plane field pushes the wall and the DMI asymmetry shows.
    """
    bubble = reversed_domain(m, grid.mask)
    if not bubble.any():
        raise ValueError("no bubble: no cell with m_z < 0 inside the mask")
    rows, cols = np.nonzero(bubble)
    rightmost = cols.max()
    row = int(np.median(rows[cols == rightmost]))
    return (rightmost + 1 - grid.nx / 2) * grid.dx, (row + 0.5 - grid.ny / 2) * grid.dy


def _first_tessellation(labels: dict[str, np.ndarray]) -> int:
    disordered = np.flatnonzero(labels["valid"] & (labels["tessellation"] >= 0))
    if disordered.size == 0:
        raise ValueError("dataset: no non-uniform samples (no valid sample with a Voronoi tessellation)")
    return int(labels["tessellation"][disordered[0]])


def bubble_measures(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Bubble area (m^2) and ``x_asymmetry`` of every sample; NaN for invalid ones.

    Every valid sample is read once (one at a time, to bound memory) and measured with
    :func:`~dmilib.dataset.shape.measure_bubble`. A valid sample without a measurable bubble
    keeps NaN, so a figure of the store is still drawn.
    """
    _check_dataset(dataset)
    grid = dataset.grid
    area = np.full(len(dataset), np.nan)
    asymmetry = np.full(len(dataset), np.nan)
    magnetization = dataset.group["magnetization"]
    for index in np.flatnonzero(dataset.valid):
        try:
            shape = measure_bubble(magnetization[int(index), 2], grid)
        except ValueError:
            continue  # a valid sample always has a bubble; keep the figure if one does not
        area[index], asymmetry[index] = shape.area_m2, shape.x_asymmetry
    return area, asymmetry


def component_statistics(dataset: Dataset, *, Hz_T: float, tessellation: int = -1,
                         Hz_tolerance_T: float = 1e-3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``m_x``, ``m_y``, ``m_z`` over the disk, per ``D``.

    For one film (``tessellation``; -1 is the uniform film) at one perpendicular field, every
    valid sample's three components are averaged over the disk mask. An image whose spread
    stops changing with ``D`` over some interval carries little information about ``D``
    there, whatever network reads it; the generalization chapter uses this to explain which
    input extrapolates to which interval.

    Parameters
    ----------
    dataset : Dataset
    Hz_T : float
        The perpendicular field ``mu0 Hz`` in tesla; the stored field nearest it is used.
    tessellation : int
        The film: -1 for the uniform film, else the Voronoi seed.
    Hz_tolerance_T : float
        How far the stored field may be from ``Hz_T``.

    Returns
    -------
    D_J_per_m2 : ndarray, shape (n,)
        The samples' ``D`` in J/m^2, ascending.
    mean, std : ndarray, shape (n, 3)
        Mean and population standard deviation over the disk of ``m_x``, ``m_y``, ``m_z``
        (dimensionless, in units of ``Ms``).

    Raises
    ------
    ValueError
        If the film has no valid sample within ``Hz_tolerance_T`` of ``Hz_T``.
    """
    _check_dataset(dataset)
    Hz_T = _finite("Hz_T", Hz_T)
    labels = _labels(dataset)
    film = labels["valid"] & (labels["tessellation"] == int(tessellation))
    if not film.any():
        raise ValueError(f"tessellation: the dataset has no valid sample of film {int(tessellation)}")
    nearest, stored = _nearest_within(labels["Hz"][film], Hz_T, Hz_tolerance_T, _mT)
    if nearest is None:
        raise ValueError(f"Hz_T: no valid sample of film {int(tessellation)} within {_mT(Hz_tolerance_T)} mT of "
                         f"{_mT(Hz_T)} mT; stored fields are {stored} mT")
    chosen = np.flatnonzero(film & np.isclose(labels["Hz"], nearest, rtol=0, atol=1e-12))
    chosen = chosen[np.argsort(labels["D"][chosen], kind="stable")]
    mask = dataset.mask.astype(bool)
    mean = np.empty((chosen.size, 3))
    std = np.empty((chosen.size, 3))
    for row, index in enumerate(chosen):  # one sample at a time, to bound memory
        m = dataset.magnetization(int(index))[0][:, mask].astype(np.float64)
        mean[row], std[row] = m.mean(axis=1), m.std(axis=1)
    return labels["D"][chosen].astype(np.float64), mean, std
