"""Material parameters of the film, in SI units."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import formulary  # a module import: dmilib.formulary itself imports simulate.constants
from .constants import GAMMA_LL_RAD_PER_S_T


@dataclass(frozen=True, eq=False)
class Material:
    """Magnetic parameters; defaults are the study's film (Pt/Co-like bubble material).

    Parameters
    ----------
    Ms_A_per_m : float
        Saturation magnetization in A/m (default 0.55e6).
    A_J_per_m : float
        Exchange stiffness in J/m (default 10e-12).
    Ku_J_per_m3 : float or array
        Uniaxial anisotropy constant along z in J/m^3 (default 0.33e6): a scalar, a per-cell
        map ``(ny, nx)``, or a per-system map ``(B, ny, nx)`` for a batch.
    D_J_per_m2 : float or array
        Interfacial DMI constant in J/m^2, scalar or one value per system ``(B,)``. Sign
        convention of mumax3's ``Dind``: the energy density is
        ``D [m_z (div m) - (m . grad) m_z]``.
    alpha : float
        Gilbert damping (dimensionless), used by the LLG integrator only.
    gamma_rad_per_sT : float
        Gyromagnetic ratio in rad/(s T) (default mumax3's 1.7595e11).
    """

    Ms_A_per_m: float = 0.55e6
    A_J_per_m: float = 10e-12
    Ku_J_per_m3: float | np.ndarray = 0.33e6
    D_J_per_m2: float | np.ndarray = 0.0
    alpha: float = 0.02
    gamma_rad_per_sT: float = GAMMA_LL_RAD_PER_S_T

    def __post_init__(self) -> None:
        for name in ("Ms_A_per_m", "A_J_per_m", "gamma_rad_per_sT"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
            object.__setattr__(self, name, value)
        alpha = float(self.alpha)
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be positive and finite, got {alpha!r}")
        object.__setattr__(self, "alpha", alpha)
        ku = np.asarray(self.Ku_J_per_m3, dtype=np.float64)
        if not np.all(np.isfinite(ku)) or np.any(ku < 0):
            raise ValueError("Ku_J_per_m3 must be finite and >= 0 everywhere")
        d = np.asarray(self.D_J_per_m2, dtype=np.float64)
        if d.ndim > 1 or not np.all(np.isfinite(d)):
            raise ValueError("D_J_per_m2 must be a finite scalar or a 1D array (one value per system)")

    @property
    def exchange_length_m(self) -> float:
        """Magnetostatic exchange length ``sqrt(2 A / (mu0 Ms^2))`` in metres (:mod:`dmilib.formulary`)."""
        return formulary.exchange_length_m(self.A_J_per_m, self.Ms_A_per_m)

    def effective_anisotropy_J_per_m3(self, Ku_J_per_m3: float | None = None) -> float:
        """Thin-film effective anisotropy ``K_eff = Ku - mu0 Ms^2 / 2`` in J/m^3 (mean Ku by default)."""
        ku = float(np.mean(self.Ku_J_per_m3)) if Ku_J_per_m3 is None else float(Ku_J_per_m3)
        return formulary.effective_anisotropy_J_per_m3(ku, self.Ms_A_per_m)

    def critical_dmi_J_per_m2(self, Ku_J_per_m3: float | None = None) -> float:
        """``D_c = 4 sqrt(A K_eff) / pi``: above it the domain-wall energy turns negative (0 if K_eff <= 0)."""
        return formulary.critical_dmi_J_per_m2(self.A_J_per_m, self.effective_anisotropy_J_per_m3(Ku_J_per_m3))
