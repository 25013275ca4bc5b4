"""One module per field term. Every term acts on the reduced magnetization ``m`` of shape
``(B, 3, ny, nx)`` (``|m| = 1`` inside the mask, ``m = 0`` outside), adds its flux density
``B_term = mu0 H_term`` in tesla into an output array, and reports its energy in joules per
system of the batch.

The discretized energy of every term is written in its docstring. All terms but Zeeman are
quadratic in ``m``, so their energy is ``E = -(Ms V / 2) sum_i m_i . B_i`` exactly (V is the
cell volume); Zeeman is linear, ``E = -Ms V sum_i m_i . B_applied``; anisotropy adds a
constant so that the saturated state has zero anisotropy energy.
"""

from .anisotropy import UniaxialAnisotropy
from .demag import Demagnetization, ThinFilmDemagnetization
from .dmi import InterfacialDMI
from .exchange import Exchange
from .zeeman import Zeeman

__all__ = [
    "Demagnetization",
    "Exchange",
    "InterfacialDMI",
    "ThinFilmDemagnetization",
    "UniaxialAnisotropy",
    "Zeeman",
]
