"""A chapter's experiments as one committed record, and the check that it is not stale.

A long profile (``make standard``: hours on a CPU) trains its experiments into
``results/<profile>/<chapter>/...`` (one folder per experiment, each with ``run.json`` and
``results.csv``). Those folders hold model files and are not committed; this module turns
one chapter's folders into a small JSON record for ``book/records/<profile>/<chapter>.json``
that the chapter reads back, so that the built book shows the profile's numbers without
training anything:

* ``rows``: every per-seed result row (CNN and ridge), exactly as in ``results.csv``
  (:data:`~dmilib.learn.experiment.records.RESULT_COLUMNS`), so a chapter runs the same
  tables, figures and verdicts on the record as on its live experiments;
* ``experiments``: per experiment its folder, seeds, epochs, batch size, the train and test
  image counts, the dmilib version and git commit of its ``run.json``, and ``reused_seeds``
  (seed -> source folder) for seeds copied from another chapter's identical run, whose
  training time is not counted again; and ``cnn_error_by_D``, the CNN's test MAE and bias
  per distinct ``D`` over its seeds (:func:`~dmilib.learn.report.error_by_D`), which shows
  where in ``D`` a model fails;
* ``dataset``: the store's parameters hash (the check against the preset), cell size and
  image count; ``dmilib_version`` and ``git_commit`` of the collection; the summed training
  time and the machine's core count.

``python -m dmilib.learn.study_record RESULTS_FOLDER --chapter NAME --out FILE`` writes one;
:func:`check_study_record` says whether a record still matches a dataset preset.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from .artifacts import RUN_FILE, read_run_info
from .experiment.records import RESULT_COLUMNS, read_results

RECORD_LAYOUT = 1
"""Version of the record's layout (bumped on incompatible changes)."""

RESULTS_FILE = "results.csv"


def _experiment_folders(results_folder: Path) -> list[Path]:
    """Folders under ``results_folder`` that hold a finished-or-partial experiment."""
    return sorted(path.parent for path in results_folder.rglob(RUN_FILE)
                  if (path.parent / RESULTS_FILE).is_file())


def _cnn_error_by_D(info: dict) -> dict | None:
    """The CNN's test error per ``D`` over the run's seeds (:func:`~dmilib.learn.report.error_by_D`)."""
    from .report import error_by_D

    labels = info.get("test_labels_mJ_per_m2") or []
    predictions = [entry["cnn"]["test_predictions_mJ_per_m2"] for entry in info.get("models", {}).values()
                   if "test_predictions_mJ_per_m2" in entry.get("cnn", {})]
    return error_by_D(labels, predictions) if labels and predictions else None


