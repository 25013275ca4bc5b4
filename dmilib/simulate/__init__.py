"""Micromagnetic solver for single-layer thin films: NumPy on the CPU, CuPy on a GPU.

Conventions: SI units throughout (names carry the unit: ``_m``, ``_T``, ``_J_per_m3``...);
fields are flux densities ``mu0 H`` in tesla; magnetization arrays are ``(B, 3, ny, nx)``
reduced vectors ``m = M / Ms`` (zero outside the mask); DMI sign as mumax3's ``Dind``.
"""

from .constants import GAMMA_LL_RAD_PER_S_T, MU0_T_M_PER_A
from .errors import ConvergenceError
from .geometry import Grid
from .llg import DynamicsResult, llg_rhs, run_llg
from .material import Material
from .minimize import RelaxResult, relax
from .system import System
from .textures import bubble, bubble_radius_m, neel_helicity_rad

__all__ = [
    "GAMMA_LL_RAD_PER_S_T",
    "MU0_T_M_PER_A",
    "ConvergenceError",
    "DynamicsResult",
    "Grid",
    "Material",
    "RelaxResult",
    "System",
    "bubble",
    "bubble_radius_m",
    "llg_rhs",
    "neel_helicity_rad",
    "relax",
    "run_llg",
]
