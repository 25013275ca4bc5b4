"""Voronoi anisotropy disorder against the geometry and statistics it is built from.

Expected values come from the definition of the tessellation, not from the code: the
seed density is 1 / (pi d^2 / 4), so the mean grain area of a Poisson-Voronoi
tessellation is pi d^2 / 4 (the mean cell area is the inverse density), and the
per-grain Ku are independent Normal(Ku0, sigma Ku0) draws.
"""

import math
import time

import numpy as np
import pytest
from scipy import ndimage

from dmilib.dataset.voronoi import PAPER_TESSELLATION_SEEDS, Tessellation, grain_boundaries
from dmilib.simulate.geometry import Grid

THICKNESS_M = 12e-9


def square_grid(side_m, cell_m):
    n = int(round(side_m / cell_m))
    return Grid(n, n, (cell_m, cell_m), THICKNESS_M)


def test_paper_seeds_are_six_distinct_integers():
    assert PAPER_TESSELLATION_SEEDS == (0, 1, 2, 3, 4, 5)


def test_same_seed_same_maps_different_seed_different_maps():
    grid = Grid.disk(200e-9, 1.5e-9, THICKNESS_M)
    a, b, c = Tessellation(7), Tessellation(7), Tessellation(8)
    np.testing.assert_array_equal(a.grain_ids(grid), b.grain_ids(grid))
    np.testing.assert_array_equal(a.ku_map(grid), b.ku_map(grid))
    assert not np.array_equal(a.grain_ids(grid), c.grain_ids(grid))
    assert not np.array_equal(a.ku_map(grid), c.ku_map(grid))


def test_ids_are_renumbered_by_first_appearance():
    grid = square_grid(150e-9, 1.5e-9)
    ids = Tessellation(3).grain_ids(grid)
    assert ids.dtype == np.int32 and ids.shape == grid.shape
    flat = ids.ravel()
    _, first = np.unique(flat, return_index=True)
    # Ids 0..G-1, each first seen after the previous one in C order.
    assert np.array_equal(np.unique(flat), np.arange(first.size))
    assert np.all(np.diff(first) > 0)
    assert flat[0] == 0


def test_mean_grain_diameter_from_interior_grains():
    d = 20e-9
    cell = 1.5e-9
    grid = square_grid(600e-9, cell)
    ids = Tessellation(11, mean_grain_diameter_m=d).grain_ids(grid)
    # Grains touching the border are truncated: keep only the ones fully inside.
    border = np.unique(np.concatenate([ids[0], ids[-1], ids[:, 0], ids[:, -1]]))
    interior = np.setdiff1d(np.unique(ids), border)
    cells_per_grain = np.bincount(ids.ravel())[interior]
    mean_area = cells_per_grain.mean() * cell**2
    equivalent_diameter = math.sqrt(4 * mean_area / math.pi)
    assert interior.size > 500
    assert equivalent_diameter == pytest.approx(d, rel=0.10)


def test_per_grain_ku_statistics():
    ku0, sigma = 0.33e6, 0.05
    grid = square_grid(1000e-9, 4e-9)
    tess = Tessellation(5, mean_grain_diameter_m=20e-9, Ku0_J_per_m3=ku0, relative_sigma=sigma)
    ids = tess.grain_ids(grid)
    ku = tess.ku_map(grid)
    grains = np.unique(ids)
    n = grains.size
    assert n >= 2000
    # One value per grain: every cell of a grain has the same Ku.
    first = np.unique(ids.ravel(), return_index=True)[1]
    per_grain = ku.ravel()[first]
    assert np.array_equal(ku, per_grain[ids])
    std = sigma * ku0
    assert abs(per_grain.mean() - ku0) < 3 * std / math.sqrt(n)
    # Standard error of a normal sample's standard deviation: sigma / sqrt(2 (n - 1)).
    assert abs(per_grain.std(ddof=1) - std) < 3 * std / math.sqrt(2 * (n - 1))


def test_zero_sigma_gives_uniform_ku():
    grid = Grid.disk(100e-9, 2e-9, THICKNESS_M)
    ku = Tessellation(0, relative_sigma=0.0).ku_map(grid)
    assert np.all(ku == 0.33e6)


