"""Array backends: one code path over NumPy (CPU) or CuPy (GPU).

The solver only ever talks to an :class:`ArrayBackend`: ``xp`` is the array module and the
``rfft``/``irfft``/``fft``/``ifft`` methods wrap ``scipy.fft`` (threaded) or ``cupyx.scipy.fft``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

BACKEND_CHOICES = ("auto", "numpy", "cupy")


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, CUDA driver errors: no usable GPU either way
        return False


@dataclass(frozen=True)
class ArrayBackend:
    """An array module plus the FFTs the demagnetization convolution needs."""

    name: str
    xp: ModuleType
    fft_module: ModuleType
    fft_workers: int | None = None

    def _fft_kwargs(self) -> dict[str, Any]:
        return {} if self.fft_workers is None else {"workers": self.fft_workers}

    def rfft(self, x, n: int, axis: int):
        return self.fft_module.rfft(x, n=n, axis=axis, **self._fft_kwargs())

    def irfft(self, x, n: int, axis: int):
        return self.fft_module.irfft(x, n=n, axis=axis, **self._fft_kwargs())

    def fft(self, x, n: int, axis: int):
        return self.fft_module.fft(x, n=n, axis=axis, **self._fft_kwargs())

    def ifft(self, x, n: int | None, axis: int):
        return self.fft_module.ifft(x, n=n, axis=axis, **self._fft_kwargs())

    def asarray(self, x, dtype=None):
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        """Copy an array of this backend to host memory as a NumPy array."""
        if self.name == "cupy":
            return self.xp.asnumpy(x)
        return np.asarray(x)

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU); needed for honest timings."""
        if self.name == "cupy":
            self.xp.cuda.Stream.null.synchronize()


def resolve_backend(backend: str | ArrayBackend = "auto") -> ArrayBackend:
    """Return the array backend for ``"auto"``, ``"numpy"`` or ``"cupy"``.

    ``"auto"`` picks CuPy when a CUDA device is visible and NumPy otherwise.
    """
    if isinstance(backend, ArrayBackend):
        return backend
    if backend not in BACKEND_CHOICES:
        raise ValueError(f"backend must be one of {BACKEND_CHOICES}, got {backend!r}")
    if backend == "auto":
        backend = "cupy" if cupy_available() else "numpy"
    if backend == "cupy":
        if not cupy_available():
            raise ValueError("backend='cupy' needs CuPy and a CUDA GPU; none was found (use 'numpy' or 'auto')")
        import cupy
        import cupyx.scipy.fft as cupy_fft

        return ArrayBackend("cupy", cupy, cupy_fft)
    import scipy.fft

    return ArrayBackend("numpy", np, scipy.fft, fft_workers=os.cpu_count() or 1)


def resolve_dtype(dtype: str | np.dtype) -> np.dtype:
    """Float32 (default for speed) or float64 (for validation); anything else is refused."""
    resolved = np.dtype(dtype)
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return resolved
