"""The bubble protocol of the study, run for a batch of (D, tessellation) runs at once."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..backend import resolve_backend
from ..simulate import System, relax
from ..simulate.textures import bubble
from .config import DatasetConfig
from .voronoi import Tessellation

#: Largest allowed deviation of |m| from 1 inside the mask for an accepted float32 sample.
NORM_TOLERANCE = 1e-3


@dataclass
class RunOutcome:
    """The snapshots of one run and whether they are accepted.

    Attributes
    ----------
    run : int
        Run index in :meth:`DatasetConfig.runs` order.
    snapshots : numpy.ndarray, float32, shape (S, 3, ny, nx)
    residual_T : numpy.ndarray, shape (S,)
        Final max torque ``|m x B_eff|`` (tesla) of each snapshot's relaxation.
    ok : bool
        True when every snapshot passed :func:`check_snapshot` and every relaxation converged.
    reason : str
        Why the run failed ("" when ok).
    iterations : int
        Minimizer iterations spent on this run, all stages together.
    seconds : float
        Wall time of the batch this run was part of, divided by the batch size.
    stage_iterations : tuple of (str, int)
        Minimizer iterations (= effective-field evaluations) of each stage of this run.
    """

    run: int
    snapshots: np.ndarray
    residual_T: np.ndarray
    ok: bool
    reason: str
    iterations: int
    seconds: float
    stage_iterations: tuple = ()


def anisotropy_maps(config: DatasetConfig, tessellations, grid) -> np.ndarray:
    """Ku maps ``(len(tessellations), ny, nx)`` in J/m^3; tessellation -1 is uniform Ku0."""
    ku0 = config.material.Ku_J_per_m3
    maps = []
    cache: dict[int, np.ndarray] = {}
    for seed in tessellations:
        if seed < 0:
            maps.append(np.full(grid.shape, ku0))
            continue
        if seed not in cache:
            cache[seed] = Tessellation(
                seed=int(seed),
                mean_grain_diameter_m=config.disorder.mean_grain_diameter_m,
                Ku0_J_per_m3=ku0,
                relative_sigma=config.disorder.relative_sigma,
            ).ku_map(grid)
        maps.append(cache[seed])
    return np.stack(maps)


def check_snapshot(m: np.ndarray, mask: np.ndarray, residual_T: float, tolerance_T: float) -> str:
    """Return "" for an acceptable sample, else the reason it is not.

    Accepted: finite everywhere, ``| |m| - 1 | <= 1e-3`` inside the mask, zero outside, the
    relaxation residual under the tolerance, and a reversed (m_z < 0) domain present.
    """
    if not np.all(np.isfinite(m)):
        return "non-finite magnetization"
    norm = np.sqrt(np.sum(m.astype(np.float64) ** 2, axis=0))
    deviation = float(np.max(np.abs(norm[mask] - 1)))
    if deviation > NORM_TOLERANCE:
        return f"|m| deviates from 1 by {deviation:.2g} (> {NORM_TOLERANCE})"
    if np.any(m[:, ~mask]):
        return "non-zero magnetization outside the mask"
    if not residual_T < tolerance_T:
        return f"relaxation residual {residual_T:.3g} T is not below the tolerance {tolerance_T:.3g} T"
    if not np.any(m[2][mask] < 0):
        return "the bubble collapsed (no cell with m_z < 0)"
    return ""


def secant_prediction(system, m_previous, m_current, ratio: float):
    """``normalize(m_k + ratio (m_k - m_k-1))``: the next state of a field sweep, extrapolated.

    ``ratio`` is the next field step over the last one. The extrapolation is only a starting
    point; the relaxation that follows decides the state.
    """
    return system.normalize(m_current + ratio * (m_current - m_previous))


def run_protocol(config: DatasetConfig, run_ids, *, backend="auto", fft_workers: int | None = None,
                 gentle: bool = False) -> list[RunOutcome]:
    """Run the bubble protocol for the runs ``run_ids`` as one batch.

    All runs of a batch follow the same field schedule, so they advance together in one
    :class:`~dmilib.simulate.System` (one array, filling a GPU). ``gentle`` is the retry
    mode: half the Hz step (the snapshot fields stay on the sweep), a ten times smaller
    first minimizer step and twice the iteration budget.
    """
    start = time.perf_counter()
    run_ids = [int(r) for r in run_ids]
    all_runs = config.runs()
    specs = [all_runs[r] for r in run_ids]
    grid = config.grid()
    proto = config.protocol
    array_backend = resolve_backend(backend, fft_workers=fft_workers)
    d_values = np.array([d for d, _ in specs])
    ku = anisotropy_maps(config, [t for _, t in specs], grid)
    system = System(grid, config.material_for(d_values, ku), (0.0, 0.0, proto.nucleation_Hz_T),
                    backend=array_backend, dtype=config.dtype)
    batch = len(run_ids)
    relax_kwargs = dict(
        method=proto.relax_method,
        max_seconds=proto.max_seconds_per_stage,
        torque_tolerance_T=proto.torque_tolerance_T,
        max_iterations=proto.max_iterations * (2 if gentle else 1),
        initial_step_rad=1e-3 if gentle else 1e-2,
        raise_on_failure=False,
    )
    failure = [""] * batch
    iterations = np.zeros(batch, np.int64)
    snapshot_fields = np.array(proto.snapshot_Hz_T)
    snapshots = np.zeros((batch, len(snapshot_fields), 3, *grid.shape), np.float32)
    residuals = np.full((batch, len(snapshot_fields)), np.inf)
    stages: list[tuple[str, np.ndarray]] = []

    def stage(label, hz, hx, m):
        current = system.with_applied_field((hx, 0.0, hz))
        result = relax(current, m, **relax_kwargs)
        iterations[:] += result.iterations
        stages.append((label, result.iterations.copy()))
        for b in np.flatnonzero(~result.converged):
            if not failure[b]:
                why = {"max_seconds": f"the stage's {proto.max_seconds_per_stage:g} s budget ran out",
                       "max_iterations": f"the {relax_kwargs['max_iterations']} iteration budget ran out",
                       "stalled": "the minimizer stalled"}.get(result.reasons[b], result.reasons[b])
                failure[b] = (f"{label}: max torque {result.torque_T[b]:.3g} T above {proto.torque_tolerance_T:.3g} T "
                              f"after {result.iterations[b]} iterations ({why})")
        matches = np.flatnonzero(np.abs(snapshot_fields - hz) < 1e-12) if hx else []
        if len(matches):
            host = array_backend.to_numpy(result.m).astype(np.float32)
            snapshots[:, matches[0]] = host
            residuals[:, matches[0]] = result.torque_T
        return result.m

    # Each seed's wall has the Néel helicity its own D favours (outward for D >= 0 with the
    # -z core, inward for D < 0), so a run with negative D does not start on the wrong chirality.
    m = system.asarray(np.stack([bubble(grid, proto.seed_radius_m, D_J_per_m2=float(d)) for d in d_values]))
    m = stage(f"nucleation at Hz = {proto.nucleation_Hz_T * 1e3:g} mT", proto.nucleation_Hz_T, 0.0, m)
    m = stage(f"Hx = {proto.Hx_T * 1e3:g} mT", proto.nucleation_Hz_T, proto.Hx_T, m)
    step = proto.Hz_step_T / 2 if gentle else proto.Hz_step_T
    previous, previous_hz, hz_now = None, None, proto.nucleation_Hz_T
    for hz in proto.sweep_fields_T(step):
        start_state = m
        if proto.predictor == "secant" and previous is not None and not gentle:
            start_state = secant_prediction(system, previous, m, (hz - hz_now) / (hz_now - previous_hz))
        relaxed = stage(f"Hz = {hz * 1e3:g} mT", float(hz), proto.Hx_T, start_state)
        previous, previous_hz, hz_now, m = m, hz_now, float(hz), relaxed

    seconds = (time.perf_counter() - start) / batch
    outcomes = []
    for b, run in enumerate(run_ids):
        reason = failure[b]
        if not reason:
            for k in range(len(snapshot_fields)):
                problem = check_snapshot(snapshots[b, k], grid.mask, residuals[b, k], proto.torque_tolerance_T)
                if problem:
                    reason = f"snapshot at Hz = {snapshot_fields[k] * 1e3:g} mT: {problem}"
                    break
        outcomes.append(RunOutcome(run, snapshots[b], residuals[b].astype(np.float32), not reason, reason,
                                   int(iterations[b]), seconds,
                                   tuple((label, int(counts[b])) for label, counts in stages)))
    return outcomes
