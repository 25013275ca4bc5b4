"""Where a relaxed image's field evaluations go, per relaxation method, and how close it lands.

``python -m dmilib.bench relax [--json]`` runs the bubble protocol of the ``quick`` preset
(the study's 795 nm disk on 227 x 227 cells of 3.5 nm, Hz from -6 to -10 mT) for a fixed
set of runs (uniform D = 0, 0.5, 1 mJ/m^2 and D = 0.5 mJ/m^2 on tessellation 0) with each
relaxation method, one run at a time in this process, and compares every snapshot with a
reference relaxed in float64 to a torque 100 times below the preset's tolerance.

One row per method: field evaluations (= minimizer iterations) per saved image and per
stage, seconds per image, relaxed images per core-hour, and against the reference the
largest and mean ``|m - m_ref|`` over the cells of the magnet and the relative error of the
reversed (m_z < 0) area (largest over the snapshots), and the energy difference.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from .dataset.config import DatasetConfig, preset, with_overrides
from .dataset.protocol import run_protocol
from .simulate.system import System

#: (D in J/m^2, tessellation seed or -1 for a uniform film) of the benchmark's runs.
BENCH_RUNS = ((0.0, -1), (0.5e-3, -1), (1.0e-3, -1), (0.5e-3, 0))

#: The methods compared: (row name, relax_method, predictor).
BENCH_METHODS = (("bb", "bb", "none"), ("pbb", "pbb", "none"), ("pbb+secant", "pbb", "secant"))


def bench_config(base: DatasetConfig | None = None, runs=BENCH_RUNS) -> DatasetConfig:
    """The quick preset restricted to ``runs`` (uniform D values, then D values on tessellation 0)."""
    base = preset("quick") if base is None else base
    uniform = tuple(d for d, t in runs if t < 0)
    seeds = sorted({t for _, t in runs if t >= 0})
    nonuniform = tuple(sorted({d for d, t in runs if t >= 0}))
    config = dataclasses.replace(base, uniform_D_J_per_m2=uniform, nonuniform_D_J_per_m2=nonuniform)
    return with_overrides(config, {"disorder": {"tessellation_seeds": seeds or [0]}})


def default_method_name(config: DatasetConfig) -> str:
    """The row name of the method a preset uses (``"pbb+secant"`` for the defaults)."""
    proto = config.protocol
    for name, method, predictor in BENCH_METHODS:
        if (method, predictor) == (proto.relax_method, proto.predictor):
            return name
    return f"{proto.relax_method}+{proto.predictor}"


def _relax_runs(config: DatasetConfig, backend: str):
    """Run every run of ``config`` one at a time; return outcomes and the wall time."""
    start = time.perf_counter()
    outcomes = [run_protocol(config, [run], backend=backend)[0] for run in range(len(config.runs()))]
    return outcomes, time.perf_counter() - start


def _centroid_m(snapshot, mask, cell_m: float) -> np.ndarray:
    reversed_cells = (snapshot[2] < 0) & mask
    if not reversed_cells.any():
        return np.array([np.nan, np.nan])
    rows, cols = np.nonzero(reversed_cells)
    return np.array([cols.mean(), rows.mean()]) * cell_m


def _compare(outcomes, reference, mask, runs, cell_m: float) -> dict:
    """Snapshots against the reference: overall figures and one entry per run.

    Each run's entry also gives how far the reversed domain's centroid moved (m): a bubble
    displaced along the disk's soft translation mode gives ``|dm|`` near 2 at its walls
    while its size and energy barely change.
    """
    dm_max, dm_sum, cells, area_errors, per_run = 0.0, 0.0, 0, [], []
    for outcome, ref in zip(outcomes, reference):
        diff = np.linalg.norm(outcome.snapshots.astype(np.float64) - ref.snapshots, axis=1)[:, mask]
        dm_max = max(dm_max, float(diff.max()))
        dm_sum += float(diff.sum())
        cells += diff.size
        area = (outcome.snapshots[:, 2][:, mask] < 0).sum(axis=1)
        area_ref = (ref.snapshots[:, 2][:, mask] < 0).sum(axis=1)
        errors = (area - area_ref) / np.maximum(area_ref, 1)
        area_errors.extend(errors.tolist())
        shifts = [float(np.linalg.norm(_centroid_m(a, mask, cell_m) - _centroid_m(b, mask, cell_m)))
                  for a, b in zip(outcome.snapshots, ref.snapshots)]
        d, tessellation = runs[outcome.run]
        per_run.append({"D_mJ_per_m2": 1e3 * float(d), "tessellation": int(tessellation), "ok": bool(outcome.ok),
                        "max_abs_dm": float(diff.max()), "mean_abs_dm": float(diff.mean()),
                        "worst_area_relative_error": float(errors[np.argmax(np.abs(errors))]),
                        "max_centroid_shift_m": float(np.nanmax(shifts)) if np.isfinite(shifts).any() else None})
    worst = int(np.argmax(np.abs(area_errors)))
    return {"max_abs_dm_vs_reference": dm_max, "mean_abs_dm_vs_reference": dm_sum / cells,
            "reversed_area_relative_error": float(area_errors[worst]),
            "reversed_area_mean_relative_error": float(np.mean(area_errors)), "per_run": per_run}


def _energies_J(config: DatasetConfig, outcomes) -> np.ndarray:
    """Energy (J, float64) of every snapshot of every run, recomputed in float64."""
    grid = config.grid()
    from .dataset.protocol import anisotropy_maps

    runs = config.runs()
    energies = []
    for outcome in outcomes:
        d, tessellation = runs[outcome.run]
        ku = anisotropy_maps(config, [tessellation], grid)
        for k, hz in enumerate(config.protocol.snapshot_Hz_T):
            system = System(grid, config.material_for(np.array([d]), ku), (config.protocol.Hx_T, 0.0, hz),
                            backend="numpy", dtype="float64")
            energies.append(system.energy_J(outcome.snapshots[k : k + 1].astype(np.float64))[0])
    return np.array(energies)


def bench_relax(methods=BENCH_METHODS, runs=BENCH_RUNS, torque_tolerance_T: float | None = None,
                reference_factor: float = 100.0, backend: str = "numpy", base: DatasetConfig | None = None,
                progress=None) -> list[dict]:
    """One record per method (see the module docstring); the preset's own method is marked ``default``."""
    config = bench_config(base, runs)
    tolerance = config.protocol.torque_tolerance_T if torque_tolerance_T is None else float(torque_tolerance_T)
    config = with_overrides(config, {"protocol": {"torque_tolerance_T": tolerance}})
    default = default_method_name(config)
    say = progress or (lambda message: None)
    reference_config = with_overrides(config, {"dtype": "float64", "protocol": {
        "torque_tolerance_T": tolerance / reference_factor, "relax_method": "pbb", "predictor": "secant",
        "max_iterations": 400_000}})
    say(f"reference: float64, torque < {tolerance / reference_factor:.3g} T, pbb+secant")
    reference, reference_s = _relax_runs(reference_config, backend)
    failed = [o.reason for o in reference if not o.ok]
    if failed:
        raise RuntimeError(f"the reference relaxation failed: {failed[0]}")
    mask = config.grid().mask
    reference_energy = _energies_J(config, reference)
    cores = os.cpu_count() or 1
    records = []
    for name, method, predictor in methods:
        say(f"{name}: relaxing {len(config.runs())} runs")
        method_config = with_overrides(config, {"protocol": {"relax_method": method, "predictor": predictor}})
        outcomes, seconds = _relax_runs(method_config, backend)
        images = sum(o.snapshots.shape[0] for o in outcomes)
        evaluations = sum(o.iterations for o in outcomes)
        stages: dict[str, int] = {}
        for outcome in outcomes:
            for label, count in outcome.stage_iterations:
                stages[label] = stages.get(label, 0) + count
        energy_difference = _energies_J(config, outcomes) - reference_energy
        record = {
            "method": name, "relax_method": method, "predictor": predictor, "default": name == default,
            "torque_tolerance_T": tolerance, "runs": len(outcomes), "images": images,
            "failed_runs": sum(not o.ok for o in outcomes),
            "field_evaluations_per_image": evaluations / images,
            "seconds_per_image": seconds / images,
            "images_per_core_hour": 3600 * images / (seconds * cores),
            "cores": cores,
            "evaluations_per_stage_per_run": {label: count / len(outcomes) for label, count in stages.items()},
            **_compare(outcomes, reference, mask, config.runs(), float(config.grid().dx)),
            "max_energy_above_reference_J": float(energy_difference.max()),
            "reference_seconds": reference_s,
        }
        record["backend"] = backend
        records.append(record)
        say(f"{name}: {record['field_evaluations_per_image']:.0f} evaluations/image, "
            f"{record['seconds_per_image']:.2f} s/image, max |dm| {record['max_abs_dm_vs_reference']:.3g}")
    return records


