"""Validation problems of the solver, run and returned as plain NumPy results.

Each function sets up one of the checks of the test suite, runs it and returns its numbers
(no plotting, no assertions), so that the book can plot them against their references:

* :func:`domain_wall_profile` - a straight wall in a 1D chain against the Bloch/Néel wall
  ``m_z = -tanh(x / Delta)`` of width ``Delta = sqrt(A / K_eff)`` and energy per area
  ``4 sqrt(A K_eff) - pi |D|`` (as ``tests/test_analytic_walls.py``).
* :func:`edge_canting_profile` - the DMI canting at the free ends of a saturated chain
  against ``tan(theta / 2) = tan(theta_e / 2) exp(-d / Delta)``,
  ``sin(theta_e) = D / (2 sqrt(A K_eff))`` (as ``tests/test_analytic_walls.py``).
* :func:`standard_problem_4` - muMAG standard problem 4, field 1: the ``<m>(t)`` trajectory
  and its landmarks (as ``tests/test_standard_problem_4.py``), with the published
  landmarks in :data:`REFERENCE_SP4`.
* :func:`aharoni_check` - demagnetizing factors of uniformly magnetized prisms through the
  FFT path against Aharoni's closed form (as ``tests/test_demag_field.py``).

The chain problems use the local thin-film demagnetization, whose energy is exactly the
shape anisotropy folded into ``K_eff = Ku - mu0 Ms^2 / 2``, so that the closed forms are
exact in the continuum limit; the full Newell demagnetization is what
:func:`aharoni_check` and :func:`standard_problem_4` exercise.

References: Thiaville et al., EPL 100, 57002 (2012) (wall energy with DMI); Rohart &
Thiaville, PRB 88, 184422 (2013) (edge condition and edge angle); Aharoni, J. Appl. Phys.
83, 3432 (1998) (prism factors); muMAG standard problem 4,
https://www.ctcms.nist.gov/~rdm/mumag.org.html.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .constants import MU0_T_M_PER_A
from .demag_kernel import aharoni_demag_factors
from .geometry import Grid
from .llg import run_llg
from .material import Material
from .minimize import relax
from .system import System

CHAIN_THICKNESS_M = 12e-9
"""Film thickness of the 1D chains (the study's film); it cancels in every per-area result."""

SP4_SIZE_M = (500e-9, 125e-9, 3e-9)
"""Standard problem 4: the permalloy bar, 500 x 125 x 3 nm."""

SP4_FIELD_T = (-24.6e-3, 4.3e-3, 0.0)
"""Standard problem 4, field 1: mu0 H in tesla."""

AHARONI_PRISMS: tuple[tuple[int, int, tuple[float, float, float], str], ...] = (
    (100, 50, (2e-9, 2e-9, 1e-9), "float64"),  # thin plate, far field used for most offsets
    (8, 8, (1.5e-9, 1.5e-9, 12e-9), "float64"),  # a 12 nm cube of cells 8x taller than wide
    (4, 2, (1.5e-9, 1.5e-9, 12e-9), "float64"),  # thick prism: 6 x 3 x 12 nm, taller than wide
    (120, 80, (1.5e-9, 1.5e-9, 12e-9), "float64"),  # the study's cell shape
    (64, 1, (2e-9, 2e-9, 2e-9), "float64"),  # a one-cell-wide wire
    (60, 40, (3e-9, 3e-9, 12e-9), "float32"),  # the float32 path, quick-profile cells
)
"""Prisms of ``tests/test_demag_field.py``: ``(nx, ny, (dx, dy, dz) in m, dtype)``."""

# Landmark windows of tests/test_standard_problem_4.py, in ns.
_SP4_MAX_BEFORE_NS = 0.2
_SP4_MIN_WINDOW_NS = (0.15, 0.35)

REFERENCE_SP4: dict[str, Any] = {
    "spread": {
        # Copied from the docstring of tests/test_standard_problem_4.py: the range of each
        # landmark over the published solvers and meshes below (times in ns).
        "s_state_mx": (0.9651, 0.9675),
        "s_state_my": (0.1244, 0.1283),
        "mx_zero_crossing_ns": (0.1380, 0.1399),
        "my_max": (0.751, 0.754),
        "my_max_ns": (0.127, 0.128),
        "my_min": (-0.503, -0.472),
        "my_min_ns": (0.234, 0.237),
        "mx_1ns": (-0.986, -0.981),
    },
    "sources": {
        # Per-source values: the landmarks of each published trajectory table, extracted
        # with sp4_landmarks' own rules (linear zero crossing, 3-point parabolic extrema),
        # so their precision is limited by the table's sampling interval; the mumax3 values
        # are the expected <m> its test script checks. None: not in that source.
        "OOMMF": {
            "citation": "OOMMF trajectory distributed with fidimag, "
            "micromagnetics_examples/std4/oommf.txt (1 ps sampling)",
            "s_state": None,
            "mx_zero_crossing_ns": 0.13850,
            "my_max_ns": 0.12725,
            "my_max": 0.75279,
            "my_min_ns": 0.23463,
            "my_min": -0.49533,
            "m_1ns": (-0.98451, 0.12745, 0.04315),
        },
        "Albuquerque et al.": {
            "citation": "G. Albuquerque et al., NIST muMAG standard problem 4 submission, "
            "FIELD_1_LM_DT25.TXT (2.5 ps sampling)",
            "s_state": (0.96754, 0.12438, 0.0),
            "mx_zero_crossing_ns": 0.13797,
            "my_max_ns": 0.12674,
            "my_max": 0.75132,
            "my_min_ns": 0.23389,
            "my_min": -0.50333,
            "m_1ns": (-0.98633, 0.09601, 0.04618),
        },
        "magnum.np": {
            "citation": "magnum.np, demos/sp4/ref/m_test.dat (10 ps sampling)",
            "s_state": None,
            "mx_zero_crossing_ns": 0.13858,
            "my_max_ns": 0.12719,
            "my_max": 0.75412,
            "my_min_ns": 0.23457,
            "my_min": -0.49895,
            "m_1ns": (-0.98309, 0.13968, 0.04249),
        },
        "mumax3": {
            "citation": "mumax3, test/standardproblem4.mx3 (expected <m> of the relaxed "
            "S-state and at 1 ns)",
            "s_state": (0.96697, 0.12527, 0.0),
            "mx_zero_crossing_ns": None,
            "my_max_ns": None,
            "my_max": None,
            "my_min_ns": None,
            "my_min": None,
            "m_1ns": (-0.98461, 0.12604, 0.04327),
        },
    },
}
"""Published landmarks of muMAG standard problem 4, field 1, and where they come from.

``REFERENCE_SP4["spread"]`` maps each landmark to its ``(low, high)`` range over the
published solvers and meshes (as quoted in ``tests/test_standard_problem_4.py``);
``REFERENCE_SP4["sources"]`` gives, for each source, its citation and its own landmarks
with the keys of :func:`sp4_landmarks` (``None`` where the source does not give one).
"""


def _chain_system(length_cells: int, cell_size_m: float, D_J_per_m2: float) -> System:
    """The 1D chain of ``tests/test_analytic_walls.py``: ny = 1, thin-film demag, float64."""
    grid = Grid(int(length_cells), 1, (cell_size_m, cell_size_m), CHAIN_THICKNESS_M)
    material = Material(D_J_per_m2=float(D_J_per_m2))
    return System(grid, material, demag="thin_film", backend="numpy", dtype="float64")


def domain_wall_profile(
    D_J_per_m2: float,
    cell_size_m: float = 0.5e-9,
    length_cells: int = 400,
    *,
    torque_tolerance_T: float = 1e-6,
) -> dict[str, Any]:
    """Relax a straight wall in a 1D chain and compare it with the analytic wall.

    The chain is ``length_cells`` cells of ``cell_size_m`` along x (one cell across, 12 nm
    thick, the study's ``Ms``, ``A`` and ``Ku``), with the local thin-film demagnetization,
    on NumPy in ``float64``. The wall is seeded at the centre off its equilibrium profile
    and half Bloch, half Néel; the uniform ``+z`` state is relaxed too, and the wall energy
    is the difference of the two energies per unit wall area ``dy t``.

    Parameters
    ----------
    D_J_per_m2 : float
        Interfacial DMI constant in J/m^2 (below ``D_c = 4 sqrt(A K_eff) / pi``).
    cell_size_m : float, optional
        Cell size in metres (default 0.5 nm).
    length_cells : int, optional
        Number of cells of the chain (default 400, a 200 nm chain).
    torque_tolerance_T : float, optional
        Convergence tolerance of :func:`~dmilib.simulate.relax` in tesla (default 1e-6).

    Returns
    -------
    dict
        ``x_m`` (cell centres from the chain centre, ``(nx,)``); ``mx``, ``my``, ``mz`` (the
        relaxed wall, each ``(nx,)``); ``centre_m`` (where ``mz`` crosses zero, linear
        interpolation); ``mz_analytic`` (``-tanh((x - centre) / Delta)``, ``(nx,)``);
        ``width_m`` (``1 / slope`` of ``artanh(-mz)`` fitted over the 9 cells around the
        centre) and ``width_analytic_m`` (``Delta = sqrt(A / K_eff)``);
        ``energy_J_per_m2`` and ``energy_analytic_J_per_m2`` (``4 sqrt(A K_eff) - pi |D|``);
        ``width_relative_error`` and ``energy_relative_error`` (simulated / analytic - 1);
        ``mz_max_abs_error`` (largest ``|mz - mz_analytic|`` within ``5 Delta`` of the centre;
        farther out the DMI cants the moments at the chain ends, see
        :func:`edge_canting_profile`); ``centre_in_plane`` (``(mx, my)`` at the cell nearest
        the centre: ``|mx| = 1`` for a Néel wall; without DMI Bloch and Néel walls have the
        same energy here and the seed's mixture stays); ``D_J_per_m2``, ``K_eff_J_per_m3``,
        ``cell_size_m``, ``length_cells``.
    """
    system = _chain_system(length_cells, cell_size_m, D_J_per_m2)
    material, nx = system.material, system.grid.nx
    k_eff = material.effective_anisotropy_J_per_m3()
    width = math.sqrt(material.A_J_per_m / k_eff)
    x = (np.arange(nx) + 0.5) * cell_size_m - nx * cell_size_m / 2
    theta = 2 * np.arctan(np.exp(x / width))
    # Start off-profile and half Bloch, half Néel so the minimizer must find both.
    m0 = np.stack([0.9 * np.sin(theta), 0.3 * np.sin(theta), np.cos(theta)])[None, :, None, :]
    wall = relax(system, m0, torque_tolerance_T=torque_tolerance_T)
    domain = relax(system, system.uniform((1e-3, 0, 1)), torque_tolerance_T=torque_tolerance_T)
    area = system.grid.dy * system.grid.thickness_m
    energy = float((system.energy_J(wall.m)[0] - system.energy_J(domain.m)[0]) / area)
    energy_analytic = 4 * math.sqrt(material.A_J_per_m * k_eff) - math.pi * abs(float(D_J_per_m2))

    mx, my, mz = (np.asarray(component, dtype=np.float64) for component in system.backend.to_numpy(wall.m)[0, :, 0])
    centre_index = int(np.argmin(np.abs(mz)))
    near = slice(max(centre_index - 4, 0), centre_index + 5)
    slope = np.polyfit(x[near], np.arctanh(np.clip(-mz[near], -1 + 1e-15, 1 - 1e-15)), 1)[0]
    crossing = int(np.flatnonzero(np.sign(mz[:-1]) != np.sign(mz[1:]))[0])
    centre = x[crossing] - mz[crossing] * (x[crossing + 1] - x[crossing]) / (mz[crossing + 1] - mz[crossing])
    mz_analytic = -np.tanh((x - centre) / width)
    near_wall = np.abs(x - centre) <= 5 * width
    return {
        "x_m": x,
        "mx": mx,
        "my": my,
        "mz": mz,
        "centre_m": float(centre),
        "mz_analytic": mz_analytic,
        "mz_max_abs_error": float(np.max(np.abs(mz - mz_analytic)[near_wall])),
        "width_m": float(abs(1 / slope)),
        "width_analytic_m": width,
        "width_relative_error": float(abs(1 / slope) / width - 1),
        "energy_J_per_m2": energy,
        "energy_analytic_J_per_m2": energy_analytic,
        "energy_relative_error": energy / energy_analytic - 1,
        "centre_in_plane": (float(mx[centre_index]), float(my[centre_index])),
        "D_J_per_m2": float(D_J_per_m2),
        "K_eff_J_per_m3": k_eff,
        "cell_size_m": float(cell_size_m),
        "length_cells": int(nx),
    }


def edge_canting_profile(
    D_J_per_m2: float = 1e-3,
    cell_size_m: float = 0.25e-9,
    length_cells: int = 240,
    *,
    torque_tolerance_T: float = 1e-6,
) -> dict[str, Any]:
    """Relax a saturated 1D chain and compare the DMI canting at its ends with theory.

    Same chain as :func:`domain_wall_profile` (thin-film demag, NumPy, ``float64``), started
    from ``m`` along ``(0.01, 0, 1)``. The moments cant in the xz plane by
    ``theta = atan2(mx, mz)``; the analytic profile of a single edge is
    ``tan(theta / 2) = tan(theta_e / 2) exp(-d / Delta)`` with ``d`` the distance from the
    edge face, ``Delta = sqrt(A / K_eff)`` and ``sin(theta_e) = D / (2 sqrt(A K_eff))``, and
    the boundary condition is ``dtheta/dx = -D / (2 A)`` at both faces (the canting is
    positive at the left face, negative at the right one for ``D > 0``).

    Parameters
    ----------
    D_J_per_m2 : float, optional
        Interfacial DMI constant in J/m^2 (default 1 mJ/m^2).
    cell_size_m : float, optional
        Cell size in metres (default 0.25 nm).
    length_cells : int, optional
        Number of cells (default 240, a 60 nm chain).
    torque_tolerance_T : float, optional
        Convergence tolerance of :func:`~dmilib.simulate.relax` in tesla (default 1e-6).

    Returns
    -------
    dict
        ``x_m`` (cell centres from the left face, ``(nx,)``), ``length_m``; ``theta_rad``
        (simulated) and ``theta_analytic_rad`` (the single-edge solutions of the two faces
        added, each with its sign; they overlap by less than ``tan(theta_e/2) exp(-L/Delta)``),
        ``max_abs_error_rad`` (largest ``|theta - theta_analytic|``); ``slope_left_rad_per_m``
        and ``slope_right_rad_per_m`` (``dtheta/dx`` at the faces from a quadratic through the
        three outermost cells) and ``slope_expected_rad_per_m`` (``-D / (2 A)``);
        ``edge_angle_left_rad`` and ``edge_angle_right_rad`` (the same quadratics at the
        faces) and ``edge_angle_expected_rad`` (``theta_e``, positive); ``my_max_abs``
        (largest ``|my|``, zero for a Néel canting); ``width_analytic_m``, ``D_J_per_m2``,
        ``A_J_per_m``, ``K_eff_J_per_m3``, ``cell_size_m``, ``length_cells``.
    """
    system = _chain_system(length_cells, cell_size_m, D_J_per_m2)
    material, nx = system.material, system.grid.nx
    A, D = material.A_J_per_m, float(D_J_per_m2)
    k_eff = material.effective_anisotropy_J_per_m3()
    width = math.sqrt(A / k_eff)
    relaxed = relax(system, system.uniform((0.01, 0, 1)), torque_tolerance_T=torque_tolerance_T)
    m = np.asarray(system.backend.to_numpy(relaxed.m)[0, :, 0], dtype=np.float64)
    theta = np.arctan2(m[0], m[2])
    length = nx * cell_size_m
    x = (np.arange(nx) + 0.5) * cell_size_m
    edge_angle = math.asin(D / (2 * math.sqrt(A * k_eff)))
    t_half = math.tan(edge_angle / 2)
    analytic = 2 * np.arctan(t_half * np.exp(-x / width)) - 2 * np.arctan(t_half * np.exp(-(length - x) / width))
    fits = {}
    for side, cells, face in (("left", slice(0, 3), 0.0), ("right", slice(-3, None), length)):
        fit = np.polyfit(x[cells], theta[cells], 2)
        fits[side] = (float(np.polyval(np.polyder(fit), face)), float(np.polyval(fit, face)))
    return {
        "x_m": x,
        "length_m": length,
        "theta_rad": theta,
        "theta_analytic_rad": analytic,
        "max_abs_error_rad": float(np.max(np.abs(theta - analytic))),
        "slope_left_rad_per_m": fits["left"][0],
        "slope_right_rad_per_m": fits["right"][0],
        "slope_expected_rad_per_m": -D / (2 * A),
        "edge_angle_left_rad": fits["left"][1],
        "edge_angle_right_rad": fits["right"][1],
        "edge_angle_expected_rad": edge_angle,
        "my_max_abs": float(np.max(np.abs(m[1]))),
        "width_analytic_m": width,
        "D_J_per_m2": D,
        "A_J_per_m": A,
        "K_eff_J_per_m3": k_eff,
        "cell_size_m": float(cell_size_m),
        "length_cells": int(nx),
    }


def first_zero_crossing(t: np.ndarray, y: np.ndarray) -> float:
    """Time of the first downward zero crossing of ``y(t)``, by linear interpolation.

    Parameters
    ----------
    t, y : numpy.ndarray
        Samples, ``t`` increasing, same length.

    Returns
    -------
    float
        ``t`` where ``y`` first goes from ``> 0`` to ``<= 0`` (same unit as ``t``).

    Raises
    ------
    ValueError
        If ``y`` never crosses zero downwards.
    """
    t, y = np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)
    down = (y[:-1] > 0) & (y[1:] <= 0)
    if not down.any():
        raise ValueError("y never crosses zero downwards")
    i = int(np.argmax(down))
    return float(t[i] - y[i] * (t[i + 1] - t[i]) / (y[i + 1] - y[i]))


