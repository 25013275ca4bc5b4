"""run_llg's stop on torque and its continuation step."""

import numpy as np
import pytest

from dmilib.simulate import Grid, Material, System, relax, run_llg
from dmilib.simulate.textures import bubble


def bubble_system():
    # 20 x 20 cells, thin-film demag (no FFT): a bubble that relax and LLG both keep.
    grid = Grid.disk(60e-9, 3e-9, 12e-9)
    system = System(grid, Material(D_J_per_m2=2.5e-3, alpha=1.0), (0.0, 0.0, -0.02), demag="thin_film",
                    backend="numpy", dtype="float64")
    return system, bubble(grid, 15e-9, D_J_per_m2=2.5e-3)[None]


def test_damped_llg_stops_on_torque_near_the_minimizers_state():
    system, seed = bubble_system()
    minimum = relax(system, seed, torque_tolerance_T=1e-9)
    assert minimum.m[0, 2][system.grid.mask].min() < -0.9  # the bubble survived
    runs = {tol: run_llg(system, seed, 50e-9, tolerance=1e-6, torque_tolerance_T=tol) for tol in (1e-3, 1e-4)}
    distance, excess = {}, {}
    for tol, run in runs.items():
        assert run.converged and run.times_s[-1] < 5e-9  # stopped long before the duration
        recomputed = float(system.torque_T(run.m, system.effective_field_T(run.m))[0])
        assert recomputed < tol and run.torque_T[0] == pytest.approx(recomputed, rel=1e-12)
        distance[tol] = np.abs(run.m - minimum.m).max()
        excess[tol] = system.energy_J(run.m)[0] - minimum.energy_J[0]
    # Near a minimum with Hessian H, a residual g sits at m - m* = H^-1 g and
    # E - E* = g.H^-1 g / 2: the distance falls with the tolerance, the excess with its square.
    assert distance[1e-4] < 0.2 * distance[1e-3] and distance[1e-4] < 2e-3
    assert 0 < excess[1e-4] < 0.05 * excess[1e-3]


def test_without_tolerance_the_run_takes_its_whole_duration():
    system, seed = bubble_system()
    run = run_llg(system, seed, 2e-11, sample_interval_s=1e-11)
    assert not run.converged and run.times_s[-1] == pytest.approx(2e-11, rel=1e-12)
    assert run.torque_T.shape == (1,) and run.torque_T[0] > 1e-3


def test_a_continued_run_starts_from_the_given_step():
    system, seed = bubble_system()
    first = run_llg(system, seed, 1e-10, tolerance=1e-6)
    assert first.dt_s > 10 * 1e-14  # the controller grew the step from its default start
    # One step of the size handed over covers it; a fresh call starts at 1e-14 s.
    continued = run_llg(system, first.m, first.dt_s, tolerance=1e-6, initial_dt_s=first.dt_s)
    fresh = run_llg(system, first.m, first.dt_s, tolerance=1e-6)
    assert continued.steps == 1 and continued.rejected == 0
    assert fresh.steps > 3
    # Two calls follow the single long run to the integrator's accuracy.
    longer = run_llg(system, first.m, 5e-11, tolerance=1e-6, initial_dt_s=first.dt_s)
    whole = run_llg(system, seed, 1.5e-10, sample_interval_s=1e-10, tolerance=1e-6)
    np.testing.assert_allclose(longer.m, whole.m, atol=1e-4)


def test_bad_stop_arguments_are_refused():
    system, seed = bubble_system()
    with pytest.raises(ValueError, match="torque_tolerance_T"):
        run_llg(system, seed, 1e-12, torque_tolerance_T=0.0)
    with pytest.raises(ValueError, match="initial_dt_s"):
        run_llg(system, seed, 1e-12, initial_dt_s=-1e-15)
    with pytest.raises(ValueError, match="check_every"):
        run_llg(system, seed, 1e-12, torque_tolerance_T=1e-3, check_every=0)
