"""Initial magnetization textures (seeds for the minimizer)."""

from __future__ import annotations

import math

import numpy as np

from .geometry import Grid


def bubble(
    grid: Grid,
    radius_m: float,
    wall_width_m: float | None = None,
    centre_m: tuple[float, float] | None = None,
    core_polarity: int = -1,
    helicity_rad: float = 0.0,
) -> np.ndarray:
    """A circular bubble domain with a Néel/Bloch wall profile, shape ``(3, ny, nx)``.

    The polar angle follows the 360-degree-wall ansatz
    ``theta(r) = 2 arctan(exp(-(r - R) / w))`` (``theta = pi`` in the core for
    ``core_polarity = -1``), and the in-plane direction of the wall is
    ``phi = atan2(y, x) + helicity_rad`` (0: outward Néel, pi/2: Bloch). The wall profile
    and the in-plane component give the minimizer a non-zero torque everywhere in the wall,
    unlike a sharp +-z disc, which sits on a saddle under fields along z.

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
    helicity_rad : float
        Angle between the in-plane wall moment and the outward radial direction.
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
