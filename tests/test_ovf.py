"""OVF 2.0 reader and writer against files built by hand from the format description.

The OVF 2.0 layout (OOMMF user guide): "# OOMMF OVF 2.0" signature, "# key: value"
header lines between "# Begin: Header" and "# End: Header", then a data block whose
binary form starts with a check value (1234567.0 as 4-byte, 123456789012345.0 as
8-byte little-endian floats); values run x fastest, then y, then z, with the three
components of a cell consecutive.
"""

import struct

import numpy as np
import pytest

from dmilib.dataset.ovf import OvfData, read_ovf, write_ovf

CELL_M = (1.5e-9, 2.0e-9, 12e-9)


def random_unit_field(shape, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(3,) + shape)
    return m / np.linalg.norm(m, axis=0)


def header_2x2(data_line, meshunit="m", step="2e-09", valuedim="3", extra=""):
    """A 2 x 2 x 1 OVF 2.0 header in the order mumax3 emits it."""
    return (
        "# OOMMF OVF 2.0\n"
        "# Segment count: 1\n"
        "# Begin: Segment\n"
        "# Begin: Header\n"
        "# Title: m\n"
        "# meshtype: rectangular\n"
        f"# meshunit: {meshunit}\n"
        "# xmin: 0\n"
        "# ymin: 0\n"
        "# zmin: 0\n"
        "# xmax: 4e-09\n"
        "# ymax: 4e-09\n"
        "# zmax: 1.2e-08\n"
        f"# valuedim: {valuedim}\n"
        "# valuelabels: m_x m_y m_z\n"
        "# valueunits: 1 1 1\n"
        "# Desc: Total simulation time:  0  s\n"
        f"{extra}"
        "# xbase: 1e-09\n"
        "# ybase: 1e-09\n"
        "# zbase: 6e-09\n"
        "# xnodes: 2\n"
        "# ynodes: 2\n"
        "# znodes: 1\n"
        f"# xstepsize: {step}\n"
        f"# ystepsize: {step}\n"
        "# zstepsize: 1.2e-08\n"
        "# End: Header\n"
        f"{data_line}\n"
    )


# Cell order in the file: (x0,y0), (x1,y0), (x0,y1), (x1,y1).
VECTORS_IN_FILE_ORDER = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (-1, 0, 0)]

TEXT_FILE = (
    header_2x2("# Begin: Data Text")
    + "1 0 0\n0 1 0\n0 0 1\n-1 0 0\n"
    + "# End: Data Text\n# End: Segment\n"
)


def binary_file(values, size=4, check=None, fmt_name=None, header=None):
    code = "<f" if size == 4 else "<d"
    check = (1234567.0 if size == 4 else 123456789012345.0) if check is None else check
    name = fmt_name or f"Binary {size}"
    head = (header or header_2x2)(f"# Begin: Data {name}").encode()
    body = struct.pack(code, check) + b"".join(struct.pack(code, v) for v in values)
    return head + body + f"\n# End: Data {name}\n# End: Segment\n".encode()


def expected_2x2():
    m = np.zeros((3, 1, 2, 2))
    for index, vector in enumerate(VECTORS_IN_FILE_ORDER):
        j, i = divmod(index, 2)  # x fastest
        m[:, 0, j, i] = vector
    return m


@pytest.mark.parametrize("fmt", ["binary8", "text"])
def test_round_trip_exact(tmp_path, fmt):
    m = random_unit_field((3, 5, 7), seed=1)
    path = tmp_path / f"field_{fmt}.ovf"
    write_ovf(path, m, CELL_M, fmt=fmt, title="m")
    data = read_ovf(path)
    assert data.m.dtype == np.float64 and data.m.shape == (3, 3, 5, 7)
    np.testing.assert_array_equal(data.m, m)
    assert data.cell_size_m == CELL_M
    assert data.title == "m"


