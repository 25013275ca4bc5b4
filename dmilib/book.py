"""Helpers for the book's notebooks: locate or make a dataset, and the run profiles.

* :func:`ensure_dataset` - the store of a preset, reused when it exists with the same
  parameters, generated (or finished) otherwise; never overwritten.
* :func:`generate_command` - the ``dmilib generate`` command line equivalent to a call.
* :func:`profile_settings` - the settings of the ``quick`` (CPU) and ``paper`` (GPU)
  profiles that the notebooks' ``parameters`` cells choose between.

Relative paths are taken from the repository root (the folder holding ``dmilib/``), not
from the working directory: notebooks execute in ``notebooks/``, commands run from the root.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from .dataset.config import DatasetConfig, preset, with_overrides

RECORD_ENVIRONMENT_VARIABLE = "DMILIB_RECORD_DIR"
PROFILE_FOLDER = Path(__file__).resolve().parents[1] / "book" / "profiles"

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this module lives in (parent of the ``dmilib`` package folder)."""

_PROFILES: dict[str, dict] = {
    # CPU: the 45-image quick dataset (about 8 minutes on 2 cores).
    "quick": {"preset_name": "quick"},
    # GPU: the study's 1503-image dataset (`dmilib generate --preset paper --backend cupy`).
    "paper": {"preset_name": "paper"},
    # Tests: notebooks run in seconds on the tiny preset or the shipped reduced quick store.
    "smoke": {"preset_name": "tiny"},
}


def default_dataset_path(preset_name: str) -> Path:
    """``<repository root>/data/<preset_name>.zarr``, the store the CLI examples write.

    Parameters
    ----------
    preset_name : str
        A preset name (``"paper"``, ``"quick"`` or ``"tiny"``).

    Returns
    -------
    pathlib.Path
        Absolute path; it may not exist.
    """
    return REPOSITORY_ROOT / "data" / f"{preset_name}.zarr"


def _resolve(path: str | Path | None, preset_name: str) -> Path:
    if path is None:
        return default_dataset_path(preset_name)
    path = Path(path).expanduser()
    return path if path.is_absolute() else REPOSITORY_ROOT / path


