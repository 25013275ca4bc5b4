"""Zeeman coupling to a uniform applied flux density."""

from __future__ import annotations

import copy

import numpy as np


class Zeeman:
    """Uniform applied flux density ``B_applied = mu0 H_applied`` in tesla.

    ``E = -Ms V sum_i m_i . B_applied``, ``B_i = B_applied``.
    ``applied_field_T`` is ``(3,)`` (shared) or ``(B, 3)`` (one field per system).
    """

    name = "zeeman"

    def __init__(self, grid, applied_field_T, Ms_A_per_m: float, backend, dtype) -> None:
        xp = backend.xp
        self.xp = xp
        field = np.asarray(applied_field_T, dtype=np.float64)
        if field.ndim == 1:
            field = field[None]
        if field.ndim != 2 or field.shape[1] != 3 or not np.all(np.isfinite(field)):
            raise ValueError(f"applied_field_T must be finite with shape (3,) or (B, 3), got shape {np.shape(applied_field_T)}")
        self.Ms = Ms_A_per_m
        self.volume = grid.cell_volume_m3
        self.field = xp.asarray(field[:, :, None, None], dtype=dtype)
        self.is_zero = not np.any(field)

    @property
    def batch_size(self) -> int:
        return int(self.field.shape[0])


    def select(self, indices):
        """The same term restricted to the systems at ``indices`` of the batch."""
        subset = copy.copy(self)
        if self.field.shape[0] > 1:
            subset.field = self.field[self.xp.asarray(indices)]
        return subset

    def add_field_T(self, m, out) -> None:
        if not self.is_zero:
            out += self.field

    def energy_J(self, m):
        xp = self.xp
        dot = xp.sum(m * self.field, axis=1)
        return -self.Ms * self.volume * xp.sum(dot, axis=(1, 2), dtype=xp.float64)