def bench_protocol_scan(hz_steps_T=(-0.25e-3, -0.5e-3, -1e-3), tolerances_T=(3e-5, 1e-4, 3e-4, 1e-3),
                        runs=BENCH_RUNS, reference_tolerance_T: float = 1e-6, backend: str = "numpy",
                        base: DatasetConfig | None = None, progress=None) -> list[dict]:
    """How far a coarser Hz step and a looser torque move the snapshots, with the preset's method.

    Every (step, tolerance) pair relaxes ``runs`` of the quick preset with its default method;
    the reference is relaxed in float64 with the smallest step to ``reference_tolerance_T``.
    The snapshot fields stay those of the preset, so every step must divide their spacing.
    One record per pair: evaluations and seconds per image, ``|m - m_ref|``, reversed-area
    error and energy above the reference (J), as in :func:`bench_relax`.
    """
    config = bench_config(base, runs)
    say = progress or (lambda message: None)
    steps = sorted({float(step) for step in hz_steps_T}, key=abs)
    if min(tolerances_T) < 10 * reference_tolerance_T:
        raise ValueError(f"tolerances_T must be at least 10x reference_tolerance_T = {reference_tolerance_T} T")
    reference_config = with_overrides(config, {"dtype": "float64", "protocol": {
        "Hz_step_T": steps[0], "torque_tolerance_T": reference_tolerance_T, "max_iterations": 400_000}})
    say(f"reference: float64, Hz step {steps[0] * 1e3:g} mT, torque < {reference_tolerance_T:.3g} T")
    reference, reference_s = _relax_runs(reference_config, backend)
    if not all(o.ok for o in reference):
        raise RuntimeError(f"the reference relaxation failed: {[o.reason for o in reference if not o.ok][0]}")
    mask, cell_m = config.grid().mask, float(config.grid().dx)
    reference_energy = _energies_J(config, reference)
    records = []
    for step in steps:
        for tolerance in sorted(tolerances_T):
            trial = with_overrides(config, {"protocol": {"Hz_step_T": step, "torque_tolerance_T": float(tolerance)}})
            outcomes, seconds = _relax_runs(trial, backend)
            images = sum(o.snapshots.shape[0] for o in outcomes)
            compared = _compare(outcomes, reference, mask, config.runs(), cell_m)
            record = {"Hz_step_T": step, "torque_tolerance_T": float(tolerance), "runs": len(outcomes),
                      "images": images, "failed_runs": sum(not o.ok for o in outcomes),
                      "field_evaluations_per_image": sum(o.iterations for o in outcomes) / images,
                      "seconds_per_image": seconds / images, **compared,
                      "max_energy_above_reference_J": float((_energies_J(config, outcomes) - reference_energy).max()),
                      "reference_seconds": reference_s, "backend": backend}
            records.append(record)
            say(f"step {step * 1e3:g} mT, tolerance {tolerance:.3g} T: "
                f"{record['field_evaluations_per_image']:.0f} evaluations/image, "
                f"max |dm| {record['max_abs_dm_vs_reference']:.3g}, area {record['reversed_area_relative_error']:+.2%}")
    return records