def test_outside_mask_is_ku0_and_all_finite():
    grid = Grid.disk(200e-9, 2e-9, THICKNESS_M)
    tess = Tessellation(2, relative_sigma=0.2)
    ku = tess.ku_map(grid)
    assert ku.dtype == np.float64 and ku.shape == grid.shape
    assert np.all(np.isfinite(ku)) and np.all(ku >= 0)
    assert np.all(ku[~grid.mask] == tess.Ku0_J_per_m3)
    assert np.unique(ku[grid.mask]).size > 10


def test_grains_are_contiguous():
    # A Voronoi cell is convex, but assigning square cells by their centres can leave a
    # lone cell at a sharp polygon vertex touching its grain only at a corner (about 2 %
    # of the grains at d / dx = 13). So: nearly every grain is one 8-connected piece, and
    # the stray 4-connected fragments hold a negligible share of the cells.
    grid = square_grid(450e-9, 1.5e-9)
    ids = Tessellation(4).grain_ids(grid)
    four = ndimage.generate_binary_structure(2, 1)
    eight = ndimage.generate_binary_structure(2, 2)
    grains = np.unique(ids)
    one_piece_8 = 0
    stray_cells = 0
    for g in grains:
        cells = ids == g
        one_piece_8 += ndimage.label(cells, structure=eight)[1] == 1
        labels, _ = ndimage.label(cells, structure=four)
        sizes = np.bincount(labels.ravel())[1:]
        stray_cells += sizes.sum() - sizes.max()
    assert one_piece_8 >= 0.99 * grains.size
    assert stray_cells <= 1e-3 * ids.size


def test_boundaries_are_where_ids_change():
    ids = np.array(
        [
            [0, 0, 1],
            [0, 2, 1],
            [2, 2, 2],
        ]
    )
    expected = np.array(
        [
            [False, True, False],  # (0,0): right 0, up 0; (0,1): right 1
            [True, True, True],  # (1,0): right 2; (1,1): right 1; (1,2): up 2
            [False, False, False],  # top row, same grain to the right
        ]
    )
    np.testing.assert_array_equal(grain_boundaries(ids), expected)


def test_boundaries_of_a_real_tessellation_match_neighbour_differences():
    grid = square_grid(120e-9, 1.5e-9)
    ids = Tessellation(9).grain_ids(grid)
    boundary = grain_boundaries(ids)
    changes_right = np.zeros_like(boundary)
    changes_up = np.zeros_like(boundary)
    changes_right[:, :-1] = np.diff(ids, axis=1) != 0
    changes_up[:-1, :] = np.diff(ids, axis=0) != 0
    np.testing.assert_array_equal(boundary, changes_right | changes_up)
    assert boundary.any() and not boundary.all()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(seed=-1), "seed"),
        (dict(seed=1.5), "seed"),
        (dict(seed=True), "seed"),
        (dict(seed=0, mean_grain_diameter_m=0.0), "mean_grain_diameter_m"),
        (dict(seed=0, mean_grain_diameter_m=float("nan")), "mean_grain_diameter_m"),
        (dict(seed=0, Ku0_J_per_m3=-1.0), "Ku0_J_per_m3"),
        (dict(seed=0, Ku0_J_per_m3=0.0), "Ku0_J_per_m3"),
        (dict(seed=0, relative_sigma=-0.01), "relative_sigma"),
        (dict(seed=0, relative_sigma=0.5), "relative_sigma"),
    ],
)
def test_bad_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Tessellation(**kwargs)


def test_bad_grain_ids_raise():
    with pytest.raises(ValueError, match="grain_ids"):
        grain_boundaries(np.zeros((2, 2, 2), dtype=int))
    with pytest.raises(ValueError, match="grain_ids"):
        grain_boundaries(np.zeros((2, 2)))


def test_timing_study_grid():
    grid = Grid.disk(795e-9, 1.5e-9, THICKNESS_M)
    assert grid.shape == (530, 530)
    tess = Tessellation(0)
    start = time.perf_counter()
    tess.grain_ids(grid)
    tess.ku_map(grid)
    elapsed = time.perf_counter() - start
    print(f"grain_ids + ku_map on 530 x 530: {elapsed:.3f} s")
