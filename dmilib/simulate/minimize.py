"""Energy minimization on the unit sphere: projected descent with Barzilai–Borwein steps.

Two methods share one driver (:func:`relax`) and one pure step function
(:func:`descent_step`) acting on a :class:`DescentState`:

``"bb"``
    Projected steepest descent, ``m <- normalize(m + tau d)`` with the tangential field
    ``d = B - (m.B) m`` (the negative energy gradient on the sphere, in tesla) and
    alternating Barzilai–Borwein steps, as mumax3's ``minimize``.
``"pbb"`` (the default)
    The same with the direction preconditioned by the exchange-plus-stiffness Hessian
    approximation of :mod:`~dmilib.simulate.precondition`: ``p = P d - (m.P d) m``. The
    step sizes follow the preconditioned Barzilai–Borwein rules. The short-wavelength
    exchange modes that limit the stable step of ``"bb"`` are damped, so each iteration
    moves domain walls tens of times farther.

Both accept a step only when it does not raise a system's energy beyond its round-off
floor (a rejected step quarters ``tau``), so the energy never increases, and both stop on
the same criterion: the largest ``|m x B_eff|`` below the tolerance. The result is
therefore an equilibrium by the same measure, whichever method found it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from .errors import ConvergenceError
from .precondition import ExchangePreconditioner
from .system import System

DEFAULT_TORQUE_TOLERANCE_T = {np.dtype(np.float32): 5e-5, np.dtype(np.float64): 1e-7}

#: Relaxation methods of :func:`relax`; ``"default"`` resolves to :data:`DEFAULT_METHOD`.
METHODS = ("bb", "pbb")
DEFAULT_METHOD = "pbb"

#: A system whose step was rejected this many times in a row has stalled: it sits at its
#: round-off floor, where no step can lower the energy measurably.
STALL_REJECTIONS = 60


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
        Iterations until convergence (or until the run stopped). Each iteration costs one
        effective-field evaluation.
    energy_J : numpy.ndarray, shape (B,)
        Final total energy in joules.
    energy_history_J : numpy.ndarray, shape (checks, B)
        Energy at every convergence check (for monitoring monotonic descent).
    tolerance_T : float
    method : str
        The method that ran (``"bb"`` or ``"pbb"``).
    reasons : list of str
        Per system: ``""`` when converged, else ``"stalled"``, ``"max_iterations"`` or
        ``"max_seconds"``.
    """

    m: object
    converged: np.ndarray
    torque_T: np.ndarray
    iterations: np.ndarray
    energy_J: np.ndarray
    energy_history_J: np.ndarray
    tolerance_T: float
    method: str = "bb"
    reasons: list | None = None

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.converged))

    @property
    def field_evaluations(self) -> int:
        """Effective-field evaluations the whole batch cost (one per system and iteration)."""
        return int(np.sum(self.iterations))


@dataclass
class DescentState:
    """The minimizer's state for the systems still relaxing (all arrays on the device).

    ``m`` the magnetization, ``field`` its effective field (T), ``d`` the tangential field
    (T), ``g`` the preconditioned field ``P d`` (``d`` itself without preconditioner),
    ``p`` the search direction (``g`` projected on the tangent plane), ``energy`` (J,
    float64), ``tau`` the step (1/T), ``rejected`` the rejections in a row, ``bb1`` which
    of the two Barzilai–Borwein rules comes next.
    """

    m: object
    field: object
    d: object
    g: object
    p: object
    energy: object
    tau: object
    rejected: object
    bb1: bool = True

    def select(self, keep) -> "DescentState":
        """The state of the systems at positions ``keep`` (a device index array)."""
        return replace(self, **{name: getattr(self, name)[keep]
                                for name in ("m", "field", "d", "g", "p", "energy", "tau", "rejected")})


def _tangential(xp, m, b):
    return b - xp.sum(m * b, axis=1, keepdims=True) * m


def _evaluate(system: System, m, preconditioner):
    """Field, tangential field, preconditioned field, direction and energy at ``m``."""
    xp = system.xp
    field = system.effective_field_T(m)
    d = _tangential(xp, m, field)
    if preconditioner is None:
        g = p = d
    else:
        g = preconditioner.apply(d)
        p = _tangential(xp, m, g)
    return field, d, g, p, system.energy_from_field_J(m, field)


def initial_state(system: System, m, *, preconditioner=None, initial_step_rad: float = 1e-2) -> DescentState:
    """The state at ``m`` with a first step that turns no cell by more than ``initial_step_rad``."""
    xp = system.xp
    field, d, g, p, energy = _evaluate(system, m, preconditioner)
    p_max = xp.max(xp.sqrt(xp.sum(p * p, axis=1)), axis=(1, 2)).astype(xp.float64)
    tau = initial_step_rad / xp.maximum(p_max, 1e-30)
    rejected = xp.zeros((m.shape[0],), dtype=xp.int64)
    return DescentState(m, field, d, g, p, energy, tau, rejected)