def parabolic_extremum(t: np.ndarray, y: np.ndarray, i: int) -> tuple[float, float]:
    """Vertex of the parabola through the samples ``i - 1``, ``i``, ``i + 1``.

    Parameters
    ----------
    t, y : numpy.ndarray
        Samples.
    i : int
        Index of the sampled extremum, ``1 <= i <= len(t) - 2``.

    Returns
    -------
    tuple of float
        ``(t_extremum, y_extremum)``.
    """
    if not 1 <= i <= len(t) - 2:
        raise ValueError(f"the extremum must have a sample on each side, got index {i} of {len(t)}")
    a, b, c = np.polyfit(np.asarray(t[i - 1 : i + 2], np.float64), np.asarray(y[i - 1 : i + 2], np.float64), 2)
    return float(-b / (2 * a)), float(c - b * b / (4 * a))


def sp4_landmarks(times_s: np.ndarray, mean_m: np.ndarray) -> dict[str, Any]:
    """Landmarks of a standard-problem-4 trajectory, as ``tests/test_standard_problem_4.py``.

    Parameters
    ----------
    times_s : numpy.ndarray, shape (T,)
        Sample times in seconds, from 0 (the relaxed S-state) to at least 1 ns.
    mean_m : numpy.ndarray, shape (T, 3)
        Mean reduced magnetization at those times.

    Returns
    -------
    dict
        ``s_state`` (``<m>`` at the first sample); ``mx_zero_crossing_ns`` (first downward
        zero of ``<mx>``, linear interpolation); ``my_max_ns``, ``my_max`` (largest ``<my>``
        before 0.2 ns, refined by a parabola through three samples); ``my_min_ns``,
        ``my_min`` (smallest ``<my>`` between 0.15 and 0.35 ns, likewise); ``m_1ns`` (``<m>``
        at 1 ns, linear interpolation). Times in ns, ``<m>`` as tuples of floats.
    """
    t_ns = np.asarray(times_s, dtype=np.float64) * 1e9
    mean_m = np.asarray(mean_m, dtype=np.float64)
    if mean_m.shape != (t_ns.size, 3):
        raise ValueError(f"mean_m must have shape (T, 3) = {(t_ns.size, 3)}, got {mean_m.shape}")
    mx, my = mean_m[:, 0], mean_m[:, 1]
    first_max = int(np.argmax(np.where(t_ns < _SP4_MAX_BEFORE_NS, my, -np.inf)))
    my_max_ns, my_max = parabolic_extremum(t_ns, my, first_max)
    window = np.flatnonzero((t_ns > _SP4_MIN_WINDOW_NS[0]) & (t_ns < _SP4_MIN_WINDOW_NS[1]))
    first_min = int(window[np.argmin(my[window])])
    my_min_ns, my_min = parabolic_extremum(t_ns, my, first_min)
    return {
        "s_state": tuple(float(v) for v in mean_m[0]),
        "mx_zero_crossing_ns": first_zero_crossing(t_ns, mx),
        "my_max_ns": my_max_ns,
        "my_max": my_max,
        "my_min_ns": my_min_ns,
        "my_min": my_min,
        "m_1ns": tuple(float(np.interp(1.0, t_ns, mean_m[:, k])) for k in range(3)),
    }


