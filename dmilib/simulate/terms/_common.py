"""Helpers shared by the field terms."""

from __future__ import annotations


def quadratic_energy_J(xp, m, field_T, Ms_A_per_m: float, cell_volume_m3: float):
    """``E = -(Ms V / 2) sum_i m_i . B_i`` per system, in joules, accumulated in float64."""
    dot = xp.sum(m * field_T, axis=1)
    return -0.5 * Ms_A_per_m * cell_volume_m3 * xp.sum(dot, axis=(1, 2), dtype=xp.float64)
