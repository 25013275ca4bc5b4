"""The preconditioned minimizer ("pbb") against plain BB and LLG relaxation, the
preconditioner against the exchange stencil, and the secant predictor of the protocol."""

import math

import numpy as np
import pytest

from dmilib.simulate import Grid, Material, System, relax, run_llg
from dmilib.simulate.constants import MU0_T_M_PER_A
from dmilib.simulate.precondition import ExchangePreconditioner
from dmilib.simulate.terms import Exchange
from dmilib.simulate.textures import bubble


def small_disk():
    return Grid.disk(96e-9, 3e-9, 12e-9)


def test_preconditioner_inverts_one_plus_exchange_over_stiffness():
    # On a full box whose sides are already smooth FFT lengths (no padding), P is the exact
    # inverse of 1 + (2A/(Ms a)) L, and -(2A/Ms) L g is the exchange field of g (same
    # Neumann stencil): so g - B_exchange(g)/a must give back the input.
    shape = (30, 32)
    grid = Grid(shape[1], shape[0], (2e-9, 3e-9), 12e-9, np.ones(shape, bool))
    material = Material()
    system = System(grid, material, backend="numpy", dtype="float64")
    stiffness = 0.4
    preconditioner = ExchangePreconditioner(grid, material, system.backend, np.float64, stiffness_T=stiffness)
    f = np.random.default_rng(0).normal(size=(2, 3, *shape))
    g = preconditioner.apply(f)
    exchange_field = np.zeros_like(g)
    Exchange(grid, material, system.backend, np.float64).add_field_T(g, exchange_field)
    np.testing.assert_allclose(g - exchange_field / stiffness, f, atol=1e-10)


def test_preconditioner_is_positive_on_the_magnet_whatever_lies_outside():
    # The field outside a disk is not zero (demag, applied): it must not enter P, or
    # d . P d can turn negative and the descent stalls (a defect found while building pbb).
    grid = small_disk()
    system = System(grid, Material(), backend="numpy", dtype="float64")
    preconditioner = ExchangePreconditioner(grid, system.material, system.backend, np.float64)
    rng = np.random.default_rng(1)
    for _ in range(20):
        inside = rng.normal(size=(1, 3, *grid.shape)) * grid.mask
        outside = 50 * rng.normal(size=(1, 3, *grid.shape)) * ~grid.mask
        d = inside + outside
        assert float(np.sum(inside * preconditioner.apply(d))) > 0
    # The default stiffness is 2 K_eff / Ms of the film.
    k_eff = 0.33e6 - 0.5 * MU0_T_M_PER_A * 0.55e6**2
    assert preconditioner.stiffness_T == pytest.approx(2 * k_eff / 0.55e6, rel=1e-12)


@pytest.mark.parametrize("d_value", [0.0, 1e-3])
def test_pbb_reaches_the_bb_equilibrium_with_fewer_evaluations(d_value):
    grid = Grid.disk(150e-9, 3e-9, 12e-9)
    system = System(grid, Material(D_J_per_m2=d_value), applied_field_T=(0.1, 0, -6e-3), backend="numpy",
                    dtype="float64")
    seed = bubble(grid, 45e-9)[None]
    plain = relax(system, seed, method="bb", torque_tolerance_T=1e-7)
    fast = relax(system, seed, method="pbb", torque_tolerance_T=1e-7)
    assert plain.all_converged and fast.all_converged and fast.method == "pbb"
    np.testing.assert_allclose(fast.m, plain.m, atol=1e-4)
    # Same energy to the round-off floor of the summed energy (~1e-13 relative in float64).
    assert fast.energy_J[0] == pytest.approx(plain.energy_J[0], rel=1e-11)
    # Both stop on the same residual: the reported torque is recomputed independently.
    torque = float(system.torque_T(fast.m, system.effective_field_T(fast.m))[0])
    assert torque < 1e-7
    assert fast.iterations[0] * 3 < plain.iterations[0]


