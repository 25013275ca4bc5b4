"""Shape measures of the reversed (bubble) domain in a magnetization image.

These are the morphological signatures the study attributes to the DMI (size, asymmetric
expansion under an in-plane field, elongation, wall corrugation). They serve the
physical-check tests, the ridge-regression physics baseline (:func:`shape_features`) and
the dataset statistics figure.

Conventions
-----------
* The bubble is the largest 4-connected component of the cells with ``m_z < 0`` inside
  the mask (:func:`reversed_domain`); smaller reversed patches are ignored.
* Positions are in metres from the grid centre, which for a
  :meth:`~dmilib.simulate.Grid.disk` grid is the centre of the disk.
* Sub-cell precision: wherever the bubble's edge is located, it is placed on the
  ``m_z = 0`` line found by linear interpolation of ``m_z`` between a bubble cell and its
  neighbour outside the bubble. Cells outside the mask or grid, and reversed cells of other
  components, count as ``m_z = +1`` for this interpolation. For a sharp ``+-1`` profile
  the edge is therefore the cell face; for a smooth wall it is the wall centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..simulate.geometry import Grid

FOURIER_SAMPLES = 64
"""Number of angles at which the wall radius ``r(phi)`` is sampled."""

FOURIER_ORDERS = 6
"""Number of Fourier descriptors (harmonics 0 .. 5) in :attr:`BubbleShape.fourier_descriptors`."""

_SCALAR_FIELDS = (
    "area_m2",
    "equivalent_radius_m",
    "centroid_x_m",
    "centroid_y_m",
    "extent_plus_x_m",
    "extent_minus_x_m",
    "extent_plus_y_m",
    "extent_minus_y_m",
    "x_asymmetry",
    "centroid_offset_x",
    "elongation",
    "wall_length_m",
)

SHAPE_FEATURE_NAMES: tuple[str, ...] = _SCALAR_FIELDS + tuple(
    f"fourier_{n}" for n in range(1, FOURIER_ORDERS)
)
"""Column names of :func:`shape_features`: the scalar fields of :class:`BubbleShape` in
declaration order, then the Fourier descriptors 1 .. 5 (descriptor 0 is 1 by definition
and is left out, since a constant column carries no information)."""

_NO_BUBBLE = "no bubble: no cell with m_z < 0 inside the mask"


@dataclass(frozen=True)
class BubbleShape:
    """Shape of the bubble (the largest reversed domain) of one magnetization image.

    Attributes
    ----------
    area_m2 : float
        Area in m^2: the mean of the row-wise and column-wise areas, each the sum over the
        bubble's runs of cells of the distance between the interpolated ``m_z = 0``
        crossings at the two ends of the run, times the cell height (width). Equals the
        cell count times the cell area for a sharp ``+-1`` profile.
    equivalent_radius_m : float
        ``sqrt(area_m2 / pi)`` in m: the radius of the disk of the same area.
    centroid_x_m, centroid_y_m : float
        Area centroid in m relative to the grid (disk) centre, from the same runs (the
        first moment of each run is integrated exactly between its crossings).
    extent_plus_x_m, extent_minus_x_m : float
        Distance in m from the disk centre to the bubble's rightmost (``+x``) and leftmost
        (``-x``) edge over all rows: ``max x_edge`` and ``-min x_edge``. Signed: a bubble
        lying entirely at ``x > 0`` has a negative ``extent_minus_x_m``. Their sum is the
        bubble's total width.
    extent_plus_y_m, extent_minus_y_m : float
        The same along y (over all columns).
    x_asymmetry : float
        ``(extent_plus_x_m - extent_minus_x_m) / (extent_plus_x_m + extent_minus_x_m)``,
        dimensionless, > 0 when the bubble reaches further along ``+x`` than along ``-x``.
        A circle of radius R centred at ``x = s`` gives ``s / R``.
    centroid_offset_x : float
        ``centroid_x_m / equivalent_radius_m``, dimensionless.
    elongation : float
        Total width over total height:
        ``(extent_plus_x_m + extent_minus_x_m) / (extent_plus_y_m + extent_minus_y_m)``.
    wall_length_m : float
        Length in m of the domain wall: the number of faces between bubble cells and
        magnetic (in-mask) cells outside the bubble, times the face length, times ``pi/4``.
        Faces on the disk edge are not counted (there is no wall there). The ``pi/4``
        (Cauchy-Crofton) factor corrects the staircase on average over wall orientations:
        a face count measures ``integral (|cos t| + |sin t|) ds`` along the wall, whose
        mean over orientations ``t`` is ``4/pi``. The estimate is unbiased for a circle
        (up to discretisation) and lies within ``[pi/4, pi sqrt(2)/4] = [0.785, 1.111]``
        times the true length for any wall; an axis-aligned straight wall gets ``pi/4``.
    fourier_descriptors : tuple of float
        ``(a_0, ..., a_5)``, dimensionless. With ``r_k`` the wall radius at
        ``phi_k = 2 pi k / 64`` (k = 0 .. 63) measured from the centroid, and
        ``c_n = (1/64) sum_k r_k exp(-i n phi_k)``, ``a_0 = 1`` and ``a_n = 2 |c_n| / c_0``:
        the relative amplitude of the n-th harmonic in
        ``r(phi) = c_0 [1 + sum_n a_n cos(n phi - psi_n)]``. ``c_0`` is the mean radius.
        ``r_k`` is the distance to the outermost ``m_z = 0`` crossing along the ray (``m_z``
        interpolated bilinearly, sampled every quarter cell, the crossing refined linearly),
        and 0 on a ray that meets no bubble cell. A circle gives ``a_n ~ 0`` for n >= 1; an
        ellipse of small eccentricity ``r = r0 (1 + e cos 2 phi)`` gives ``a_2 = e``.
    """

    area_m2: float
    equivalent_radius_m: float
    centroid_x_m: float
    centroid_y_m: float
    extent_plus_x_m: float
    extent_minus_x_m: float
    extent_plus_y_m: float
    extent_minus_y_m: float
    x_asymmetry: float
    centroid_offset_x: float
    elongation: float
    wall_length_m: float
    fourier_descriptors: tuple[float, ...]

    def features(self) -> np.ndarray:
        """The vector of :data:`SHAPE_FEATURE_NAMES`, float64, SI units."""
        scalars = [getattr(self, name) for name in _SCALAR_FIELDS]
        return np.array(scalars + list(self.fourier_descriptors[1:]), dtype=np.float64)


def _mz_and_mask(m: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(m)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"m must be a real numeric array, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[0] == 3:
        mz = array[2]
    elif array.ndim == 2:
        mz = array
    else:
        raise ValueError(f"m must have shape (3, ny, nx) (or be m_z, (ny, nx)), got {array.shape}")
    mask_array = np.asarray(mask)
    if mask_array.dtype != bool or mask_array.shape != mz.shape:
        raise ValueError(f"mask must be a boolean array of shape {mz.shape}, got {mask_array.dtype} {mask_array.shape}")
    return mz.astype(np.float64, copy=False), mask_array


def reversed_domain(m: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The bubble: the largest 4-connected component of cells with ``m_z < 0`` in ``mask``.

    Parameters
    ----------
    m : numpy.ndarray
        Reduced magnetization ``(3, ny, nx)``, or its ``m_z`` alone ``(ny, nx)``.
    mask : numpy.ndarray of bool, shape ``(ny, nx)``
        The magnetic cells.

    Returns
    -------
    numpy.ndarray of bool, shape ``(ny, nx)``
        The bubble's cells; all False when no cell in the mask has ``m_z < 0``. Of
        components of equal area, the one met first in C order (row ``y`` outer) is kept.

    Raises
    ------
    ValueError
        If ``m`` or ``mask`` has the wrong shape or type.
    """
    mz, mask = _mz_and_mask(m, mask)
    # 4-connectivity: cells touching only at a corner are separated by wall on both sides.
    labels, count = ndimage.label((mz < 0) & mask)
    if count == 0:
        return np.zeros(mz.shape, dtype=bool)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    areas[0] = 0
    return labels == int(np.argmax(areas))


