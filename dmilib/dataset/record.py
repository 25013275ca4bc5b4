"""Numbers about a generated store worth committing: its cost, its outcome, and cell-size effects.

A store of the ``standard`` preset is about 1 GB, too large for the repository; what the
book and the README quote about it lives in ``book/records/<preset>/dataset.json``,
written by::

    python -m dmilib.dataset.record --store data/standard.zarr --out book/records/standard/dataset.json

``--compare-cells COARSE FINE`` adds the bubble measured in two stores of the same runs at
two cell sizes (for example the standard preset's 3 nm against the paper's 1.5 nm).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from .shape import measure_bubble
from .store import Dataset


def _size_on_disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def generation_record(path) -> dict:
    """Provenance, outcome and cost of the store at ``path`` (a plain, JSON-ready dict).

    ``wall_s`` is the wall time of the last ``generate`` call on the store (a resumed store
    counts only its last call); ``worker_seconds`` sums every run's own wall time.
    """
    path = Path(path)
    dataset = Dataset(path)
    attrs = dict(dataset.attrs)
    summary = dataset.summary()
    seconds = dataset.array("run_seconds")
    iterations = dataset.array("run_iterations")
    done = dataset.run_status == 1
    timing = attrs.get("timing") or {}
    return {
        "preset": attrs.get("preset"),
        "parameters_hash": attrs.get("parameters_hash"),
        "dmilib_version": attrs.get("dmilib_version"),
        "git_commit": attrs.get("git_commit"),
        "created": attrs.get("created"),
        "cell_size_m": attrs.get("cell_size_m"),
        "grid_cells": list(dataset.mask.shape),
        "torque_tolerance_T": (dataset.config.protocol.torque_tolerance_T if dataset.config else None),
        **{key: value for key, value in summary.items() if key != "failed_runs"},
        "failed_runs": [int(run) for run in summary["failed_runs"]],
        "wall_s": timing.get("last_wall_s"),
        "runs_in_last_call": timing.get("last_runs_attempted"),
        "scheduler": timing.get("scheduler"),
        "workers": timing.get("workers"),
        "backend": timing.get("backend"),
        "worker_seconds": float(np.nansum(seconds[done])),
        "mean_run_s": float(np.nanmean(seconds[done])) if done.any() else None,
        "iterations_per_run": {"mean": float(iterations[done].mean()), "min": int(iterations[done].min()),
                               "max": int(iterations[done].max())} if done.any() else None,
        "store_bytes": _size_on_disk_bytes(path),
        "recorded_on_cores": os.cpu_count(),
    }


def compare_cell_sizes(coarse_path, fine_path) -> list[dict]:
    """The bubble of every image present in both stores (same D, tessellation and Hz), measured on each.

    Returns one row per image pair: D (mJ/m^2), Hz (mT), the equivalent-area radius (nm)
    and x asymmetry at each cell size, and the relative radius difference coarse vs fine.
    """
    coarse, fine = Dataset(coarse_path), Dataset(fine_path)
    rows = []
    for index in np.flatnonzero(coarse.valid):
        d, hz = float(coarse.array("D_J_per_m2")[index]), float(coarse.array("Hz_T")[index])
        tessellation = int(coarse.array("tessellation")[index])
        match = np.flatnonzero(fine.valid & (np.abs(fine.array("D_J_per_m2") - d) < 1e-9)
                               & (np.abs(fine.array("Hz_T") - hz) < 1e-9) & (fine.array("tessellation") == tessellation))
        if not match.size:
            continue
        shapes = []
        for store, position in ((coarse, int(index)), (fine, int(match[0]))):
            shapes.append(measure_bubble(store.magnetization([position])[0].astype(np.float64), store.grid))
        rows.append({"D_mJ_per_m2": 1e3 * d, "Hz_mT": 1e3 * hz, "tessellation": tessellation,
                     "radius_coarse_nm": 1e9 * shapes[0].equivalent_radius_m,
                     "radius_fine_nm": 1e9 * shapes[1].equivalent_radius_m,
                     "radius_relative_difference": shapes[0].equivalent_radius_m / shapes[1].equivalent_radius_m - 1,
                     "x_asymmetry_coarse": shapes[0].x_asymmetry, "x_asymmetry_fine": shapes[1].x_asymmetry})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dmilib.dataset.record", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="the store to record")
    parser.add_argument("--out", required=True, help="the JSON file to write (its folder is created)")
    parser.add_argument("--compare-cells", nargs=2, metavar=("COARSE", "FINE"),
                        help="two stores of the same runs at two cell sizes")
    args = parser.parse_args(argv)
    try:
        record = generation_record(args.store)
        if args.compare_cells:
            record["cell_size_comparison"] = {
                "coarse_store_cell_size_m": Dataset(args.compare_cells[0]).attrs.get("cell_size_m"),
                "fine_store_cell_size_m": Dataset(args.compare_cells[1]).attrs.get("cell_size_m"),
                "rows": compare_cell_sizes(*args.compare_cells)}
    except (OSError, ValueError) as error:
        parser.exit(2, f"python -m dmilib.dataset.record: error: {error}\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
