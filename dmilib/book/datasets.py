"""Dataset provisioning for the chapters: find a preset's store, or generate (or finish) it.

* :func:`ensure_dataset` - the store of a preset, reused when it exists with the same
  parameters, generated (or finished) otherwise; never overwritten.
* :func:`generate_command` - the ``dmilib generate`` command line equivalent to a call.

Relative paths are taken from the repository root (the folder holding ``dmilib/``), not
from the working directory: notebooks execute in ``notebooks/``, commands run from the root.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from ..dataset.config import DatasetConfig, preset, with_overrides

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this module lives in (parent of the ``dmilib`` package folder)."""


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


def from_root(path: str | Path) -> Path:
    """``path`` with ``~`` expanded; a relative path is taken from the repository root, not the working folder."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else REPOSITORY_ROOT / path


def _resolve(path: str | Path | None, preset_name: str) -> Path:
    return default_dataset_path(preset_name) if path is None else from_root(path)


def display_path(path: str | Path) -> str:
    """``path`` relative to the repository root when inside it, else absolute (for printed commands)."""
    try:
        return str(Path(path).resolve().relative_to(REPOSITORY_ROOT))
    except ValueError:
        return str(Path(path).resolve())


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
    args = ["dmilib", "generate", "--preset", preset_name, "--out", display_path(_resolve(path, preset_name))]
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
    from ..dataset import Dataset, generate
    from ..dataset.store import pending_runs

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
            other = display_path(store.with_name(f"{store.stem}-{config.parameters_hash()[:8]}.zarr"))
            elsewhere = generate_command(preset_name, other, overrides=overrides, scheduler=scheduler, progress=progress)
            raise ValueError(
                f"{store} holds a dataset made by {made_by} (not preset {preset_name!r}"
                f"{' with the given overrides' if overrides else ''}); it is left untouched. "
                f"Generate the requested one elsewhere with "
                f"`{elsewhere}` "
                f"and pass path={other!r}, or replace it with `{command} --overwrite`")
        if not pending_runs(existing.group):
            # Complete: no call to generate(), which would rewrite the store's timing record.
            return store.resolve()
        print(f"resuming {len(pending_runs(existing.group))} unfinished run(s), as: {command}", flush=True)
    else:
        print(f"generating {store}, as (from the repository root): {command}", flush=True)
    generate(config, store, scheduler=scheduler, progress=progress)
    return store.resolve()


