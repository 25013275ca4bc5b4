"""Domain walls and edge canting against closed-form thin-film results.

The film is a 1D chain (ny = 1) with the local thin-film demagnetization, whose
energy is exactly the shape anisotropy folded into K_eff = Ku - mu0 Ms^2 / 2; the
full Newell demagnetization is validated separately (test_demag_field.py).
References: the Bloch/Néel wall of width sqrt(A/K_eff) and energy
4 sqrt(A K_eff) - pi |D| (e.g. Thiaville et al., EPL 100, 57002 (2012)); the edge
condition dtheta/dn = D/(2A) and the edge angle sin(theta_edge) = D / (2 sqrt(A K_eff))
from the first integral A theta'^2 = K_eff sin^2 theta (Rohart & Thiaville,
PRB 88, 184422 (2013)).
"""

import math

import numpy as np
import pytest

from dmilib.simulate import Grid, Material, System, relax

THICKNESS_M = 12e-9


def chain_system(nx, dx, D):
    grid = Grid(nx, 1, (dx, dx), THICKNESS_M)
    material = Material(D_J_per_m2=D)
    return System(grid, material, demag="thin_film", backend="numpy", dtype="float64")


@pytest.mark.parametrize("D", [0.0, 0.5e-3, 1.0e-3])
def test_straight_wall_width_and_energy(D):
    nx, dx = 400, 0.5e-9
    system = chain_system(nx, dx, D)
    material = system.material
    k_eff = material.effective_anisotropy_J_per_m3()
    width = math.sqrt(material.A_J_per_m / k_eff)
    x = (np.arange(nx) + 0.5) * dx - nx * dx / 2
    theta = 2 * np.arctan(np.exp(x / width))
    # Start off-profile and half Bloch, half Néel so the minimizer must find both.
    m = np.stack([0.9 * np.sin(theta), 0.3 * np.sin(theta), np.cos(theta)])[None, :, None, :]
    wall = relax(system, m, torque_tolerance_T=1e-6)
    domain = relax(system, system.uniform((1e-3, 0, 1)), torque_tolerance_T=1e-6)
    area = system.grid.dy * THICKNESS_M
    energy_per_area = (system.energy_J(wall.m)[0] - system.energy_J(domain.m)[0]) / area
    expected = 4 * math.sqrt(material.A_J_per_m * k_eff) - math.pi * abs(D)
    assert energy_per_area == pytest.approx(expected, rel=0.02)

    mz = np.asarray(wall.m)[0, 2, 0]
    centre = int(np.argmin(np.abs(mz)))
    near = slice(centre - 4, centre + 5)
    slope = np.polyfit(x[near], np.arctanh(-mz[near]), 1)[0]
    assert abs(1 / slope) == pytest.approx(width, rel=0.02)
    if D != 0:
        # DMI makes the wall Néel: the in-plane moment points along the wall normal x.
        in_plane = np.asarray(wall.m)[0, :2, 0, centre]
        assert abs(in_plane[0]) > 0.99 and abs(in_plane[1]) < 0.01


def test_edge_canting_matches_boundary_condition():
    D, nx, dx = 1e-3, 240, 0.25e-9
    system = chain_system(nx, dx, D)
    material = system.material
    m = system.uniform((0.01, 0, 1))
    relaxed = np.asarray(relax(system, m, torque_tolerance_T=1e-6).m)[0, :, 0]
    assert np.abs(relaxed[1]).max() < 1e-6
    theta = np.arctan2(relaxed[0], relaxed[2])
    x = (np.arange(nx) + 0.5) * dx
    expected_slope = D / (2 * material.A_J_per_m)
    for cells, face in ((slice(-3, None), nx * dx), (slice(0, 3), 0.0)):
        fit = np.polyfit(x[cells], theta[cells], 2)
        slope = np.polyval(np.polyder(fit), face)
        # Energy density D (m_z dm_x/dx - m_x dm_z/dx) fixes dtheta/dx = -D/(2A) at both edges.
        assert slope == pytest.approx(-expected_slope, rel=0.01)
        edge_theta = np.polyval(fit, face)
        assert abs(math.sin(edge_theta)) == pytest.approx(
            D / (2 * math.sqrt(material.A_J_per_m * material.effective_anisotropy_J_per_m3())), rel=0.01
        )
    # Far from the edges the film is saturated.
    assert abs(theta[nx // 2]) < 1e-3
