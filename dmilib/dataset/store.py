"""One Zarr store per dataset: layout, creation, resumable per-run writes, and reading.

Layout (Zarr v3, readable with plain ``zarr`` or ``xarray.open_zarr`` without dmilib).
N = runs x snapshots per run; sample ``n`` belongs to run ``n // S`` (S snapshots per run),
so a run owns a contiguous, chunk-aligned block of samples.

=====================  ===================  ==========================================
array                  shape, dtype         meaning
=====================  ===================  ==========================================
``magnetization``      (N, 3, H, W) f4      reduced m (mx, my, mz), 0 outside the disk;
                                            one compressed chunk per sample
``D_J_per_m2``         (N,) f8              the label: interfacial DMI (mumax3 Dind sign)
``Hz_T``, ``Hx_T``     (N,) f8              applied mu0 Hz, mu0 Hx in tesla
``tessellation``       (N,) i4              Voronoi seed, -1 for a uniform film
``run``                (N,) i4              run index
``residual_T``         (N,) f4              max |m x B_eff| of the relaxation (tesla)
``valid``              (N,) bool            sample accepted (written with its run)
``run_status``         (R,) i1              0 pending, 1 done, 2 failed (one chunk per run)
``failure_reason``     (R, 256) u1          why a run failed: UTF-8 bytes, zero-padded
``run_iterations``     (R,) i8              minimizer iterations spent on the run
``run_seconds``        (R,) f4              wall time per run (its batch's time / batch size)
``mask``               (H, W) bool          cells of the disk
``ku_maps``            (T, H, W) f4         Ku (J/m^3) of each tessellation in
                                            ``attrs["tessellation_seeds"]`` order
=====================  ===================  ==========================================

Attributes: ``config`` (every parameter), ``parameters_hash``, ``preset``, ``dmilib_version``,
``git_commit``, ``created``, ``layout`` (this table's version), ``cell_size_m``,
``tessellation_seeds``, ``snapshots_per_run``, and after a generation ``timing``.

A run's samples are written before its ``valid`` flags and its ``run_status``; a run is
"done" only once its status chunk is written, so an interruption at any moment leaves at
worst a pending run whose samples are rewritten on resume.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import zarr

from .. import __version__
from .config import DatasetConfig, config_from_dict
from .protocol import RunOutcome, anisotropy_maps

LAYOUT_VERSION = 1
PENDING, DONE, FAILED = 0, 1, 2
REASON_BYTES = 256


def encode_reason(reason: str) -> np.ndarray:
    """A failure reason as zero-padded UTF-8 bytes (portable: no string dtype in Zarr v3)."""
    data = reason.encode("utf-8")[:REASON_BYTES]
    out = np.zeros(REASON_BYTES, np.uint8)
    out[: len(data)] = np.frombuffer(data, np.uint8)
    return out


def decode_reason(row: np.ndarray) -> str:
    return bytes(np.asarray(row, np.uint8)).rstrip(b"\0").decode("utf-8", errors="replace")


def git_commit() -> str:
    """The git commit of the dmilib checkout, or "unknown" outside a repository."""
    try:
        root = Path(__file__).resolve().parents[2]
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        commit = result.stdout.strip()
        if result.returncode == 0 and commit:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def create_or_open(path, config: DatasetConfig, *, overwrite: bool = False) -> zarr.Group:
    """Create the store for ``config`` or reopen a compatible one for resuming.

    Raises ValueError when ``path`` holds a store made with other parameters (or something
    that is not a dmilib store), unless ``overwrite`` is True, which deletes it first.
    """
    path = Path(path)
    if path.exists() and overwrite:
        shutil.rmtree(path)
    if path.exists():
        try:
            group = zarr.open_group(str(path), mode="r+")
        except Exception as error:  # not a Zarr group at all
            raise ValueError(f"{path} exists and is not a dmilib dataset store ({error}); "
                             "choose another --out or pass --overwrite") from error
        stored = group.attrs.get("parameters_hash")
        if stored is None:
            raise ValueError(f"{path} is a Zarr store without dmilib parameters; choose another --out or --overwrite")
        if group.attrs.get("config") is not None:
            # Recompute from the stored parameters, so a store stays resumable across
            # changes of the hashing itself.
            stored = config_from_dict(dict(group.attrs["config"])).parameters_hash()
        if stored != config.parameters_hash():
            raise ValueError(f"{path} was generated with different parameters (hash {stored[:12]} vs "
                             f"{config.parameters_hash()[:12]}); it is left untouched: choose another --out, "
                             "or pass --overwrite to replace it")
        return group
    return _create(path, config)


def _create(path: Path, config: DatasetConfig) -> zarr.Group:
    grid = config.grid()
    runs = config.runs()
    snapshots = config.snapshots_per_run
    total = len(runs) * snapshots
    tmp = path.with_name(path.name + ".creating")
    if tmp.exists():
        shutil.rmtree(tmp)
    group = zarr.open_group(str(tmp), mode="w")
    group.create_array("magnetization", shape=(total, 3, *grid.shape), chunks=(1, 3, *grid.shape),
                       dtype="float32", fill_value=0.0)
    labels = np.repeat([d for d, _ in runs], snapshots)
    tessellation = np.repeat([t for _, t in runs], snapshots).astype(np.int32)
    fields_hz = np.tile(np.asarray(config.protocol.snapshot_Hz_T), len(runs))
    per_sample = {
        "D_J_per_m2": labels.astype(np.float64),
        "Hz_T": fields_hz.astype(np.float64),
        "Hx_T": np.full(total, config.protocol.Hx_T),
        "tessellation": tessellation,
        "run": np.repeat(np.arange(len(runs)), snapshots).astype(np.int32),
    }
    for name, values in per_sample.items():
        group.create_array(name, data=values, chunks=(max(total, 1),))
    group.create_array("residual_T", shape=(total,), chunks=(snapshots,), dtype="float32", fill_value=np.nan)
    group.create_array("valid", shape=(total,), chunks=(snapshots,), dtype="bool", fill_value=False)
    group.create_array("run_status", shape=(len(runs),), chunks=(1,), dtype="int8", fill_value=PENDING)
    group.create_array("failure_reason", shape=(len(runs), REASON_BYTES), chunks=(1, REASON_BYTES), dtype="uint8",
                       fill_value=0)
    group.create_array("run_iterations", shape=(len(runs),), chunks=(1,), dtype="int64", fill_value=0)
    group.create_array("run_seconds", shape=(len(runs),), chunks=(1,), dtype="float32", fill_value=np.nan)
    group.create_array("mask", data=grid.mask)
    seeds = list(config.disorder.tessellation_seeds) if config.nonuniform_D_J_per_m2 else []
    ku = anisotropy_maps(config, seeds, grid).astype(np.float32) if seeds else np.zeros((0, *grid.shape), np.float32)
    group.create_array("ku_maps", data=ku, chunks=(1, *grid.shape))
    group.attrs.update({
        "config": config.to_dict(),
        "parameters_hash": config.parameters_hash(),
        "preset": config.preset,
        "dmilib_version": __version__,
        "git_commit": git_commit(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "layout": LAYOUT_VERSION,
        "cell_size_m": [grid.dx, grid.dy, grid.thickness_m],
        "tessellation_seeds": seeds,
        "snapshots_per_run": snapshots,
    })
    # Only a fully initialised store gets the final name, so a crash here leaves no
    # half-made store that a rerun would mistake for a compatible one.
    os.replace(tmp, path)
    return zarr.open_group(str(path), mode="r+")


def pending_runs(group: zarr.Group, *, retry_failed: bool = False) -> list[int]:
    """Runs still to do: pending ones, plus failed ones when ``retry_failed``."""
    status = group["run_status"][:]
    todo = status == PENDING
    if retry_failed:
        todo |= status == FAILED
    return [int(r) for r in np.flatnonzero(todo)]


def write_run(path, outcome: RunOutcome, snapshots_per_run: int) -> None:
    """Write one run's samples, then its flags, then mark it done or failed (in that order)."""
    group = zarr.open_group(str(path), mode="r+")
    start = outcome.run * snapshots_per_run
    block = slice(start, start + snapshots_per_run)
    if outcome.ok:
        group["magnetization"][block] = outcome.snapshots
    group["residual_T"][block] = outcome.residual_T
    group["valid"][block] = np.full(snapshots_per_run, outcome.ok)
    group["failure_reason"][outcome.run] = encode_reason(outcome.reason)
    group["run_iterations"][outcome.run] = outcome.iterations
    group["run_seconds"][outcome.run] = outcome.seconds
    group["run_status"][outcome.run] = DONE if outcome.ok else FAILED


