"""Initial magnetization textures (seeds for the minimizer) and the size of a bubble."""

from __future__ import annotations

import math

import numpy as np

from .geometry import Grid

__all__ = ["bubble", "bubble_radius_m", "neel_helicity_rad", "uniform"]


def neel_helicity_rad(D_J_per_m2: float, core_polarity: int = -1) -> float:
    """The Néel helicity that the interfacial DMI ``D`` (mumax3 ``Dind`` sign) favours.

    For ``m = (sin theta, 0, cos theta)`` varying along x the DMI energy density is
    ``D dtheta/dx`` (:class:`~dmilib.simulate.terms.InterfacialDMI`), so ``D > 0`` wants
    ``theta`` to fall along the in-plane moment. Across the wall of a ``-z`` core in ``+z``
    surroundings, ``theta`` falls from pi to 0 going outward: the moments point outward
    (helicity 0) for ``D > 0`` and inward (pi) for ``D < 0``; a ``+z`` core reverses both.
    ``D = 0`` gives 0 (no preference).
    """
    if core_polarity not in (-1, 1):
        raise ValueError(f"core_polarity must be -1 or +1, got {core_polarity!r}")
    d = float(D_J_per_m2)
    if not math.isfinite(d):
        raise ValueError(f"D_J_per_m2 must be finite, got {D_J_per_m2!r}")
    return math.pi if d * core_polarity > 0 else 0.0


def bubble(
    grid: Grid,
    radius_m: float,
    wall_width_m: float | None = None,
    centre_m: tuple[float, float] | None = None,
    core_polarity: int = -1,
    helicity_rad: float | None = None,
    *,
    D_J_per_m2: float | None = None,
) -> np.ndarray:
    """A circular bubble domain with a Néel/Bloch wall profile, shape ``(3, ny, nx)``.

    The polar angle follows the 360-degree-wall ansatz
    ``theta(r) = 2 arctan(exp(-(r - R) / w))`` (``theta = pi`` in the core for
    ``core_polarity = -1``), and the in-plane direction of the wall is
    ``phi = atan2(y, x) + helicity_rad`` (0: outward Néel, pi: inward Néel, pi/2: Bloch).
    By default the helicity is the Néel chirality that ``D_J_per_m2`` favours
    (:func:`neel_helicity_rad`): outward for ``D > 0`` with a ``-z`` core, inward for
    ``D < 0``. A seed of the other chirality has a higher DMI energy and may relax to a
    state without the bubble. The wall profile and its in-plane component give the
    minimizer a torque from every term across the wall; in a sharp +-z disc, exchange,
    anisotropy, demagnetization and a field along z are all parallel to m, so only the DMI
    and in-plane fields would move it.

    Parameters
    ----------
    grid : Grid
    radius_m : float
        Bubble radius R in metres.
    wall_width_m : float, optional
        Wall width parameter w in metres (default: 3 cells, at least 3 nm).
    centre_m : tuple of float, optional
        Centre ``(x, y)`` in metres from the grid's lower-left corner (default: grid centre).
    core_polarity : {-1, +1}
        Sign of m_z inside the bubble; the surroundings have the opposite sign.
    helicity_rad : float, optional
        Angle between the in-plane wall moment and the outward radial direction; overrides
        the choice from ``D_J_per_m2``.
    D_J_per_m2 : float, optional
        The film's interfacial DMI constant (J/m^2, mumax3 ``Dind`` sign), which sets the
        default helicity. Without it (and without ``helicity_rad``) the wall is outward
        Néel, the chirality of ``D > 0`` with a ``-z`` core.
    """
    if not radius_m > 0:
        raise ValueError(f"radius_m must be positive, got {radius_m!r}")
    if core_polarity not in (-1, 1):
        raise ValueError(f"core_polarity must be -1 or +1, got {core_polarity!r}")
    if wall_width_m is None:
        wall_width_m = max(3 * max(grid.cell_size_m), 3e-9)
    if not wall_width_m > 0:
        raise ValueError(f"wall_width_m must be positive, got {wall_width_m!r}")
    if centre_m is None:
        centre_m = (grid.nx * grid.dx / 2, grid.ny * grid.dy / 2)
    if helicity_rad is None:
        helicity_rad = 0.0 if D_J_per_m2 is None else neel_helicity_rad(D_J_per_m2, core_polarity)
    x, y = grid.cell_centres_m()
    dx, dy = x - centre_m[0], y - centre_m[1]
    r = np.hypot(dx, dy)
    theta = 2 * np.arctan(np.exp(np.clip(-(r - radius_m) / wall_width_m, -50, 50)))
    phi = np.arctan2(dy, dx) + helicity_rad
    polarity = -core_polarity
    m = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), polarity * np.cos(theta)])
    return m * grid.mask