SP4_LANDMARK_KEYS = (
    "s_state_mx",
    "s_state_my",
    "mx_zero_crossing_ns",
    "my_max_ns",
    "my_max",
    "my_min_ns",
    "my_min",
    "mx_1ns",
    "my_1ns",
    "mz_1ns",
)
"""Scalar landmarks of :func:`flatten_sp4_landmarks`, in table order."""


def flatten_sp4_landmarks(landmarks: dict[str, Any]) -> dict[str, float | None]:
    """The landmarks of :func:`sp4_landmarks` (or of a source of :data:`REFERENCE_SP4`) as scalars.

    Parameters
    ----------
    landmarks : dict
        With the keys of :func:`sp4_landmarks`; ``s_state`` and ``m_1ns`` may be ``None``.

    Returns
    -------
    dict
        One float (or ``None`` where the input has none) per key of
        :data:`SP4_LANDMARK_KEYS`: the vectors ``s_state`` and ``m_1ns`` are split into
        components (``s_state_mx``, ``s_state_my``, ``mx_1ns``, ``my_1ns``, ``mz_1ns``).
    """
    flat: dict[str, float | None] = {}
    s_state, m_1ns = landmarks.get("s_state"), landmarks.get("m_1ns")
    for k, axis in enumerate("xy"):
        flat[f"s_state_m{axis}"] = None if s_state is None else float(s_state[k])
    for key in ("mx_zero_crossing_ns", "my_max_ns", "my_max", "my_min_ns", "my_min"):
        value = landmarks.get(key)
        flat[key] = None if value is None else float(value)
    for k, axis in enumerate("xyz"):
        flat[f"m{axis}_1ns"] = None if m_1ns is None else float(m_1ns[k])
    return flat


