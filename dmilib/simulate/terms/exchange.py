"""Heisenberg exchange with free (Neumann) boundaries at the mask edge."""

from __future__ import annotations

import numpy as np

from .base import QuadraticTerm


class Exchange(QuadraticTerm):
    """Exchange field and energy on the masked grid.

    Discretization (bonds between in-mask nearest neighbours only, which is the free
    boundary ``dm/dn = 0`` for exchange alone; the DMI term supplies its own edge physics):

    ``E = A t sum_{x bonds} (dy/dx) |m_j - m_i|^2 + A t sum_{y bonds} (dx/dy) |m_j - m_i|^2``

    ``B_i = (2 A / Ms) sum_{j in-mask neighbour of i} (m_j - m_i) / h_ij^2`` (tesla),

    with ``h_ij`` the centre distance ``dx`` or ``dy``. ``B = -(1/(Ms V)) dE/dm`` holds exactly.
    """

    name = "exchange"

    def __init__(self, grid, material, backend, dtype) -> None:
        super().__init__(grid, material.Ms_A_per_m, backend, dtype)
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
        self.diagonal = self.xp.asarray((self.cx * neighbours_x + self.cy * neighbours_y) * mask, dtype=dtype)

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype) -> "Exchange":
        return cls(grid, material, backend, dtype)

    def add_field_T(self, m, out) -> None:
        cx, cy = self.cx, self.cy
        out[..., :, 1:] += cx * m[..., :, :-1]
        out[..., :, :-1] += cx * m[..., :, 1:]
        out[..., 1:, :] += cy * m[..., :-1, :]
        out[..., :-1, :] += cy * m[..., 1:, :]
        out -= self.diagonal * m

    def field_scale_T(self):
        # The neighbour sum is at most the diagonal, so |B| <= 2 max(diagonal).
        return 2 * float(self.xp.max(self.diagonal))