def descent_step(system: System, state: DescentState, noise_J, preconditioner=None) -> DescentState:
    """One projected (preconditioned) descent step with Barzilai–Borwein step sizes.

    ``m' = normalize(m + tau p)``. With ``s = m' - m`` and ``y = d - d'`` the next step is
    ``tau1 = <s, P^-1 s> / <s, y>`` or ``tau2 = <s, y> / <y, P y>``, alternating; with
    ``P = 1`` these are the classic rules. ``P y = g - g'`` comes free, and
    ``<s, P^-1 s>`` is taken as ``tau <s, d>`` because ``s ~ tau P d`` (exact to first
    order in ``tau``). Where ``<s, y> <= 0`` the step doubles. A system whose energy rises
    by more than ``noise_J`` keeps its state and quarters its ``tau``.
    """
    xp = system.xp
    step = state.tau[:, None, None, None].astype(system.dtype)
    m_new = system.normalize(state.m + step * state.p)
    field, d, g, p, energy = _evaluate(system, m_new, preconditioner)
    accept = energy <= state.energy + noise_J
    s = m_new - state.m
    y = state.d - d
    s_y = xp.sum(s * y, axis=(1, 2, 3), dtype=xp.float64)
    positive = s_y > 0
    if state.bb1:
        if preconditioner is None:
            s_hs = xp.sum(s * s, axis=(1, 2, 3), dtype=xp.float64)
        else:
            s_hs = state.tau * xp.sum(s * state.d, axis=(1, 2, 3), dtype=xp.float64)
        tau_bb = s_hs / xp.where(positive, s_y, 1.0)
    else:
        py = y if preconditioner is None else state.g - g
        y_py = xp.sum(y * py, axis=(1, 2, 3), dtype=xp.float64)
        tau_bb = s_y / xp.where(y_py > 0, y_py, 1.0)
    tau_bb = xp.where(positive & (tau_bb > 0), tau_bb, 2 * state.tau)
    tau = xp.where(accept, tau_bb, 0.25 * state.tau)
    rejected = xp.where(accept, 0, state.rejected + 1)
    if system.backend.name == "numpy" and bool(accept.all()):
        return DescentState(m_new, field, d, g, p, energy, tau, rejected, not state.bb1)
    keep = accept[:, None, None, None]

    def pick(new, old):
        return xp.where(keep, new, old)

    d = pick(d, state.d)
    g, p = (d, d) if preconditioner is None else (pick(g, state.g), pick(p, state.p))
    return DescentState(pick(m_new, state.m), pick(field, state.field), d, g, p,
                        xp.where(accept, energy, state.energy), tau, rejected, not state.bb1)


def resolve_method(method: str) -> str:
    """``"default"`` -> :data:`DEFAULT_METHOD`; anything outside :data:`METHODS` is refused."""
    if method == "default":
        return DEFAULT_METHOD
    if method not in METHODS:
        raise ValueError(f"method must be 'default' or one of {METHODS}, got {method!r}")
    return method


