"""Tests of the cell-to-cell demagnetization tensor against physics, not against earlier output.

The references are Aharoni's closed form for a uniformly magnetized prism, its physical
limits (cube, thin plate, long needle), the point-dipole field, and the exact identity that
the pair-averaged cell tensor of a prism built from cells equals the prism's own factors.
"""

from __future__ import annotations

import inspect
import math
import time

import numpy as np
import pytest

from dmilib.simulate.demag_kernel import (
    _far_dipole,
    _newell_quadrant,
    aharoni_demag_factors,
    newell_tensor_quadrant,
)

NM = 1e-9
PAPER_CELL = (1.5 * NM, 1.5 * NM, 12 * NM)


# --- Aharoni -----------------------------------------------------------------------------------


def test_aharoni_cube_is_one_third():
    for edge in (1e-9, 1.0, 3.7e-6):
        assert aharoni_demag_factors(edge, edge, edge) == pytest.approx((1 / 3,) * 3, abs=1e-12)


def test_aharoni_thin_plate_and_needle_limits():
    nxx, nyy, nzz = aharoni_demag_factors(1000.0, 1000.0, 1.0)
    assert nxx == pytest.approx(nyy, rel=1e-12)
    assert 0.99 < nzz < 1.0
    # Flatter plates approach the infinite-film limit Nzz = 1 monotonically.
    gaps = [1 - aharoni_demag_factors(side, side, 1.0)[2] for side in (10.0, 100.0, 1000.0, 10000.0)]
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:]))
    # A long needle along z: Nzz -> 0, Nxx = Nyy -> 1/2.
    nxx, nyy, nzz = aharoni_demag_factors(1.0, 1.0, 1000.0)
    assert nzz < 0.01 and nxx == pytest.approx(0.5, abs=0.005)


@pytest.mark.parametrize("size", [(1, 1, 1), (1.5, 1.5, 12), (4, 4, 1), (1, 2, 3), (400, 200, 1), (180, 120, 12)])
def test_aharoni_sum_and_permutation(size):
    a, b, c = (s * NM for s in size)
    nxx, nyy, nzz = aharoni_demag_factors(a, b, c)
    assert nxx + nyy + nzz == pytest.approx(1.0, abs=1e-12)
    assert min(nxx, nyy, nzz) > 0
    # Relabelling the axes permutes the factors.
    assert aharoni_demag_factors(b, c, a) == pytest.approx((nyy, nzz, nxx), rel=1e-12)
    assert aharoni_demag_factors(c, a, b) == pytest.approx((nzz, nxx, nyy), rel=1e-12)
    assert aharoni_demag_factors(b, a, c) == pytest.approx((nyy, nxx, nzz), rel=1e-12)
    # The longest edge has the smallest factor.
    assert int(np.argmin((nxx, nyy, nzz))) == int(np.argmax((a, b, c)))


# --- self term ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cell_nm", [(1.5, 1.5, 12), (4, 4, 1), (1, 1, 1), (3, 3, 12), (1, 2, 3)])
def test_self_term_equals_aharoni(cell_nm):
    cell = tuple(c * NM for c in cell_nm)
    quadrant = newell_tensor_quadrant(1, 1, cell)
    diagonal = [float(quadrant[k][0, 0]) for k in ("xx", "yy", "zz")]
    assert diagonal == pytest.approx(aharoni_demag_factors(*cell), rel=1e-10)
    assert sum(diagonal) == pytest.approx(1.0, abs=1e-12)
    assert quadrant["xy"][0, 0] == 0.0


# --- prism made of cells -----------------------------------------------------------------------


