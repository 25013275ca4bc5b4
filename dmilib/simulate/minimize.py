"""Energy minimization by projected steepest descent with Barzilai–Borwein steps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ConvergenceError
from .system import System

DEFAULT_TORQUE_TOLERANCE_T = {np.dtype(np.float32): 5e-5, np.dtype(np.float64): 1e-7}


@dataclass
class RelaxResult:
    """Outcome of :func:`relax` for each system of the batch.

    Attributes
    ----------
    m : array
        Final magnetization ``(B, 3, ny, nx)`` on the system's backend.
    converged : numpy.ndarray of bool, shape (B,)
    torque_T : numpy.ndarray, shape (B,)
        Final largest ``|m x B_eff|`` in tesla (the convergence residual).
    iterations : numpy.ndarray of int, shape (B,)
        Iterations until convergence (or until the run stopped).
    energy_J : numpy.ndarray, shape (B,)
        Final total energy in joules.
    energy_history_J : numpy.ndarray, shape (checks, B)
        Energy at every convergence check (for monitoring monotonic descent).
    """

    m: object
    converged: np.ndarray
    torque_T: np.ndarray
    iterations: np.ndarray
    energy_J: np.ndarray
    energy_history_J: np.ndarray
    tolerance_T: float

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.converged))


def relax(
    system: System,
    m,
    *,
    torque_tolerance_T: float | None = None,
    max_iterations: int = 100_000,
    check_every: int = 10,
    initial_step_rad: float = 1e-2,
    raise_on_failure: bool = True,
    progress=None,
) -> RelaxResult:
    """Minimize the energy of every system of the batch until ``max |m x B_eff| < tol``.

    Each iteration moves every cell along the tangential field ``d = B - (m.B) m`` (the
    negative energy gradient on the unit sphere, in tesla) and renormalizes:
    ``m <- normalize(m + tau d)``. The step ``tau`` (1/T) of each system follows the
    Barzilai–Borwein rules, alternating ``tau1 = s.s / s.y`` and ``tau2 = s.y / y.y`` with
    ``s = m_k - m_{k-1}`` and ``y = d_{k-1} - d_k``, as mumax3's ``minimize`` does. A step
    that raises the energy of a system beyond its round-off floor is rejected for that system
    and its ``tau`` quartered, so the energy never increases (a safeguard plain BB lacks).

    Convergence is checked every ``check_every`` iterations (one host round-trip on a GPU);
    converged systems leave the working batch while the others go on.

    Parameters
    ----------
    system : System
    m : array_like
        Initial magnetization ``(B, 3, ny, nx)``; normalized first. An initial state of
        exactly +-z under fields along z is an equilibrium (zero torque) and is returned as
        converged: seed textures with a wall profile or a small tilt.
    torque_tolerance_T : float, optional
        Stop when the largest ``|m x B_eff|`` is below this (tesla). Defaults to 5e-5 T in
        float32 (above its round-off floor) and 1e-7 T in float64.
    max_iterations : int
    check_every : int
    initial_step_rad : float
        Largest rotation (radians) of the first step, which sets the first ``tau``.
    raise_on_failure : bool
        Raise :class:`ConvergenceError` when a system fails to converge (default); with
        ``False`` return the result with ``converged`` False for it instead. NaN always raises.
    progress : callable, optional
        Called as ``progress(iteration, torque_T)`` at every check.
    """
    tolerance = DEFAULT_TORQUE_TOLERANCE_T[system.dtype] if torque_tolerance_T is None else float(torque_tolerance_T)
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"torque_tolerance_T must be positive, got {torque_tolerance_T!r}")
    if max_iterations < 1 or check_every < 1:
        raise ValueError("max_iterations and check_every must be >= 1")
    xp = system.xp
    backend = system.backend
    batch = system.batch_size
    eps = float(np.finfo(system.dtype).eps)
    factor = 0.5 * system.material.Ms_A_per_m * system.cell_volume_m3

    def tangential(m_, b_):
        return b_ - xp.sum(m_ * b_, axis=1, keepdims=True) * m_

    def energy_of(sub, m_, b_):
        per_cell = xp.sum(m_ * (b_ + sub.zeeman.field), axis=1)
        return -factor * xp.sum(per_cell, axis=(1, 2), dtype=xp.float64) + sub.anisotropy.constant_J

    m_out = system.normalize(system.asarray(m))
    energy_out = xp.zeros((batch,), dtype=xp.float64)
    converged = np.zeros(batch, bool)
    iterations = np.zeros(batch, np.int64)
    torque = np.full(batch, np.inf)
    history = []

    # The working set holds the systems still relaxing; converged ones leave it, so a
    # batch does not keep paying for systems that are already done.
    work = np.arange(batch)
    sub = system
    m = m_out
    field = sub.effective_field_T(m)
    d = tangential(m, field)
    energy = energy_of(sub, m, field)
    # Energies sum per-cell terms rounded at ~eps of the largest field contribution; a
    # rise below this floor is round-off, not an uphill step.
    noise = 32 * eps * sub.energy_round_off_scale_J()
    d_max = xp.max(xp.sqrt(xp.sum(d * d, axis=1)), axis=(1, 2)).astype(xp.float64)
    if not bool(xp.all(xp.isfinite(d_max))):
        bad = int(backend.to_numpy(~xp.isfinite(d_max)).argmax())
        raise ConvergenceError("relax", "nan", 0, float(d_max[bad]), tolerance, bad)
    tau = initial_step_rad / xp.maximum(d_max, 1e-30)
    rejected_in_row = xp.zeros((batch,), dtype=xp.int64)
    use_bb1 = True
    iteration = 0
    while True:
        if iteration % check_every == 0:
            work_torque = backend.to_numpy(sub.torque_T(m, field))
            torque[work] = work_torque
            energy_out[xp.asarray(work)] = energy
            history.append(backend.to_numpy(energy_out).copy())
            if not np.all(np.isfinite(work_torque)):
                bad = int(work[np.argmax(~np.isfinite(work_torque))])
                raise ConvergenceError("relax", "nan", iteration, float(torque[bad]), tolerance, bad)
            if progress is not None:
                progress(iteration, torque.copy())
            done = work_torque < tolerance
            stalled = backend.to_numpy(rejected_in_row) > 60
            out_of_budget = iteration >= max_iterations
            leaving = done | stalled | out_of_budget
            if leaving.any():
                m_out[xp.asarray(work[leaving])] = m[xp.asarray(np.flatnonzero(leaving))]
                iterations[work[leaving]] = iteration
                converged[work[done]] = True
                failed = leaving & ~done
                if failed.any() and raise_on_failure:
                    worst = int(np.flatnonzero(failed)[np.argmax(work_torque[failed])])
                    reason = "stalled" if stalled[worst] else "max_iterations"
                    raise ConvergenceError("relax", reason, iteration, float(work_torque[worst]), tolerance,
                                           int(work[worst]))
                keep = np.flatnonzero(~leaving)
                if keep.size == 0:
                    break
                keep_device = xp.asarray(keep)
                work = work[keep]
                sub = system.select(work)
                m, field, d = m[keep_device], field[keep_device], d[keep_device]
                energy, tau, noise = energy[keep_device], tau[keep_device], noise[keep_device]
                rejected_in_row = rejected_in_row[keep_device]
        iteration += 1
        step = tau[:, None, None, None].astype(system.dtype)
        m_new = sub.normalize(m + step * d)
        field_new = sub.effective_field_T(m_new)
        d_new = tangential(m_new, field_new)
        energy_new = energy_of(sub, m_new, field_new)
        accept = energy_new <= energy + noise
        # Barzilai–Borwein step from the accepted move; grow the step when s.y <= 0.
        s = m_new - m
        y = d - d_new
        s_s = xp.sum(s * s, axis=(1, 2, 3), dtype=xp.float64)
        s_y = xp.sum(s * y, axis=(1, 2, 3), dtype=xp.float64)
        y_y = xp.sum(y * y, axis=(1, 2, 3), dtype=xp.float64)
        positive = s_y > 0
        tau_bb = s_s / xp.where(positive, s_y, 1.0) if use_bb1 else s_y / xp.where(y_y > 0, y_y, 1.0)
        tau_bb = xp.where(positive & (tau_bb > 0), tau_bb, 2 * tau)
        use_bb1 = not use_bb1
        tau = xp.where(accept, tau_bb, 0.25 * tau)
        rejected_in_row = xp.where(accept, 0, rejected_in_row + 1)
        if backend.name == "numpy" and bool(accept.all()):
            m, field, d, energy = m_new, field_new, d_new, energy_new
        else:
            keep_new = accept[:, None, None, None]
            m = xp.where(keep_new, m_new, m)
            field = xp.where(keep_new, field_new, field)
            d = xp.where(keep_new, d_new, d)
            energy = xp.where(accept, energy_new, energy)
    return RelaxResult(
        m=m_out,
        converged=converged,
        torque_T=torque,
        iterations=iterations,
        energy_J=backend.to_numpy(energy_out),
        energy_history_J=np.array(history),
        tolerance_T=tolerance,
    )
