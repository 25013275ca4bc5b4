"""dmilib.simulate.validation: shapes, agreement with the closed forms, SP4 landmark rules.

Standard problem 4 itself is not rerun here (tests/test_standard_problem_4.py covers its
physics); its landmark extraction is checked on synthetic trajectories whose landmarks
are known in closed form.
"""

import math

import numpy as np
import pytest

from dmilib.simulate import validation
from dmilib.simulate.validation import (
    REFERENCE_SP4,
    SP4_LANDMARK_KEYS,
    aharoni_check,
    domain_wall_profile,
    edge_canting_profile,
    first_zero_crossing,
    flatten_sp4_landmarks,
    parabolic_extremum,
    sp4_landmarks,
)


@pytest.mark.parametrize("D", [0.0, 1.0e-3])
def test_domain_wall_profile_matches_analytic_wall(D):
    result = domain_wall_profile(D, cell_size_m=0.5e-9, length_cells=300)
    for key in ("x_m", "mx", "my", "mz", "mz_analytic"):
        assert result[key].shape == (300,)
    assert np.allclose(result["mx"] ** 2 + result["my"] ** 2 + result["mz"] ** 2, 1)
    assert result["x_m"][0] == pytest.approx(-74.75e-9) and result["x_m"][-1] == pytest.approx(74.75e-9)
    # The study's film, by hand: K_eff = 0.33e6 - 4 pi 1e-7 * 0.55e6^2 / 2 = 139 934 J/m^3,
    # Delta = sqrt(1e-11 / K_eff) = 8.454 nm, sigma = 4 sqrt(1e-11 K_eff) - pi |D| = 4.732 - 3.142 D[mJ/m^2] mJ/m^2.
    assert result["K_eff_J_per_m3"] == pytest.approx(139_934, rel=1e-5)
    width_m, energy_J_per_m2 = 8.4535e-9, 4.73174e-3 - math.pi * D
    assert result["width_analytic_m"] == pytest.approx(width_m, rel=1e-4)
    assert result["energy_analytic_J_per_m2"] == pytest.approx(energy_J_per_m2, rel=1e-4)
    # the relaxed 1D chain against the closed forms (discretization error of 0.5 nm cells)
    assert result["energy_J_per_m2"] == pytest.approx(energy_J_per_m2, rel=0.02)
    assert result["width_m"] == pytest.approx(width_m, rel=0.02)
    assert abs(result["centre_m"]) < 0.5e-9
    assert result["mz_max_abs_error"] < 2e-3
    if D:
        assert abs(result["centre_in_plane"][0]) > 0.99  # Néel


def test_edge_canting_matches_boundary_condition_and_profile():
    D = 1e-3
    result = edge_canting_profile(D)
    nx = result["length_cells"]
    assert result["x_m"].shape == result["theta_rad"].shape == result["theta_analytic_rad"].shape == (nx,)
    assert result["length_m"] == pytest.approx(nx * result["cell_size_m"])
    # By hand: dtheta/dx = -D / (2A) = -1e-3 / 2e-11 = -5e7 rad/m at the edge, and
    # sin(theta_e) = D / (2 sqrt(A K_eff)) = 1e-3 / 2.36587e-3, theta_e = 0.43640 rad.
    slope_rad_per_m, expected_angle = -5e7, 0.436397
    assert result["slope_expected_rad_per_m"] == pytest.approx(slope_rad_per_m)
    for side in ("left", "right"):
        assert result[f"slope_{side}_rad_per_m"] == pytest.approx(slope_rad_per_m, rel=0.01)
    assert result["edge_angle_expected_rad"] == pytest.approx(expected_angle, rel=1e-5)
    assert result["edge_angle_left_rad"] == pytest.approx(expected_angle, rel=0.01)
    assert result["edge_angle_right_rad"] == pytest.approx(-expected_angle, rel=0.01)
    assert result["max_abs_error_rad"] < 0.01 * expected_angle
    assert result["my_max_abs"] < 1e-6


def test_no_canting_without_dmi():
    result = edge_canting_profile(0.0, length_cells=80)
    assert result["edge_angle_expected_rad"] == 0
    assert np.abs(result["theta_analytic_rad"]).max() == 0
    assert np.abs(result["theta_rad"]).max() < 1e-6


def test_zero_crossing_and_parabolic_extremum_helpers():
    t = np.linspace(0, 1, 11)
    assert first_zero_crossing(t, 0.35 - t) == pytest.approx(0.35)
    assert first_zero_crossing(t, np.where(t < 0.5, t - 0.25, 0.75 - t)) == pytest.approx(0.75)  # downward only
    with pytest.raises(ValueError, match="never crosses"):
        first_zero_crossing(t, 1 + t)
    y = 2.0 - 3.0 * (t - 0.43) ** 2
    assert parabolic_extremum(t, y, 4) == pytest.approx((0.43, 2.0))
    with pytest.raises(ValueError, match="sample on each side"):
        parabolic_extremum(t, y, 0)