def _pair_averaged_tensor(nx: int, ny: int, cell: tuple[float, float, float]) -> dict[str, float]:
    """(1/Ncells) sum over ordered cell pairs of N(r_i - r_j), from the quadrant and its parities."""
    quadrant = newell_tensor_quadrant(nx, ny, cell)
    i, j = np.arange(nx), np.arange(ny)[:, None]
    # Offset (i, j) occurs (nx - i)(ny - j) times, once per sign of each non-zero index.
    pairs = (nx - i) * (ny - j) * np.where(i > 0, 2, 1) * np.where(j > 0, 2, 1)
    averaged = {k: float(np.sum(pairs * quadrant[k])) / (nx * ny) for k in ("xx", "yy", "zz")}
    # Nxy: build all four quadrants with the odd parity and sum over pairs explicitly.
    q = quadrant["xy"]
    full = np.zeros((2 * ny - 1, 2 * nx - 1))
    full[ny - 1 :, nx - 1 :] = q
    full[ny - 1 :, : nx - 1] = -q[:, :0:-1]
    full[: ny - 1, nx - 1 :] = -q[:0:-1, :]
    full[: ny - 1, : nx - 1] = q[:0:-1, :0:-1]
    ii, jj = np.arange(-(nx - 1), nx), np.arange(-(ny - 1), ny)[:, None]
    averaged["xy"] = float(np.sum((nx - np.abs(ii)) * (ny - np.abs(jj)) * full)) / (nx * ny)
    return averaged


@pytest.mark.parametrize(
    "nx, ny, cell",
    [
        (200, 100, (2 * NM, 2 * NM, 1 * NM)),  # thin prism: most offsets use the far field
        (8, 8, PAPER_CELL),  # thick prism
        (120, 80, PAPER_CELL),  # the paper's cell
        (3, 1, (1 * NM, 1 * NM, 1 * NM)),  # 3 x 1 x 1 rod: every offset is a near neighbour
    ],
)
def test_prism_average_equals_aharoni(nx, ny, cell):
    averaged = _pair_averaged_tensor(nx, ny, cell)
    expected = aharoni_demag_factors(nx * cell[0], ny * cell[1], cell[2])
    for k, value in zip(("xx", "yy", "zz"), expected):
        assert averaged[k] == pytest.approx(value, rel=1e-6), k
    assert abs(averaged["xy"]) < 1e-12
    assert averaged["xx"] + averaged["yy"] + averaged["zz"] == pytest.approx(1.0, abs=1e-9)


def test_xy_vanishes_on_the_axes():
    quadrant = newell_tensor_quadrant(60, 40, PAPER_CELL, asymptotic_radius_cells=3.0)
    # Nxy is odd in X and in Y, so it is zero wherever X = 0 or Y = 0.
    assert np.all(quadrant["xy"][0, :] == 0.0) and np.all(quadrant["xy"][:, 0] == 0.0)
    # Off the axes, a source on the diagonal pushes the field along -(x + y) for M along x: Nxy < 0.
    assert np.all(quadrant["xy"][1:, 1:] < 0)


# --- near/far crossover ------------------------------------------------------------------------


@pytest.mark.parametrize("cell_nm", [(1, 1, 1), (1.5, 1.5, 12), (3, 3, 12)])
def test_newell_and_far_forms_agree_at_crossover(cell_nm):
    cell = tuple(c * NM for c in cell_nm)
    radius_cells = inspect.signature(newell_tensor_quadrant).parameters["asymptotic_radius_cells"].default
    radius_m = radius_cells * max(cell)
    nx, ny = int(radius_m / cell[0]) + 3, int(radius_m / cell[1]) + 3
    near = _newell_quadrant(nx, ny, cell)
    x, y = np.arange(nx) * cell[0], np.arange(ny)[:, None] * cell[1]
    ring = (np.hypot(x, y) > radius_m) & (np.hypot(x, y) < radius_m + max(cell[:2]))
    jj, ii = np.nonzero(ring)
    assert ii.size > 10
    far = _far_dipole(x[ii], y[jj, 0], cell)
    scale = np.max([np.abs(near[k][jj, ii]) for k in ("xx", "yy", "zz")], axis=0)
    for k in ("xx", "yy", "zz", "xy"):
        assert np.max(np.abs(near[k][jj, ii] - far[k]) / scale) < 1e-6, k
    # The switch inside newell_tensor_quadrant picks the far form on exactly that ring.
    combined = newell_tensor_quadrant(nx, ny, cell, radius_cells)
    np.testing.assert_array_equal(combined["zz"][jj, ii], far["zz"])


