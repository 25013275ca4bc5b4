"""Heisenberg exchange with free (Neumann) boundaries at the mask edge."""

from __future__ import annotations

import numpy as np

from ._common import quadratic_energy_J


class Exchange:
    """Exchange field and energy on the masked grid.

    Discretization (bonds between in-mask nearest neighbours only, which is the free
    boundary ``dm/dn = 0`` for exchange alone; the DMI term supplies its own edge physics):

    ``E = A t sum_{x bonds} (dy/dx) |m_j - m_i|^2 + A t sum_{y bonds} (dx/dy) |m_j - m_i|^2``

    ``B_i = (2 A / Ms) sum_{j in-mask neighbour of i} (m_j - m_i) / h_ij^2`` (tesla),

    with ``h_ij`` the centre distance ``dx`` or ``dy``. ``B = -(1/(Ms V)) dE/dm`` holds exactly.
    """

    name = "exchange"

    def __init__(self, grid, material, backend, dtype) -> None:
        xp = backend.xp
        self.xp = xp
        self.Ms = material.Ms_A_per_m
        self.volume = grid.cell_volume_m3
        self.cx = 2 * material.A_J_per_m / (material.Ms_A_per_m * grid.dx**2)
        self.cy = 2 * material.A_J_per_m / (material.Ms_A_per_m * grid.dy**2)
        mask = grid.mask
        neighbours_x = np.zeros(mask.shape)
        neighbours_x[:, 1:] += mask[:, :-1]
        neighbours_x[:, :-1] += mask[:, 1:]
        neighbours_y = np.zeros(mask.shape)
        neighbours_y[1:, :] += mask[:-1, :]
        neighbours_y[:-1, :] += mask[1:, :]
        # m is zero outside the mask, so summing all four neighbours counts in-mask ones only;
        # the diagonal part needs the explicit in-mask neighbour count.
        self.diagonal = xp.asarray((self.cx * neighbours_x + self.cy * neighbours_y) * mask, dtype=dtype)

    def add_field_T(self, m, out) -> None:
        cx, cy = self.cx, self.cy
        out[..., :, 1:] += cx * m[..., :, :-1]
        out[..., :, :-1] += cx * m[..., :, 1:]
        out[..., 1:, :] += cy * m[..., :-1, :]
        out[..., :-1, :] += cy * m[..., 1:, :]
        out -= self.diagonal * m

    def energy_J(self, m):
        field = self.xp.zeros_like(m)
        self.add_field_T(m, field)
        return quadratic_energy_J(self.xp, m, field, self.Ms, self.volume)