def test_pbb_agrees_with_llg_relaxation():
    grid = small_disk()
    material = Material(D_J_per_m2=1e-3, alpha=1.0)
    system = System(grid, material, applied_field_T=(0.1, 0, -6e-3), backend="numpy", dtype="float64")
    seed = bubble(grid, 30e-9)[None]
    minimized = relax(system, seed, method="pbb", torque_tolerance_T=1e-7)
    dynamic = run_llg(system, seed, duration_s=2e-9, tolerance=1e-6)
    torque = float(system.torque_T(dynamic.m, system.effective_field_T(dynamic.m))[0])
    assert torque < 1e-3
    np.testing.assert_allclose(dynamic.m, minimized.m, atol=2e-3)
    assert system.energy_J(dynamic.m)[0] == pytest.approx(minimized.energy_J[0], rel=1e-6)


def test_pbb_never_raises_the_energy_and_keeps_unit_norm_in_float32():
    grid = small_disk()
    system = System(grid, Material(D_J_per_m2=0.8e-3), applied_field_T=(0.1, 0, -8e-3), backend="numpy")
    result = relax(system, bubble(grid, 30e-9)[None], method="pbb", check_every=1)
    assert result.all_converged and result.m.dtype == np.float32
    noise = 32 * float(np.finfo(np.float32).eps) * float(system.energy_round_off_scale_J()[0])
    assert np.all(np.diff(result.energy_history_J[:, 0]) <= noise)
    np.testing.assert_allclose(np.linalg.norm(result.m, axis=1)[:, grid.mask], 1.0, atol=1e-6)


def test_unknown_method_and_zero_magnetization_are_refused():
    grid = small_disk()
    system = System(grid, Material(), applied_field_T=(0, 0, -6e-3), backend="numpy")
    with pytest.raises(ValueError, match="method"):
        relax(system, bubble(grid, 30e-9)[None], method="cg")
    with pytest.raises(ValueError, match=r"\|m\| = 0"):
        relax(system, np.zeros((1, 3, *grid.shape)))


def test_wall_clock_budget_ends_with_a_reason():
    grid = Grid.disk(300e-9, 3e-9, 12e-9)
    system = System(grid, Material(D_J_per_m2=1e-3), applied_field_T=(0.1, 0, -6e-3), backend="numpy")
    result = relax(system, bubble(grid, 80e-9)[None], method="bb", torque_tolerance_T=1e-9, max_seconds=0.2,
                   raise_on_failure=False)
    assert not result.converged[0] and result.reasons == ["max_seconds"]
    with pytest.raises(ValueError, match="max_seconds"):
        relax(system, bubble(grid, 80e-9)[None], max_seconds=-1.0)


def test_secant_predictor_reaches_the_same_snapshots_as_plain_continuation():
    from dmilib.dataset.config import preset, with_overrides
    from dmilib.dataset.protocol import run_protocol

    config = with_overrides(preset("tiny"), {"uniform_D_J_per_m2": [1.0e-3], "nonuniform_D_J_per_m2": [],
                                             "dtype": "float64",
                                             "protocol": {"torque_tolerance_T": 1e-7, "Hz_step_T": -0.5e-3}})
    plain = run_protocol(with_overrides(config, {"protocol.predictor": "none"}), [0], backend="numpy")[0]
    secant = run_protocol(with_overrides(config, {"protocol.predictor": "secant"}), [0], backend="numpy")[0]
    assert plain.ok and secant.ok
    np.testing.assert_allclose(secant.snapshots, plain.snapshots, atol=1e-4)
    # The extrapolated start saves work on the later field steps.
    hz_stages = [label for label, _ in plain.stage_iterations if label.startswith("Hz")]
    plain_hz = sum(count for label, count in plain.stage_iterations if label in hz_stages[1:])
    secant_hz = sum(count for label, count in secant.stage_iterations if label in hz_stages[1:])
    assert secant_hz < plain_hz
    assert math.isfinite(secant.seconds)