def test_far_field_is_the_point_dipole():
    cell = PAPER_CELL
    volume = cell[0] * cell[1] * cell[2]
    r = 4000 * cell[0]  # 6 um: cell size corrections are ~(12 nm / 6 um)^2 ~ 4e-6
    along_x = _far_dipole(np.array([r]), np.array([0.0]), cell)
    assert along_x["xx"][0] == pytest.approx(-2 * volume / (4 * math.pi * r**3), rel=1e-4)
    assert along_x["yy"][0] == pytest.approx(volume / (4 * math.pi * r**3), rel=1e-4)
    assert along_x["zz"][0] == pytest.approx(volume / (4 * math.pi * r**3), rel=1e-4)
    s = r / math.sqrt(2)
    diagonal = _far_dipole(np.array([s]), np.array([s]), cell)
    assert diagonal["xy"][0] == pytest.approx(-1.5 * volume / (4 * math.pi * r**3), rel=1e-4)


# --- output format, speed, argument checking ---------------------------------------------------


def test_paper_grid_is_fast_finite_and_float64():
    start = time.perf_counter()
    quadrant = newell_tensor_quadrant(530, 530, PAPER_CELL)
    elapsed = time.perf_counter() - start
    assert set(quadrant) == {"xx", "yy", "zz", "xy"}
    for value in quadrant.values():
        assert value.shape == (530, 530) and value.dtype == np.float64
        assert np.all(np.isfinite(value))
    assert elapsed < 5.0  # ~0.1 s measured on 2 cores; the budget is 2 s


def test_rectangular_shapes_and_symmetry_between_axes():
    cell = (2 * NM, 3 * NM, 5 * NM)
    q = newell_tensor_quadrant(7, 4, cell, asymptotic_radius_cells=1.0)
    assert q["xx"].shape == (4, 7)
    # Swapping the roles of x and y transposes the tensor.
    t = newell_tensor_quadrant(4, 7, (cell[1], cell[0], cell[2]), asymptotic_radius_cells=1.0)
    np.testing.assert_allclose(t["yy"], q["xx"].T, rtol=1e-12, atol=0)
    np.testing.assert_allclose(t["zz"], q["zz"].T, rtol=1e-12, atol=0)
    np.testing.assert_allclose(t["xy"], q["xy"].T, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"nx": 0},
        {"nx": -3},
        {"nx": 2.0},
        {"ny": 0},
        {"ny": True},
        {"cell_size_m": (0.0, 1e-9, 1e-9)},
        {"cell_size_m": (1e-9, -1e-9, 1e-9)},
        {"cell_size_m": (1e-9, 1e-9, math.nan)},
        {"cell_size_m": (1e-9, 1e-9, math.inf)},
        {"cell_size_m": (1e-9, 1e-9)},
        {"asymptotic_radius_cells": 0.0},
        {"asymptotic_radius_cells": -1.0},
        {"asymptotic_radius_cells": math.nan},
    ],
)
def test_bad_arguments_raise(kwargs):
    arguments = {"nx": 4, "ny": 4, "cell_size_m": (1e-9, 1e-9, 1e-9)} | kwargs
    with pytest.raises(ValueError):
        newell_tensor_quadrant(**arguments)


@pytest.mark.parametrize("sizes", [(0.0, 1.0, 1.0), (1.0, -1.0, 1.0), (1.0, 1.0, math.nan), (math.inf, 1.0, 1.0)])
def test_aharoni_bad_arguments_raise(sizes):
    with pytest.raises(ValueError):
        aharoni_demag_factors(*sizes)
