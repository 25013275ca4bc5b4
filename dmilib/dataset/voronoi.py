"""Voronoi tessellations of the film: grain-to-grain disorder of the anisotropy ``Ku``.

The study models structural disorder (pinning sites, roughness, grain boundaries) as a
Voronoi tessellation of the film in which every grain has its own uniaxial anisotropy
constant drawn from a normal distribution centred on Ku0 with a 5 % relative standard
deviation (the paper's values). The paper does not give the grain size; the default
mean grain diameter of 20 nm is this project's choice.

A tessellation is identified by its integer seed: the same seed on the same grid always
gives the same grains and the same ``Ku`` values. The study's default set is the six
tessellations :data:`PAPER_TESSELLATION_SEEDS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from dmilib.simulate.geometry import Grid

PAPER_TESSELLATION_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
"""Seeds of the six disorder realisations used by default in the dataset."""


@dataclass(frozen=True)
class Tessellation:
    """A seeded Voronoi tessellation with a normally distributed ``Ku`` per grain.

    Grain seeds are uniform random points (a Poisson-like point process with a fixed
    count) over the grid rectangle extended by one mean grain diameter on every side, so
    that grains at the film edge are cut by the edge rather than by the end of the seed
    region. Their number is ``round(A_ext / (pi d^2 / 4))``, which makes the mean grain
    area that of a disk of diameter ``d``. Each cell belongs to the grain of the nearest
    seed (measured between cell centres and seeds).

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``, >= 0; identifies the tessellation.
    mean_grain_diameter_m : float
        Diameter ``d`` in metres of the disk whose area is the mean grain area. The paper
        does not state a grain size; 20 nm (default) is this project's choice.
    Ku0_J_per_m3 : float
        Mean uniaxial anisotropy constant in J/m^3 (default the study's 0.33e6).
    relative_sigma : float
        Standard deviation of the per-grain ``Ku`` relative to ``Ku0`` (default 0.05), in
        ``[0, 0.5)``.

    Notes
    -----
    Random draws happen in a fixed order from one generator: all seed positions first,
    then one ``Ku`` per seed. A grain's ``Ku`` is therefore fixed by the seed and the grid
    extent, independently of how grains are numbered.
    """

    seed: int
    mean_grain_diameter_m: float = 20e-9
    Ku0_J_per_m3: float = 0.33e6
    relative_sigma: float = 0.05

    def __post_init__(self) -> None:
        # bool is an int subclass but a True/False seed is surely a mistake.
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        diameter = float(self.mean_grain_diameter_m)
        if not (math.isfinite(diameter) and diameter > 0):
            raise ValueError(f"mean_grain_diameter_m must be a finite number > 0 (metres), got {diameter!r}")
        object.__setattr__(self, "mean_grain_diameter_m", diameter)
        ku0 = float(self.Ku0_J_per_m3)
        if not (math.isfinite(ku0) and ku0 > 0):
            raise ValueError(f"Ku0_J_per_m3 must be a finite number > 0 (J/m^3), got {ku0!r}")
        object.__setattr__(self, "Ku0_J_per_m3", ku0)
        sigma = float(self.relative_sigma)
        if not (math.isfinite(sigma) and 0 <= sigma < 0.5):
            raise ValueError(f"relative_sigma must be in [0, 0.5), got {sigma!r}")
        object.__setattr__(self, "relative_sigma", sigma)

    def grain_ids(self, grid: Grid) -> np.ndarray:
        """Grain index of every cell.

        Parameters
        ----------
        grid : Grid
            The simulation grid; the whole rectangle is tessellated, mask or not.

        Returns
        -------
        numpy.ndarray of int32, shape ``(ny, nx)``
            Grain ids ``0 .. G-1`` numbered in order of first appearance in C order (row
            ``y`` outer, column ``x`` inner), so the numbering depends only on the grains.
        """
        nearest, _ = _nearest_seed_and_ku(self, grid)
        return _renumber_by_first_appearance(nearest)

    def ku_map(self, grid: Grid) -> np.ndarray:
        """Uniaxial anisotropy constant of every cell in J/m^3.

        Each grain's ``Ku`` is drawn from ``Normal(Ku0, relative_sigma * Ku0)`` and clipped
        at 0, since a negative ``Ku`` would make z a hard axis. Clipping needs a draw more
        than ``1 / relative_sigma`` standard deviations below the mean: below 2.3 % of the
        grains at the largest allowed spread, never in practice at the default 5 %.

        Parameters
        ----------
        grid : Grid
            The simulation grid.

        Returns
        -------
        numpy.ndarray of float64, shape ``(ny, nx)``
            ``Ku`` in J/m^3; cells outside ``grid.mask`` hold ``Ku0`` (they carry no
            magnetization, the value only has to be finite).
        """
        nearest, ku_per_seed = _nearest_seed_and_ku(self, grid)
        ku = ku_per_seed[nearest]
        ku[~grid.mask] = self.Ku0_J_per_m3
        return ku


def grain_boundaries(grain_ids: np.ndarray) -> np.ndarray:
    """Cells on a grain boundary, for plotting overlays.

    Parameters
    ----------
    grain_ids : numpy.ndarray of int, shape ``(ny, nx)``
        Grain index of every cell, e.g. from :meth:`Tessellation.grain_ids`.

    Returns
    -------
    numpy.ndarray of bool, shape ``(ny, nx)``
        True where the right (``x + 1``) or upper (``y + 1``) neighbour belongs to another
        grain; each boundary is thus marked once, on its lower/left side.
    """
    ids = np.asarray(grain_ids)
    if ids.ndim != 2:
        raise ValueError(f"grain_ids must be a 2D (ny, nx) array, got shape {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"grain_ids must hold integers, got dtype {ids.dtype}")
    boundary = np.zeros(ids.shape, dtype=bool)
    boundary[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    boundary[:-1, :] |= ids[:-1, :] != ids[1:, :]
    return boundary


def _seed_count(area_m2: float, mean_grain_diameter_m: float) -> int:
    # At least one seed so that even a grid smaller than a grain is one grain.
    return max(1, int(round(area_m2 / (math.pi * mean_grain_diameter_m**2 / 4))))


def _nearest_seed_and_ku(tessellation: Tessellation, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest seed for each cell ``(ny, nx)`` and the ``Ku`` of each seed."""
    d = tessellation.mean_grain_diameter_m
    width_m = grid.nx * grid.dx + 2 * d
    height_m = grid.ny * grid.dy + 2 * d
    count = _seed_count(width_m * height_m, d)
    rng = np.random.default_rng(tessellation.seed)
    # Fixed draw order (positions, then Ku) keeps old tessellations reproducible.
    seeds = rng.uniform(0.0, 1.0, size=(count, 2)) * (width_m, height_m) - d
    ku0 = tessellation.Ku0_J_per_m3
    ku = np.clip(rng.normal(ku0, tessellation.relative_sigma * ku0, size=count), 0.0, None)
    x, y = grid.cell_centres_m()
    _, nearest = cKDTree(seeds).query(np.column_stack([x.ravel(), y.ravel()]))
    return nearest.reshape(grid.shape), ku


def _renumber_by_first_appearance(labels: np.ndarray) -> np.ndarray:
    flat = labels.ravel()
    unique, first_index = np.unique(flat, return_index=True)
    order = np.argsort(first_index, kind="stable")
    new_id = np.empty(unique.size, dtype=np.int32)
    new_id[order] = np.arange(unique.size, dtype=np.int32)
    return new_id[np.searchsorted(unique, flat)].reshape(labels.shape)
