"""Interfacial Dzyaloshinskii–Moriya interaction (thin film on a heavy-metal layer)."""

from __future__ import annotations

import copy

import numpy as np

from ._common import quadratic_energy_J


class InterfacialDMI:
    """Interfacial DMI with the sign convention of mumax3's ``Dind``.

    Continuum energy density ``w = D [m_z (div m) - (m . grad) m_z]``
    ``= D (m_z dm_x/dx - m_x dm_z/dx + m_z dm_y/dy - m_y dm_z/dy)``, whose bulk field is
    ``B = (2D/Ms) (dm_z/dx, dm_z/dy, -dm_x/dx - dm_y/dy)``.

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

    def __init__(self, grid, D_J_per_m2, Ms_A_per_m: float, backend, dtype) -> None:
        xp = backend.xp
        self.xp = xp
        d = np.atleast_1d(np.asarray(D_J_per_m2, dtype=np.float64))
        self.Ms = Ms_A_per_m
        self.volume = grid.cell_volume_m3
        self.cx = xp.asarray((d / (Ms_A_per_m * grid.dx))[:, None, None], dtype=dtype)
        self.cy = xp.asarray((d / (Ms_A_per_m * grid.dy))[:, None, None], dtype=dtype)
        self.is_zero = not np.any(d)

    @property
    def batch_size(self) -> int:
        return int(self.cx.shape[0])


    def select(self, indices):
        """The same term restricted to the systems at ``indices`` of the batch."""
        subset = copy.copy(self)
        if self.cx.shape[0] > 1:
            subset.cx = self.cx[self.xp.asarray(indices)]
        if self.cy.shape[0] > 1:
            subset.cy = self.cy[self.xp.asarray(indices)]
        return subset

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

    def energy_J(self, m):
        field = self.xp.zeros_like(m)
        self.add_field_T(m, field)
        return quadratic_energy_J(self.xp, m, field, self.Ms, self.volume)
