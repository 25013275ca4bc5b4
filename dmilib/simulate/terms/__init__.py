"""One module per field term, each a :class:`~.base.FieldTerm` (see :mod:`.base` for the
shared interface: field, energy, sub-batch selection, field scale).

Every term acts on the reduced magnetization ``m`` of shape ``(B, 3, ny, nx)`` (``|m| = 1``
inside the mask, ``m = 0`` outside), adds its flux density ``B_term = mu0 H_term`` in tesla
into an output array, and reports its energy in joules per system of the batch. The
discretized energy of every term is written in its docstring. All terms but Zeeman are
quadratic in ``m`` (:class:`~.base.QuadraticTerm`), so their energy is
``E = -(Ms V / 2) sum_i m_i . B_i`` exactly (V is the cell volume); Zeeman is linear,
``E = -Ms V sum_i m_i . B_applied``; anisotropy adds a constant so that the saturated state
has zero anisotropy energy.

A :class:`~dmilib.simulate.System` builds every class of :data:`TERMS`, in this order (the
order its fields are summed in), then the demagnetization class of :data:`DEMAG_TERMS`
that its ``demag`` argument names. A new term is one module here plus its entry in
:data:`TERMS`.
"""

from .anisotropy import UniaxialAnisotropy
from .base import FieldTerm, QuadraticTerm
from .demag import Demagnetization, ThinFilmDemagnetization
from .dmi import InterfacialDMI
from .exchange import Exchange
from .zeeman import Zeeman

#: The terms of every system, in summation order; each class's ``build`` makes it.
TERMS: tuple[type[FieldTerm], ...] = (Exchange, UniaxialAnisotropy, InterfacialDMI, Zeeman)

#: The choices of ``System(demag=...)``: full FFT demagnetization, its local thin-film
#: limit (validation against closed forms), or none.
DEMAG_TERMS: dict[str, type[FieldTerm] | None] = {
    "newell": Demagnetization,
    "thin_film": ThinFilmDemagnetization,
    "none": None,
}

__all__ = [
    "DEMAG_TERMS",
    "Demagnetization",
    "Exchange",
    "FieldTerm",
    "InterfacialDMI",
    "QuadraticTerm",
    "TERMS",
    "ThinFilmDemagnetization",
    "UniaxialAnisotropy",
    "Zeeman",
]
