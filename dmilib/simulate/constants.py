"""Physical constants in SI units."""

import math

#: Vacuum permeability mu_0 in T m / A (the pre-2019 exact value, as micromagnetic codes use).
MU0_T_M_PER_A = 4e-7 * math.pi

#: Gyromagnetic ratio of the electron in rad / (s T), the value mumax3 uses (GammaLL);
#: equal to the muMAG standard problems' 2.211e5 m / (A s) divided by mu_0.
GAMMA_LL_RAD_PER_S_T = 1.7595e11
