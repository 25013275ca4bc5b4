"""Closed-form thin-film micromagnetics: the length, energy and field scales of a film.

Pure functions of SI quantities (the unit is in every name); the domain-wall formulas are
those of a straight wall in a perpendicular film whose shape anisotropy is folded into
``K_eff = Ku - mu0 Ms^2 / 2`` (the thin-film limit). DMI sign as mumax3's ``Dind``; the
formulas depend on ``|D|`` only.

The examples use the study's film, ``Ms = 0.55 MA/m``, ``A = 10 pJ/m``, ``Ku = 0.33 MJ/m^3``,
with values worked by hand: ``mu0 Ms^2 = 4 pi 1e-7 * 0.3025e12 = 380 133 J/m^3``, so
``K_eff = 330 000 - 190 066 = 139 934 J/m^3``.
"""

from __future__ import annotations

import math

from .simulate.constants import MU0_T_M_PER_A

__all__ = [
    "anisotropy_field_T",
    "critical_dmi_J_per_m2",
    "effective_anisotropy_J_per_m3",
    "exchange_length_m",
    "wall_energy_J_per_m2",
    "wall_width_m",
]


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def exchange_length_m(A_J_per_m: float, Ms_A_per_m: float) -> float:
    """Magnetostatic exchange length ``sqrt(2 A / (mu0 Ms^2))`` in metres.

    The cell size of a simulation must stay below it (ideally below half of it).

    >>> print(f"{exchange_length_m(10e-12, 0.55e6) * 1e9:.2f} nm")  # sqrt(2e-11 / 380133)
    7.25 nm
    """
    A, Ms = _positive("A_J_per_m", A_J_per_m), _positive("Ms_A_per_m", Ms_A_per_m)
    return math.sqrt(2 * A / (MU0_T_M_PER_A * Ms**2))


def effective_anisotropy_J_per_m3(Ku_J_per_m3: float, Ms_A_per_m: float) -> float:
    """Thin-film effective anisotropy ``K_eff = Ku - mu0 Ms^2 / 2`` in J/m^3 (negative: in-plane film).

    >>> print(f"{effective_anisotropy_J_per_m3(0.33e6, 0.55e6):.0f} J/m^3")  # 330000 - 380133 / 2
    139934 J/m^3
    """
    Ms = _positive("Ms_A_per_m", Ms_A_per_m)
    return float(Ku_J_per_m3) - 0.5 * MU0_T_M_PER_A * Ms**2


def wall_width_m(A_J_per_m: float, K_eff_J_per_m3: float) -> float:
    """Bloch/Neel wall width parameter ``Delta = sqrt(A / K_eff)`` in metres (``m_z = tanh(x / Delta)``).

    >>> print(f"{wall_width_m(10e-12, 139934) * 1e9:.2f} nm")  # sqrt(1e-11 / 139934)
    8.45 nm
    """
    return math.sqrt(_positive("A_J_per_m", A_J_per_m) / _positive("K_eff_J_per_m3", K_eff_J_per_m3))


def wall_energy_J_per_m2(A_J_per_m: float, K_eff_J_per_m3: float, D_J_per_m2: float = 0.0) -> float:
    """Energy per area of a straight Neel wall, ``4 sqrt(A K_eff) - pi |D|``, in J/m^2.

    >>> print(f"{wall_energy_J_per_m2(10e-12, 139934) * 1e3:.3f} mJ/m^2")  # 4 sqrt(1.39934e-6)
    4.732 mJ/m^2
    >>> print(f"{wall_energy_J_per_m2(10e-12, 139934, -1e-3) * 1e3:.3f} mJ/m^2")  # 4.732 - 3.142
    1.590 mJ/m^2
    """
    A, k_eff = _positive("A_J_per_m", A_J_per_m), _positive("K_eff_J_per_m3", K_eff_J_per_m3)
    return 4 * math.sqrt(A * k_eff) - math.pi * abs(float(D_J_per_m2))


def critical_dmi_J_per_m2(A_J_per_m: float, K_eff_J_per_m3: float) -> float:
    """``D_c = 4 sqrt(A K_eff) / pi`` in J/m^2: above it the wall energy is negative.

    Returns 0 for ``K_eff <= 0`` (no perpendicular domains to stabilize).

    >>> print(f"{critical_dmi_J_per_m2(10e-12, 139934) * 1e3:.3f} mJ/m^2")  # 4.732 / pi
    1.506 mJ/m^2
    >>> critical_dmi_J_per_m2(10e-12, -1.0)
    0.0
    """
    A = _positive("A_J_per_m", A_J_per_m)
    k_eff = float(K_eff_J_per_m3)
    if not math.isfinite(k_eff):
        raise ValueError(f"K_eff_J_per_m3 must be finite, got {k_eff!r}")
    if k_eff <= 0:
        return 0.0
    return 4 * math.sqrt(A * k_eff) / math.pi


def anisotropy_field_T(K_J_per_m3: float, Ms_A_per_m: float) -> float:
    """Anisotropy field ``mu0 H_K = 2 K / Ms`` in tesla (pass ``Ku`` or ``K_eff``).

    >>> print(f"{anisotropy_field_T(0.33e6, 0.55e6):.3f} T")  # 660000 / 550000
    1.200 T
    >>> print(f"{anisotropy_field_T(139934, 0.55e6):.3f} T")  # 279868 / 550000
    0.509 T
    """
    return 2 * float(K_J_per_m3) / _positive("Ms_A_per_m", Ms_A_per_m)
