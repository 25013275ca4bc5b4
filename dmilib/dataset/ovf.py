"""Read and write vector fields in OOMMF's OVF 2.0 format (as used by mumax3 and Ubermag).

Written from the published OVF 2.0 description in the OOMMF user guide. A file is ASCII
header text with binary or text data blocks::

    # OOMMF OVF 2.0
    # Segment count: 1
    # Begin: Segment
    # Begin: Header
    # Title: m
    # meshtype: rectangular
    # meshunit: m
    # xmin: 0 ...  xmax: ...           (extent of the mesh)
    # xbase: ...                        (centre of the first cell)
    # xstepsize: ...                    (cell size)
    # xnodes: ...                       (cell count)
    # valuedim: 3
    # valuelabels: m_x m_y m_z
    # valueunits: 1 1 1
    # Desc: free text, any number of lines
    # End: Header
    # Begin: Data Binary 4              (or "Binary 8" or "Text")
    <check value><values>
    # End: Data Binary 4
    # End: Segment

Keys are case-insensitive and spaces inside keys are ignored; ``##`` starts a comment.
Binary data start right after the newline of the ``Begin: Data`` line with a check value
(``1234567.0`` as a 4-byte, ``123456789012345.0`` as an 8-byte IEEE float) that exposes
byte-order or size mistakes, followed by the values: little-endian in OVF 2.0, big-endian
in OVF 1.0. Values run over the cells x fastest, then y, then z, with the ``valuedim``
components of one cell consecutive.

Only rectangular meshes with three components (``valuedim: 3``) and one segment are
handled; OVF 1.0 rectangular files (``# OOMMF: rectangular mesh v1.0``) are also read.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

OVF2_CHECK_VALUE_4 = 1234567.0
OVF2_CHECK_VALUE_8 = 123456789012345.0

_FORMATS = ("binary4", "binary8", "text")

# Length units a mesh may be expressed in, in metres.
_MESH_UNITS_M = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9, "pm": 1e-12, "a": 1e-10}


@dataclass(frozen=True, eq=False)
class OvfData:
    """Contents of one OVF file.

    Parameters
    ----------
    m : numpy.ndarray of float64, shape ``(3, nz, ny, nx)``
        The vector field, components first, x the last axis. Multiplied by the OVF 1.0
        ``valuemultiplier`` if present; otherwise exactly the stored values.
    cell_size_m : tuple of float
        Cell size ``(dx, dy, dz)`` in metres (converted from ``meshunit``).
    title : str
        The ``Title`` header field ("" when absent).
    desc : list of str
        The ``Desc`` lines, in file order, without the ``Desc:`` prefix.
    header : dict of str to str
        All other header fields as written, keys lower-cased with spaces removed.
    """

    m: np.ndarray
    cell_size_m: tuple[float, float, float]
    title: str = ""
    desc: list[str] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)

    def layer(self, k: int = 0) -> np.ndarray:
        """Layer ``k`` of the field, shape ``(3, ny, nx)``.

        Parameters
        ----------
        k : int
            Layer index along z, ``0 <= k < nz``.
        """
        nz = self.m.shape[1]
        if not (isinstance(k, (int, np.integer)) and 0 <= k < nz):
            raise ValueError(f"k must be an integer in [0, {nz}), got {k!r}")
        return self.m[:, k]


def write_ovf(
    path: str | os.PathLike,
    m: np.ndarray,
    cell_size_m: tuple[float, float, float],
    *,
    fmt: str = "binary4",
    title: str = "m",
    value_unit: str = "",
    extra_header: dict | None = None,
) -> None:
    """Write a three-component field to an OVF 2.0 file.

    Parameters
    ----------
    path : str or path-like
        File to create (overwritten if present).
    m : numpy.ndarray, shape ``(3, ny, nx)`` or ``(3, nz, ny, nx)``
        The field, components first, x the last axis; one layer if 3D. Values are stored
        as given (for the magnetization that is reduced ``m``, as mumax3 writes it).
    cell_size_m : tuple of float
        Cell size ``(dx, dy, dz)`` in metres, each positive.
    fmt : {"binary4", "binary8", "text"}
        Data block encoding: 4- or 8-byte little-endian floats, or decimal text with 17
        significant digits (round-trips float64 exactly).
    title : str
        ``Title`` header field; also the stem of the value labels (``m_x m_y m_z``).
    value_unit : str
        Unit of the values; "" (dimensionless) is written as ``1`` like mumax3 does.
    extra_header : dict, optional
        Metadata written as ``# Desc: key = value`` lines, in dict order.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {_FORMATS}, got {fmt!r}")
    values = np.asarray(m, dtype=np.float64)
    if values.ndim == 3:
        values = values[:, None]
    if values.ndim != 4 or values.shape[0] != 3 or min(values.shape) < 1:
        raise ValueError(f"m must have shape (3, ny, nx) or (3, nz, ny, nx) with no empty axis, got {np.shape(m)}")
    if not np.all(np.isfinite(values)):
        raise ValueError("m must be finite everywhere")
    if len(cell_size_m) != 3:
        raise ValueError(f"cell_size_m must be (dx, dy, dz) in metres, got {cell_size_m!r}")
    steps = tuple(float(s) for s in cell_size_m)
    for axis, step in zip("xyz", steps):
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"cell_size_m ({axis}) must be a finite number > 0 (metres), got {step!r}")
    _check_single_line("title", title)
    _check_single_line("value_unit", value_unit)
    desc = [f"{key} = {value}" for key, value in (extra_header or {}).items()]
    for line in desc:
        _check_single_line("extra_header entry", line)

    _, nz, ny, nx = values.shape
    nodes = (nx, ny, nz)
    unit = value_unit if value_unit else "1"
    stem = title.replace(" ", "_") if title else "v"
    lines = [
        "# OOMMF OVF 2.0",
        "# Segment count: 1",
        "# Begin: Segment",
        "# Begin: Header",
        f"# Title: {title}",
        "# meshtype: rectangular",
        "# meshunit: m",
    ]
    lines += [f"# {a}min: 0" for a in "xyz"]
    lines += [f"# {a}max: {n * s!r}" for a, n, s in zip("xyz", nodes, steps)]
    lines += [
        "# valuedim: 3",
        f"# valuelabels: {stem}_x {stem}_y {stem}_z",
        f"# valueunits: {unit} {unit} {unit}",
    ]
    lines += [f"# Desc: {line}" for line in desc]
    lines += [f"# {a}base: {s / 2!r}" for a, s in zip("xyz", steps)]
    lines += [f"# {a}nodes: {n}" for a, n in zip("xyz", nodes)]
    lines += [f"# {a}stepsize: {s!r}" for a, s in zip("xyz", steps)]
    lines.append("# End: Header")

    # (3, nz, ny, nx) -> rows of (mx, my, mz) with x fastest, then y, then z.
    rows = values.reshape(3, -1).T
    if fmt == "text":
        data_name = "Text"
        body = "".join(f"{x:.17g} {y:.17g} {z:.17g}\n" for x, y, z in rows.tolist()).encode("ascii")
    elif fmt == "binary4":
        data_name = "Binary 4"
        body = np.concatenate([[OVF2_CHECK_VALUE_4], rows.ravel()]).astype("<f4").tobytes() + b"\n"
    else:
        data_name = "Binary 8"
        body = np.concatenate([[OVF2_CHECK_VALUE_8], rows.ravel()]).astype("<f8").tobytes() + b"\n"
    head = "\n".join(lines + [f"# Begin: Data {data_name}"]) + "\n"
    tail = f"# End: Data {data_name}\n# End: Segment\n"
    with open(path, "wb") as stream:
        stream.write(head.encode("utf-8"))
        stream.write(body)
        stream.write(tail.encode("ascii"))


