"""A batch of B independent thin-film systems sharing one grid and one array backend."""

from __future__ import annotations

import copy

import numpy as np

from ..backend import ArrayBackend, resolve_backend, resolve_dtype
from .geometry import Grid
from .constants import MU0_T_M_PER_A
from .material import Material
from .terms import (
    Demagnetization,
    Exchange,
    InterfacialDMI,
    ThinFilmDemagnetization,
    UniaxialAnisotropy,
    Zeeman,
)

DEMAG_CHOICES = ("newell", "thin_film", "none")


class System:
    """Effective field and energy of ``B`` independent films on one grid.

    The systems of a batch share the grid, ``Ms``, ``A``, ``alpha`` and ``gamma``; each may
    have its own DMI constant (``material.D_J_per_m2`` of shape ``(B,)``), its own
    anisotropy map (``Ku`` of shape ``(B, ny, nx)``) and its own applied field
    (``applied_field_T`` of shape ``(B, 3)``). Shapes of length 1 broadcast.

    Magnetization arrays have shape ``(B, 3, ny, nx)``: the reduced magnetization
    ``m = M / Ms`` with ``|m| = 1`` inside the mask and ``m = 0`` outside. Fields are
    flux densities ``mu0 H`` in tesla.

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
        xp, Ms = self.backend.xp, material.Ms_A_per_m
        args = (self.backend, self.dtype)
        self.exchange = Exchange(grid, material, *args)
        self.anisotropy = UniaxialAnisotropy(grid, material.Ku_J_per_m3, Ms, *args)
        self.dmi = InterfacialDMI(grid, material.D_J_per_m2, Ms, *args)
        self.zeeman = Zeeman(grid, applied_field_T, Ms, *args)
        self.terms = [self.exchange, self.anisotropy, self.dmi, self.zeeman]
        if demag == "newell":
            self.terms.append(Demagnetization(grid, Ms, *args))
        elif demag == "thin_film":
            self.terms.append(ThinFilmDemagnetization(grid, Ms, *args))
        sizes = {self.anisotropy.batch_size, self.dmi.batch_size, self.zeeman.batch_size} - {1}
        if len(sizes) > 1:
            raise ValueError(f"batch sizes of Ku_J_per_m3, D_J_per_m2 and applied_field_T disagree: {sorted(sizes)}")
        self.batch_size = sizes.pop() if sizes else 1
        self.mask = xp.asarray(grid.mask, dtype=self.dtype)
        self.cell_volume_m3 = grid.cell_volume_m3

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

        All terms but Zeeman are quadratic, so ``E = -(Ms V/2) sum m.(B_eff + B_applied)``
        plus the anisotropy constant ``V sum Ku``.
        """
        xp = self.xp
        dot = xp.sum(m * (field_T + self.zeeman.field), axis=1)
        energy = -0.5 * self.material.Ms_A_per_m * self.cell_volume_m3 * xp.sum(dot, axis=(1, 2), dtype=xp.float64)
        return energy + self.anisotropy.constant_J

    def with_applied_field(self, applied_field_T) -> "System":
        """The same systems under another uniform applied field (tesla, ``(3,)`` or ``(B, 3)``).

        Shares the grid, the demagnetization kernel and every other term, so a field sweep
        does not rebuild anything.
        """
        updated = copy.copy(self)
        zeeman = Zeeman(self.grid, applied_field_T, self.material.Ms_A_per_m, self.backend, self.dtype)
        if zeeman.batch_size not in (1, self.batch_size):
            raise ValueError(f"applied_field_T has {zeeman.batch_size} rows for a batch of {self.batch_size}")
        updated.terms = [zeeman if term is self.zeeman else term for term in self.terms]
        updated.zeeman = zeeman
        return updated

    def energy_round_off_scale_J(self):
        """Bound on the magnitudes summed into each system's total energy (joules, ``(B,)``).

        ``V sum Ku`` plus ``Ms V N |B_parts|``, with ``|B_parts|`` the sum of the magnitudes
        of every contribution to a cell's field (exchange diagonal, DMI, anisotropy,
        demag ~ mu0 Ms, applied) and N the number of cells. Round-off in the energy is a
        few float eps of it.
        """
        xp = self.xp
        batch = self.batch_size

        def per_system(values):
            return xp.broadcast_to(xp.asarray(values, dtype=xp.float64).reshape(-1), (batch,))

        Ms = self.material.Ms_A_per_m
        exchange = float(xp.max(self.exchange.diagonal))
        dmi = 4 * per_system(xp.abs(self.dmi.cx).max(axis=(1, 2)) + xp.abs(self.dmi.cy).max(axis=(1, 2)))
        anisotropy = per_system(self.anisotropy.coefficient.max(axis=(1, 2)))
        applied = 3 * per_system(xp.abs(self.zeeman.field).max(axis=(1, 2, 3)))
        field_scale = 2 * exchange + dmi + anisotropy + MU0_T_M_PER_A * Ms + applied
        cells = self.grid.cell_count
        return per_system(self.anisotropy.constant_J) + Ms * self.cell_volume_m3 * cells * field_scale

    def select(self, indices) -> "System":
        """The sub-batch of the systems at ``indices`` (shares grid, kernel and backend)."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size == 0 or indices.min() < 0 or indices.max() >= self.batch_size:
            raise ValueError(f"indices must be in [0, {self.batch_size}), got {indices.tolist()}")
        subset = copy.copy(self)
        subset.terms = [term.select(indices) if hasattr(term, "select") else term for term in self.terms]
        for name in ("exchange", "anisotropy", "dmi", "zeeman"):
            setattr(subset, name, subset.terms[[t.name for t in self.terms].index(getattr(self, name).name)])
        subset.batch_size = int(indices.size)
        return subset

    def torque_T(self, m, field_T):
        """Largest ``|m x B_eff|`` over the cells of each system, in tesla (device array)."""
        xp = self.xp
        cross = xp.cross(m, field_T, axis=1)
        return xp.sqrt(xp.max(xp.sum(cross * cross, axis=1), axis=(1, 2)))