def sp4_landmark_points(landmarks: dict[str, Any]) -> dict[str, np.ndarray]:
    """Landmarks as points ``(t in ns, <m> component)`` to mark on a trajectory plot.

    Parameters
    ----------
    landmarks : dict
        With the keys of :func:`sp4_landmarks` (a source of :data:`REFERENCE_SP4` works too).

    Returns
    -------
    dict
        ``"mx"``, ``"my"``, ``"mz"``: arrays ``(k, 2)`` of the points on that component's
        curve (the S-state at t = 0, the zero of ``<mx>``, the extrema of ``<my>``, the
        values at 1 ns), leaving out what the landmarks do not give.
    """
    flat = flatten_sp4_landmarks(landmarks)
    candidates = {
        "mx": [(0.0, flat["s_state_mx"]), (flat["mx_zero_crossing_ns"], 0.0), (1.0, flat["mx_1ns"])],
        "my": [(0.0, flat["s_state_my"]), (flat["my_max_ns"], flat["my_max"]),
               (flat["my_min_ns"], flat["my_min"]), (1.0, flat["my_1ns"])],
        "mz": [(1.0, flat["mz_1ns"])],
    }
    return {
        name: np.array([p for p in points if None not in p], dtype=np.float64).reshape(-1, 2)
        for name, points in candidates.items()
    }