def read_ovf(path: str | os.PathLike) -> OvfData:
    """Read an OVF 2.0 (or OVF 1.0 rectangular) file holding a three-component field.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    OvfData
        The field as float64 ``(3, nz, ny, nx)``, the cell size in metres and the header.

    Raises
    ------
    ValueError
        If the file is not OVF 1.0/2.0, the check value of a binary block is wrong, the
        mesh is not rectangular, ``valuedim`` is not 3, the data are truncated or longer
        than the header says, or the data format is unknown.
    """
    with open(path, "rb") as stream:
        raw = stream.read()
    try:
        return _parse_ovf(raw, path)
    except ValueError as error:
        name = os.fspath(path)
        if name in str(error):
            raise
        raise ValueError(f"{name}: {error}") from error


def _parse_ovf(raw: bytes, path) -> OvfData:
    first, pos = _next_line(raw, 0)
    signature = " ".join(first.split()).lower()
    if signature == "# oommf ovf 2.0":
        version = 2
    elif signature in ("# oommf: rectangular mesh v1.0", "# oommf ovf 1.0"):
        version = 1
    else:
        raise ValueError(f"{os.fspath(path)!r} is not an OVF 2.0 file: first line is {first[:60]!r}")

    header: dict[str, str] = {}
    desc: list[str] = []
    segments = 0
    values = None
    while pos < len(raw):
        line, pos = _next_line(raw, pos)
        data_format = _data_format(line)
        if data_format is not None:
            shape, steps = _mesh(header, version)
            values = _read_data(raw, pos, data_format, version, shape)
            break
        key, value = _parse_header_line(line)
        if key is None:
            continue
        if key == "segmentcount":
            if value != "1":
                raise ValueError(f"only single-segment OVF files are supported, segment count is {value!r}")
        elif key in ("begin", "end"):
            # Begin/End of Segment and Header only delimit; a second segment is refused.
            if key == "begin" and value.lower() == "segment":
                segments += 1
                if segments > 1:
                    raise ValueError("only single-segment OVF files are supported, found a second segment")
        elif key == "desc":
            desc.append(value)
        else:
            header[key] = value
    if values is None:
        raise ValueError(f"{os.fspath(path)!r} has no '# Begin: Data' block")

    multiplier = float(header.get("valuemultiplier", "1")) if version == 1 else 1.0
    m = values.reshape(shape[::-1] + (3,))  # (nz, ny, nx, 3)
    m = np.ascontiguousarray(np.moveaxis(m, -1, 0), dtype=np.float64) * multiplier
    title = header.pop("title", "")
    return OvfData(m=m, cell_size_m=steps, title=title, desc=desc, header=header)