def _interpolation_field(mz: np.ndarray, mask: np.ndarray, bubble: np.ndarray) -> np.ndarray:
    """``m_z`` in the bubble and the magnetic cells around it, ``+1`` elsewhere.

    Negative values survive only in the bubble, so the ``m_z = 0`` line of this field is the
    bubble's edge (other reversed patches and the outside of the disk do not shift it).
    """
    outside_ok = mask & (mz >= 0)
    return np.where(bubble, mz, np.where(outside_ok, mz, 1.0))


def _edges(field: np.ndarray, bubble: np.ndarray, axis: int):
    """Edges of the bubble's runs of cells along ``axis`` (1: x, along rows; 0: y).

    Returns ``(upper_pos, upper_line, lower_pos, lower_line)``: positions in cell units
    (cell ``i`` spans ``[i, i + 1]``) of the interpolated ``m_z = 0`` crossing at the upper
    end (towards ``+axis``) and lower end of every run, and the index of the row (column)
    holding it.
    """
    f = field if axis == 1 else field.T
    b = bubble if axis == 1 else bubble.T
    # Pad with a non-bubble +1 cell so that runs touching the grid border are closed.
    fp = np.pad(f, ((0, 0), (1, 1)), constant_values=1.0)
    bp = np.pad(b, ((0, 0), (1, 1)), constant_values=False)
    upper = bp[:, 1:-1] & ~bp[:, 2:]
    lower = bp[:, 1:-1] & ~bp[:, :-2]
    line_u, i_u = np.nonzero(upper)
    line_l, i_l = np.nonzero(lower)
    inside_u, beyond_u = fp[line_u, i_u + 1], fp[line_u, i_u + 2]
    inside_l, beyond_l = fp[line_l, i_l + 1], fp[line_l, i_l]
    # Fraction of the way from the bubble cell's centre to its neighbour's where m_z = 0;
    # inside < 0 <= beyond, so the fraction lies in (0, 1].
    t_u = inside_u / (inside_u - beyond_u)
    t_l = inside_l / (inside_l - beyond_l)
    return i_u + 0.5 + t_u, line_u, i_l + 0.5 - t_l, line_l


