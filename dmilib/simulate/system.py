"""A batch of B independent thin-film systems sharing one grid and one array backend."""

from __future__ import annotations

import copy

import numpy as np

from ..backend import ArrayBackend, resolve_backend, resolve_dtype
from .geometry import Grid
from .material import Material
from . import terms as field_terms
from .terms import DEMAG_TERMS, FieldTerm, Zeeman

DEMAG_CHOICES = tuple(DEMAG_TERMS)


class System:
    """Effective field and energy of ``B`` independent films on one grid.

    The systems of a batch share the grid, ``Ms``, ``A``, ``alpha`` and ``gamma``; each may
    have its own DMI constant (``material.D_J_per_m2`` of shape ``(B,)``), its own
    anisotropy map (``Ku`` of shape ``(B, ny, nx)``) and its own applied field
    (``applied_field_T`` of shape ``(B, 3)``). Shapes of length 1 broadcast.

    Magnetization arrays have shape ``(B, 3, ny, nx)``: the reduced magnetization
    ``m = M / Ms`` with ``|m| = 1`` inside the mask and ``m = 0`` outside. Fields are
    flux densities ``mu0 H`` in tesla.

    The physics lives in :attr:`terms`, one :class:`~dmilib.simulate.terms.FieldTerm` each
    (built from :data:`~dmilib.simulate.terms.TERMS` and the ``demag`` choice); every
    method here loops over them. ``system.term(name)`` finds one by name;
    ``exchange``, ``anisotropy``, ``dmi`` and ``zeeman`` are shortcuts.

    Parameters
    ----------
    grid : Grid
    material : Material
    applied_field_T : array_like
        Uniform applied ``mu0 H`` in tesla, ``(3,)`` or ``(B, 3)``.
    demag : {"newell", "thin_film", "none"}
        Full FFT demagnetization (default), its local thin-film limit (validation), or none.
    backend : {"auto", "numpy", "cupy"} or ArrayBackend
    dtype : {"float32", "float64"}
    """

    def __init__(
        self,
        grid: Grid,
        material: Material,
        applied_field_T=(0.0, 0.0, 0.0),
        *,
        demag: str = "newell",
        backend: str | ArrayBackend = "auto",
        dtype: str = "float32",
    ) -> None:
        if demag not in DEMAG_CHOICES:
            raise ValueError(f"demag must be one of {DEMAG_CHOICES}, got {demag!r}")
        self.grid = grid
        self.material = material
        self.backend = resolve_backend(backend)
        self.dtype = resolve_dtype(dtype)
        # Read at build time, so that a term registered after import is built too.
        classes = tuple(field_terms.TERMS)
        if DEMAG_TERMS[demag] is not None:
            classes += (DEMAG_TERMS[demag],)
        self.terms: list[FieldTerm] = [
            cls.build(grid, material, applied_field_T, self.backend, self.dtype) for cls in classes
        ]
        sizes = {term.name: term.batch_size for term in self.terms if term.batch_size != 1}
        if len(set(sizes.values())) > 1:
            raise ValueError("batch sizes of the per-system parameters (Ku_J_per_m3, D_J_per_m2, "
                             f"applied_field_T) disagree: {sizes}")
        self.batch_size = max(sizes.values(), default=1)
        self.mask = self.xp.asarray(grid.mask, dtype=self.dtype)
        self.cell_volume_m3 = grid.cell_volume_m3

    # --- the terms ---------------------------------------------------------------------
    def term(self, name: str) -> FieldTerm:
        """The term called ``name`` (``"exchange"``, ``"anisotropy"``, ``"dmi"``, ``"zeeman"``, ``"demag"``)."""
        for term in self.terms:
            if term.name == name:
                return term
        raise ValueError(f"no term {name!r} in this system; it has {[term.name for term in self.terms]}")

    exchange = property(lambda self: self.term("exchange"), doc="The exchange term.")
    anisotropy = property(lambda self: self.term("anisotropy"), doc="The anisotropy term.")
    dmi = property(lambda self: self.term("dmi"), doc="The interfacial DMI term.")
    zeeman = property(lambda self: self.term("zeeman"), doc="The Zeeman term (the applied field).")

    def with_term(self, term: FieldTerm) -> "System":
        """The same systems with ``term`` in place of the term of the same name.

        Shares the grid and every other term (the demagnetization kernel included).
        """
        if term.batch_size not in (1, self.batch_size):
            raise ValueError(f"{term.name} has {term.batch_size} systems for a batch of {self.batch_size}")
        self.term(term.name)  # raises for a name this system does not have
        updated = copy.copy(self)
        updated.terms = [term if old.name == term.name else old for old in self.terms]
        return updated

    def with_applied_field(self, applied_field_T) -> "System":
        """The same systems under another uniform applied field (tesla, ``(3,)`` or ``(B, 3)``).

        Shares the grid, the demagnetization kernel and every other term, so a field sweep
        does not rebuild anything.
        """
        zeeman = Zeeman(self.grid, applied_field_T, self.material.Ms_A_per_m, self.backend, self.dtype)
        if zeeman.batch_size not in (1, self.batch_size):
            raise ValueError(f"applied_field_T has {zeeman.batch_size} rows for a batch of {self.batch_size}")
        return self.with_term(zeeman)

    @property
    def xp(self):
        return self.backend.xp

    # --- magnetization helpers -------------------------------------------------------
    def normalize(self, m):
        """Unit vectors inside the mask, zero outside (returns a new array)."""
        xp = self.xp
        norm2 = xp.sum(m * m, axis=1, keepdims=True)
        tiny = xp.finfo(self.dtype).tiny
        return m * (self.mask / xp.sqrt(xp.maximum(norm2, tiny)))

    def uniform(self, direction=(0.0, 0.0, 1.0)):
        """A uniform state along ``direction`` (normalized), shape ``(B, 3, ny, nx)``."""
        direction = np.asarray(direction, dtype=np.float64)
        if direction.shape != (3,) or not np.linalg.norm(direction) > 0:
            raise ValueError(f"direction must be a non-zero 3-vector, got {direction!r}")
        direction = direction / np.linalg.norm(direction)
        m = np.broadcast_to(direction[None, :, None, None], (self.batch_size, 3, *self.grid.shape))
        return self.asarray(m * self.grid.mask)

    def asarray(self, m):
        """Move a magnetization to this system's backend and dtype, checking its shape."""
        m = self.backend.asarray(m, dtype=self.dtype)
        expected = (self.batch_size, 3, *self.grid.shape)
        if m.ndim == 3:
            m = self.xp.broadcast_to(m[None], expected).copy()
        if tuple(m.shape) != expected:
            raise ValueError(f"magnetization must have shape (B, 3, ny, nx) = {expected}, got {tuple(m.shape)}")
        return m

    # --- physics ---------------------------------------------------------------------
    def effective_field_T(self, m, out=None):
        """Total effective flux density ``B_eff = mu0 H_eff`` in tesla, shape of ``m``."""
        if out is None:
            out = self.xp.zeros_like(m)
        else:
            out[...] = 0
        for term in self.terms:
            term.add_field_T(m, out)
        return out

    def energy_terms_J(self, m) -> dict[str, np.ndarray]:
        """Energy of each term in joules, one value per system (float64 host arrays)."""
        batch = m.shape[0]
        return {
            term.name: np.broadcast_to(np.atleast_1d(self.backend.to_numpy(term.energy_J(m))), (batch,)).copy()
            for term in self.terms
        }

    def energy_J(self, m) -> np.ndarray:
        """Total energy in joules per system (float64 host array)."""
        return sum(self.energy_terms_J(m).values())

    def energy_from_field_J(self, m, field_T):
        """Total energy from an already computed total field (cheap; stays on the device).

        Every term is affine in ``m`` (:mod:`~dmilib.simulate.terms.base`), so
        ``E = -(Ms V/2) sum m.(B_eff + b) + c`` with ``b`` the terms' fixed fields (the
        applied field) and ``c`` their constants (anisotropy's ``V sum Ku``).
        """
        xp = self.xp
        total = field_T
        for term in self.terms:
            if term.fixed_field_T is not None:
                total = total + term.fixed_field_T
        dot = xp.sum(m * total, axis=1)
        energy = -0.5 * self.material.Ms_A_per_m * self.cell_volume_m3 * xp.sum(dot, axis=(1, 2), dtype=xp.float64)
        for term in self.terms:
            if term.constant_J is not None:
                energy = energy + term.constant_J
        return energy

    def energy_round_off_scale_J(self):
        """Bound on the magnitudes summed into each system's total energy (joules, ``(B,)``).

        ``|c| + Ms V N sum_terms |B_term|max``: the terms' constants plus, with N the number
        of cells, the sum of every term's :meth:`~dmilib.simulate.terms.FieldTerm.field_scale_T`.
        Round-off in the energy is a few float eps of it.
        """
        xp = self.xp
        batch = self.batch_size

        def per_system(values):
            return xp.broadcast_to(xp.asarray(values, dtype=xp.float64).reshape(-1), (batch,))

        field_scale = sum(per_system(term.field_scale_T()) for term in self.terms)
        constants = sum(per_system(xp.abs(term.constant_J)) for term in self.terms if term.constant_J is not None)
        cells = self.grid.cell_count
        return constants + self.material.Ms_A_per_m * self.cell_volume_m3 * cells * field_scale

    def select(self, indices) -> "System":
        """The sub-batch of the systems at ``indices`` (shares grid, kernel and backend)."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size == 0 or indices.min() < 0 or indices.max() >= self.batch_size:
            raise ValueError(f"indices must be in [0, {self.batch_size}), got {indices.tolist()}")
        subset = copy.copy(self)
        subset.terms = [term.select(indices) for term in self.terms]
        subset.batch_size = int(indices.size)
        return subset

    def torque_T(self, m, field_T):
        """Largest ``|m x B_eff|`` over the cells of each system, in tesla (device array)."""
        xp = self.xp
        cross = xp.cross(m, field_T, axis=1)
        return xp.sqrt(xp.max(xp.sum(cross * cross, axis=1), axis=(1, 2)))
