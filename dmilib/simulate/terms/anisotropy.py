"""Uniaxial magnetocrystalline anisotropy along z, scalar or per cell (Voronoi grains)."""

from __future__ import annotations

import numpy as np

from .base import QuadraticTerm


class UniaxialAnisotropy(QuadraticTerm):
    """Easy-axis anisotropy ``Ku`` along z.

    ``E = V sum_i Ku_i (1 - m_z,i^2)`` (zero for the saturated state),
    ``B_i = (2 Ku_i / Ms) m_z,i z_hat`` (tesla): quadratic in ``m`` plus the constant
    ``c = V sum_i Ku_i`` (:attr:`constant_J`).

    ``Ku`` is broadcast to ``(B or 1, ny, nx)``: one map per system of a batch, or shared.
    """

    name = "anisotropy"
    per_system = ("coefficient", "Ku", "constant_J")

    def __init__(self, grid, Ku_J_per_m3, Ms_A_per_m: float, backend, dtype) -> None:
        super().__init__(grid, Ms_A_per_m, backend, dtype)
        xp = self.xp
        ku = np.asarray(Ku_J_per_m3, dtype=np.float64)
        if ku.ndim == 0:
            ku = np.full((1, *grid.shape), float(ku))
        elif ku.ndim == 2:
            ku = ku[None]
        if ku.ndim != 3 or ku.shape[1:] != grid.shape:
            raise ValueError(f"Ku_J_per_m3 must be a scalar, (ny, nx) or (B, ny, nx) with (ny, nx) = {grid.shape}; got shape {ku.shape}")
        ku = ku * grid.mask
        self.coefficient = xp.asarray(2 * ku / Ms_A_per_m, dtype=dtype)
        self.Ku = xp.asarray(ku, dtype=dtype)
        self.constant_J = xp.asarray(self.volume * ku.sum(axis=(1, 2)))

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype) -> "UniaxialAnisotropy":
        return cls(grid, material.Ku_J_per_m3, material.Ms_A_per_m, backend, dtype)

    def add_field_T(self, m, out) -> None:
        out[:, 2] += self.coefficient * m[:, 2]

    def energy_J(self, m):
        # Summed as Ku m_z^2 rather than from the field, so the saturated state is exactly 0.
        xp = self.xp
        quadratic = xp.sum(self.Ku * m[:, 2] ** 2, axis=(1, 2), dtype=xp.float64)
        return self.constant_J - self.volume * quadratic

    def field_scale_T(self):
        return self.xp.max(self.coefficient, axis=(1, 2))
