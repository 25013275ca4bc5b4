"""Exchange with other tools: OVF 2.0 (mumax3, OOMMF, Ubermag) and the study's text format.

* :func:`export_samples` writes stored samples as ``.ovf`` or ``.txt`` files, labels in the
  file (OVF ``Desc`` lines / text header).
* :func:`import_ovf` turns OVF snapshots made elsewhere (e.g. mumax3 ``m`` files) into a
  dataset store with the same layout as a generated one, so that the learning code can use
  them. The labels come from a manifest (CSV: ``path,D_J_per_m2,Hz_T,Hx_T[,tessellation]``).
"""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import numpy as np

from .ovf import read_ovf, write_ovf
from .store import DONE, Dataset, check_replaceable, record_digests, remove_scratch, swap_in, write_layout, writer_lock
from .textformat import write_snapshot_text

EXPORT_FORMATS = ("ovf", "text")

#: Allowed label ranges of an import manifest: ``(low, high, unit)``. |D| of real films is a
#: few mJ/m^2 and bubble fields are mT, so a value outside is a unit slip, not a measurement.
LABEL_RANGES = {"D_J_per_m2": (-0.01, 0.01, "J/m^2"), "Hz_T": (-1.0, 1.0, "T"), "Hx_T": (-1.0, 1.0, "T")}


def _label_metadata(dataset: Dataset, index: int) -> dict:
    return {
        "sample": int(index),
        "D_J_per_m2": float(dataset.array("D_J_per_m2")[index]),
        "Hz_T": float(dataset.array("Hz_T")[index]),
        "Hx_T": float(dataset.array("Hx_T")[index]),
        "tessellation": int(dataset.array("tessellation")[index]),
        "run": int(dataset.array("run")[index]),
    }


