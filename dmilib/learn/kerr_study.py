"""Polar-Kerr study: can a lab trust D read from m_z images with known fields? One command, any store.

Trains, on one dataset store, two ensembles that see what a polar-Kerr microscope sees
(``m_z`` blurred by a Gaussian PSF and sampled on camera pixels, default 300 nm and 35 nm),
both on a split grouped by run with calibration runs held out of training:

``mz_image``
    the paper's CNN on the image alone (the reference: ``m_z`` confounds D with the field);
``mz_fields``
    the field-conditioned CNN (:mod:`dmilib.learn.field_model`), image plus ``mu0 Hz``, ``mu0 Hx``.

and reports, from the runs' ``run.json`` (:mod:`dmilib.learn.experiment`):

* the test MAE (mJ/m^2) on the held-out runs: mean over seeds of the per-seed MAE, and the
  MAE of the ensemble mean, beside the mean predictor's;
* the MAE of field series (the mean of the per-image predictions of ``series_size`` images
  of one held-out bubble, one series drawn per test run) and of the longest series;
* the coverage, on the test runs, of the 90 % split-conformal interval calibrated on the
  calibration runs, per image and per series; and a reliability figure (``reliability.png``).

Usage::

    python -m dmilib.learn.kerr_study --dataset data/standard.zarr --out results/kerr_study

It resumes like ``dmilib train`` (rerun the same command after an interruption). The goals
of issue 12 are printed beside the numbers; ``kerr_study.json`` holds everything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

GOALS = {"fields_mae_mJ_per_m2": 0.05, "series_mae_mJ_per_m2": 0.03, "coverage": (0.85, 0.95), "series_min_size": 5}
"""Issue 12's goals on the standard dataset."""


def study_configs(dataset: str, *, blur_fwhm_m: float = 300e-9, pixel_size_m: float = 35e-9, seeds=5,
                  epochs: int = 30, batch_size: int = 32, split_seed: int = 0, test_fraction: float = 0.2,
                  calibration_fraction: float = 0.25) -> dict:
    """The two experiments of the study (names -> :class:`~dmilib.learn.experiment.ExperimentConfig`).

    ``seeds`` is a count (seeds ``0 .. seeds - 1``) or the list of seeds itself.
    """
    from ..degrade import Degradation
    from .experiment import ExperimentConfig

    degradation = Degradation(component="mz", blur_fwhm_m=blur_fwhm_m, pixel_size_m=pixel_size_m)
    seed_list = tuple(range(seeds)) if isinstance(seeds, int) else tuple(int(s) for s in seeds)
    common = dict(split="grouped", split_seed=split_seed, test_fraction=test_fraction, degradation=degradation,
                  seeds=seed_list, epochs=epochs, batch_size=batch_size,
                  calibration_fraction=calibration_fraction)
    return {"mz_image": ExperimentConfig((dataset,), fields=False, **common),
            "mz_fields": ExperimentConfig((dataset,), fields=True, **common)}


def summarize_run(folder, series_size: int = GOALS["series_min_size"]) -> dict:
    """The numbers of one run folder that the goals are about (see the module docstring)."""
    from .artifacts import read_run_info

    info = read_run_info(folder)
    ensemble, conformal, series = info["ensemble"], info.get("conformal") or {}, info.get("series") or {}
    labels = info["test_labels_mJ_per_m2"]
    mean_predictor = [row["cnn"]["mean_predictor_test_mae"] for row in info["models"].values()][0]
    sizes = series.get("sizes") or {}
    chosen = str(series_size) if str(series_size) in sizes else None
    longest = max(sizes, key=int) if sizes else None

    def series_entry(key):
        if key is None:
            return None
        entry = sizes[key]
        return {"size": int(key), "n_test_series": entry["n_test_series"],
                "test_mae_mJ_per_m2": entry["test_mae_mJ_per_m2"],
                "half_width_mJ_per_m2": entry.get("half_width_mJ_per_m2"),
                "n_calibration_series": entry.get("n_calibration_series"), "test_coverage": entry.get("test_coverage")}

    split = info["split"]
    return {
        "run": str(folder), "seeds": ensemble["seeds"], "epochs": info["epochs"], "n_test_images": len(labels),
        "n_test_runs": len(set(info["test_groups"])), "split_seed": split["seed"],
        "test_runs": sorted(int(g) for g in set(info["test_groups"])),
        "calibration_runs": sorted(int(g) for g in (split.get("calibration") or {}).get("groups", [])),
        "n_train_images": split["n_train"],
        "per_seed_test_mae_mean_mJ_per_m2": ensemble["per_seed_test_mae_mean_mJ_per_m2"],
        "ensemble_test_mae_mJ_per_m2": ensemble["test_mae_mJ_per_m2"],
        "mean_predictor_test_mae_mJ_per_m2": mean_predictor,
        "interval_90": {k: conformal.get(k) for k in ("half_width_mJ_per_m2", "n_calibration_images",
                                                      "n_calibration_runs", "test_coverage", "n_test_images")},
        "series": series_entry(chosen), "longest_series": series_entry(longest),
    }


