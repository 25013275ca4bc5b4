"""Invariants of the solver: fields are energy gradients, |m| = 1, monotone energy,
batched = sequential, clear errors, and the minimizer agrees with LLG relaxation."""

import numpy as np
import pytest

from dmilib.simulate import ConvergenceError, Grid, Material, System, relax, run_llg
from dmilib.simulate.textures import bubble


def small_disk():
    return Grid.disk(96e-9, 3e-9, 12e-9)  # 32 x 32 cells, edges where the DMI bonds end


def random_state(grid, seed=0, batch=1):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(batch, 3, *grid.shape))
    return m / np.linalg.norm(m, axis=1, keepdims=True) * grid.mask


@pytest.mark.parametrize("term_index", range(5))
def test_each_field_is_minus_energy_gradient(term_index):
    grid = small_disk()
    ku = 0.33e6 * (1 + 0.05 * np.random.default_rng(3).normal(size=grid.shape))
    material = Material(D_J_per_m2=0.8e-3, Ku_J_per_m3=ku)
    system = System(grid, material, applied_field_T=(0.1, 0.02, -6e-3), backend="numpy", dtype="float64")
    term = system.terms[term_index]
    m = random_state(grid)
    field = np.zeros_like(m)
    term.add_field_T(m, field)
    rng = np.random.default_rng(1)
    inside = np.argwhere(grid.mask)
    # Include edge cells: the first and last in-mask cells of a row sit at the boundary.
    picks = [inside[0], inside[-1]] + [inside[i] for i in rng.choice(len(inside), 6, replace=False)]
    # Every energy is at most quadratic in m, so a central difference is exact for any
    # step; a large one keeps round-off of the summed energy out of the comparison.
    step = 0.1
    scale = grid.cell_volume_m3 * material.Ms_A_per_m
    for j, i in picks:
        for c in range(3):
            plus, minus = m.copy(), m.copy()
            plus[0, c, j, i] += step
            minus[0, c, j, i] -= step
            derivative = (term.energy_J(plus)[0] - term.energy_J(minus)[0]) / (2 * step)
            assert -derivative / scale == pytest.approx(field[0, c, j, i], rel=1e-6, abs=1e-9), (term.name, j, i, c)


def _term(system, name):
    return next(term for term in system.terms if term.name == name)


def _bond_energies_J(m, mask, A, D, dx, dy, t):
    """Exchange and interfacial-DMI energies as sums over nearest-neighbour bonds inside ``mask``.

    Written from the continuum densities with a forward difference on each bond i -> j:
    exchange ``A |grad m|^2`` gives ``A t (dy/dx) |m_j - m_i|^2`` per x bond; the DMI density
    ``D [m_z dm_x/dx - m_x dm_z/dx + m_z dm_y/dy - m_y dm_z/dy]`` (mumax3 Dind sign) gives
    ``D t dy (m_iz m_jx - m_ix m_jz)`` per x bond and ``D t dx (m_iz m_jy - m_iy m_jz)`` per y bond.
    """
    exchange = dmi = 0.0
    ny, nx = mask.shape
    for j in range(ny):
        for i in range(nx):
            if not mask[j, i]:
                continue
            a = m[:, j, i]
            if i + 1 < nx and mask[j, i + 1]:
                b = m[:, j, i + 1]
                exchange += A * t * dy / dx * np.sum((b - a) ** 2)
                dmi += D * t * dy * (a[2] * b[0] - a[0] * b[2])
            if j + 1 < ny and mask[j + 1, i]:
                b = m[:, j + 1, i]
                exchange += A * t * dx / dy * np.sum((b - a) ** 2)
                dmi += D * t * dx * (a[2] * b[1] - a[1] * b[2])
    return exchange, dmi


