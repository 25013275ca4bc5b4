"""The demagnetizing field of the full FFT path against Aharoni's prism factors.

A uniformly magnetized rectangular prism has the volume-averaged field
<H> = -N . M with N from Aharoni, J. Appl. Phys. 83, 3432 (1998); the FFT
convolution with the Newell tensor must reproduce it (the cell-to-cell tensor is
exact, so only the far-field switch and round-off remain).
"""

import numpy as np
import pytest

from dmilib.simulate import MU0_T_M_PER_A, Grid, Material, System
from dmilib.simulate.demag_kernel import aharoni_demag_factors
from dmilib.simulate.terms.demag import smooth_fft_length

MS = 8e5


def average_factors(nx, ny, cell, dtype="float64"):
    grid = Grid(nx, ny, cell[:2], cell[2])
    system = System(grid, Material(Ms_A_per_m=MS, Ku_J_per_m3=0.0), demag="newell", backend="numpy", dtype=dtype)
    demag = system.terms[-1]
    factors = []
    for axis in range(3):
        direction = np.zeros(3)
        direction[axis] = 1
        m = system.uniform(direction)
        field = np.zeros_like(m)
        demag.add_field_T(m, field)
        mean_field = field[0].mean(axis=(1, 2))
        factors.append(-mean_field[axis] / (MU0_T_M_PER_A * MS))
        off_diagonal = np.delete(mean_field, axis)
        assert np.abs(off_diagonal).max() < 1e-9 * MU0_T_M_PER_A * MS
        energy = demag.energy_J(m)[0]
        volume = nx * ny * grid.cell_volume_m3
        assert energy == pytest.approx(0.5 * MU0_T_M_PER_A * MS**2 * volume * factors[-1], rel=1e-9)
    return np.array(factors)


@pytest.mark.parametrize(
    "nx, ny, cell",
    [
        (100, 50, (2e-9, 2e-9, 1e-9)),  # thin plate, far field used for most offsets
        (8, 8, (1.5e-9, 1.5e-9, 12e-9)),  # a 12 nm cube of cells 8x taller than wide
        (4, 2, (1.5e-9, 1.5e-9, 12e-9)),  # thick prism: 6 x 3 x 12 nm, taller than wide
        (120, 80, (1.5e-9, 1.5e-9, 12e-9)),  # the study's cell shape
        (64, 1, (2e-9, 2e-9, 2e-9)),  # a one-cell-wide wire
    ],
)
def test_uniform_prism_matches_aharoni(nx, ny, cell):
    factors = average_factors(nx, ny, cell)
    expected = np.array(aharoni_demag_factors(nx * cell[0], ny * cell[1], cell[2]))
    np.testing.assert_allclose(factors, expected, rtol=1e-3)
    assert factors.sum() == pytest.approx(1.0, abs=1e-6)


def test_float32_path_agrees_with_aharoni():
    factors = average_factors(60, 40, (3e-9, 3e-9, 12e-9), dtype="float32")
    expected = np.array(aharoni_demag_factors(180e-9, 120e-9, 12e-9))
    np.testing.assert_allclose(factors, expected, rtol=1e-3)


def test_padding_uses_smooth_lengths():
    assert smooth_fft_length(2 * 530 - 1) == 1080
    assert smooth_fft_length(2 * 265 - 1) == 540
    for n in range(1, 300):
        length = smooth_fft_length(n)
        assert length >= n
        rest = length
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        assert rest == 1