@pytest.mark.parametrize("dt_ps", [1.0, 2.5])
def test_sp4_landmarks_of_a_synthetic_trajectory(dt_ps):
    # <mx> = cos(2 pi t / T), <my> = a sin(2 pi t / T): zero of <mx> and maximum of <my> at
    # T/4 (before 0.2 ns), minimum of <my> at 3T/4 (between 0.15 and 0.35 ns).
    period_ns, amplitude = 0.41, 0.75
    t_ns = np.arange(0, 1.0 + 1e-9, dt_ps * 1e-3)
    phase = 2 * np.pi * t_ns / period_ns
    mean_m = np.stack([np.cos(phase), amplitude * np.sin(phase), 0.05 * t_ns], axis=1)
    landmarks = sp4_landmarks(t_ns * 1e-9, mean_m)
    assert set(landmarks) == {"s_state", "mx_zero_crossing_ns", "my_max_ns", "my_max", "my_min_ns", "my_min", "m_1ns"}
    assert landmarks["s_state"] == pytest.approx((1.0, 0.0, 0.0))
    assert landmarks["mx_zero_crossing_ns"] == pytest.approx(period_ns / 4, abs=1e-6)
    assert landmarks["my_max_ns"] == pytest.approx(period_ns / 4, abs=1e-5)
    assert landmarks["my_max"] == pytest.approx(amplitude, abs=1e-6)
    assert landmarks["my_min_ns"] == pytest.approx(3 * period_ns / 4, abs=1e-5)
    assert landmarks["my_min"] == pytest.approx(-amplitude, abs=1e-6)
    expected_1ns = (math.cos(2 * math.pi / period_ns), amplitude * math.sin(2 * math.pi / period_ns), 0.05)
    assert landmarks["m_1ns"] == pytest.approx(expected_1ns, abs=1e-4)


def test_sp4_landmarks_checks_shapes():
    with pytest.raises(ValueError, match="shape"):
        sp4_landmarks(np.linspace(0, 1e-9, 5), np.zeros((5, 2)))


def test_flatten_and_reference_table_agree():
    flat = flatten_sp4_landmarks({"s_state": (0.9, 0.1, 0.0), "mx_zero_crossing_ns": 0.14, "my_max_ns": 0.13,
                                  "my_max": 0.75, "my_min_ns": 0.23, "my_min": -0.5, "m_1ns": None})
    assert tuple(flat) == SP4_LANDMARK_KEYS
    assert flat["s_state_my"] == 0.1 and flat["mx_1ns"] is None
    spread = REFERENCE_SP4["spread"]
    assert set(spread) <= set(SP4_LANDMARK_KEYS)
    for name, source in REFERENCE_SP4["sources"].items():
        assert source["citation"]
        values = flatten_sp4_landmarks(source)
        assert any(value is not None for value in values.values()), name
        for key, (low, high) in spread.items():
            assert low < high
            # The quoted spread is rounded to about 1e-3 (ns or units of Ms).
            if values[key] is not None:
                assert low - 1e-3 <= values[key] <= high + 1e-3, (name, key)


def test_aharoni_check_reports_the_test_prisms():
    results = aharoni_check()
    assert len(results) == len(validation.AHARONI_PRISMS)
    for entry in results:
        assert entry["computed"].shape == entry["aharoni"].shape == entry["relative_error"].shape == (3,)
        assert entry["size_m"] == pytest.approx((entry["nx"] * entry["cell_size_m"][0],
                                                 entry["ny"] * entry["cell_size_m"][1], entry["cell_size_m"][2]))
        assert np.abs(entry["relative_error"]).max() < 1e-3
        assert entry["trace"] == pytest.approx(1.0, abs=1e-6)
    assert {entry["dtype"] for entry in results} == {"float32", "float64"}


def test_landmark_points_follow_the_landmarks():
    points = validation.sp4_landmark_points(REFERENCE_SP4["sources"]["mumax3"])
    assert points["mx"].tolist() == [[0.0, 0.96697], [1.0, -0.98461]]
    assert points["my"].tolist() == [[0.0, 0.12527], [1.0, 0.12604]]
    assert points["mz"].tolist() == [[1.0, 0.04327]]
    oommf = validation.sp4_landmark_points(REFERENCE_SP4["sources"]["OOMMF"])
    assert oommf["mx"].shape == (2, 2) and oommf["my"].shape == (3, 2)
    assert [0.13850, 0.0] in oommf["mx"].tolist()
