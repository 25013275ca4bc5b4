"""The simulation grid: a single layer of nx x ny cells with a mask for the magnetic region."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number (metres), got {value!r}")
    return value


@dataclass(frozen=True, eq=False)
class Grid:
    """A thin film discretized into one layer of ``ny`` rows by ``nx`` columns of cells.

    Arrays on this grid have shape ``(..., ny, nx)``: the last axis is x, the one before is y.
    The cell at column ``i``, row ``j`` is centred at ``((i + 1/2) dx, (j + 1/2) dy, t/2)``.

    Parameters
    ----------
    nx, ny : int
        Number of cells along x and y.
    cell_size_m : tuple of float
        Cell size ``(dx, dy)`` in metres.
    thickness_m : float
        Film thickness ``t`` in metres; the cells are ``t`` thick (one layer).
    mask : numpy.ndarray of bool, optional
        ``(ny, nx)`` map of the magnetic cells; ``None`` means the whole rectangle.
    """

    nx: int
    ny: int
    cell_size_m: tuple[float, float]
    thickness_m: float
    mask: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("nx", "ny"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if len(self.cell_size_m) != 2:
            raise ValueError(f"cell_size_m must be (dx, dy) in metres, got {self.cell_size_m!r}")
        dx = _check_positive("cell_size_m[0] (dx)", self.cell_size_m[0])
        dy = _check_positive("cell_size_m[1] (dy)", self.cell_size_m[1])
        object.__setattr__(self, "cell_size_m", (dx, dy))
        object.__setattr__(self, "thickness_m", _check_positive("thickness_m", self.thickness_m))
        mask = np.ones((self.ny, self.nx), bool) if self.mask is None else np.asarray(self.mask)
        if mask.shape != (self.ny, self.nx):
            raise ValueError(f"mask must have shape (ny, nx) = {(self.ny, self.nx)}, got {mask.shape}")
        if mask.dtype != bool:
            raise ValueError(f"mask must be boolean, got dtype {mask.dtype}")
        if not mask.any():
            raise ValueError("mask is empty: the grid has no magnetic cell")
        mask = mask.copy()
        mask.setflags(write=False)
        object.__setattr__(self, "mask", mask)

    @classmethod
    def disk(cls, diameter_m: float, cell_size_m: float, thickness_m: float) -> "Grid":
        """A square grid just enclosing a disk of the given diameter, masked to the disk.

        A cell belongs to the disk when its centre lies within ``diameter_m / 2`` of the
        grid centre. ``n = round(diameter_m / cell_size_m)`` cells per side (795 nm / 1.5 nm
        gives the study's 530 x 530 grid).
        """
        diameter_m = _check_positive("diameter_m", diameter_m)
        cell_size_m = _check_positive("cell_size_m", cell_size_m)
        n = int(round(diameter_m / cell_size_m))
        if n < 3:
            raise ValueError(f"diameter_m / cell_size_m must be at least 3 cells, got {diameter_m / cell_size_m:.3g}")
        centres = (np.arange(n) + 0.5) * cell_size_m - n * cell_size_m / 2
        radius2 = centres[None, :] ** 2 + centres[:, None] ** 2
        return cls(n, n, (cell_size_m, cell_size_m), thickness_m, radius2 <= (diameter_m / 2) ** 2)

    @property
    def dx(self) -> float:
        return self.cell_size_m[0]

    @property
    def dy(self) -> float:
        return self.cell_size_m[1]

    @property
    def cell_volume_m3(self) -> float:
        return self.dx * self.dy * self.thickness_m

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape ``(ny, nx)`` of a scalar field on the grid."""
        return (self.ny, self.nx)

    @property
    def cell_count(self) -> int:
        """Number of magnetic cells (inside the mask)."""
        return int(self.mask.sum())

    def cell_centres_m(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y coordinates of the cell centres in metres, each of shape ``(ny, nx)``."""
        x = (np.arange(self.nx) + 0.5) * self.dx
        y = (np.arange(self.ny) + 0.5) * self.dy
        return np.meshgrid(x, y)