def study_caption(summary: dict, dataset_label: str) -> str:
    """"dataset ...; split ...; seeds ... x E epochs" for the captions of a study's table and figure."""
    entries = list(summary["runs"].values())
    first = entries[0]
    seeds = sorted({int(s) for entry in entries for s in entry["seeds"]})
    epochs = sorted({int(entry["epochs"]) for entry in entries})
    return (f"dataset: {dataset_label}; split: grouped by run, split seed {first['split_seed']}: "
            f"{first['n_train_images']} training images, calibration runs {first['calibration_runs']}, test runs "
            f"{first['test_runs']} ({first['n_test_images']} images); seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}) x "
            f"{', '.join(map(str, epochs))} epochs; MAE in mJ/m²")


def _verdict(value, goal) -> str:
    if value is None:
        return "n/a"
    if isinstance(goal, tuple):
        return "met" if goal[0] <= value <= goal[1] else "NOT met"
    return "met" if value <= goal else "NOT met"


def format_study(summary: dict) -> str:
    """A text report of :func:`run_study`'s summary with the goals."""
    lines = [f"{'model':10} {'seeds':>5} {'test runs':>9} {'MAE/seed':>9} {'MAE ens.':>9} {'mean-pred':>9} "
             f"{'90% half':>9} {'coverage':>8}  series (size: MAE, coverage)"]
    for name, entry in summary["runs"].items():
        interval = entry["interval_90"]
        half = interval["half_width_mJ_per_m2"]
        cover = interval["test_coverage"]
        text = "-"
        for key in ("series", "longest_series"):
            s = entry[key]
            if s is not None and not (key == "longest_series" and s == entry["series"]):
                coverage = "n/a" if s["test_coverage"] is None else f"{s['test_coverage']:.0%}"
                text = (f"{s['size']}: {s['test_mae_mJ_per_m2']:.4f}, {coverage}" if text == "-"
                        else f"{text}; {s['size']}: {s['test_mae_mJ_per_m2']:.4f}, {coverage}")
        lines.append(f"{name:10} {len(entry['seeds']):>5} {entry['n_test_runs']:>9} "
                     f"{entry['per_seed_test_mae_mean_mJ_per_m2']:>9.4f} {entry['ensemble_test_mae_mJ_per_m2']:>9.4f} "
                     f"{entry['mean_predictor_test_mae_mJ_per_m2']:>9.4f} "
                     f"{'inf' if half is None else f'{half:.4f}':>9} "
                     f"{'n/a' if cover is None else f'{cover:.1%}':>8}  {text}")
    fields = summary["runs"]["mz_fields"]
    series = fields["series"]
    lines += ["(MAE in mJ/m^2 on test runs never seen in training or calibration)", "goals:",
              f"  m_z + fields, ensemble MAE {fields['ensemble_test_mae_mJ_per_m2']:.4f} <= "
              f"{GOALS['fields_mae_mJ_per_m2']}: {_verdict(fields['ensemble_test_mae_mJ_per_m2'], GOALS['fields_mae_mJ_per_m2'])}"
              f" (per-seed mean {fields['per_seed_test_mae_mean_mJ_per_m2']:.4f}: "
              f"{_verdict(fields['per_seed_test_mae_mean_mJ_per_m2'], GOALS['fields_mae_mJ_per_m2'])})",
              f"  series of {GOALS['series_min_size']} images, MAE "
              + ("n/a (no test run has that many images)" if series is None else
                 f"{series['test_mae_mJ_per_m2']:.4f} <= {GOALS['series_mae_mJ_per_m2']}: "
                 f"{_verdict(series['test_mae_mJ_per_m2'], GOALS['series_mae_mJ_per_m2'])}")]
    for name, entry in summary["runs"].items():
        cover = entry["interval_90"]["test_coverage"]
        lines.append(f"  {name}: 90% interval covers {'n/a' if cover is None else f'{cover:.1%}'} of test images, "
                     f"goal 85-95%: {_verdict(cover, GOALS['coverage'])}")
    lines.append("  flags: pytest tests/test_infer_flags.py (every case of issue 12, point 4)")
    return "\n".join(lines)


