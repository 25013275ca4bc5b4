"""Interfacial Dzyaloshinskii–Moriya interaction (thin film on a heavy-metal layer)."""

from __future__ import annotations

import numpy as np

from .base import QuadraticTerm


class InterfacialDMI(QuadraticTerm):
    """Interfacial DMI with the sign convention of mumax3's ``Dind``.

    Continuum energy density ``w = D [m_z (div m) - (m . grad) m_z]``
    ``= D (m_z dm_x/dx - m_x dm_z/dx + m_z dm_y/dy - m_y dm_z/dy)``, whose bulk field is
    ``B = (2D/Ms) (dm_z/dx, dm_z/dy, -dm_x/dx - dm_y/dy)``. For a Néel profile
    ``m = (sin theta, 0, cos theta)`` along x, ``w = D dtheta/dx``: ``D > 0`` favours
    ``theta`` decreasing along the in-plane moment's direction (a ``-z`` bubble core in
    ``+z`` surroundings with its wall moments pointing outward), ``D < 0`` the opposite
    chirality.

    Discretization on bonds between in-mask neighbours (a lattice form of the same energy):

    ``E = D t [ dy sum_{x bonds i->j} y_hat . (m_i x m_j) - dx sum_{y bonds i->j} x_hat . (m_i x m_j) ]``

    where ``j = i + x_hat dx`` (or ``+ y_hat dy``). Its exact gradient is the central
    difference of the bulk field,
    ``B_i = (D / (Ms dx)) [(m_z, 0, -m_x)_{i+x} - (m_z, 0, -m_x)_{i-x}]``
    ``    + (D / (Ms dy)) [(0, m_z, -m_y)_{i+y} - (0, m_z, -m_y)_{i-y}]``,
    with absent neighbours (outside the mask) contributing nothing. Because the energy only
    has bonds inside the magnet, its minimizers satisfy the free-surface boundary condition
    of the continuum functional, ``2A dm/dn = -D (z_hat x n) x m`` (for a profile
    ``m = (sin theta, 0, cos theta)`` at an edge with outward normal ``+x``:
    ``dtheta/dx = -D / (2A)``), to first order in the cell size.
    """

    name = "dmi"
    per_system = ("cx", "cy")

    def __init__(self, grid, D_J_per_m2, Ms_A_per_m: float, backend, dtype) -> None:
        super().__init__(grid, Ms_A_per_m, backend, dtype)
        xp = self.xp
        d = np.atleast_1d(np.asarray(D_J_per_m2, dtype=np.float64))
        self.cx = xp.asarray((d / (Ms_A_per_m * grid.dx))[:, None, None], dtype=dtype)
        self.cy = xp.asarray((d / (Ms_A_per_m * grid.dy))[:, None, None], dtype=dtype)
        self.is_zero = not np.any(d)

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype) -> "InterfacialDMI":
        return cls(grid, material.D_J_per_m2, material.Ms_A_per_m, backend, dtype)

    def add_field_T(self, m, out) -> None:
        if self.is_zero:
            return
        cx, cy = self.cx, self.cy
        mx, my, mz = m[:, 0], m[:, 1], m[:, 2]
        out[:, 0, :, :-1] += cx * mz[:, :, 1:]
        out[:, 0, :, 1:] -= cx * mz[:, :, :-1]
        out[:, 2, :, :-1] -= cx * mx[:, :, 1:]
        out[:, 2, :, 1:] += cx * mx[:, :, :-1]
        out[:, 1, :-1, :] += cy * mz[:, 1:, :]
        out[:, 1, 1:, :] -= cy * mz[:, :-1, :]
        out[:, 2, :-1, :] -= cy * my[:, 1:, :]
        out[:, 2, 1:, :] += cy * my[:, :-1, :]

    def field_scale_T(self):
        # Each component gathers at most two neighbours per axis.
        xp = self.xp
        largest = xp.abs(self.cx).max(axis=(1, 2)) + xp.abs(self.cy).max(axis=(1, 2))
        return 4 * largest.astype(xp.float64)
