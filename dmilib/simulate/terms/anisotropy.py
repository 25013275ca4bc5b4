"""Uniaxial magnetocrystalline anisotropy along z, scalar or per cell (Voronoi grains)."""

from __future__ import annotations

import copy

import numpy as np


class UniaxialAnisotropy:
    """Easy-axis anisotropy ``Ku`` along z.

    ``E = V sum_i Ku_i (1 - m_z,i^2)`` (zero for the saturated state),
    ``B_i = (2 Ku_i / Ms) m_z,i z_hat`` (tesla).

    ``Ku`` is broadcast to ``(B or 1, ny, nx)``: one map per system of a batch, or shared.
    """

    name = "anisotropy"

    def __init__(self, grid, Ku_J_per_m3, Ms_A_per_m: float, backend, dtype) -> None:
        xp = backend.xp
        self.xp = xp
        ku = np.asarray(Ku_J_per_m3, dtype=np.float64)
        if ku.ndim == 0:
            ku = np.full((1, *grid.shape), float(ku))
        elif ku.ndim == 2:
            ku = ku[None]
        if ku.ndim != 3 or ku.shape[1:] != grid.shape:
            raise ValueError(f"Ku_J_per_m3 must be a scalar, (ny, nx) or (B, ny, nx) with (ny, nx) = {grid.shape}; got shape {ku.shape}")
        ku = ku * grid.mask
        self.volume = grid.cell_volume_m3
        self.coefficient = xp.asarray(2 * ku / Ms_A_per_m, dtype=dtype)
        self.Ku = xp.asarray(ku, dtype=dtype)
        self.constant_J = xp.asarray(self.volume * ku.sum(axis=(1, 2)))

    @property
    def batch_size(self) -> int:
        return int(self.Ku.shape[0])


    def select(self, indices):
        """The same term restricted to the systems at ``indices`` of the batch."""
        subset = copy.copy(self)
        if self.coefficient.shape[0] > 1:
            subset.coefficient = self.coefficient[self.xp.asarray(indices)]
        if self.Ku.shape[0] > 1:
            subset.Ku = self.Ku[self.xp.asarray(indices)]
        if self.constant_J.shape[0] > 1:
            subset.constant_J = self.constant_J[self.xp.asarray(indices)]
        return subset

    def add_field_T(self, m, out) -> None:
        out[:, 2] += self.coefficient * m[:, 2]

    def energy_J(self, m):
        xp = self.xp
        quadratic = xp.sum(self.Ku * m[:, 2] ** 2, axis=(1, 2), dtype=xp.float64)
        return self.constant_J - self.volume * quadratic