def test_round_trip_binary4_to_float32_precision(tmp_path):
    m = random_unit_field((1, 6, 9), seed=2)
    write_ovf(tmp_path / "f.ovf", m, CELL_M, fmt="binary4")
    data = read_ovf(tmp_path / "f.ovf")
    np.testing.assert_array_equal(data.m, m.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(data.m, m, rtol=0, atol=2**-24)


def test_single_layer_input_and_layer_accessor(tmp_path):
    m = random_unit_field((4, 6), seed=3)
    write_ovf(tmp_path / "f.ovf", m, CELL_M, fmt="binary8")
    data = read_ovf(tmp_path / "f.ovf")
    assert data.m.shape == (3, 1, 4, 6)
    np.testing.assert_array_equal(data.layer(0), m)
    assert data.header["znodes"] == "1"
    with pytest.raises(ValueError, match="k must"):
        data.layer(1)


def test_extra_header_goes_to_desc_lines(tmp_path):
    m = random_unit_field((2, 3))
    path = tmp_path / "f.ovf"
    write_ovf(path, m, CELL_M, extra_header={"D_J_per_m2": 0.0005, "Hz_T": -0.006, "tessellation": 3})
    text = path.read_bytes().split(b"# Begin: Data")[0].decode()
    assert "# Desc: D_J_per_m2 = 0.0005\n" in text
    assert "# Desc: Hz_T = -0.006\n" in text
    assert text.startswith("# OOMMF OVF 2.0\n")
    data = read_ovf(path)
    assert data.desc == ["D_J_per_m2 = 0.0005", "Hz_T = -0.006", "tessellation = 3"]


def test_written_header_geometry(tmp_path):
    m = random_unit_field((2, 4, 5))
    path = tmp_path / "f.ovf"
    write_ovf(path, m, CELL_M, value_unit="A/m")
    header = read_ovf(path).header
    assert header["meshtype"] == "rectangular" and header["meshunit"] == "m"
    assert (header["xnodes"], header["ynodes"], header["znodes"]) == ("5", "4", "2")
    assert float(header["xbase"]) == pytest.approx(CELL_M[0] / 2)
    assert float(header["xmax"]) == pytest.approx(5 * CELL_M[0])
    assert float(header["zmax"]) == pytest.approx(2 * CELL_M[2])
    assert header["valuedim"] == "3"
    assert header["valueunits"] == "A/m A/m A/m"


def test_hand_written_text_file_x_fastest(tmp_path):
    path = tmp_path / "hand.ovf"
    path.write_text(TEXT_FILE)
    data = read_ovf(path)
    assert isinstance(data, OvfData)
    np.testing.assert_array_equal(data.m, expected_2x2())
    # Explicitly: second value row is the cell at x index 1, y index 0.
    np.testing.assert_array_equal(data.layer(0)[:, 0, 1], [0, 1, 0])
    np.testing.assert_array_equal(data.layer(0)[:, 1, 0], [0, 0, 1])
    assert data.cell_size_m == (2e-9, 2e-9, 12e-9)
    assert data.desc == ["Total simulation time:  0  s"]
    assert data.header["valuelabels"] == "m_x m_y m_z"


def test_hand_written_with_comments_case_and_nm(tmp_path):
    text = header_2x2("# Begin: data text", meshunit="nm", step="2", extra="## a comment line\n")
    text = text.replace("# xnodes: 2", "# X Nodes: 2  ## comment after a value")
    text += "1 0 0\n0 1 0 ## trailing comment\n0 0 1\n-1 0 0\n# End: data text\n# End: Segment\n"
    path = tmp_path / "hand.ovf"
    path.write_text(text)
    data = read_ovf(path)
    np.testing.assert_array_equal(data.m, expected_2x2())
    assert data.cell_size_m[:2] == pytest.approx((2e-9, 2e-9), rel=1e-15)


@pytest.mark.parametrize("size", [4, 8])
def test_hand_built_binary(tmp_path, size):
    values = [0.6, 0.0, 0.8, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.28, 0.96, 0.0]
    path = tmp_path / "hand.ovf"
    path.write_bytes(binary_file(values, size=size))
    data = read_ovf(path)
    dtype = np.float32 if size == 4 else np.float64
    expected = np.array(values, dtype=dtype).astype(np.float64).reshape(2, 2, 3)  # (y, x, c)
    np.testing.assert_array_equal(data.layer(0), np.moveaxis(expected, -1, 0))


def test_ovf1_big_endian_binary(tmp_path):
    values = [0.6, 0.0, 0.8, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.28, 0.96, 0.0]
    head = (
        "# OOMMF: rectangular mesh v1.0\n# Segment count: 1\n# Begin: Segment\n# Begin: Header\n"
        "# Title: m\n# meshtype: rectangular\n# meshunit: m\n# valueunit: A/m\n# valuemultiplier: 2\n"
        "# xbase: 1e-09\n# ybase: 1e-09\n# zbase: 6e-09\n"
        "# xstepsize: 2e-09\n# ystepsize: 2e-09\n# zstepsize: 1.2e-08\n"
        "# xnodes: 2\n# ynodes: 2\n# znodes: 1\n# End: Header\n# Begin: Data Binary 8\n"
    ).encode()
    body = struct.pack(">d", 123456789012345.0) + b"".join(struct.pack(">d", v) for v in values)
    path = tmp_path / "ovf1.ovf"
    path.write_bytes(head + body + b"\n# End: Data Binary 8\n# End: Segment\n")
    data = read_ovf(path)
    expected = 2 * np.moveaxis(np.array(values).reshape(2, 2, 3), -1, 0)
    np.testing.assert_array_equal(data.layer(0), expected)


def test_corrupt_check_value(tmp_path):
    path = tmp_path / "bad.ovf"
    path.write_bytes(binary_file([0.0] * 12, size=4, check=1234568.0))
    with pytest.raises(ValueError, match="check value"):
        read_ovf(path)


def test_big_endian_in_ovf2_fails_check(tmp_path):
    head = header_2x2("# Begin: Data Binary 4").encode()
    body = struct.pack(">f", 1234567.0) + struct.pack(">12f", *([0.5] * 12))
    path = tmp_path / "bad.ovf"
    path.write_bytes(head + body + b"\n# End: Data Binary 4\n# End: Segment\n")
    with pytest.raises(ValueError, match="check value"):
        read_ovf(path)


def test_wrong_valuedim(tmp_path):
    path = tmp_path / "bad.ovf"
    path.write_text(header_2x2("# Begin: Data Text", valuedim="1") + "1\n2\n3\n4\n# End: Data Text\n# End: Segment\n")
    with pytest.raises(ValueError, match="valuedim"):
        read_ovf(path)


def test_irregular_mesh_refused(tmp_path):
    path = tmp_path / "bad.ovf"
    path.write_text(TEXT_FILE.replace("meshtype: rectangular", "meshtype: irregular"))
    with pytest.raises(ValueError, match="meshtype"):
        read_ovf(path)


@pytest.mark.parametrize("size", [4, 8])
def test_truncated_binary(tmp_path, size):
    full = binary_file([0.1] * 12, size=size)
    cut = full[: full.index(b"# Begin: Data") + len(f"# Begin: Data Binary {size}\n") + size * 7]
    path = tmp_path / "cut.ovf"
    path.write_bytes(cut)
    with pytest.raises(ValueError, match="truncated"):
        read_ovf(path)


def test_binary_longer_than_header(tmp_path):
    path = tmp_path / "long.ovf"
    path.write_bytes(binary_file([0.1] * 15, size=8))
    with pytest.raises(ValueError, match="longer"):
        read_ovf(path)


def test_truncated_text(tmp_path):
    path = tmp_path / "cut.ovf"
    path.write_text(TEXT_FILE.replace("-1 0 0\n", ""))
    with pytest.raises(ValueError, match="12"):
        read_ovf(path)
    path.write_text(TEXT_FILE.split("0 0 1\n")[0])
    with pytest.raises(ValueError, match="truncated"):
        read_ovf(path)


def test_unknown_data_format(tmp_path):
    path = tmp_path / "bad.ovf"
    path.write_bytes(binary_file([0.0] * 12, size=4, fmt_name="Binary 2"))
    with pytest.raises(ValueError, match="unknown OVF data format"):
        read_ovf(path)


def test_non_ovf_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("x y mx my mz\n0 0 0 0 1\n")
    with pytest.raises(ValueError, match="not an OVF 2.0 file"):
        read_ovf(path)
    empty = tmp_path / "empty.ovf"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not an OVF 2.0 file"):
        read_ovf(empty)


def test_missing_header_field(tmp_path):
    path = tmp_path / "bad.ovf"
    path.write_text(TEXT_FILE.replace("# ynodes: 2\n", ""))
    with pytest.raises(ValueError, match="ynodes"):
        read_ovf(path)


def test_two_segments_refused(tmp_path):
    path = tmp_path / "two.ovf"
    path.write_text(TEXT_FILE.replace("Segment count: 1", "Segment count: 2"))
    with pytest.raises(ValueError, match="single-segment"):
        read_ovf(path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(m=np.zeros((2, 3, 3))), "m must have shape"),
        (dict(m=np.zeros((3, 3))), "m must have shape"),
        (dict(m=np.full((3, 2, 2), np.nan)), "finite"),
        (dict(cell_size_m=(1e-9, 1e-9)), "cell_size_m"),
        (dict(cell_size_m=(1e-9, -1e-9, 1e-9)), "cell_size_m"),
        (dict(fmt="binary2"), "fmt"),
        (dict(title="two\nlines"), "title"),
        (dict(extra_header={"bad": "a\nb"}), "extra_header"),
    ],
)
def test_write_bad_input(tmp_path, kwargs, match):
    args = dict(m=np.zeros((3, 2, 2)), cell_size_m=CELL_M)
    args.update(kwargs)
    m = args.pop("m")
    cell = args.pop("cell_size_m")
    with pytest.raises(ValueError, match=match):
        write_ovf(tmp_path / "x.ovf", m, cell, **args)