def test_exchange_and_dmi_energies_equal_an_independent_bond_sum():
    # Unequal dx, dy and a disk mask: a swapped spacing or a bond across the edge would show.
    mask = Grid.disk(60e-9, 3e-9, 1e-9).mask
    grid = Grid(mask.shape[1], mask.shape[0], (3e-9, 2e-9), 1.5e-9, mask)
    A, D = 12e-12, -0.7e-3
    system = System(grid, Material(A_J_per_m=A, D_J_per_m2=D), backend="numpy", dtype="float64")
    m = random_state(grid, seed=5)
    exchange, dmi = _bond_energies_J(m[0], grid.mask, A, D, 3e-9, 2e-9, 1.5e-9)
    assert _term(system, "exchange").energy_J(m)[0] == pytest.approx(exchange, rel=1e-10)
    assert _term(system, "dmi").energy_J(m)[0] == pytest.approx(dmi, rel=1e-10)


def test_cycloid_energies_match_the_closed_form():
    # m = (sin kx, 0, cos kx) on a full rectangle: every x bond turns by phi = k dx, y bonds
    # do not turn. Per x bond |m_j - m_i|^2 = 2 - 2 cos(phi) and m_iz m_jx - m_ix m_jz = sin(phi).
    nx, ny, dx, dy, t = 40, 6, 2e-9, 3e-9, 1e-9
    A, D, phi = 10e-12, 1.2e-3, 0.2
    grid = Grid(nx, ny, (dx, dy), t)
    theta = phi * np.arange(nx)
    m = np.zeros((1, 3, ny, nx))
    m[0, 0], m[0, 2] = np.sin(theta), np.cos(theta)
    system = System(grid, Material(A_J_per_m=A, D_J_per_m2=D), backend="numpy", dtype="float64")
    x_bonds = (nx - 1) * ny
    assert _term(system, "exchange").energy_J(m)[0] == pytest.approx(A * t * dy / dx * x_bonds * (2 - 2 * np.cos(phi)),
                                                                    rel=1e-12)
    assert _term(system, "dmi").energy_J(m)[0] == pytest.approx(D * t * dy * x_bonds * np.sin(phi), rel=1e-12)


def test_minimizer_keeps_unit_norm_and_never_raises_energy():
    grid = small_disk()
    system = System(grid, Material(D_J_per_m2=1e-3), applied_field_T=(0.1, 0, -6e-3), backend="numpy", dtype="float64")
    result = relax(system, bubble(grid, 30e-9)[None], check_every=1, torque_tolerance_T=1e-6)
    assert result.all_converged
    norms = np.linalg.norm(result.m, axis=1)[:, grid.mask]
    np.testing.assert_allclose(norms, 1.0, atol=1e-12)
    assert np.all(np.asarray(result.m)[:, :, ~grid.mask] == 0)
    steps = np.diff(result.energy_history_J[:, 0])
    assert np.all(steps <= 1e-12 * abs(result.energy_history_J[0, 0]))
    # The reported energy is the sum of the per-term energies.
    assert result.energy_J[0] == pytest.approx(system.energy_J(result.m)[0], rel=1e-9)


def test_float32_relaxation_keeps_unit_norm():
    grid = small_disk()
    system = System(grid, Material(D_J_per_m2=1e-3), applied_field_T=(0.1, 0, -6e-3), backend="numpy")
    result = relax(system, bubble(grid, 30e-9)[None])
    assert result.m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.m, axis=1)[:, grid.mask], 1.0, atol=1e-6)


def test_batched_equals_sequential():
    grid = small_disk()
    rng = np.random.default_rng(7)
    d_values = np.array([0.0, 0.5e-3, 1.0e-3])
    ku_maps = 0.33e6 * (1 + 0.05 * rng.normal(size=(3, *grid.shape)))
    fields = np.array([[0.1, 0, -6e-3], [0.1, 0, -8e-3], [0.05, 0.01, -10e-3]])
    seeds = np.stack([bubble(grid, r) for r in (25e-9, 30e-9, 35e-9)])
    kwargs = dict(backend="numpy", dtype="float64")
    batched = relax(System(grid, Material(D_J_per_m2=d_values, Ku_J_per_m3=ku_maps), fields, **kwargs), seeds,
                    torque_tolerance_T=1e-6)
    for b in range(3):
        single_system = System(grid, Material(D_J_per_m2=d_values[b], Ku_J_per_m3=ku_maps[b]), fields[b], **kwargs)
        single = relax(single_system, seeds[b : b + 1], torque_tolerance_T=1e-6)
        np.testing.assert_allclose(batched.m[b], single.m[0], atol=1e-5)
        assert batched.energy_J[b] == pytest.approx(single.energy_J[0], rel=1e-9)


