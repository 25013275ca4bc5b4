"""A Fourier-diagonal approximation of the energy Hessian, used to precondition minimizers.

The stiffest modes of a thin film are short-wavelength exchange modes: on the 5-point
stencil the exchange operator has eigenvalues up to ``(2A/Ms)(4/dx^2 + 4/dy^2)``, about
24 T for 3.5 nm cells, while the bubble's size and shape relax through modes that cost
millitesla. A gradient method's stable step is set by the first and its progress by the
second. Dividing the gradient by an approximate Hessian, exchange plus a local stiffness,

``P^-1 = 1 + (2A / (Ms a)) L``,

with ``L`` the discrete Neumann Laplacian of the exchange term (``-L m`` sums
``(m_j - m_i)/h^2`` over neighbours) and ``a`` a local stiffness in tesla
(``2 K_eff / Ms`` by default), brings the short-wavelength modes down to ``a`` and leaves
the long ones untouched (Exl et al., arXiv 1801.03690, use the same idea with a sparse
solve). On the box grid with free edges, ``L`` is diagonalized by the type-II DCT with
eigenvalues ``(2 - 2 cos(pi k / n)) / h^2`` along each axis, so applying ``P`` costs one
forward and one inverse DCT of the three components: less than the padded demag FFT that
every field evaluation already does. The disk's edge is not the box's edge, so ``P`` is
an approximation there; any symmetric positive-definite ``P`` keeps a descent method
correct, and the minimizers only ever accept steps that lower the energy.
"""

from __future__ import annotations

import math

import numpy as np

from .constants import MU0_T_M_PER_A


class ExchangePreconditioner:
    """Applies ``P = (1 + (2A/(Ms a)) L)^-1`` to a ``(B, 3, ny, nx)`` array, masked.

    Parameters
    ----------
    grid : Grid
    material : Material
    backend : ArrayBackend
    dtype : numpy dtype
    stiffness_T : float, optional
        The local stiffness ``a`` in tesla. Default ``max(2 K_eff / Ms, 0.05 T)`` with
        ``K_eff = mean(Ku) - mu0 Ms^2 / 2``: the curvature of the energy for a small tilt
        of a perpendicular domain.
    """

    def __init__(self, grid, material, backend, dtype, stiffness_T: float | None = None) -> None:
        if stiffness_T is None:
            ku = float(np.mean(np.asarray(material.Ku_J_per_m3, dtype=np.float64)))
            k_eff = ku - 0.5 * MU0_T_M_PER_A * material.Ms_A_per_m**2
            stiffness_T = max(2 * k_eff / material.Ms_A_per_m, 0.05)
        if not (math.isfinite(stiffness_T) and stiffness_T > 0):
            raise ValueError(f"stiffness_T must be positive and finite, got {stiffness_T!r}")
        self.stiffness_T = float(stiffness_T)
        self.backend = backend
        xp = backend.xp
        # The box is padded to lengths with small prime factors (227 is prime, and a
        # prime-length DCT costs as much as the whole demag convolution); the padding
        # lies outside the disk, where the approximation is free to differ.
        from .terms.demag import smooth_fft_length

        self.shape = (ny, nx) = grid.shape
        self.padded_shape = (py, px) = (smooth_fft_length(ny), smooth_fft_length(nx))
        lam_x = (2 - 2 * np.cos(np.pi * np.arange(px) / px)) / grid.dx**2
        lam_y = (2 - 2 * np.cos(np.pi * np.arange(py) / py)) / grid.dy**2
        exchange_T_m2 = 2 * material.A_J_per_m / material.Ms_A_per_m
        symbol = 1.0 / (1.0 + exchange_T_m2 * (lam_y[:, None] + lam_x[None, :]) / self.stiffness_T)
        self.symbol = xp.asarray(symbol, dtype=dtype)
        self.mask = xp.asarray(grid.mask, dtype=dtype)

    def apply(self, g):
        """``P g``: the gradient-like array ``g`` with its short wavelengths damped (masked)."""
        backend = self.backend
        # The field outside the magnet is not zero (demag, applied): only cells of the
        # mask may enter, or P would not be a positive form on the magnet's cells.
        ny, nx = self.shape
        spectrum = backend.dctn(g * self.mask, axes=(-2, -1), shape=self.padded_shape)
        spectrum *= self.symbol
        return backend.idctn(spectrum, axes=(-2, -1))[..., :ny, :nx] * self.mask