def relax(
    system: System,
    m,
    *,
    method: str = "default",
    torque_tolerance_T: float | None = None,
    max_iterations: int = 100_000,
    max_seconds: float | None = None,
    check_every: int = 10,
    initial_step_rad: float = 1e-2,
    raise_on_failure: bool = True,
    progress=None,
) -> RelaxResult:
    """Minimize the energy of every system of the batch until ``max |m x B_eff| < tol``.

    See the module docstring for the methods. Convergence is checked every
    ``check_every`` iterations (one host round-trip on a GPU); converged systems leave the
    working batch while the others go on.

    Parameters
    ----------
    system : System
    m : array_like
        Initial magnetization ``(B, 3, ny, nx)``; normalized first. It must be non-zero in
        every cell of the mask. Without DMI, a state of exactly +-z under fields along z
        is an equilibrium (zero torque) and is returned as converged at once. With DMI it
        is not: the DMI bonds end at the film's edge, whose boundary condition
        ``2A dm/dn = -D (z_hat x n) x m`` cants the edge cells, so +-z has a torque of
        about ``D / (Ms dx)`` there and relaxes to the canted-edge state. Seed textures
        with a wall profile (:func:`~dmilib.simulate.textures.bubble`).
    method : {"default", "bb", "pbb"}
    torque_tolerance_T : float, optional
        Stop when the largest ``|m x B_eff|`` is below this (tesla). Defaults to 5e-5 T in
        float32 (above its round-off floor) and 1e-7 T in float64.
    max_iterations : int
        Iteration budget per system.
    max_seconds : float, optional
        Wall-clock budget of the call; systems still relaxing then stop with reason
        ``"max_seconds"`` (an error unless ``raise_on_failure=False``).
    check_every : int
    initial_step_rad : float
        Largest rotation (radians) of the first step, which sets the first ``tau``.
    raise_on_failure : bool
        Raise :class:`ConvergenceError` when a system fails to converge (default); with
        ``False`` return the result with ``converged`` False for it instead. NaN always raises.
    progress : callable, optional
        Called as ``progress(iteration, torque_T)`` at every check.
    """
    method = resolve_method(method)
    tolerance = DEFAULT_TORQUE_TOLERANCE_T[system.dtype] if torque_tolerance_T is None else float(torque_tolerance_T)
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"torque_tolerance_T must be positive, got {torque_tolerance_T!r}")
    if max_iterations < 1 or check_every < 1:
        raise ValueError("max_iterations and check_every must be >= 1")
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be positive, got {max_seconds!r}")
    started = time.perf_counter()
    xp = system.xp
    backend = system.backend
    batch = system.batch_size
    eps = float(np.finfo(system.dtype).eps)

    m_in = system.asarray(m)
    norm2 = xp.sum(m_in * m_in, axis=1)
    if bool(xp.any(xp.isfinite(norm2) & (norm2 == 0) & (system.mask > 0))):
        cells = int(xp.sum((norm2 == 0) & (system.mask > 0)))
        raise ValueError(f"m has |m| = 0 in {cells} cell(s) inside the mask: a magnetization must be a unit "
                         "vector in every cell of the magnet (give a direction, e.g. a small tilt)")
    m_out = system.normalize(m_in)
    energy_out = xp.zeros((batch,), dtype=xp.float64)
    converged = np.zeros(batch, bool)
    iterations = np.zeros(batch, np.int64)
    torque = np.full(batch, np.inf)
    reasons = [""] * batch
    history = []

    preconditioner = None
    if method == "pbb":
        preconditioner = ExchangePreconditioner(system.grid, system.material, backend, system.dtype)

    # The working set holds the systems still relaxing; converged ones leave it, so a
    # batch does not keep paying for systems that are already done.
    work = np.arange(batch)
    sub = system
    state = initial_state(sub, m_out, preconditioner=preconditioner, initial_step_rad=initial_step_rad)
    d_max = xp.max(xp.sqrt(xp.sum(state.d * state.d, axis=1)), axis=(1, 2))
    if not bool(xp.all(xp.isfinite(d_max))):
        bad = int(backend.to_numpy(~xp.isfinite(d_max)).argmax())
        raise ConvergenceError("relax", "nan", 0, float(d_max[bad]), tolerance, bad)
    # Energies sum per-cell terms rounded at ~eps of the largest field contribution; a
    # rise below this floor is round-off, not an uphill step.
    noise = 32 * eps * sub.energy_round_off_scale_J()
    iteration = 0
    while True:
        if iteration % check_every == 0:
            work_torque = backend.to_numpy(sub.torque_T(state.m, state.field))
            torque[work] = work_torque
            energy_out[xp.asarray(work)] = state.energy
            history.append(backend.to_numpy(energy_out).copy())
            if not np.all(np.isfinite(work_torque)):
                bad = int(work[np.argmax(~np.isfinite(work_torque))])
                raise ConvergenceError("relax", "nan", iteration, float(torque[bad]), tolerance, bad)
            if progress is not None:
                progress(iteration, torque.copy())
            done = work_torque < tolerance
            stalled = backend.to_numpy(state.rejected) > STALL_REJECTIONS
            out_of_budget = np.full(work.size, iteration >= max_iterations)
            out_of_time = np.full(work.size, max_seconds is not None and time.perf_counter() - started > max_seconds)
            leaving = done | stalled | out_of_budget | out_of_time
            if leaving.any():
                m_out[xp.asarray(work[leaving])] = state.m[xp.asarray(np.flatnonzero(leaving))]
                iterations[work[leaving]] = iteration
                converged[work[done]] = True
                failed = leaving & ~done
                for position in np.flatnonzero(failed):
                    reasons[work[position]] = ("stalled" if stalled[position] else
                                               "max_iterations" if out_of_budget[position] else "max_seconds")
                if failed.any() and raise_on_failure:
                    worst = int(np.flatnonzero(failed)[np.argmax(work_torque[failed])])
                    raise ConvergenceError("relax", reasons[work[worst]], iteration, float(work_torque[worst]),
                                           tolerance, int(work[worst]))
                keep = np.flatnonzero(~leaving)
                if keep.size == 0:
                    break
                keep_device = xp.asarray(keep)
                work = work[keep]
                sub = system.select(work)
                state = state.select(keep_device)
                noise = noise[keep_device]
        iteration += 1
        state = descent_step(sub, state, noise, preconditioner)
    return RelaxResult(
        m=m_out,
        converged=converged,
        torque_T=torque,
        iterations=iterations,
        energy_J=backend.to_numpy(energy_out),
        energy_history_J=np.array(history),
        tolerance_T=tolerance,
        method=method,
        reasons=reasons,
    )