def uniform(grid: Grid, direction=(0.0, 0.0, 1.0)) -> np.ndarray:
    """A uniform state ``(3, ny, nx)`` along ``direction`` (normalized), zero outside the mask."""
    direction = np.asarray(direction, dtype=np.float64)
    norm = float(np.linalg.norm(direction))
    if direction.shape != (3,) or not (math.isfinite(norm) and norm > 0):
        raise ValueError(f"direction must be a finite non-zero 3-vector, got {direction!r}")
    return (direction / norm)[:, None, None] * grid.mask


def bubble_radius_m(m, grid: Grid, core_polarity: int = -1):
    """Equivalent-area radius ``sqrt(A / pi)`` of the reversed domain, in metres.

    ``A`` is the area inside the ``m_z = 0`` contour where ``m_z`` has the core's sign
    (``core_polarity``, -1 for a ``-z`` bubble in ``+z`` surroundings). ``m_z`` is taken
    as linear between neighbouring cell centres, so the contour sits at the wall's centre
    to a fraction of a cell: along each row, the reversed length of every centre-to-centre
    segment is ``h u_a / (u_a - u_b)`` where ``u = core_polarity m_z`` changes sign, ``h``
    or 0 where it does not, plus half a cell beyond a reversed cell whose neighbour lies
    outside the mask. The row sum times ``dy`` and the same along columns times ``dx``
    are averaged. A sharp ``+-1`` profile gives its cell count times the cell area. Every
    reversed region counts, so on a state with one bubble this is the bubble's radius.

    Parameters
    ----------
    m : array_like
        Magnetization ``(3, ny, nx)`` or a batch ``(B, 3, ny, nx)`` (only ``m_z`` is read).
    grid : Grid
    core_polarity : {-1, +1}

    Returns
    -------
    float, or numpy.ndarray of shape (B,) for a batch.

    Raises
    ------
    ValueError
        For a state without a reversed cell in the mask.
    """
    if core_polarity not in (-1, 1):
        raise ValueError(f"core_polarity must be -1 or +1, got {core_polarity!r}")
    m = np.asarray(m, dtype=np.float64)
    single = m.ndim == 3
    batch = m[None] if single else m
    if batch.ndim != 4 or batch.shape[1:] != (3, *grid.shape):
        raise ValueError(f"m must have shape (3, ny, nx) or (B, 3, ny, nx) with (ny, nx) = {grid.shape}, "
                         f"got {m.shape}")
    u = core_polarity * batch[:, 2]
    mask = np.asarray(grid.mask, dtype=bool)
    if not np.all(np.any((u > 0) & mask, axis=(1, 2))):
        raise ValueError("no reversed domain: no cell inside the mask has m_z of the core's sign")
    area_rows = _reversed_length_cells(u, mask, axis=2) * grid.dx * grid.dy
    area_columns = _reversed_length_cells(u, mask, axis=1) * grid.dx * grid.dy
    radii = np.sqrt(0.5 * (area_rows + area_columns) / math.pi)
    return float(radii[0]) if single else radii


def _reversed_length_cells(u, mask, axis: int):
    """Summed length (in cells) along ``axis`` where the piecewise-linear ``u`` is positive."""
    u = np.moveaxis(u, axis, -1)
    inside = mask if axis == 2 else mask.T
    a, b = u[..., :-1], u[..., 1:]
    bond = inside[..., :-1] & inside[..., 1:]
    crossing = (a > 0) != (b > 0)
    positive = np.where(a > 0, a, b)
    negative = np.where(a > 0, b, a)
    fraction = np.where(crossing, positive / np.where(crossing, positive - negative, 1.0), (a > 0).astype(float))
    length = np.sum(np.where(bond, fraction, 0.0), axis=(-2, -1))
    # Half a cell beyond each reversed cell that ends a run at the mask (or grid) edge.
    padded = np.pad(inside, [(0, 0), (1, 1)])
    ends = inside & ~padded[..., :-2]
    ends = ends.astype(int) + (inside & ~padded[..., 2:])
    return length + 0.5 * np.sum(np.where(u > 0, ends, 0), axis=(-2, -1))