def collect_study_record(results_folder, *, chapter: str, profile: str | None = None) -> dict:
    """The record of every experiment under ``results_folder`` (see the module docstring).

    Parameters
    ----------
    results_folder : str or Path
        A chapter's results (for example ``results/standard/components``); searched
        recursively for experiment folders.
    chapter : str
        The chapter's notebook name (``components``, ``noise``, ...), stored in the record.
    profile : str or None
        The profile that trained them (stored; informative).

    Raises
    ------
    ValueError
        If the folder does not exist or holds no experiment, if its experiments were trained
        on different datasets, or if a ``run.json`` is unreadable.
    """
    from ..dataset.store import git_commit

    folder = Path(results_folder)
    if not folder.is_dir():
        raise ValueError(f"results folder {folder} does not exist")
    experiment_folders = _experiment_folders(folder)
    if not experiment_folders:
        raise ValueError(f"results folder {folder} holds no experiment (no {RUN_FILE} beside a {RESULTS_FILE})")
    rows, experiments, datasets = [], [], {}
    for path in experiment_folders:
        info = read_run_info(path)
        found = read_results(path / RESULTS_FILE)
        name = path.relative_to(folder).as_posix()
        for row in found:
            rows.append({column: row[column] for column in RESULT_COLUMNS})
        for dataset in info.get("datasets", []):
            datasets[dataset.get("parameters_hash")] = dataset
        cnn_rows = [row for row in found if row["model"] == "cnn"]
        # Seeds copied from another chapter's identical run cost this chapter nothing; their
        # training time stays with the chapter that trained them.
        reused = {int(seed): entry["reused_from"] for seed, entry in info.get("models", {}).items()
                  if entry.get("reused_from")}
        experiments.append({
            "folder": name,
            "experiment": found[0]["experiment"] if found else name,
            "seeds": sorted(int(row["seed"]) for row in cnn_rows),
            "epochs": info.get("epochs"), "batch_size": info.get("batch_size"),
            "n_train": found[0]["n_train"] if found else None, "n_test": found[0]["n_test"] if found else None,
            "training_seconds": float(sum(row["wall_s"] for row in cnn_rows if int(row["seed"]) not in reused)),
            "reused_seeds": {str(seed): source for seed, source in sorted(reused.items())},
            "cnn_error_by_D": _cnn_error_by_D(info),
            "dmilib_version": info.get("dmilib_version"), "git_commit": info.get("git_commit"),
            "keras_backend": info.get("keras_backend"),
        })
    if len(datasets) != 1:
        raise ValueError(f"the experiments under {folder} were trained on {len(datasets)} datasets "
                         f"(parameters hashes {sorted(map(str, datasets))}); a record holds one dataset")
    (dataset,) = datasets.values()
    from .. import __version__

    return {
        "layout": RECORD_LAYOUT,
        "chapter": str(chapter),
        "profile": profile,
        "results_folder": folder.as_posix(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "dmilib_version": __version__,
        "git_commit": git_commit(),
        "dataset": {key: dataset.get(key) for key in ("parameters_hash", "cell_size_m", "shape", "valid_samples")},
        "training_seconds": float(sum(e["training_seconds"] for e in experiments)),
        "recorded_on_cores": os.cpu_count(),
        "experiments": experiments,
        "rows": rows,
    }


def check_study_record(record: dict, preset: str) -> list[str]:
    """Why ``record`` does not match the dataset preset ``preset`` (an empty list if it does).

    The record's dataset parameters hash must equal that of the preset's configuration
    today; a record made from an older preset (another D grid, cell size, protocol, ...) is
    stale and gets a reason here.
    """
    from ..dataset.config import preset as dataset_preset

    problems = []
    if record.get("layout") != RECORD_LAYOUT:
        problems.append(f"record layout {record.get('layout')!r}, expected {RECORD_LAYOUT}")
    expected = dataset_preset(preset).parameters_hash()
    found = (record.get("dataset") or {}).get("parameters_hash")
    if found != expected:
        problems.append(f"dataset parameters hash {str(found)[:12]} differs from the {preset!r} preset's "
                        f"{expected[:12]}: the record is stale (regenerate it with `make {preset}`)")
    if not record.get("rows"):
        problems.append("the record holds no result rows")
    return problems


def read_study_record(path) -> dict:
    """A record written by :func:`write_study_record`, checked for its layout."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the study record {path}: {error}") from error
    if not isinstance(record, dict) or record.get("layout") != RECORD_LAYOUT or "rows" not in record:
        raise ValueError(f"{path} is not a dmilib study record (layout {RECORD_LAYOUT})")
    return record


def write_study_record(record: dict, path) -> Path:
    """Write ``record`` as indented JSON (atomically: a partial file never replaces a good one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(partial, path)
    return path


def main(argv=None) -> int:
    """``python -m dmilib.learn.study_record RESULTS --chapter NAME --out FILE [--check PRESET]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m dmilib.learn.study_record", description=__doc__.split("\n")[0])
    parser.add_argument("results", help="a chapter's results folder, e.g. results/standard/components")
    parser.add_argument("--chapter", required=True, help="the chapter's notebook name")
    parser.add_argument("--profile", default=None, help="the profile that trained the experiments")
    parser.add_argument("--out", required=True, help="the record file, e.g. book/records/standard/components.json")
    parser.add_argument("--check", metavar="PRESET", default=None,
                        help="refuse to write unless the dataset matches this preset")
    args = parser.parse_args(argv)
    try:
        record = collect_study_record(args.results, chapter=args.chapter, profile=args.profile)
        if args.check:
            problems = check_study_record(record, args.check)
            if problems:
                raise ValueError("; ".join(problems))
    except ValueError as error:
        parser.exit(2, f"python -m dmilib.learn.study_record: error: {error}\n")
    write_study_record(record, args.out)
    seeds = sum(len(e["seeds"]) for e in record["experiments"])
    print(f"{args.out}: {len(record['experiments'])} experiments, {seeds} trained CNNs, "
          f"{record['dataset']['valid_samples']} images, {record['training_seconds'] / 3600:.2f} h of training")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
