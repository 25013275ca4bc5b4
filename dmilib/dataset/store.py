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
``run_digest``         (R, 32) u1           SHA-256 of the run's magnetization, valid and
                                            residual_T values, written after them
``mask``               (H, W) bool          cells of the disk
``ku_maps``            (T, H, W) f4         Ku (J/m^3) of each tessellation in
                                            ``attrs["tessellation_seeds"]`` order
=====================  ===================  ==========================================

Attributes: ``config`` (every parameter), ``parameters_hash``, ``preset``, ``dmilib_version``,
``git_commit``, ``created``, ``layout`` (this table's version), ``cell_size_m``,
``tessellation_seeds``, ``snapshots_per_run``, and after a generation ``timing``.

A run's samples are written before its ``valid`` flags, its digest and its ``run_status``; a
run is "done" only once its status chunk is written, so an interruption at any moment leaves
at worst a pending run whose samples are rewritten on resume. Magnetization chunks carry a
CRC-32C checksum (a standard Zarr v3 codec) and every finished run a SHA-256 digest: a
deleted, truncated or altered chunk is reported by run (:func:`damaged_runs`) and the same
``dmilib generate`` command recomputes it, instead of a missing chunk reading as zeros.

One process writes a store at a time: :func:`writer_lock` holds ``<store>.lock`` (beside the
store, an OS lock released when the process ends, even by kill -9) and records the owner's
pid and host in ``<store>.lock.owner`` for the message a second writer gets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil
import socket
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
DIGEST_BYTES = 32


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """One array of the store layout (the table in this module's docstring).

    ``axes`` names the leading axis ``N`` (samples), ``R`` (runs) or ``T`` (tessellations)
    and then fixed sizes or the grid's ``H``, ``W``; ``chunk`` is the chunk length along the
    leading axis: ``1``, ``"S"`` (one run's snapshots) or ``"all"``. ``fill`` is the value of
    an unwritten entry; ``None`` marks arrays every store must be given.
    """

    axes: tuple
    dtype: str
    fill: object = None
    chunk: object = "all"


#: The arrays of a store, in the order they are created.
LAYOUT = {
    "magnetization": ArraySpec(("N", 3, "H", "W"), "float32", 0.0, 1),
    "D_J_per_m2": ArraySpec(("N",), "float64"),
    "Hz_T": ArraySpec(("N",), "float64"),
    "Hx_T": ArraySpec(("N",), "float64"),
    "tessellation": ArraySpec(("N",), "int32"),
    "run": ArraySpec(("N",), "int32"),
    "residual_T": ArraySpec(("N",), "float32", np.nan, "S"),
    "valid": ArraySpec(("N",), "bool", False, "S"),
    "run_status": ArraySpec(("R",), "int8", PENDING, 1),
    "failure_reason": ArraySpec(("R", REASON_BYTES), "uint8", 0, 1),
    "run_iterations": ArraySpec(("R",), "int64", 0, 1),
    "run_seconds": ArraySpec(("R",), "float32", np.nan, 1),
    "run_digest": ArraySpec(("R", DIGEST_BYTES), "uint8", 0, 1),
    "mask": ArraySpec(("H", "W"), "bool"),
    "ku_maps": ArraySpec(("T", "H", "W"), "float32", chunk=1),
}

# zstd as zarr's default, plus a CRC-32C per chunk so that a damaged chunk fails to read.
_MAGNETIZATION_CODECS = (zarr.codecs.ZstdCodec(level=0, checksum=False), zarr.codecs.Crc32cCodec())


def write_layout(path, *, snapshots_per_run: int, cell_size_m, values: dict, attrs: dict,
                 magnetization_dtype: str = "float32") -> zarr.Group:
    """Create a store at ``path`` with every array of :data:`LAYOUT`; the one store writer.

    ``values`` holds the arrays known now (the labels, the mask and ``ku_maps`` are
    required; the magnetization may be written later, e.g. block by block); the others get
    their fill value. ``attrs`` joins the provenance every store carries (version, commit,
    creation time, layout, cell size, snapshots per run). Generated stores start pending and
    finish run by run (:func:`write_run`); complete stores (imported, reduced, tests) fill
    every sample and then call :func:`record_digests`.
    """
    missing = [name for name, spec in LAYOUT.items() if spec.fill is None and name not in values]
    if missing:
        raise ValueError(f"write_layout needs the array(s) {missing}")
    unknown = sorted(set(values) - set(LAYOUT))
    if unknown:
        raise ValueError(f"write_layout: {unknown} are not arrays of the store layout {list(LAYOUT)}")
    mask = np.asarray(values["mask"], bool)
    samples = len(values["D_J_per_m2"])
    snapshots = int(snapshots_per_run)
    if snapshots < 1 or samples % snapshots:
        raise ValueError(f"snapshots_per_run must divide the {samples} samples, got {snapshots_per_run}")
    sizes = {"N": samples, "R": samples // snapshots, "T": len(values["ku_maps"]), "H": mask.shape[0],
             "W": mask.shape[1], "S": snapshots}
    group = zarr.open_group(str(path), mode="w")
    for name, spec in LAYOUT.items():
        shape = tuple(sizes.get(axis, axis) for axis in spec.axes)
        chunks = shape
        if spec.axes[0] in ("N", "R", "T"):
            chunks = (max(1, shape[0] if spec.chunk == "all" else sizes.get(spec.chunk, spec.chunk)), *shape[1:])
        dtype = magnetization_dtype if name == "magnetization" else spec.dtype
        extra = {"compressors": list(_MAGNETIZATION_CODECS)} if name == "magnetization" else {}
        if name in values:
            data = np.asarray(values[name], dtype)
            if data.shape != shape:
                raise ValueError(f"write_layout: {name} has shape {data.shape}, the layout needs {shape}")
            group.create_array(name, data=data, chunks=chunks, **extra)
        else:
            group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=spec.fill, **extra)
    group.attrs.update({
        "dmilib_version": __version__,
        "git_commit": git_commit(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "layout": LAYOUT_VERSION,
        "cell_size_m": [float(c) for c in cell_size_m],
        "snapshots_per_run": snapshots,
        **attrs,
    })
    return group


class StoreBusyError(ValueError):
    """Another process holds the writer lock of a store or run folder."""


def _owner_text(owner_path: Path) -> str:
    try:
        owner = json.loads(owner_path.read_text())
        return f"pid {owner['pid']} on host {owner['host']}, since {owner['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "owner not recorded"


@contextlib.contextmanager
def writer_lock(path, what: str = "store"):
    """Hold the writer lock of ``path`` (a store or a run folder) for the ``with`` block.

    The lock is ``<path>.lock`` beside ``path`` (an OS file lock via ``filelock``: the
    operating system releases it when the holder ends, so a killed writer leaves no stale
    lock); the holder's pid, host and start time go to ``<path>.lock.owner``. Raises
    :class:`StoreBusyError` (a ValueError) at once when another process holds it.
    """
    from filelock import FileLock, Timeout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    owner_path = path.with_name(path.name + ".lock.owner")
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise StoreBusyError(f"another process is writing {what} {path} ({_owner_text(owner_path)}); wait for it "
                             "to finish (or stop it), then rerun this command") from None
    try:
        owner = {"pid": os.getpid(), "host": socket.gethostname(),
                 "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        owner_path.write_text(json.dumps(owner) + "\n")
        yield
    finally:
        with contextlib.suppress(OSError):
            owner_path.unlink()
        lock.release()


def is_dmilib_store(path) -> bool:
    """True when ``path`` is a folder holding a dmilib dataset store (a Zarr group with its attributes).

    Only ``zarr.json`` is read, as JSON; nothing else of the folder is touched.
    """
    path = Path(path)
    meta = path / "zarr.json"
    if not (path.is_dir() and meta.is_file()):
        return False
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    attrs = data.get("attributes") if isinstance(data, dict) else None
    return data.get("node_type") == "group" and isinstance(attrs, dict) and "parameters_hash" in attrs


def check_replaceable(path) -> None:
    """Raise ValueError unless ``path`` is absent or a dmilib store (the only thing dmilib replaces)."""
    path = Path(path)
    if path.exists() and not is_dmilib_store(path):
        kind = "a file" if path.is_file() else "a folder" if path.is_dir() else "something"
        raise ValueError(f"{path} exists and is {kind}, not a dmilib dataset store; dmilib replaces only its own "
                         "stores (--overwrite): choose another --out, or move it away yourself")


def remove_scratch(path) -> None:
    """Delete a half-made store dmilib left (``<store>.creating`` / ``.new``); refuse anything else."""
    path = Path(path)
    if not path.exists():
        return
    if path.is_dir() and (path / "zarr.json").is_file():
        shutil.rmtree(path)
        return
    raise ValueError(f"{path} is in the way and is not a Zarr store dmilib left behind; move it away yourself")


def swap_in(new, out) -> None:
    """Move the complete store ``new`` to ``out``, replacing the dmilib store there (if any).

    The old store is deleted only after the new one has its name.
    """
    new, out = Path(new), Path(out)
    if not out.exists():
        os.replace(new, out)
        return
    check_replaceable(out)
    old = out.with_name(out.name + ".replaced")
    remove_scratch(old)
    os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old)


def run_digest(magnetization: np.ndarray, valid: np.ndarray, residual_T: np.ndarray, dtype) -> np.ndarray:
    """SHA-256 of a run's stored values as 32 uint8 (magnetization in the store's dtype)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(magnetization, dtype=np.dtype(dtype).newbyteorder("<")).tobytes())
    digest.update(np.ascontiguousarray(valid, dtype=bool).tobytes())
    digest.update(np.ascontiguousarray(residual_T, dtype="<f4").tobytes())
    return np.frombuffer(digest.digest(), np.uint8).copy()


def record_digests(group: zarr.Group) -> None:
    """Write ``run_digest`` of every run from the stored values (complete stores: imported, reduced)."""
    runs = group["run_status"].shape[0]
    snapshots = int(group.attrs["snapshots_per_run"])
    digests = np.zeros((runs, DIGEST_BYTES), np.uint8)
    for run in range(runs):
        block = slice(run * snapshots, (run + 1) * snapshots)
        digests[run] = run_digest(group["magnetization"][block], group["valid"][block], group["residual_T"][block],
                                  group["magnetization"].dtype)
    group["run_digest"][:] = digests


def damaged_runs(group: zarr.Group) -> dict[int, str]:
    """Finished runs whose stored values do not match what was written: run -> reason.

    Reads every finished run once. With ``run_digest`` (stores of this version) the run's
    values must hash to it; older stores are checked for unreadable chunks and for valid
    samples that read as all zeros (a deleted chunk reads as the fill value).
    """
    status = group["run_status"][:]
    snapshots = int(group.attrs["snapshots_per_run"])
    digests = group["run_digest"][:] if "run_digest" in group.array_keys() else None
    magnetization = group["magnetization"]
    damaged = {}
    for run in np.flatnonzero(status != PENDING):
        run = int(run)
        block = slice(run * snapshots, (run + 1) * snapshots)
        try:
            m, valid, residual = magnetization[block], group["valid"][block], group["residual_T"][block]
        except Exception as error:  # a damaged chunk fails in the codec (zstd, crc32c), with many types
            damaged[run] = f"a chunk cannot be read ({type(error).__name__}: {error})"
            continue
        if digests is not None:
            if not np.array_equal(run_digest(m, valid, residual, magnetization.dtype), digests[run]):
                damaged[run] = "its data differ from the digest written with them (a chunk was deleted or altered)"
        elif np.any(valid & ~np.any(m.reshape(snapshots, -1) != 0, axis=1)):
            damaged[run] = "a valid sample reads as all zeros (its chunk is missing)"
    return damaged


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

    Raises ValueError when ``path`` holds a store made with other parameters, unless
    ``overwrite`` is True, which deletes it first; anything that is not a dmilib store is
    never deleted (ValueError). :func:`dmilib.dataset.generate` instead builds a replacement
    beside the old store and swaps it in once complete.
    """
    path = Path(path)
    if path.exists() and overwrite:
        check_replaceable(path)
        shutil.rmtree(path)
    if path.exists():
        if not is_dmilib_store(path):
            check_replaceable(path)
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
    remove_scratch(tmp)
    labels = np.repeat([d for d, _ in runs], snapshots)
    tessellation = np.repeat([t for _, t in runs], snapshots).astype(np.int32)
    fields_hz = np.tile(np.asarray(config.protocol.snapshot_Hz_T), len(runs))
    seeds = list(config.disorder.tessellation_seeds) if config.nonuniform_D_J_per_m2 else []
    ku = anisotropy_maps(config, seeds, grid).astype(np.float32) if seeds else np.zeros((0, *grid.shape), np.float32)
    values = {
        "D_J_per_m2": labels.astype(np.float64),
        "Hz_T": fields_hz.astype(np.float64),
        "Hx_T": np.full(total, config.protocol.Hx_T),
        "tessellation": tessellation,
        "run": np.repeat(np.arange(len(runs)), snapshots).astype(np.int32),
        "mask": grid.mask,
        "ku_maps": ku,
    }
    write_layout(tmp, snapshots_per_run=snapshots, cell_size_m=(grid.dx, grid.dy, grid.thickness_m), values=values,
                 attrs={"config": config.to_dict(), "parameters_hash": config.parameters_hash(),
                        "preset": config.preset, "tessellation_seeds": seeds})
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
    """Write one run's samples, then its flags and digest, then mark it done or failed (in that order)."""
    group = zarr.open_group(str(path), mode="r+")
    start = outcome.run * snapshots_per_run
    block = slice(start, start + snapshots_per_run)
    array = group["magnetization"]
    if outcome.ok:
        m = np.asarray(outcome.snapshots)
    else:
        # Zeros (the fill value: no chunk is stored) also clear what an attempt interrupted
        # before its status left, so the digest below describes the stored block.
        m = np.zeros((snapshots_per_run, *array.shape[1:]), array.dtype)
    valid = np.full(snapshots_per_run, outcome.ok)
    residual = np.broadcast_to(np.asarray(outcome.residual_T, np.float32), (snapshots_per_run,))
    array[block] = m
    group["residual_T"][block] = residual
    group["valid"][block] = valid
    group["failure_reason"][outcome.run] = encode_reason(outcome.reason)
    group["run_iterations"][outcome.run] = outcome.iterations
    group["run_seconds"][outcome.run] = outcome.seconds
    if "run_digest" in group.array_keys():
        group["run_digest"][outcome.run] = run_digest(m, valid, residual, array.dtype)
    group["run_status"][outcome.run] = DONE if outcome.ok else FAILED


# Distances below this count as ties when choosing the nearest stored label.
_TIE = 1e-12


def _finite(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _nearest(candidates: np.ndarray, target: float) -> float:
    """The candidate value nearest ``target``; ties go to the larger magnitude."""
    unique = np.unique(candidates)
    unique = unique[np.argsort(-np.abs(unique), kind="stable")]
    distance = np.abs(unique - target)
    best = distance.min()
    return float(unique[np.flatnonzero(distance <= best + _TIE)[0]])


def _nearest_within(candidates: np.ndarray, target: float, tolerance: float, show) -> tuple[float | None, str]:
    """``(nearest value, "")``, or ``(None, the stored values as text)`` when it is farther than ``tolerance``."""
    found = _nearest(candidates, target)
    if abs(found - target) <= tolerance:
        return found, ""
    return None, ", ".join(show(value) for value in np.unique(candidates))


def _mJ(d: float) -> str:
    return f"{d * 1e3:.2f}"


def _mT(h: float) -> str:
    return f"{round(h * 1e3, 4):g}"


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
        if not is_dmilib_store(self.path):
            raise ValueError(f"{self.path} is not a dmilib dataset store (no Zarr group with dmilib attributes)")
        try:
            self.group = zarr.open_group(str(self.path), mode="r")
        except Exception as error:  # zarr reports a damaged store with many exception types
            raise ValueError(f"dataset store {self.path} cannot be opened ({type(error).__name__}: {error})") from error
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

    def _damaged(self, index: int, why: str) -> ValueError:
        snapshots = int(self.group.attrs.get("snapshots_per_run", 1))
        return ValueError(f"dataset store {self.path}: sample {index} (run {index // snapshots}) {why}; the store is "
                          "damaged: rerun the same `dmilib generate` command to recompute the run (imported or "
                          "reduced stores: make them again)")

    def _read(self, index: int) -> np.ndarray:
        try:
            return self.group["magnetization"][index]
        except Exception as error:  # zstd / crc32c report a damaged chunk with many exception types
            raise self._damaged(index, f"cannot be read ({type(error).__name__}: {error})") from error

    def magnetization(self, indices=None) -> np.ndarray:
        """Magnetization ``(n, 3, H, W)`` as float32 of the samples ``indices`` (default: all).

        Reduced copies store float16; they are widened here so callers see one dtype.
        Raises ValueError naming the sample and its run for a chunk that cannot be read or a
        valid sample that reads as all zeros (its chunk was deleted).
        """
        array = self.group["magnetization"]
        if indices is None:
            indices = np.arange(len(self))
            try:
                out = array[:].astype(np.float32, copy=False)
            except Exception:
                out = np.stack([self._read(int(i)) for i in indices]).astype(np.float32, copy=False)
        else:
            indices = np.atleast_1d(indices)
            out = np.stack([self._read(int(i)) for i in indices]).astype(np.float32, copy=False)
        valid = self.valid[indices] if len(indices) else np.zeros(0, bool)
        empty = valid & ~np.any(out.reshape(len(out), -1) != 0, axis=1)
        if np.any(empty):
            raise self._damaged(int(np.asarray(indices)[np.argmax(empty)]), "is marked valid but reads as all zeros "
                                "(its chunk is missing)")
        return out

    def damaged_runs(self) -> dict[int, str]:
        """Finished runs whose stored data are damaged: run -> reason (see :func:`damaged_runs`)."""
        return damaged_runs(self.group)

    def select(self, *, valid_only: bool = True, D=None, Hz_T=None, tessellation=None) -> np.ndarray:
        """Indices of all samples matching the given label values (within 1e-9); see :meth:`find` for one."""
        keep = self.valid if valid_only else np.ones(len(self), bool)
        for name, value in (("D_J_per_m2", D), ("Hz_T", Hz_T), ("tessellation", tessellation)):
            if value is not None:
                keep &= np.isclose(self.array(name), value, rtol=0, atol=1e-9)
        return np.flatnonzero(keep)

    def find(self, D: float, Hz_T: float, tessellation: int, *, D_tolerance_J_per_m2: float = 0.1e-3,
             Hz_tolerance_T: float = 1e-3) -> int:
        """Index of the valid sample nearest the requested labels (``D`` first, then ``Hz``).

        The one label lookup of dmilib (figures, explorer). ``D`` in J/m^2 and ``Hz_T`` in
        tesla may be off the stored values by at most the tolerances; ``tessellation`` (-1:
        uniform film) is matched exactly. Ties in distance go to the value of larger
        magnitude; of several samples with the chosen labels (none in a generated store), the
        first. Raises ValueError naming the field and the stored values when nothing is near.
        """
        D = _finite("D", D)
        Hz_T = _finite("Hz_T", Hz_T)
        if isinstance(tessellation, bool) or not isinstance(tessellation, (int, np.integer)):
            raise ValueError(f"tessellation must be an integer seed (-1: uniform film), got {tessellation!r}")
        labels = {name: self.array(name) for name in ("D_J_per_m2", "Hz_T", "tessellation")}
        pool = self.valid & (labels["tessellation"] == int(tessellation))
        film = "the uniform film" if int(tessellation) < 0 else f"tessellation {int(tessellation)}"
        if not pool.any():
            raise ValueError(f"tessellation: the dataset has no valid sample of {film}")
        d_found, stored = _nearest_within(labels["D_J_per_m2"][pool], D, D_tolerance_J_per_m2, _mJ)
        if d_found is None:
            raise ValueError(f"D: no valid sample near D = {_mJ(D)} mJ/m² (within {_mJ(D_tolerance_J_per_m2)} "
                             f"mJ/m²) for {film}; valid samples have D = {stored} mJ/m²")
        pool &= np.isclose(labels["D_J_per_m2"], d_found, rtol=0, atol=_TIE)
        hz_found, stored = _nearest_within(labels["Hz_T"][pool], Hz_T, Hz_tolerance_T, _mT)
        if hz_found is None:
            raise ValueError(f"Hz_T: no valid sample near Hz = {_mT(Hz_T)} mT (within {_mT(Hz_tolerance_T)} mT) at "
                             f"D = {_mJ(d_found)} mJ/m² for {film}; valid samples there have Hz = {stored} mT")
        pool &= np.isclose(labels["Hz_T"], hz_found, rtol=0, atol=_TIE)
        return int(np.flatnonzero(pool)[0])

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