class Dataset:
    """Read access to a dataset store (arrays load lazily from Zarr).

    Parameters
    ----------
    path : str or Path
        The store. Only JSON attributes and numeric arrays are read; nothing is unpickled.
    """

    def __init__(self, path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"dataset store {self.path} does not exist (generate it with `dmilib generate`)")
        self.group = zarr.open_group(str(self.path), mode="r")
        if "parameters_hash" not in self.group.attrs:
            raise ValueError(f"{self.path} is not a dmilib dataset store")
        config = self.group.attrs.get("config")
        #: The generating configuration; None for stores imported from other tools.
        self.config = None if config is None else config_from_dict(dict(config))
        self.mask = self.group["mask"][:]

    @property
    def grid(self):
        """The grid of the samples (disk mask and cell size from the store)."""
        from ..simulate.geometry import Grid

        dx, dy, dz = self.group.attrs["cell_size_m"]
        return Grid(self.mask.shape[1], self.mask.shape[0], (dx, dy), dz, self.mask.astype(bool))

    def __len__(self) -> int:
        return int(self.group["magnetization"].shape[0])

    @property
    def attrs(self) -> dict:
        return dict(self.group.attrs)

    def array(self, name: str) -> np.ndarray:
        return self.group[name][:]

    @property
    def valid(self) -> np.ndarray:
        return self.group["valid"][:]

    @property
    def run_status(self) -> np.ndarray:
        return self.group["run_status"][:]

    def magnetization(self, indices=None) -> np.ndarray:
        """Magnetization ``(n, 3, H, W)`` as float32 of the samples ``indices`` (default: all).

        Reduced copies store float16; they are widened here so callers see one dtype.
        """
        array = self.group["magnetization"]
        if indices is None:
            return array[:].astype(np.float32, copy=False)
        return np.stack([array[int(i)] for i in np.atleast_1d(indices)]).astype(np.float32, copy=False)

    def select(self, *, valid_only: bool = True, D=None, Hz_T=None, tessellation=None) -> np.ndarray:
        """Indices of samples matching the given label values (within 1e-9)."""
        keep = self.valid if valid_only else np.ones(len(self), bool)
        for name, value in (("D_J_per_m2", D), ("Hz_T", Hz_T), ("tessellation", tessellation)):
            if value is not None:
                keep &= np.isclose(self.array(name), value, rtol=0, atol=1e-9)
        return np.flatnonzero(keep)

    def failed_runs(self) -> dict[int, str]:
        """Run index -> reason, for every failed run."""
        status = self.run_status
        reasons = self.group["failure_reason"]
        return {int(r): decode_reason(reasons[int(r)]) for r in np.flatnonzero(status == FAILED)}

    def summary(self) -> dict:
        status = self.run_status
        return {
            "samples": len(self),
            "valid_samples": int(self.valid.sum()),
            "runs": int(status.size),
            "runs_done": int((status == DONE).sum()),
            "runs_failed": int((status == FAILED).sum()),
            "runs_pending": int((status == PENDING).sum()),
            "failed_runs": self.failed_runs(),
        }
