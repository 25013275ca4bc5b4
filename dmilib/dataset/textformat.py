"""The dataset's plain-text snapshot format.

The study stores each equilibrium configuration as a whitespace-separated text file but
does not give its layout; this is ours. A file looks like::

    # dmilib snapshot text format = 1
    # dmilib_version = '0.1.0'
    # nx = 530
    # ny = 530
    # dx_m = 1.5e-09
    # dy_m = 1.5e-09
    # thickness_m = 1.2e-08
    # D_J_per_m2 = 0.0005
    # Hz_T = -0.006
    # Hx_T = 0.1
    # tessellation = 3
    # run = 'main'
    # columns = x_m y_m mx my mz
    3.9675000e-07 7.5000000e-10 1.2345678e-02 -3.4567890e-03 -9.9991770e-01
    ...

Header lines start with ``"# "`` and hold ``key = value`` metadata. Values are Python
literals: integers and floats as written by ``repr`` (floats round-trip exactly),
strings in single quotes, ``True``/``False`` and ``None``. The file-level keys (format,
``dmilib_version``, ``nx``, ``ny``, ``dx_m``, ``dy_m``, ``thickness_m``, ``columns``) are
written by :func:`write_snapshot_text`; the snapshot's physical labels (by convention
``D_J_per_m2``, ``Hz_T``, ``Hx_T``, ``tessellation``, ``run``) come from the caller.

The body has one row per cell inside the film's mask, ``x_m y_m mx my mz``: the cell
centre in metres (cell ``(j, i)`` at ``((i + 1/2) dx, (j + 1/2) dy)``) and the reduced
magnetization, each printed with ``%.7e`` (8 significant digits). Rows are in C order,
y outer and x inner. ``numpy.loadtxt(path)`` returns the body as an ``(N, 5)`` array
since it skips the ``#`` lines.
"""

from __future__ import annotations

import ast
import math
import os
import re

import numpy as np

from dmilib import __version__
from dmilib.simulate.geometry import Grid

FORMAT_VERSION = 1
COLUMNS = "x_m y_m mx my mz"

_FORMAT_KEY = "dmilib snapshot text format"
_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Keys describing the file and the grid, set by the writer rather than the caller.
_RESERVED_KEYS = ("dmilib_version", "nx", "ny", "dx_m", "dy_m", "thickness_m", "columns")


def write_snapshot_text(path: str | os.PathLike, m: np.ndarray, grid: Grid, metadata: dict) -> None:
    """Write one magnetization snapshot in the dataset's text format.

    Parameters
    ----------
    path : str or path-like
        File to create (overwritten if present).
    m : numpy.ndarray, shape ``(3, ny, nx)``
        Reduced magnetization on ``grid``; only cells inside ``grid.mask`` are written.
    grid : Grid
        The simulation grid (sets ``nx``, ``ny``, ``dx_m``, ``dy_m``, ``thickness_m``).
    metadata : dict
        Snapshot labels, e.g. ``{"D_J_per_m2": 5e-4, "Hz_T": -6e-3, "Hx_T": 0.1,
        "tessellation": 3, "run": "main"}``. Keys are identifiers (letters, digits, ``_``);
        values are ``int``, ``float``, ``bool``, ``str`` (single line) or ``None``.
        A key the writer sets itself may be given only with the same value.
    """
    values = np.asarray(m, dtype=np.float64)
    if values.shape != (3,) + grid.shape:
        raise ValueError(f"m must have shape (3, ny, nx) = {(3,) + grid.shape}, got {np.shape(m)}")
    if not np.all(np.isfinite(values[:, grid.mask])):
        raise ValueError("m must be finite inside the mask")
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict, got {type(metadata).__name__}")
    header = {
        "dmilib_version": __version__,
        "nx": int(grid.nx),
        "ny": int(grid.ny),
        "dx_m": float(grid.dx),
        "dy_m": float(grid.dy),
        "thickness_m": float(grid.thickness_m),
    }
    for key, value in metadata.items():
        value = _plain_value(key, value)
        if key in _RESERVED_KEYS:
            expected = COLUMNS if key == "columns" else header[key]
            if value != expected:
                raise ValueError(f"metadata[{key!r}] is set by the writer to {expected!r}, got {value!r}")
            continue
        header[key] = value
    lines = [f"{_FORMAT_KEY} = {FORMAT_VERSION}"]
    lines += [f"{key} = {value!r}" for key, value in header.items()]
    lines.append(f"columns = {COLUMNS}")

    x, y = grid.cell_centres_m()
    mask = grid.mask
    # Boolean indexing walks the mask in C order: y outer, x inner.
    table = np.column_stack([x[mask], y[mask], values[0][mask], values[1][mask], values[2][mask]])
    np.savetxt(path, table, fmt="%.7e", header="\n".join(lines), comments="# ")