def standard_problem_4(
    cells: tuple[int, int] = (128, 32),
    dtype: str = "float64",
    *,
    backend: str = "numpy",
    duration_s: float = 1e-9,
    sample_interval_s: float = 1e-12,
    tolerance: float = 1e-6,
) -> dict[str, Any]:
    """Run muMAG standard problem 4, field 1, as ``tests/test_standard_problem_4.py``.

    Permalloy 500 x 125 x 3 nm (``Ms`` = 8e5 A/m, ``A`` = 1.3e-11 J/m, ``Ku`` = 0,
    ``alpha`` = 0.02, ``gamma`` = 2.211e5 m/(A s)) on ``cells`` = ``(nx, ny)`` cells with the
    full Newell demagnetization. The S-state is relaxed from ``(1, 0.1, 0)`` (torque below
    1e-6 T), then ``mu0 H = (-24.6, 4.3, 0)`` mT is applied and the LLG equation integrated
    for ``duration_s`` with :func:`~dmilib.simulate.run_llg`.

    Parameters
    ----------
    cells : tuple of int, optional
        ``(nx, ny)`` (default 128 x 32, cells of 3.9 x 3.9 x 3 nm).
    dtype : {"float64", "float32"}, optional
    backend : {"numpy", "cupy", "auto"}, optional
        Array backend (default NumPy, as the test).
    duration_s, sample_interval_s : float, optional
        Length of the run and spacing of the ``<m>`` samples (default 1 ns and 1 ps).
    tolerance : float, optional
        Local error tolerance of the RK5(4) integrator (default 1e-6).

    Returns
    -------
    dict
        ``times_s`` ``(T,)`` and ``mean_m`` ``(T, 3)`` (``<m>`` over the bar, the relaxed
        S-state first); ``landmarks`` (:func:`sp4_landmarks` of it); ``relax_iterations``,
        ``llg_steps``, ``llg_rejected``; ``cells``, ``cell_size_m`` ``(dx, dy, dz)``,
        ``dtype``, ``backend``.
    """
    nx, ny = (int(n) for n in cells)
    size_x, size_y, thickness = SP4_SIZE_M
    grid = Grid(nx, ny, (size_x / nx, size_y / ny), thickness)
    material = Material(Ms_A_per_m=8e5, A_J_per_m=1.3e-11, Ku_J_per_m3=0.0, alpha=0.02,
                        gamma_rad_per_sT=2.211e5 / MU0_T_M_PER_A)
    relax_system = System(grid, material, backend=backend, dtype=dtype)
    s_state = relax(relax_system, relax_system.uniform((1, 0.1, 0)), torque_tolerance_T=1e-6)
    field_system = System(grid, material, applied_field_T=SP4_FIELD_T, backend=backend, dtype=dtype)
    run = run_llg(field_system, s_state.m, duration_s=duration_s, sample_interval_s=sample_interval_s,
                  tolerance=tolerance)
    mean_m = np.asarray(run.mean_m[:, 0, :], dtype=np.float64)
    return {
        "times_s": np.asarray(run.times_s, dtype=np.float64),
        "mean_m": mean_m,
        "landmarks": sp4_landmarks(run.times_s, mean_m),
        "relax_iterations": int(s_state.iterations[0]),
        "llg_steps": int(run.steps),
        "llg_rejected": int(run.rejected),
        "cells": (nx, ny),
        "cell_size_m": (grid.dx, grid.dy, thickness),
        "dtype": str(relax_system.dtype),
        "backend": relax_system.backend.name,
    }