def export_samples(dataset: Dataset, out_dir, fmt: str = "ovf", indices=None) -> list[Path]:
    """Write samples (default: every valid one) as OVF 2.0 (binary 4) or text files.

    Returns the written paths, named ``sample_00012.ovf`` (or ``.txt``).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"fmt must be one of {EXPORT_FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    indices = np.flatnonzero(dataset.valid) if indices is None else np.atleast_1d(indices)
    grid = dataset.grid
    paths = []
    for index in indices:
        index = int(index)
        if not 0 <= index < len(dataset):
            raise ValueError(f"sample index must be in [0, {len(dataset)}), got {index}")
        m = dataset.magnetization(index)[0]
        metadata = _label_metadata(dataset, index)
        if fmt == "ovf":
            path = out_dir / f"sample_{index:05d}.ovf"
            write_ovf(path, m, (grid.dx, grid.dy, grid.thickness_m), title="m", extra_header=metadata)
        else:
            path = out_dir / f"sample_{index:05d}.txt"
            write_snapshot_text(path, m, grid, metadata)
        paths.append(path)
    return paths


def read_manifest(path) -> list[dict]:
    """Rows of a CSV manifest with columns ``path,D_J_per_m2,Hz_T,Hx_T[,tessellation]``.

    Relative paths are taken relative to the manifest's folder. Every listed file must
    exist, labels must be finite and within :data:`LABEL_RANGES`, ``tessellation`` an
    integer >= -1 (-1: uniform film); errors name the manifest and its line.
    """
    path = Path(path)
    try:
        rows = _read_manifest_rows(path)
    except OSError as error:
        raise ValueError(f"manifest {path}: cannot read it ({error.strerror or error})") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"manifest {path}: not a readable CSV file ({error})") from error
    if not rows:
        raise ValueError(f"{path}: the manifest lists no file")
    return rows


def _read_manifest_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        required = {"path", "D_J_per_m2", "Hz_T", "Hx_T"}
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: manifest lacks the column(s) {sorted(missing)} (needs {sorted(required)})")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append({
                    "path": (path.parent / row["path"]).resolve(),
                    "D_J_per_m2": float(row["D_J_per_m2"]),
                    "Hz_T": float(row["Hz_T"]),
                    "Hx_T": float(row["Hx_T"]),
                    "tessellation": int(row.get("tessellation") or -1),
                })
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path}, line {line}: {error}") from error
            row = rows[-1]
            for name, (low, high, unit) in LABEL_RANGES.items():
                if not (math.isfinite(row[name]) and low <= row[name] <= high):
                    raise ValueError(f"{path}, line {line}: {name} must be a finite number in [{low:g}, {high:g}] "
                                     f"{unit}, got {row[name]!r}")
            if row["tessellation"] < -1:
                raise ValueError(f"{path}, line {line}: tessellation must be an integer >= -1 (-1: uniform film), "
                                 f"got {row['tessellation']}")
            if not row["path"].is_file():
                raise ValueError(f"{path}, line {line}: file {row['path']} does not exist")
    return rows


def _layer(data, layer, source) -> np.ndarray:
    nz = data.m.shape[1]
    if layer is None:
        if nz != 1:
            raise ValueError(f"{source}: the OVF file has {nz} layers; choose one (layer=k, CLI --layer k, 0 = "
                             "bottom) or their average (layer='mean', CLI --layer mean)")
        return data.m[:, 0]
    if layer == "mean":
        return data.m.mean(axis=1)
    try:
        return data.layer(layer)
    except ValueError as error:
        raise ValueError(f"{source}: layer {error}") from error


def import_ovf(rows: list[dict], out, *, overwrite: bool = False, layer: int | str | None = None) -> Dataset:
    """Create a dataset store from OVF snapshots and their labels.

    Every file must hold the same mesh. A multi-layer file is refused unless ``layer``
    picks one layer (an index, 0 = bottom) or ``"mean"`` (the average over the layers);
    the film thickness recorded (``cell_size_m[2]``) is that of the whole mesh, ``nz * dz``,
    and ``attrs["ovf_layers"]`` records the layer count and choice. The mask is the set of
    cells with non-zero magnetization in the first file. Each file becomes one valid sample
    of its own run. Vectors are normalized inside the mask; a file with NaN, a different
    mesh, or a cell whose |m| is not within 1 % of 1 inside the mask is refused with
    ValueError (naming the file) before anything is written. ``overwrite`` replaces only a
    dmilib store, and only once the new one is complete.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise ValueError(f"{out} exists; choose another output or pass overwrite=True (--overwrite)")
    check_replaceable(out)
    if layer is not None and layer != "mean" and not (isinstance(layer, (int, np.integer))
                                                     and not isinstance(layer, bool) and layer >= 0):
        raise ValueError(f"layer must be None, an index >= 0 or 'mean', got {layer!r}")
    arrays, cell, layers = [], None, None
    digest = hashlib.sha256()
    for row in rows:
        source = str(row["path"])
        try:
            data = read_ovf(row["path"])
        except OSError as error:
            raise ValueError(f"{source}: cannot read the file ({error.strerror or error})") from error
        m = _layer(data, layer, source)
        if layers is None:
            layers = data.m.shape[1]
        elif data.m.shape[1] != layers:
            raise ValueError(f"{source}: {data.m.shape[1]} layers, the first file has {layers}")
        if cell is None:
            cell, shape = data.cell_size_m, m.shape
            mask = np.linalg.norm(m, axis=0) > 0
            if not mask.any():
                raise ValueError(f"{row['path']}: all vectors are zero, no magnetic cell")
        elif m.shape != shape or not np.allclose(data.cell_size_m, cell, rtol=1e-9):
            raise ValueError(f"{row['path']}: mesh {m.shape[1:]} x {data.cell_size_m} differs from the first "
                             f"file's {shape[1:]} x {cell}")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"{row['path']}: contains NaN or infinite values")
        norm = np.linalg.norm(m, axis=0)
        if np.any(np.abs(norm[mask] - 1) > 0.01):
            raise ValueError(f"{row['path']}: |m| is not 1 inside the magnet (reduced magnetization expected)")
        arrays.append((m / np.where(norm > 0, norm, 1) * mask).astype(np.float32))
        digest.update(arrays[-1].tobytes())
    total = len(arrays)
    with writer_lock(out, "the dataset store"):
        tmp = out.with_name(out.name + ".creating")
        remove_scratch(tmp)
        _write_imported(tmp, rows, arrays, mask, cell, layers, layer, digest)
        swap_in(tmp, out)
    return Dataset(out)


def _write_imported(tmp, rows, arrays, mask, cell, layers, layer, digest) -> None:
    total = len(arrays)
    values = {name: np.array([r[name] for r in rows], np.float64) for name in ("D_J_per_m2", "Hz_T", "Hx_T")}
    values.update({
        "magnetization": np.stack(arrays),
        "tessellation": np.array([r["tessellation"] for r in rows], np.int32),
        "run": np.arange(total, dtype=np.int32),
        "valid": np.ones(total, bool),
        "run_status": np.full(total, DONE, np.int8),
        "mask": mask,
        "ku_maps": np.zeros((0, *mask.shape), np.float32),
    })
    group = write_layout(tmp, snapshots_per_run=1, cell_size_m=(cell[0], cell[1], float(cell[2]) * layers),
                         values=values, attrs={
                             "config": None,
                             "origin": "imported from OVF",
                             "sources": [str(r["path"]) for r in rows],
                             "parameters_hash": digest.hexdigest(),
                             "preset": "imported",
                             "ovf_layers": {"count": int(layers),
                                            "used": "single" if layer is None else layer if layer == "mean"
                                            else int(layer),
                                            "layer_thickness_m": float(cell[2])},
                             "tessellation_seeds": [],
                         })
    record_digests(group)
