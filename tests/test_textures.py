"""Seeds and the bubble radius: the default helicity has the lower DMI energy for either
sign of D, and the radius of analytic profiles is found to a small fraction of a cell."""

import math

import numpy as np
import pytest

from dmilib.simulate import Grid, Material, System
from dmilib.simulate.textures import bubble, bubble_radius_m, neel_helicity_rad


def dmi_bond_energy_J(m, grid, D):
    """Interfacial DMI (mumax3 Dind) as a bond sum, from ``D [m_z div m - (m.grad) m_z]``
    with a forward difference per bond: ``D t dy (a_z b_x - a_x b_z)`` per x bond and
    ``D t dx (a_z b_y - a_y b_z)`` per y bond, bonds inside the mask only."""
    mask, t = grid.mask, grid.thickness_m
    a, b = m[:, :, :-1], m[:, :, 1:]
    x_bonds = mask[:, :-1] & mask[:, 1:]
    energy = D * t * grid.dy * np.sum((a[2] * b[0] - a[0] * b[2])[x_bonds])
    a, b = m[:, :-1, :], m[:, 1:, :]
    y_bonds = mask[:-1, :] & mask[1:, :]
    return energy + D * t * grid.dx * np.sum((a[2] * b[1] - a[1] * b[2])[y_bonds])


@pytest.mark.parametrize("core_polarity", [-1, 1])
@pytest.mark.parametrize("D", [1.2e-3, -0.8e-3])
def test_default_helicity_has_the_lower_dmi_energy(D, core_polarity):
    grid = Grid.disk(120e-9, 3e-9, 1e-9)
    energies = {h: dmi_bond_energy_J(bubble(grid, 30e-9, core_polarity=core_polarity, helicity_rad=h), grid, D)
                for h in (0.0, math.pi)}
    chosen = bubble(grid, 30e-9, core_polarity=core_polarity, D_J_per_m2=D)
    low = min(energies, key=energies.get)
    # a Néel wall of 2 pi R length carries |E| ~ pi D t 2 pi R: far from a tie
    assert abs(energies[0.0] - energies[math.pi]) > 0.5 * abs(D) * 1e-9 * 2 * math.pi * 30e-9
    np.testing.assert_array_equal(chosen, bubble(grid, 30e-9, core_polarity=core_polarity, helicity_rad=low))
    # the solver's DMI term agrees on which is lower
    system = System(grid, Material(D_J_per_m2=D), demag="none", backend="numpy", dtype="float64")
    solver = {h: system.dmi.energy_J(bubble(grid, 30e-9, core_polarity=core_polarity, helicity_rad=h)[None])[0]
              for h in energies}
    assert min(solver, key=solver.get) == low


def test_explicit_helicity_overrides_d_and_no_d_keeps_outward_neel():
    grid = Grid.disk(60e-9, 3e-9, 1e-9)
    bloch = bubble(grid, 15e-9, helicity_rad=math.pi / 2, D_J_per_m2=-1e-3)
    np.testing.assert_array_equal(bloch, bubble(grid, 15e-9, helicity_rad=math.pi / 2))
    np.testing.assert_array_equal(bubble(grid, 15e-9), bubble(grid, 15e-9, helicity_rad=0.0))
    assert neel_helicity_rad(0.0) == 0.0
    with pytest.raises(ValueError, match="core_polarity"):
        neel_helicity_rad(1e-3, core_polarity=0)


def tanh_bubble(grid, radius_m, wall_m, centre_offset_m=(0.0, 0.0), core_polarity=-1):
    """``m_z = -core tanh((r - R)/w)``: ``m_z = 0`` exactly on the circle of radius R."""
    x, y = grid.cell_centres_m()
    cx = grid.nx * grid.dx / 2 + centre_offset_m[0]
    cy = grid.ny * grid.dy / 2 + centre_offset_m[1]
    mz = -core_polarity * np.tanh((np.hypot(x - cx, y - cy) - radius_m) / wall_m)
    return np.stack([np.sqrt(1 - mz**2), np.zeros_like(mz), mz]) * grid.mask


@pytest.mark.parametrize("grid", [Grid.disk(120e-9, 2e-9, 1e-9), Grid(70, 50, (2e-9, 3e-9), 1e-9)],
                         ids=["disk", "rectangular cells"])
@pytest.mark.parametrize("radius_m", [8e-9, 15.3e-9, 21.7e-9])
def test_radius_of_a_tanh_bubble_within_a_twentieth_of_a_cell(grid, radius_m):
    cell = max(grid.dx, grid.dy)
    for wall_m in (2e-9, 5e-9):
        for offset in ((0.0, 0.0), (0.37e-9, -0.81e-9)):
            for core in (-1, 1):
                m = tanh_bubble(grid, radius_m, wall_m, offset, core)
                assert bubble_radius_m(m, grid, core_polarity=core) == pytest.approx(radius_m, abs=0.05 * cell)


def test_radius_of_sharp_domains_counts_whole_cells():
    # +-1 cells: the contour lies on the cell faces, so the area is the cell count times dx dy,
    # also where the reversed region reaches the edge of the grid (a half plane).
    grid = Grid(40, 30, (2e-9, 3e-9), 1e-9)
    x, y = grid.cell_centres_m()
    disc = np.where(np.hypot(x - 41e-9, y - 44e-9) < 17e-9, -1.0, 1.0)
    half = np.where(x < 21e-9, -1.0, 1.0)
    batch = np.stack([np.stack([0 * mz, 0 * mz, mz]) for mz in (disc, half)])
    expected = [math.sqrt(np.sum(mz < 0) * 6e-18 / math.pi) for mz in (disc, half)]
    np.testing.assert_allclose(bubble_radius_m(batch, grid), expected, rtol=1e-12)


def test_radius_refuses_a_state_without_a_reversed_domain():
    grid = Grid.disk(30e-9, 3e-9, 1e-9)
    up = np.stack([0 * grid.mask, 0 * grid.mask, 1.0 * grid.mask])
    with pytest.raises(ValueError, match="no reversed domain"):
        bubble_radius_m(up, grid)
    with pytest.raises(ValueError, match="shape"):
        bubble_radius_m(up[:, :-1], grid)