def demag_factors(nx: int, ny: int, cell_size_m: tuple[float, float, float], dtype: str = "float64") -> np.ndarray:
    """Volume-averaged demagnetizing factors of a uniformly magnetized prism of cells.

    The prism is ``nx`` x ``ny`` cells of ``cell_size_m`` = ``(dx, dy, dz)`` (one layer), the
    whole grid magnetic; for each axis the uniform state along it goes through the FFT
    Newell demagnetization on NumPy, and ``N_aa = -<B_a> / (mu0 Ms)``.

    Returns
    -------
    numpy.ndarray, shape (3,)
        ``(Nxx, Nyy, Nzz)``.
    """
    ms = 8e5
    grid = Grid(int(nx), int(ny), tuple(cell_size_m[:2]), cell_size_m[2])
    system = System(grid, Material(Ms_A_per_m=ms, Ku_J_per_m3=0.0), demag="newell", backend="numpy", dtype=dtype)
    demag = system.term("demag")
    factors = []
    for axis in range(3):
        direction = np.zeros(3)
        direction[axis] = 1
        m = system.uniform(direction)
        field = np.zeros_like(m)
        demag.add_field_T(m, field)
        mean_field = np.asarray(field[0], dtype=np.float64).mean(axis=(1, 2))
        factors.append(-mean_field[axis] / (MU0_T_M_PER_A * ms))
    return np.array(factors)


