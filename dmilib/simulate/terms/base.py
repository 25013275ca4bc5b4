"""What every field term shares: the interface :class:`~dmilib.simulate.System` loops over.

A term maps the reduced magnetization ``m`` of shape ``(B, 3, ny, nx)`` (``|m| = 1`` in
the mask, ``0`` outside) to its flux density ``B_term = mu0 H_term`` in tesla, and reports
its energy in joules per system of the batch. Every term of dmilib is affine in ``m``,

``B_term(m) = L m + b``  with  ``E = -(Ms V / 2) sum_i m_i . (L m)_i - Ms V sum_i m_i . b + c``,

``L`` symmetric (so ``B_term = -(1 / (Ms V)) dE/dm`` exactly), ``b`` a field that does not
depend on ``m`` (:attr:`FieldTerm.fixed_field_T`, the applied field) and ``c`` a constant
(:attr:`FieldTerm.constant_J`, anisotropy's zero of energy). Hence the total energy
follows from the total field in one pass, ``E = -(Ms V / 2) sum_i m_i . (B_i + b) + c``
(:meth:`~dmilib.simulate.System.energy_from_field_J`), which is what the minimizer uses.

A term's per-system parameters (one entry per system along axis 0, or a single entry
shared by the batch) are named in :attr:`FieldTerm.per_system`; :meth:`FieldTerm.select`
slices them for a sub-batch, so no term writes its own ``select``.
"""

from __future__ import annotations

import copy

import numpy as np


def quadratic_energy_J(xp, m, field_T, Ms_A_per_m: float, cell_volume_m3: float):
    """``E = -(Ms V / 2) sum_i m_i . B_i`` per system, in joules, accumulated in float64."""
    dot = xp.sum(m * field_T, axis=1)
    return -0.5 * Ms_A_per_m * cell_volume_m3 * xp.sum(dot, axis=(1, 2), dtype=xp.float64)


class FieldTerm:
    """Base of every field term (see the module docstring for the energy's form).

    A subclass sets :attr:`name`, lists its per-system array attributes in
    :attr:`per_system`, implements :meth:`add_field_T`, :meth:`energy_J` (or inherits it
    from :class:`QuadraticTerm`) and :meth:`field_scale_T`, and states its discretized
    energy and field in its docstring. :meth:`build` makes the term from what a
    :class:`~dmilib.simulate.System` is given; a term listed in
    :data:`dmilib.simulate.terms.TERMS` is then built, summed, selected and scaled by every
    system without further code.

    Attributes
    ----------
    name : str
        Key of the term in :meth:`System.energy_terms_J` and :meth:`System.term`.
    per_system : tuple of str
        Attributes holding one entry per system along axis 0 (length 1: shared).
    fixed_field_T : array or None
        The part ``b`` of the field that does not depend on ``m`` (tesla, broadcastable to
        ``(B, 3, ny, nx)``); ``None`` when the term is homogeneous in ``m``.
    constant_J : array or None
        The constant ``c`` of the energy, one value per system (joules); ``None`` for zero.
    """

    name: str = ""
    per_system: tuple[str, ...] = ()
    fixed_field_T = None
    constant_J = None

    def __init__(self, grid, Ms_A_per_m: float, backend, dtype) -> None:
        self.backend = backend
        self.xp = backend.xp
        self.dtype = dtype
        self.Ms = Ms_A_per_m
        self.volume = grid.cell_volume_m3

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype) -> "FieldTerm":
        """The term for a system of ``grid``, ``material`` and ``applied_field_T`` (tesla)."""
        raise NotImplementedError(f"{cls.__name__} does not say how a System builds it")

    # --- the physics a subclass provides --------------------------------------------
    def add_field_T(self, m, out) -> None:
        """Add ``B_term(m)`` (tesla) into ``out``, an array of the shape of ``m``."""
        raise NotImplementedError

    def energy_J(self, m):
        """Energy of each system of the batch in joules, float64, shape ``(B,)``."""
        raise NotImplementedError

    def field_scale_T(self):
        """Upper bound of ``|B_term|`` in any cell for any unit ``m``, in tesla.

        A float (shared) or an array of one value per system. The system sums these into
        the round-off floor of its energy (:meth:`System.energy_round_off_scale_J`), below
        which the minimizer treats an energy rise as round-off.
        """
        raise NotImplementedError

    # --- shared by every term -------------------------------------------------------
    def field_T(self, m):
        """``B_term(m)`` in tesla as a new array of the shape of ``m``."""
        out = self.xp.zeros_like(m)
        self.add_field_T(m, out)
        return out

    @property
    def batch_size(self) -> int:
        """Number of systems the per-system parameters describe (1: shared by any batch)."""
        sizes = [int(value.shape[0]) for value in self._per_system_values()]
        return max(sizes, default=1)

    def select(self, indices) -> "FieldTerm":
        """The same term restricted to the systems at ``indices`` of the batch.

        Shared parameters (length 1 along axis 0) stay shared; a term without per-system
        parameters is returned as it is.
        """
        if not self.per_system:
            return self
        subset = copy.copy(self)
        picks = self.xp.asarray(np.asarray(indices, dtype=np.int64).reshape(-1))
        for name in self.per_system:
            value = getattr(self, name)
            if value is not None and value.shape[0] > 1:
                setattr(subset, name, value[picks])
        return subset

    def _per_system_values(self):
        return [value for value in (getattr(self, name) for name in self.per_system) if value is not None]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, batch_size={self.batch_size})"


class QuadraticTerm(FieldTerm):
    """A term whose field is linear in ``m``, ``B = L m``, so that ``E = -(Ms V / 2) sum_i m_i . B_i``.

    The energy is computed from the term's own field (exchange, DMI, demagnetization);
    a term with a constant (anisotropy) adds it in its own :meth:`energy_J`.
    """

    def energy_J(self, m):
        return quadratic_energy_J(self.xp, m, self.field_T(m), self.Ms, self.volume)