def _display_path(path: Path) -> str:
    """``path`` relative to the repository root when inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(REPOSITORY_ROOT))
    except ValueError:
        return str(path.resolve())


def _flatten(overrides: Mapping, prefix: str = "") -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for key, value in overrides.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items.extend(_flatten(value, name + "."))
        else:
            items.append((name, value))
    return items


def _cli_value(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_cli_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def generate_command(
    preset_name: str,
    path: str | Path | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    scheduler: str = "local",
    progress: bool = True,
    overwrite: bool = False,
) -> str:
    """The ``dmilib generate`` command line that does what :func:`ensure_dataset` would.

    Parameters
    ----------
    preset_name : str
        ``"paper"``, ``"quick"`` or ``"tiny"``.
    path : str or Path, optional
        The store (default :func:`default_dataset_path`); relative paths are taken from the
        repository root.
    overrides : mapping, optional
        Configuration fields, nested or dotted (``{"protocol.Hx_T": 0.05}``); each becomes a
        ``--set section.field=value`` (``runs_per_task`` becomes ``--runs-per-task``).
    scheduler : str
        ``--scheduler`` (left out when ``"local"``, the CLI's default).
    progress : bool
        ``False`` adds ``--quiet``.
    overwrite : bool
        Adds ``--overwrite``.

    Returns
    -------
    str
        A shell-quoted command to run from the repository root, e.g.
        ``"dmilib generate --preset quick --out data/quick.zarr"``.
    """
    args = ["dmilib", "generate", "--preset", preset_name, "--out", _display_path(_resolve(path, preset_name))]
    for key, value in _flatten(overrides or {}):
        if key == "runs_per_task":
            args += ["--runs-per-task", _cli_value(value)]
        else:
            args += ["--set", f"{key}={_cli_value(value)}"]
    if scheduler != "local":
        args += ["--scheduler", scheduler]
    if not progress:
        args.append("--quiet")
    if overwrite:
        args.append("--overwrite")
    return shlex.join(args)


def _requested_config(preset_name: str, overrides: Mapping[str, object] | None) -> DatasetConfig:
    config = preset(preset_name)
    if overrides:
        config = with_overrides(config, dict(overrides))
    config.validate()
    return config


def ensure_dataset(
    preset_name: str = "quick",
    path: str | Path | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    scheduler: str = "local",
    progress: bool = True,
) -> Path:
    """The dataset store of a preset: reused if it is there, generated if it is not.

    * ``path`` holds a complete store with the requested parameters: it is returned as it is,
      nothing is computed or written.
    * ``path`` holds a store with the requested parameters but unfinished runs (an
      interrupted generation): prints the equivalent command and finishes only those runs.
    * ``path`` does not exist: prints the equivalent command (see :func:`generate_command`)
      and generates the store with :func:`dmilib.dataset.generate`.
    * ``path`` holds anything else (another preset, other overrides, not a dmilib store):
      raises ValueError naming the command to run; the store is never overwritten.

    Runs recorded as failed count as finished (``dmilib generate --retry-failed`` reruns them).

    Parameters
    ----------
    preset_name : str
        ``"paper"``, ``"quick"`` or ``"tiny"``.
    path : str or Path, optional
        The store (default ``data/<preset_name>.zarr`` in the repository); relative paths
        are taken from the repository root.
    overrides : mapping, optional
        Configuration fields applied to the preset, nested or dotted, as
        :func:`dmilib.dataset.with_overrides` takes them.
    scheduler : str
        ``"local"`` (a Dask cluster with one worker per core), ``"synchronous"`` (in this
        process) or a Dask scheduler address; used only when something is generated.
    progress : bool
        Show a progress bar while generating.

    Returns
    -------
    pathlib.Path
        Absolute path of the store, complete (every run done or failed).

    Raises
    ------
    ValueError
        If the preset or an override is unknown or non-physical, or ``path`` exists and is
        not a store of the requested parameters (the message gives the command to run).
    """
    from .dataset import Dataset, generate
    from .dataset.store import pending_runs

    config = _requested_config(preset_name, overrides)
    store = _resolve(path, preset_name)
    command = generate_command(preset_name, store, overrides=overrides, scheduler=scheduler, progress=progress)
    if store.exists():
        try:
            existing = Dataset(store)
        except Exception as error:  # not a Zarr group, or no dmilib attributes
            raise ValueError(f"{store} exists but is not a dmilib dataset store ({error}); it is left untouched. "
                             f"Pass another path, or move it away and run `{command}`") from error
        stored_hash = None if existing.config is None else existing.config.parameters_hash()
        if stored_hash != config.parameters_hash():
            made_by = ("an import of OVF files" if existing.config is None
                       else f"preset {existing.attrs.get('preset')!r} with other parameters")
            other = _display_path(store.with_name(f"{store.stem}-{config.parameters_hash()[:8]}.zarr"))
            raise ValueError(
                f"{store} holds a dataset made by {made_by} (not preset {preset_name!r}"
                f"{' with the given overrides' if overrides else ''}); it is left untouched. "
                f"Generate the requested one elsewhere with "
                f"`{generate_command(preset_name, other, overrides=overrides, scheduler=scheduler, progress=progress)}` "
                f"and pass path={other!r}, or replace it with `{command} --overwrite`")
        if not pending_runs(existing.group):
            # Complete: no call to generate(), which would rewrite the store's timing record.
            return store.resolve()
        print(f"resuming {len(pending_runs(existing.group))} unfinished run(s), as: {command}", flush=True)
    else:
        print(f"generating {store}, as (from the repository root): {command}", flush=True)
    generate(config, store, scheduler=scheduler, progress=progress)
    return store.resolve()


def profile_settings(profile: str) -> dict:
    """Settings of a notebook profile: ``"quick"`` (CPU) or ``"paper"`` (GPU).

    Parameters
    ----------
    profile : str
        ``"quick"``: the quick dataset, made on a CPU in minutes; ``"paper"``: the study's
        dataset, made on a GPU; ``"smoke"``: the tiny preset of the test suite's smoke runs.

    Returns
    -------
    dict
        A new dict with ``profile``, ``preset_name`` (the dataset preset) and
        ``dataset_path`` (:func:`default_dataset_path` of that preset, a Path).

    Raises
    ------
    ValueError
        For an unknown profile.
    """
    if profile not in _PROFILES:
        raise ValueError(f"profile must be one of {sorted(_PROFILES)}, got {profile!r}")
    settings = {"profile": profile, **_PROFILES[profile]}
    settings["dataset_path"] = default_dataset_path(settings["preset_name"])
    return settings


__all__ = ["REPOSITORY_ROOT", "default_dataset_path", "ensure_dataset", "generate_command", "profile_settings"]


def record(notebook: str, **values) -> None:
    """Write ``values`` (JSON-safe) to ``$DMILIB_RECORD_DIR/<notebook>.json`` if that is set.

    Notebooks call this with the numbers their chapter reports, so that batch runs
    (``make paper``, the papermill smoke tests) can check them without parsing outputs.
    Outside such runs (interactive use, the book build) it does nothing.
    """
    import json
    import os

    folder = os.environ.get(RECORD_ENVIRONMENT_VARIABLE)
    if not folder:
        return
    path = Path(folder) / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2, default=float))


def notebook_parameters(profile: str, notebook: str, work_dir) -> dict:
    """Parameters of ``notebook`` under ``profile`` from ``book/profiles/<profile>.yaml``.

    ``"{work}"`` inside string values is replaced by ``work_dir``.
    """
    import yaml

    path = PROFILE_FOLDER / f"{profile}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in PROFILE_FOLDER.glob("*.yaml"))
        raise ValueError(f"profile must be one of {known}, got {profile!r}")
    table = yaml.safe_load(path.read_text()) or {}
    parameters = dict(table.get(notebook) or {})
    return {key: value.replace("{work}", str(work_dir)) if isinstance(value, str) else value
            for key, value in parameters.items()}


def notebook_sources() -> list[Path]:
    """The book's notebooks (``notebooks/*.md``) in table-of-contents order."""
    import yaml

    toc = yaml.safe_load((REPOSITORY_ROOT / "_toc.yml").read_text())
    files = []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry and entry["file"].startswith("notebooks/"):
                files.append(REPOSITORY_ROOT / f"{entry['file']}.md")
            walk(entry.get("chapters")) if isinstance(entry, dict) else None
            for part in entry.get("parts", []) if isinstance(entry, dict) else []:
                walk(part.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return files


def prepare_notebook(source: Path, out_dir, profile: str, work_dir) -> Path:
    """Convert a MyST notebook to ``.ipynb`` and inject the profile's parameters (no execution)."""
    import jupytext
    import papermill

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plain = out_dir / f"{source.stem}.source.ipynb"
    jupytext.write(jupytext.read(source), plain)
    prepared = out_dir / f"{source.stem}.ipynb"
    papermill.execute_notebook(str(plain), str(prepared), parameters=notebook_parameters(profile, source.stem, work_dir),
                               prepare_only=True, kernel_name="python3", cwd=str(source.parent))
    plain.unlink()
    return prepared


def run_notebooks(profile: str, out_dir, *, notebooks=None, work_dir=None) -> dict[str, dict]:
    """Execute the book's notebooks with a profile's parameters through papermill.

    Executed notebooks go to ``out_dir/<name>.ipynb`` and each notebook's recorded values
    (see :func:`record`) to ``out_dir/records/<name>.json``; returns the records. Data is
    shared through ``work_dir`` (default ``out_dir/work``), so a dataset generated by one
    notebook is reused by the next.
    """
    import json
    import os

    import papermill

    out_dir = Path(out_dir).resolve()
    work_dir = Path(work_dir or out_dir / "work").resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    records_dir = out_dir / "records"
    sources = notebook_sources() if notebooks is None else [Path(n) for n in notebooks]
    previous = os.environ.get(RECORD_ENVIRONMENT_VARIABLE)
    os.environ[RECORD_ENVIRONMENT_VARIABLE] = str(records_dir)
    try:
        for source in sources:
            prepared = prepare_notebook(source, out_dir, profile, work_dir)
            papermill.execute_notebook(str(prepared), str(prepared), kernel_name="python3", cwd=str(source.parent),
                                       progress_bar=False)
    finally:
        if previous is None:
            os.environ.pop(RECORD_ENVIRONMENT_VARIABLE, None)
        else:
            os.environ[RECORD_ENVIRONMENT_VARIABLE] = previous
    return {path.stem: json.loads(path.read_text()) for path in sorted(records_dir.glob("*.json"))}


def main(argv=None) -> int:
    """``python -m dmilib.book PROFILE --out DIR``: run every notebook with a profile."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m dmilib.book", description=main.__doc__)
    parser.add_argument("profile", help="a profile in book/profiles (paper, smoke)")
    parser.add_argument("--out", required=True, help="folder for executed notebooks and records")
    parser.add_argument("--notebook", action="append", help="only these notebooks/*.md (repeatable)")
    args = parser.parse_args(argv)
    try:
        records = run_notebooks(args.profile, args.out, notebooks=args.notebook)
    except ValueError as error:
        parser.exit(2, f"python -m dmilib.book: error: {error}\n")
    for name, values in records.items():
        print(name, values)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