def test_minimizer_agrees_with_llg_relaxation():
    grid = small_disk()
    material = Material(D_J_per_m2=1e-3, alpha=0.5)
    system = System(grid, material, applied_field_T=(0.1, 0, -6e-3), backend="numpy", dtype="float64")
    seed = bubble(grid, 30e-9)[None]
    minimized = relax(system, seed, torque_tolerance_T=1e-6)
    dynamic = run_llg(system, seed, duration_s=3e-9, tolerance=1e-6)
    torque = float(system.torque_T(dynamic.m, system.effective_field_T(dynamic.m))[0])
    assert torque < 1e-3
    np.testing.assert_allclose(dynamic.m, minimized.m, atol=2e-3)
    assert system.energy_J(dynamic.m)[0] == pytest.approx(minimized.energy_J[0], rel=1e-6)
    np.testing.assert_allclose(np.linalg.norm(dynamic.m, axis=1)[:, grid.mask], 1.0, atol=1e-12)


def test_non_convergence_names_step_residual_and_tolerance():
    grid = small_disk()
    system = System(grid, Material(D_J_per_m2=1e-3), applied_field_T=(0.1, 0, -6e-3), backend="numpy")
    with pytest.raises(ConvergenceError) as error:
        relax(system, bubble(grid, 30e-9)[None], max_iterations=20, torque_tolerance_T=1e-9)
    assert error.value.reason == "max_iterations" and error.value.step == 20
    assert error.value.tolerance == 1e-9 and error.value.residual > 1e-9
    assert "step 20" in str(error.value) and "tolerance" in str(error.value)
    unconverged = relax(system, bubble(grid, 30e-9)[None], max_iterations=20, torque_tolerance_T=1e-9,
                        raise_on_failure=False)
    assert not unconverged.converged[0]


def test_nan_is_reported_not_propagated():
    grid = small_disk()
    system = System(grid, Material(), backend="numpy")
    m = bubble(grid, 30e-9)[None]
    m[0, 0, 16, 16] = np.nan
    with pytest.raises(ConvergenceError, match="nan"):
        relax(system, m)
    with pytest.raises(ConvergenceError, match="nan"):
        run_llg(system, m, duration_s=1e-12)


def test_saturated_state_under_z_field_is_an_equilibrium():
    # +z under a field along z has zero torque: the minimizer must say so, not hang or NaN.
    grid = small_disk()
    system = System(grid, Material(), applied_field_T=(0, 0, -6e-3), backend="numpy")
    result = relax(system, system.uniform((0, 0, 1)))
    assert result.all_converged and result.iterations[0] == 0 and np.isfinite(result.energy_J).all()


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(Ms_A_per_m=-1.0), "Ms_A_per_m"),
        (dict(A_J_per_m=0.0), "A_J_per_m"),
        (dict(Ku_J_per_m3=-5.0), "Ku_J_per_m3"),
        (dict(alpha=float("nan")), "alpha"),
    ],
)
def test_bad_material_is_refused(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Material(**kwargs)


def test_bad_geometry_and_system_arguments_are_refused():
    with pytest.raises(ValueError, match="mask is empty"):
        Grid(4, 4, (1e-9, 1e-9), 1e-9, np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="thickness_m"):
        Grid(4, 4, (1e-9, 1e-9), -1.0)
    with pytest.raises(ValueError, match="backend"):
        System(small_disk(), Material(), backend="torch")
    with pytest.raises(ValueError, match="dtype"):
        System(small_disk(), Material(), dtype="float16")
    with pytest.raises(ValueError, match="batch sizes"):
        System(small_disk(), Material(D_J_per_m2=[0, 1e-3]), applied_field_T=np.zeros((3, 3)))