def _check_single_line(name: str, text: str) -> None:
    if not isinstance(text, str) or "\n" in text or "\r" in text:
        raise ValueError(f"{name} must be a single-line string, got {text!r}")
    if "##" in text:
        # A reader cuts a header line at "##" (an OVF comment): the rest would be lost.
        raise ValueError(f"{name} must not contain '##' (OVF starts a comment there), got {text!r}")


def _next_line(raw: bytes, pos: int) -> tuple[str, int]:
    """The text line starting at byte ``pos`` and the position just after its newline."""
    end = raw.find(b"\n", pos)
    if end < 0:
        end = len(raw)
    return raw[pos:end].decode("utf-8", errors="replace").rstrip("\r"), end + 1


def _parse_header_line(line: str) -> tuple[str | None, str]:
    """``(key, value)`` of a ``# key: value`` line; key ``None`` for blank and comment lines."""
    # "##" starts a comment anywhere on a line.
    line = line.split("##", 1)[0].strip()
    if not line.startswith("#"):
        if line:
            raise ValueError(f"unexpected non-comment line in the OVF header: {line[:60]!r}")
        return None, ""
    body = line[1:]
    if ":" not in body:
        return None, ""
    key, value = body.split(":", 1)
    return "".join(key.split()).lower(), value.strip()


def _data_format(line: str) -> str | None:
    """``"text"``, ``"binary4"``, ``"binary8"`` for a ``# Begin: Data ...`` line, else None."""
    match = re.match(r"^#\s*begin\s*:\s*data\b(.*)$", line.split("##", 1)[0].strip(), re.IGNORECASE)
    if match is None:
        return None
    kind = "".join(match.group(1).split()).lower()
    if kind in ("text", "binary4", "binary8"):
        return kind
    raise ValueError(f"unknown OVF data format {match.group(1).strip()!r}: expected Text, Binary 4 or Binary 8")