def print_scan_table(records: list[dict]) -> None:
    print(f"{'Hz step mT':>10} {'tol (T)':>8} {'eval/img':>9} {'s/img':>7} {'max|dm|':>8} {'mean|dm|':>9} "
          f"{'area err':>9} {'dE max (J)':>11}")
    for r in records:
        print(f"{r['Hz_step_T'] * 1e3:>10.3g} {r['torque_tolerance_T']:>8.1e} {r['field_evaluations_per_image']:>9.0f} "
              f"{r['seconds_per_image']:>7.2f} {r['max_abs_dm_vs_reference']:>8.3g} "
              f"{r['mean_abs_dm_vs_reference']:>9.3g} {r['reversed_area_relative_error']:>+9.2%} "
              f"{r['max_energy_above_reference_J']:>11.3g}")


def print_relax_table(records: list[dict]) -> None:
    print(f"torque tolerance {records[0]['torque_tolerance_T']:.3g} T, {records[0]['runs']} runs, "
          f"{records[0]['images']} images, {records[0]['cores']} cores; reference: float64 at 1/100 of it")
    print(f"{'method':>11} {'eval/img':>9} {'s/img':>7} {'img/core-h':>10} {'max|dm|':>8} {'mean|dm|':>9} "
          f"{'area err':>9} {'dE max (J)':>11}")
    for r in records:
        mark = " *" if r["default"] else ""
        print(f"{r['method']:>11} {r['field_evaluations_per_image']:>9.0f} {r['seconds_per_image']:>7.2f} "
              f"{r['images_per_core_hour']:>10.0f} {r['max_abs_dm_vs_reference']:>8.3g} "
              f"{r['mean_abs_dm_vs_reference']:>9.3g} {r['reversed_area_relative_error']:>+9.2%} "
              f"{r['max_energy_above_reference_J']:>11.3g}{mark}")
    print("evaluations per stage and run:")
    labels = list(records[0]["evaluations_per_stage_per_run"])
    print(f"{'method':>11} " + " ".join(f"{label.split(' at ')[0][:12]:>12}" for label in labels))
    for r in records:
        print(f"{r['method']:>11} " + " ".join(f"{r['evaluations_per_stage_per_run'].get(label, 0):>12.0f}"
                                            for label in labels))
    print("(* = the default method)")