def aharoni_check(prisms=AHARONI_PRISMS) -> list[dict[str, Any]]:
    """Demagnetizing factors of the test prisms: FFT path against Aharoni's closed form.

    Parameters
    ----------
    prisms : sequence, optional
        ``(nx, ny, (dx, dy, dz), dtype)`` per prism (default :data:`AHARONI_PRISMS`, the
        prisms of ``tests/test_demag_field.py``).

    Returns
    -------
    list of dict
        One per prism: ``nx``, ``ny``, ``cell_size_m``, ``size_m`` (edge lengths),
        ``dtype``, ``computed`` and ``aharoni`` (``(Nxx, Nyy, Nzz)`` arrays),
        ``relative_error`` (``computed / aharoni - 1``, ``(3,)``) and ``trace``
        (``Nxx + Nyy + Nzz`` computed, 1 exactly).
    """
    results = []
    for nx, ny, cell, dtype in prisms:
        size = (nx * cell[0], ny * cell[1], cell[2])
        computed = demag_factors(nx, ny, cell, dtype)
        expected = np.array(aharoni_demag_factors(*size))
        results.append({
            "nx": int(nx),
            "ny": int(ny),
            "cell_size_m": tuple(float(c) for c in cell),
            "size_m": size,
            "dtype": dtype,
            "computed": computed,
            "aharoni": expected,
            "relative_error": computed / expected - 1,
            "trace": float(computed.sum()),
        })
    return results