def run_study(dataset, out, *, workers: int = 1, progress: bool = True,
              series_size: int = GOALS["series_min_size"], **options) -> dict:
    """Train (or resume) both experiments into ``out/<name>``, write ``kerr_study.json`` and ``reliability.png``."""
    from ..plotting.reliability import plot_reliability
    from .report import run_grid

    out = Path(out)
    configs = study_configs(str(dataset), **options)
    run_grid(configs, out, progress=progress, workers=workers)
    from .. import __version__
    from ..dataset.store import Dataset, git_commit

    store = Dataset(dataset)
    summary = {"dataset": str(dataset), "dataset_parameters_hash": store.attrs.get("parameters_hash"),
               "dataset_preset": store.attrs.get("preset"), "dataset_valid_images": int(store.valid.sum()),
               "dmilib_version": __version__, "git_commit": git_commit(),
               "options": options, "goals": {k: v for k, v in GOALS.items()},
               "runs": {name: summarize_run(out / name, series_size) for name in configs}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "kerr_study.json").write_text(json.dumps(summary, indent=2) + "\n")
    figure = plot_reliability({name: out / name for name in configs}, caption=study_caption(summary, str(dataset)))
    figure.savefig(out / "reliability.png", dpi=120)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dmilib.learn.kerr_study", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, help="dataset store, e.g. data/standard.zarr")
    parser.add_argument("--out", required=True, help="results folder (one run folder per model inside)")
    parser.add_argument("--seeds", type=int, default=5, help="models per ensemble (default 5)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2, help="fraction of runs held out for test")
    parser.add_argument("--calibration-fraction", type=float, default=0.25,
                        help="fraction of the remaining runs held out for calibration (default 0.25)")
    parser.add_argument("--blur-fwhm-m", type=float, default=300e-9, help="Kerr PSF FWHM in metres (default 300e-9)")
    parser.add_argument("--pixel-size-m", type=float, default=35e-9, help="camera pixel in metres (default 35e-9)")
    parser.add_argument("--series-size", type=int, default=GOALS["series_min_size"],
                        help="images per field series in the report (default 5)")
    parser.add_argument("--workers", type=int, default=1, help="experiments trained at once (CPU: 2; GPU: 1)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        summary = run_study(args.dataset, args.out, workers=args.workers, progress=not args.quiet,
                            series_size=args.series_size, blur_fwhm_m=args.blur_fwhm_m,
                            pixel_size_m=args.pixel_size_m, seeds=args.seeds, epochs=args.epochs,
                            batch_size=args.batch_size, split_seed=args.split_seed,
                            test_fraction=args.test_fraction, calibration_fraction=args.calibration_fraction)
    except ValueError as error:
        parser.exit(2, f"kerr_study: error: {error}\n")
    print(format_study(summary))
    print(f"(details in {Path(args.out) / 'kerr_study.json'}, reliability plot in {Path(args.out) / 'reliability.png'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
