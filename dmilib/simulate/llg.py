"""Landau–Lifshitz–Gilbert dynamics with the adaptive Dormand–Prince RK5(4) scheme."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ConvergenceError
from .system import System

# Dormand & Prince (1980) RK5(4)7FSAL tableau.
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_E = tuple(b5 - b4 for b5, b4 in zip(_B5, _B4))


@dataclass
class DynamicsResult:
    """Trajectory of :func:`run_llg`.

    Attributes
    ----------
    m : array
        Final magnetization ``(B, 3, ny, nx)``.
    times_s : numpy.ndarray, shape (T,)
        Sample times in seconds (0 included).
    mean_m : numpy.ndarray, shape (T, B, 3)
        Mean reduced magnetization over the mask at each sample time.
    steps : int
        Accepted steps; ``rejected``: rejected steps.
    converged : bool
        True when the run stopped early because the largest ``|m x B_eff|`` fell below
        ``torque_tolerance_T``; False when it ran for ``duration_s`` (always False
        without a tolerance).
    torque_T : numpy.ndarray, shape (B,)
        Largest ``|m x B_eff|`` (tesla) of each system at the final state.
    dt_s : float
        The step the integrator would take next: pass it as ``initial_dt_s`` to a second
        call that continues from ``m``, so that it does not restart at a tiny step.
    """

    m: object
    times_s: np.ndarray
    mean_m: np.ndarray
    steps: int
    rejected: int
    converged: bool = False
    torque_T: np.ndarray | None = None
    dt_s: float = math.nan


def llg_rhs(system: System, m, field_T=None):
    """``dm/dt = -gamma/(1 + alpha^2) [m x B + alpha m x (m x B)]`` in 1/s (B in tesla)."""
    xp = system.xp
    if field_T is None:
        field_T = system.effective_field_T(m)
    material = system.material
    prefactor = -material.gamma_rad_per_sT / (1 + material.alpha**2)
    m_cross_b = xp.cross(m, field_T, axis=1)
    return prefactor * (m_cross_b + material.alpha * xp.cross(m, m_cross_b, axis=1))


def run_llg(
    system: System,
    m,
    duration_s: float,
    *,
    sample_interval_s: float | None = None,
    tolerance: float = 1e-5,
    initial_dt_s: float = 1e-14,
    max_dt_s: float = 1e-11,
    min_dt_s: float = 1e-19,
    max_steps: int = 10_000_000,
    torque_tolerance_T: float | None = None,
    check_every: int = 10,
) -> DynamicsResult:
    """Integrate the LLG equation for ``duration_s`` seconds with adaptive steps.

    Dormand–Prince RK5(4) with first-same-as-last reuse (6 field evaluations per step).
    The local error is the largest ``|m_5 - m_4|`` over all cells and all systems of the
    batch (one time step is shared by the batch); a step is accepted when it is at most
    ``tolerance`` and the next step is ``dt * clip(0.9 (tol/err)^(1/5), 0.2, 5)``. ``m`` is
    renormalized after every accepted step. The step is shortened to land on each sample
    time exactly.

    With ``torque_tolerance_T`` (tesla), the run also stops, with ``converged`` True, once
    the largest ``|m x B_eff|`` over every cell and system is below it, checked every
    ``check_every`` accepted steps (one extra field evaluation per check); the last sample
    is then the stopping time. The result's ``dt_s`` continues a run:
    ``run_llg(system, result.m, more_s, initial_dt_s=result.dt_s)``.

    Raises
    ------
    ConvergenceError
        On a non-finite error (``"nan"``), a step below ``min_dt_s`` (``"stalled"``) or
        more than ``max_steps`` steps.
    """
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise ValueError(f"duration_s must be positive and finite, got {duration_s!r}")
    if sample_interval_s is None:
        sample_interval_s = duration_s
    if not (sample_interval_s > 0):
        raise ValueError(f"sample_interval_s must be positive, got {sample_interval_s!r}")
    if not (tolerance > 0):
        raise ValueError(f"tolerance must be positive, got {tolerance!r}")
    if not (initial_dt_s > 0 and math.isfinite(initial_dt_s)):
        raise ValueError(f"initial_dt_s must be positive and finite, got {initial_dt_s!r}")
    if torque_tolerance_T is not None and not (torque_tolerance_T > 0 and math.isfinite(torque_tolerance_T)):
        raise ValueError(f"torque_tolerance_T must be positive and finite, got {torque_tolerance_T!r}")
    if check_every < 1:
        raise ValueError(f"check_every must be >= 1, got {check_every!r}")
    xp = system.xp
    cells = float(system.grid.cell_count)

    def mean(m_):
        return system.backend.to_numpy(xp.sum(m_, axis=(2, 3), dtype=xp.float64)) / cells

    sample_count = int(round(duration_s / sample_interval_s))
    sample_times = [min(k * sample_interval_s, duration_s) for k in range(1, sample_count + 1)]
    if not sample_times or sample_times[-1] < duration_s * (1 - 1e-12):
        sample_times.append(duration_s)

    m = system.normalize(system.asarray(m))
    times, means = [0.0], [mean(m)]
    k1 = llg_rhs(system, m)
    t, dt = 0.0, float(initial_dt_s)
    steps = rejected = 0
    converged = False
    for target in sample_times:
        while not converged and t < target * (1 - 1e-12):
            step_dt = min(dt, target - t, max_dt_s)
            stages = [k1]
            for i in range(1, 7):
                increment = sum(coefficient * stage for coefficient, stage in zip(_A[i], stages) if coefficient)
                stages.append(llg_rhs(system, m + step_dt * increment))
            m5 = m + step_dt * sum(b * k for b, k in zip(_B5, stages) if b)
            error_vector = step_dt * sum(e * k for e, k in zip(_E, stages) if e)
            error = float(xp.sqrt(xp.max(xp.sum(error_vector * error_vector, axis=1))))
            if not math.isfinite(error):
                raise ConvergenceError("run_llg", "nan", steps, error, tolerance)
            factor = 0.9 * (tolerance / error) ** 0.2 if error > 0 else 5.0
            if error <= tolerance:
                m = system.normalize(m5)
                # FSAL: the 7th stage is f(m5); renormalization changes it only at O(err).
                k1 = stages[6]
                t += step_dt
                steps += 1
                dt = step_dt * min(5.0, max(0.2, factor)) if step_dt == dt else max(dt, step_dt)
                if torque_tolerance_T is not None and steps % check_every == 0:
                    torque = system.torque_T(m, system.effective_field_T(m))
                    converged = bool(xp.max(torque) < torque_tolerance_T)
            else:
                rejected += 1
                dt = step_dt * min(1.0, max(0.2, factor))
                if dt < min_dt_s:
                    raise ConvergenceError("run_llg", "stalled", steps, error, tolerance)
            if steps + rejected > max_steps:
                raise ConvergenceError("run_llg", "max_iterations", steps, error, tolerance)
        times.append(t)
        means.append(mean(m))
        if converged:
            break
    torque = system.backend.to_numpy(system.torque_T(m, system.effective_field_T(m)))
    return DynamicsResult(m=m, times_s=np.array(times), mean_m=np.array(means), steps=steps, rejected=rejected,
                          converged=converged, torque_T=np.asarray(torque, dtype=np.float64), dt_s=dt)