def _wall_radii(field: np.ndarray, grid: Grid, centre_cells: tuple[float, float], reach_cells: float) -> np.ndarray:
    """Outermost ``m_z = 0`` crossing along :data:`FOURIER_SAMPLES` rays, in metres."""
    phi = 2 * np.pi * np.arange(FOURIER_SAMPLES) / FOURIER_SAMPLES
    step = 0.25 * min(grid.dx, grid.dy)
    rho = np.arange(int(math.ceil(reach_cells * max(grid.dx, grid.dy) / step)) + 2) * step
    x = centre_cells[0] * grid.dx + rho[None, :] * np.cos(phi)[:, None]
    y = centre_cells[1] * grid.dy + rho[None, :] * np.sin(phi)[:, None]
    # map_coordinates indexes cell centres: cell i (centre at (i + 1/2) h) is coordinate i.
    coords = np.stack([y / grid.dy - 0.5, x / grid.dx - 0.5])
    values = ndimage.map_coordinates(field, coords.reshape(2, -1), order=1, mode="constant", cval=1.0)
    values = values.reshape(FOURIER_SAMPLES, rho.size)
    radii = np.zeros(FOURIER_SAMPLES)
    for k in range(FOURIER_SAMPLES):
        negative = np.flatnonzero(values[k] < 0)
        if negative.size == 0:
            continue
        j = negative[-1]
        if j + 1 >= rho.size:
            radii[k] = rho[j]
            continue
        a, b = values[k, j], values[k, j + 1]
        radii[k] = rho[j] + step * a / (a - b)
    return radii


def _fourier_descriptors(radii: np.ndarray) -> tuple[float, ...]:
    coefficients = np.fft.rfft(radii) / radii.size
    mean = float(coefficients[0].real)
    if mean <= 0:
        return (1.0,) + (0.0,) * (FOURIER_ORDERS - 1)
    return (1.0,) + tuple(float(2 * abs(c) / mean) for c in coefficients[1:FOURIER_ORDERS])


