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
    """

    run: int
    snapshots: np.ndarray
    residual_T: np.ndarray
    ok: bool
    reason: str
    iterations: int
    seconds: float


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

    def stage(label, hz, hx, m):
        current = system.with_applied_field((hx, 0.0, hz))
        result = relax(current, m, **relax_kwargs)
        iterations[:] += result.iterations
        for b in np.flatnonzero(~result.converged):
            if not failure[b]:
                failure[b] = (f"{label}: max torque {result.torque_T[b]:.3g} T above {proto.torque_tolerance_T:.3g} T "
                              f"after {result.iterations[b]} iterations")
        matches = np.flatnonzero(np.abs(snapshot_fields - hz) < 1e-12) if hx else []
        if len(matches):
            host = array_backend.to_numpy(result.m).astype(np.float32)
            snapshots[:, matches[0]] = host
            residuals[:, matches[0]] = result.torque_T
        return result.m

    m = system.asarray(np.stack([bubble(grid, proto.seed_radius_m)] * batch))
    m = stage(f"nucleation at Hz = {proto.nucleation_Hz_T * 1e3:g} mT", proto.nucleation_Hz_T, 0.0, m)
    m = stage(f"Hx = {proto.Hx_T * 1e3:g} mT", proto.nucleation_Hz_T, proto.Hx_T, m)
    step = proto.Hz_step_T / 2 if gentle else proto.Hz_step_T
    for hz in proto.sweep_fields_T(step):
        m = stage(f"Hz = {hz * 1e3:g} mT", float(hz), proto.Hx_T, m)

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
                                   int(iterations[b]), seconds))
    return outcomes