def read_snapshot_text(path: str | os.PathLike, grid: Grid | None = None) -> tuple[np.ndarray, dict]:
    """Read a snapshot written by :func:`write_snapshot_text`.

    Parameters
    ----------
    path : str or path-like
        The file.
    grid : Grid, optional
        Grid to place the cells on. Must agree with the file's ``nx``, ``ny``, ``dx_m``,
        ``dy_m`` and its mask must be exactly the cells in the file. ``None`` builds the
        rectangle from the metadata.

    Returns
    -------
    m : numpy.ndarray of float64, shape ``(3, ny, nx)``
        Reduced magnetization; cells absent from the file are zero.
    metadata : dict
        Every header key with its value (including the writer's ``nx``, ``ny``, ``dx_m``,
        ``dy_m``, ``thickness_m``, ``dmilib_version``), except the format and column lines.
    """
    metadata, format_version = _read_header(path)
    if format_version != FORMAT_VERSION:
        raise ValueError(f"unsupported snapshot format version {format_version!r}, this reader knows {FORMAT_VERSION}")
    for key in ("nx", "ny", "dx_m", "dy_m"):
        if key not in metadata:
            raise ValueError(f"snapshot header lacks {key!r}")
    nx, ny = metadata["nx"], metadata["ny"]
    dx, dy = float(metadata["dx_m"]), float(metadata["dy_m"])
    if grid is not None:
        if (grid.nx, grid.ny) != (nx, ny) or not (math.isclose(grid.dx, dx) and math.isclose(grid.dy, dy)):
            raise ValueError(
                f"grid ({grid.nx} x {grid.ny}, {grid.dx!r} x {grid.dy!r} m) does not match the file "
                f"({nx} x {ny}, {dx!r} x {dy!r} m)"
            )

    table = np.loadtxt(path, dtype=np.float64, ndmin=2)
    if table.shape[1:] != (5,):
        raise ValueError(f"snapshot body must have 5 columns ({COLUMNS}), got shape {table.shape}")
    # Cell centres sit at (i + 1/2) dx: rounding recovers the index despite the 8 digits.
    i_float = table[:, 0] / dx - 0.5
    j_float = table[:, 1] / dy - 0.5
    i = np.rint(i_float).astype(np.int64)
    j = np.rint(j_float).astype(np.int64)
    if np.any(np.abs(i_float - i) > 1e-3) or np.any(np.abs(j_float - j) > 1e-3):
        raise ValueError("snapshot rows have x_m, y_m that are not cell centres of the grid")
    if np.any((i < 0) | (i >= nx) | (j < 0) | (j >= ny)):
        raise ValueError(f"snapshot rows lie outside the {nx} x {ny} grid")
    present = np.zeros((ny, nx), dtype=bool)
    present[j, i] = True
    if present.sum() != len(table):
        raise ValueError("snapshot has more than one row for the same cell")
    if grid is not None and not np.array_equal(present, grid.mask):
        raise ValueError("cells in the snapshot differ from the grid's mask")
    m = np.zeros((3, ny, nx))
    m[:, j, i] = table[:, 2:].T
    return m, metadata


def _plain_value(key: object, value: object) -> object:
    """The value as a plain Python literal, or ValueError naming the key."""
    if not (isinstance(key, str) and _KEY_PATTERN.match(key)):
        raise ValueError(f"metadata keys must be identifiers (letters, digits, '_'), got {key!r}")
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise ValueError(f"metadata[{key!r}] must be a single-line string, got {value!r}")
        return value
    raise ValueError(f"metadata[{key!r}] must be int, float, bool, str or None, got {type(value).__name__}")


def _read_header(path: str | os.PathLike) -> tuple[dict, object]:
    """Metadata dict and format version from the leading ``# key = value`` lines."""
    metadata: dict = {}
    format_version = None
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if not line.startswith("#"):
                break
            body = line[1:].strip()
            if " = " not in body:
                continue
            key, text = body.split(" = ", 1)
            key = key.strip()
            if key == _FORMAT_KEY:
                format_version = _parse_value(key, text)
            elif key != "columns":
                metadata[key] = _parse_value(key, text)
    if format_version is None:
        raise ValueError(f"{os.fspath(path)!r} is not a dmilib snapshot text file (no '# {_FORMAT_KEY} = ...' line)")
    return metadata, format_version


def _parse_value(key: str, text: str) -> object:
    text = text.strip()
    # repr of a float can be 'nan' or 'inf', which are not Python literals.
    if text in ("nan", "inf", "-inf"):
        return float(text)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"snapshot header value of {key!r} is not a literal: {text!r}") from None
