"""Demagnetization: FFT convolution with the Newell tensor, and the thin-film local limit."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..constants import MU0_T_M_PER_A
from .base import QuadraticTerm


def smooth_fft_length(minimum: int) -> int:
    """Smallest integer >= ``minimum`` whose prime factors are 2, 3 and 5 only.

    Such lengths keep pocketfft and cuFFT on their fast paths: 2 x 530 - 1 = 1059 pads to
    1080 = 2^3 3^3 5 rather than to 1060 = 2^2 5 53.
    """
    if minimum < 1:
        raise ValueError(f"minimum FFT length must be >= 1, got {minimum}")
    best = None
    power2 = 1
    while power2 < 2 * minimum:
        power3 = power2
        while power3 < 2 * minimum:
            power5 = power3
            while power5 < minimum:
                power5 *= 5
            if best is None or power5 < best:
                best = power5
            power3 *= 3
        power2 *= 2
    return best


@lru_cache(maxsize=8)
def _kernel_spectra(nx: int, ny: int, dx: float, dy: float, dz: float) -> tuple[tuple[int, int], np.ndarray]:
    """Spectra of Nxx, Nyy, Nzz, Nxy zero-padded to smooth lengths, float64, cached per geometry.

    Returns ``(padded_shape, spectra)`` with ``spectra`` of shape ``(4, Py, Px // 2 + 1)``.
    The spectra are real: the diagonal components are even in x and y, and Nxy is odd in
    both, so the product of two imaginary odd transforms is real.
    """
    from ..demag_kernel import newell_tensor_quadrant

    quadrant = newell_tensor_quadrant(nx, ny, (dx, dy, dz))
    py, px = smooth_fft_length(2 * ny - 1), smooth_fft_length(2 * nx - 1)
    spectra = np.empty((4, py, px // 2 + 1))
    for index, (component, parity) in enumerate((("xx", 1), ("yy", 1), ("zz", 1), ("xy", -1))):
        full = np.zeros((py, px))
        q = quadrant[component]
        full[:ny, :nx] = q
        full[:ny, px - nx + 1 :] = parity * q[:, :0:-1]
        full[py - ny + 1 :, :nx] = parity * q[:0:-1, :]
        full[py - ny + 1 :, px - nx + 1 :] = q[:0:-1, :0:-1]
        spectrum = np.fft.rfft2(full)
        spectra[index] = spectrum.real
    return (py, px), spectra


class Demagnetization(QuadraticTerm):
    """Magnetostatic (demagnetizing) field of the film, open boundaries.

    ``B_i = -mu0 Ms sum_j N(r_i - r_j) . m_j`` (tesla), with N the Newell cell-to-cell
    tensor of two cells in one layer (so ``Nxz = Nyz = 0``), evaluated by an FFT
    convolution zero-padded to smooth lengths ``>= 2n - 1`` along each axis (no periodic
    images). ``E = -(Ms V / 2) sum_i m_i . B_i = (mu0 Ms^2 V / 2) sum_ij m_i . N_ij . m_j``.

    The padded transforms are pruned: the forward pass transforms only the ``ny`` non-zero
    rows along x before the y transform, the inverse keeps only the ``ny`` wanted rows
    before the x transform.
    """

    name = "demag"

    def __init__(self, grid, Ms_A_per_m: float, backend, dtype) -> None:
        super().__init__(grid, Ms_A_per_m, backend, dtype)
        self.nx, self.ny = grid.nx, grid.ny
        (self.py, self.px), spectra = _kernel_spectra(grid.nx, grid.ny, grid.dx, grid.dy, grid.thickness_m)
        # Fold -mu0 Ms and the FFT normalisation-free convention into one real kernel.
        self.kernel = backend.asarray(-MU0_T_M_PER_A * Ms_A_per_m * spectra, dtype=dtype)

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype) -> "Demagnetization":
        return cls(grid, material.Ms_A_per_m, backend, dtype)

    @property
    def padded_shape(self) -> tuple[int, int]:
        return (self.py, self.px)

    def add_field_T(self, m, out) -> None:
        backend, ny, nx = self.backend, self.ny, self.nx
        half = backend.rfft(m, n=self.px, axis=-1)
        spectrum = backend.fft(half, n=self.py, axis=-2)
        kxx, kyy, kzz, kxy = self.kernel
        mx, my, mz = spectrum[:, 0], spectrum[:, 1], spectrum[:, 2]
        spectrum = self.xp.stack((kxx * mx + kxy * my, kxy * mx + kyy * my, kzz * mz), axis=1)
        rows = backend.ifft(spectrum, n=None, axis=-2)[:, :, :ny]
        out += backend.irfft(rows, n=self.px, axis=-1)[..., :nx]

    def field_scale_T(self):
        # |N m| <= 1 for the demagnetizing tensor of any body: |B| <= mu0 Ms.
        return MU0_T_M_PER_A * self.Ms


class ThinFilmDemagnetization(QuadraticTerm):
    """Local thin-film limit of the demagnetizing field, for analytic validation.

    For a film much thinner than every in-plane length, ``N -> diag(0, 0, 1)`` locally:
    ``B_i = -mu0 Ms m_z,i z_hat`` and ``E = (mu0 Ms^2 V / 2) sum_i m_z,i^2``, which turns
    ``Ku`` into the effective ``K_eff = Ku - mu0 Ms^2 / 2`` of the textbook wall formulas.
    """

    name = "demag"

    def __init__(self, grid, Ms_A_per_m: float, backend, dtype) -> None:
        super().__init__(grid, Ms_A_per_m, backend, dtype)
        self.coefficient = MU0_T_M_PER_A * Ms_A_per_m

    @classmethod
    def build(cls, grid, material, applied_field_T, backend, dtype) -> "ThinFilmDemagnetization":
        return cls(grid, material.Ms_A_per_m, backend, dtype)

    def add_field_T(self, m, out) -> None:
        out[:, 2] -= self.coefficient * m[:, 2]

    def field_scale_T(self):
        return self.coefficient