def measure_bubble(m: np.ndarray, grid: Grid) -> BubbleShape:
    """Measure the bubble (largest reversed domain) of one magnetization image.

    Parameters
    ----------
    m : numpy.ndarray
        Reduced magnetization ``(3, ny, nx)`` on ``grid`` (``m_z`` alone, ``(ny, nx)``, is
        accepted too).
    grid : Grid
        Supplies the cell size (m) and the mask of magnetic cells.

    Returns
    -------
    BubbleShape
        All lengths in metres, relative to the grid centre; see its attributes for the
        exact definitions.

    Raises
    ------
    ValueError
        If ``m`` does not match ``grid``, or if there is no bubble ("no bubble: no cell
        with m_z < 0 inside the mask").
    """
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a dmilib Grid, got {type(grid).__name__}")
    mz, mask = _mz_and_mask(m, grid.mask)
    if not np.all(np.isfinite(mz[mask])):
        raise ValueError("m must be finite inside the mask")
    bubble = reversed_domain(mz, mask)
    if not bubble.any():
        raise ValueError(_NO_BUBBLE)
    field = _interpolation_field(mz, mask, bubble)
    dx, dy = grid.dx, grid.dy

    # Row runs give the area, x-centroid and x-extents; column runs the same along y.
    xu, _, xl, _ = _edges(field, bubble, axis=1)
    yu, _, yl, _ = _edges(field, bubble, axis=0)
    area_x = dy * dx * (xu.sum() - xl.sum())
    area_y = dx * dy * (yu.sum() - yl.sum())
    area = 0.5 * (area_x + area_y)
    cx_cells, cy_cells = grid.nx / 2, grid.ny / 2
    # The first moment of a run [a, b] is (b^2 - a^2) / 2; measured from the grid centre.
    centroid_x = dy * dx**2 * 0.5 * (((xu - cx_cells) ** 2).sum() - ((xl - cx_cells) ** 2).sum()) / area_x
    centroid_y = dx * dy**2 * 0.5 * (((yu - cy_cells) ** 2).sum() - ((yl - cy_cells) ** 2).sum()) / area_y

    plus_x = (xu.max() - cx_cells) * dx
    minus_x = (cx_cells - xl.min()) * dx
    plus_y = (yu.max() - cy_cells) * dy
    minus_y = (cy_cells - yl.min()) * dy
    width, height = plus_x + minus_x, plus_y + minus_y
    radius = math.sqrt(area / math.pi)

    # Faces to magnetic non-bubble cells only: the disk edge is not a domain wall.
    outside = mask & ~bubble
    faces_x = int((bubble[:, :-1] & outside[:, 1:]).sum() + (bubble[:, 1:] & outside[:, :-1]).sum())
    faces_y = int((bubble[:-1, :] & outside[1:, :]).sum() + (bubble[1:, :] & outside[:-1, :]).sum())
    wall_length = 0.25 * math.pi * (faces_x * dy + faces_y * dx)

    rows, cols = np.nonzero(bubble)
    centre_cells = (cx_cells + centroid_x / dx, cy_cells + centroid_y / dy)
    reach = math.hypot(max(cols.max() + 1 - centre_cells[0], centre_cells[0] - cols.min()),
                       max(rows.max() + 1 - centre_cells[1], centre_cells[1] - rows.min())) + 2
    descriptors = _fourier_descriptors(_wall_radii(field, grid, centre_cells, reach))

    return BubbleShape(
        area_m2=float(area),
        equivalent_radius_m=radius,
        centroid_x_m=float(centroid_x),
        centroid_y_m=float(centroid_y),
        extent_plus_x_m=float(plus_x),
        extent_minus_x_m=float(minus_x),
        extent_plus_y_m=float(plus_y),
        extent_minus_y_m=float(minus_y),
        x_asymmetry=float((plus_x - minus_x) / width),
        centroid_offset_x=float(centroid_x / radius),
        elongation=float(width / height),
        wall_length_m=float(wall_length),
        fourier_descriptors=descriptors,
    )


def shape_features(m_batch: np.ndarray, grid: Grid, *, on_missing: str = "raise") -> np.ndarray:
    """Shape feature vectors of a batch of images, for a regression baseline.

    Parameters
    ----------
    m_batch : numpy.ndarray
        Reduced magnetizations ``(N, 3, ny, nx)`` on ``grid``.
    grid : Grid
    on_missing : {"raise", "nan"}
        What to do with an image without a bubble: raise ValueError naming its index, or
        fill its row with NaN (for callers that drop such samples).

    Returns
    -------
    numpy.ndarray of float64, shape ``(N, len(SHAPE_FEATURE_NAMES))``
        Columns as in :data:`SHAPE_FEATURE_NAMES`, in SI units (m, m^2) or dimensionless;
        standardize them before a penalized regression, their scales differ by ~1e14.

    Raises
    ------
    ValueError
        If ``m_batch`` is not ``(N, 3, ny, nx)`` matching ``grid``, ``on_missing`` is not
        one of the two choices, or (``on_missing="raise"``) an image has no bubble.
    """
    if on_missing not in ("raise", "nan"):
        raise ValueError(f"on_missing must be 'raise' or 'nan', got {on_missing!r}")
    batch = np.asarray(m_batch)
    if batch.ndim != 4 or batch.shape[1:] != (3, *grid.shape):
        raise ValueError(f"m_batch must have shape (N, 3, ny, nx) with (ny, nx) = {grid.shape}, got {batch.shape}")
    out = np.full((batch.shape[0], len(SHAPE_FEATURE_NAMES)), np.nan)
    for index in range(batch.shape[0]):
        try:
            out[index] = measure_bubble(batch[index], grid).features()
        except ValueError as error:
            if on_missing == "raise" or str(error) != _NO_BUBBLE:
                raise ValueError(f"m_batch[{index}]: {error}") from error
    return out