def _mesh(header: dict[str, str], version: int) -> tuple[tuple[int, int, int], tuple[float, float, float]]:
    """``(nx, ny, nz)`` and the cell size in metres, after checking the mesh and valuedim."""
    meshtype = header.get("meshtype", "").lower()
    if meshtype != "rectangular":
        raise ValueError(f"only meshtype 'rectangular' is supported, got {meshtype or 'nothing'!r}")
    if version == 2:
        valuedim = header.get("valuedim")
        if valuedim is None or valuedim.strip() != "3":
            raise ValueError(f"valuedim must be 3 (a vector field), got {valuedim!r}")
    unit = header.get("meshunit", "").strip()
    if unit not in _MESH_UNITS_M:
        raise ValueError(f"meshunit must be one of {sorted(_MESH_UNITS_M)}, got {unit!r}")
    scale = _MESH_UNITS_M[unit]
    nodes = []
    steps = []
    for axis in "xyz":
        try:
            n = int(header[f"{axis}nodes"])
            step = float(header[f"{axis}stepsize"]) * scale
        except KeyError as missing:
            raise ValueError(f"OVF header lacks the {missing.args[0]!r} field") from None
        except ValueError:
            raise ValueError(f"OVF header has a malformed {axis}nodes or {axis}stepsize field") from None
        if n < 1:
            raise ValueError(f"{axis}nodes must be >= 1, got {n}")
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"{axis}stepsize must be > 0, got {header[f'{axis}stepsize']!r}")
        nodes.append(n)
        steps.append(step)
    return tuple(nodes), tuple(steps)


def _read_data(
    raw: bytes, pos: int, data_format: str, version: int, shape: tuple[int, int, int]
) -> np.ndarray:
    """The ``3 * nx * ny * nz`` values of the data block starting at byte ``pos``."""
    count = 3 * shape[0] * shape[1] * shape[2]
    if data_format == "text":
        end = re.compile(rb"^[ \t]*#[ \t]*end[ \t]*:[ \t]*data", re.IGNORECASE | re.MULTILINE).search(raw, pos)
        if end is None:
            raise ValueError("truncated OVF data: no '# End: Data Text' line")
        text = raw[pos : end.start()].decode("ascii", errors="replace")
        if "#" in text:
            # "##" comments and "#" lines may appear between data lines.
            text = "\n".join(ln.split("##")[0] for ln in text.splitlines() if not ln.lstrip().startswith("#"))
        tokens = text.split()
        if len(tokens) != count:
            raise ValueError(f"OVF text data hold {len(tokens)} numbers, the header implies {count}")
        try:
            return np.array(list(map(float, tokens)), dtype=np.float64)
        except ValueError:
            raise ValueError("OVF text data contain something that is not a number") from None

    size = 4 if data_format == "binary4" else 8
    # OVF 2.0 stores binary data little-endian, OVF 1.0 big-endian.
    dtype = np.dtype(("<" if version == 2 else ">") + ("f4" if size == 4 else "f8"))
    expected = OVF2_CHECK_VALUE_4 if size == 4 else OVF2_CHECK_VALUE_8
    needed = size * (count + 1)
    if len(raw) - pos < needed:
        raise ValueError(f"truncated OVF data: binary block needs {needed} bytes, the file has {len(raw) - pos} left")
    block = np.frombuffer(raw, dtype=dtype, count=count + 1, offset=pos)
    if block[0] != expected:
        raise ValueError(
            f"not an OVF 2.0 file / bad check value: expected {expected!r} in the first {size} bytes "
            f"of the data, got {float(block[0])!r}"
        )
    after = raw[pos + needed :].lstrip()
    if not re.match(rb"#\s*end\s*:\s*data", after, re.IGNORECASE):
        raise ValueError("OVF binary data are longer than the header says: no '# End: Data' right after them")
    return block[1:].astype(np.float64)
