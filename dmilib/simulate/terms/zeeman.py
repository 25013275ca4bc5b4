"""Zeeman coupling to a uniform applied flux density."""

from __future__ import annotations

import numpy as np

from .base import FieldTerm


class Zeeman(FieldTerm):
    """Uniform applied flux density ``B_applied = mu0 H_applied`` in tesla.

    ``E = -Ms V sum_i m_i . B_applied`` (linear in ``m``, so not ``-(Ms V/2) sum m . B``),
    ``B_i = B_applied``, which is the whole of :attr:`fixed_field_T`.
    ``applied_field_T`` is ``(3,)`` (shared) or ``(B, 3)`` (one field per system).
    """

    name = "zeeman"
    per_system = ("field",)

    def __init__(self, grid, applied_field_T, Ms_A_per_m: float, backend, dtype) -> None:
        super().__init__(grid, Ms_A_per_m, backend, dtype)
        field = np.asarray(applied_field_T, dtype=np.float64)
        if field.ndim == 1:
            field = field[None]
        if field.ndim != 2 or field.shape[1] != 3 or not np.all(np.isfinite(field)):
            raise ValueError(f"applied_field_T must be finite with shape (3,) or (B, 3), got shape {np.shape(applied_field_T)}")
        self.field = self.xp.asarray(field[:, :, None, None], dtype=dtype)
        self.is_zero = not np.any(field)

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype) -> "Zeeman":
        return cls(grid, applied_field_T, material.Ms_A_per_m, backend, dtype)

    @property
    def fixed_field_T(self):
        return self.field

    def add_field_T(self, m, out) -> None:
        if not self.is_zero:
            out += self.field

    def energy_J(self, m):
        xp = self.xp
        dot = xp.sum(m * self.field, axis=1)
        return -self.Ms * self.volume * xp.sum(dot, axis=(1, 2), dtype=xp.float64)

    def field_scale_T(self):
        xp = self.xp
        return 3 * xp.max(xp.abs(self.field), axis=(1, 2, 3)).astype(xp.float64)
