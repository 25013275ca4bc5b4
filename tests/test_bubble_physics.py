"""Physical checks of the quick preset's bubbles (runs the real protocol: a few minutes).

* A bubble exists at Hz = -6 mT (with Hx = 100 mT) for D = 0 and D = 1 mJ/m2 and is
  stable: a random perturbation relaxes back to the same bubble.
* Its area grows monotonically as |Hz| grows (the field favours the reversed core).
* Under Hx the bubble is asymmetric along x, and the asymmetry changes monotonically with
  D (Hx favours the Néel wall whose moment is parallel to it; DMI fixes the chirality, so
  the walls at +x and -x respond oppositely). Measure: ``centroid_offset_x`` of
  :func:`dmilib.dataset.shape.measure_bubble`, the x-offset of the bubble's centroid from
  the disk centre over its equivalent radius. (The extent ratio ``x_asymmetry`` is not
  monotonic: at D >= 0.6 mJ/m2 the walls' own shape changes faster than the shift.)
"""

import numpy as np
import pytest

from dmilib.dataset import preset, with_overrides
from dmilib.dataset.protocol import run_protocol
from dmilib.dataset.shape import measure_bubble
from dmilib.simulate import System, relax

pytestmark = pytest.mark.slow
D_VALUES = (0.0, 0.5e-3, 1.0e-3)


@pytest.fixture(scope="module")
def quick_runs():
    config = with_overrides(preset("quick"), {"uniform_D_J_per_m2": list(D_VALUES), "nonuniform_D_J_per_m2": []})
    config.validate()
    return config, run_protocol(config, range(len(D_VALUES)), backend="numpy")


def test_all_runs_converge_with_a_bubble(quick_runs):
    _, outcomes = quick_runs
    for outcome in outcomes:
        assert outcome.ok, outcome.reason


@pytest.mark.parametrize("run", [0, 2])
def test_bubble_at_minus_6_mT_is_stable(quick_runs, run):
    config, outcomes = quick_runs
    grid = config.grid()
    m = outcomes[run].snapshots[0]
    area = measure_bubble(m, grid).area_m2
    assert area > np.pi * (50e-9) ** 2
    system = System(grid, config.material_for(D_VALUES[run]), (config.protocol.Hx_T, 0, -6e-3), backend="numpy")
    rng = np.random.default_rng(run)
    kicked = m + 0.05 * rng.normal(size=m.shape) * grid.mask
    result = relax(system, kicked[None], torque_tolerance_T=config.protocol.torque_tolerance_T)
    assert result.all_converged
    back = measure_bubble(np.asarray(result.m)[0], grid).area_m2
    assert back == pytest.approx(area, rel=0.01)


def test_area_grows_with_field(quick_runs):
    config, outcomes = quick_runs
    grid = config.grid()
    assert np.all(np.diff(config.protocol.snapshot_Hz_T) < 0)
    for outcome in outcomes:
        areas = [measure_bubble(m, grid).area_m2 for m in outcome.snapshots]
        assert np.all(np.diff(areas) > 0), areas


def test_x_shift_changes_monotonically_with_D(quick_runs):
    config, outcomes = quick_runs
    grid = config.grid()
    for k, hz in enumerate(config.protocol.snapshot_Hz_T):
        shift = [measure_bubble(o.snapshots[k], grid).centroid_offset_x for o in outcomes]
        assert np.all(np.diff(shift) < 0), (hz, shift)
        assert abs(shift[-1]) > 1e-3  # a measurable shift at D = 1 mJ/m2 (> 0.3 nm here)
