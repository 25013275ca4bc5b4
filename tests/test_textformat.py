"""The dataset's text snapshot format: round trips, numpy.loadtxt compatibility, errors."""

import time

import numpy as np
import pytest

import dmilib
from dmilib.dataset.textformat import read_snapshot_text, write_snapshot_text
from dmilib.simulate.geometry import Grid

THICKNESS_M = 12e-9

METADATA = {
    "D_J_per_m2": 0.0005,
    "Hz_T": -0.00601,
    "Hx_T": 0.1,
    "tessellation": 3,
    "run": "main sweep",
    "numeric_string": "42",
    "relaxed": True,
    "note": None,
    "tiny": 1.2345678901234567e-300,
}


def random_unit_field(grid, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(3,) + grid.shape)
    m /= np.linalg.norm(m, axis=0)
    return np.where(grid.mask, m, 0.0)


@pytest.fixture
def disk():
    return Grid.disk(60e-9, 1.5e-9, THICKNESS_M)


def test_round_trip_values_and_metadata(tmp_path, disk):
    m = random_unit_field(disk)
    path = tmp_path / "snap.txt"
    write_snapshot_text(path, m, disk, METADATA)
    for grid in (None, disk):
        m_read, meta = read_snapshot_text(path, grid)
        assert m_read.shape == (3,) + disk.shape and m_read.dtype == np.float64
        # %.7e keeps 8 significant digits: relative error <= 5e-8 per component.
        np.testing.assert_allclose(m_read[:, disk.mask], m[:, disk.mask], rtol=1e-7, atol=0)
        assert np.all(m_read[:, ~disk.mask] == 0)
        for key, value in METADATA.items():
            assert meta[key] == value and type(meta[key]) is type(value), key
        assert meta["nx"] == disk.nx and meta["ny"] == disk.ny
        assert meta["dx_m"] == disk.dx and meta["dy_m"] == disk.dy
        assert meta["thickness_m"] == THICKNESS_M
        assert meta["dmilib_version"] == dmilib.__version__


def test_numpy_loadtxt_reads_the_body(tmp_path, disk):
    m = random_unit_field(disk, seed=1)
    path = tmp_path / "snap.txt"
    write_snapshot_text(path, m, disk, {"D_J_per_m2": 1e-3})
    table = np.loadtxt(path)
    assert table.shape == (disk.cell_count, 5)
    x, y = disk.cell_centres_m()
    # C order: y outer, x inner, only cells in the mask.
    np.testing.assert_allclose(table[:, 0], x[disk.mask], rtol=1e-7)
    np.testing.assert_allclose(table[:, 1], y[disk.mask], rtol=1e-7)
    np.testing.assert_allclose(table[:, 2:].T, m[:, disk.mask], rtol=1e-7)
    assert np.all(np.diff(table[:, 1]) >= 0)


def test_header_lines_are_key_value_comments(tmp_path, disk):
    path = tmp_path / "snap.txt"
    write_snapshot_text(path, random_unit_field(disk), disk, {"Hz_T": -0.006, "run": "a"})
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert all(line.startswith("# ") and " = " in line for line in header)
    assert "# Hz_T = -0.006" in header
    assert "# run = 'a'" in header
    assert "# columns = x_m y_m mx my mz" in header
    assert path.read_text().splitlines()[len(header)].count("e") == 5  # %.7e numbers


def test_rectangular_grid_and_unmasked(tmp_path):
    grid = Grid(7, 4, (1e-9, 2e-9), THICKNESS_M)
    m = random_unit_field(grid, seed=2)
    write_snapshot_text(tmp_path / "r.txt", m, grid, {})
    m_read, meta = read_snapshot_text(tmp_path / "r.txt")
    np.testing.assert_allclose(m_read, m, rtol=1e-7)
    assert (meta["nx"], meta["ny"]) == (7, 4)


def test_grid_mismatch_raises(tmp_path, disk):
    path = tmp_path / "snap.txt"
    write_snapshot_text(path, random_unit_field(disk), disk, {})
    with pytest.raises(ValueError, match="does not match"):
        read_snapshot_text(path, Grid.disk(60e-9, 2e-9, THICKNESS_M))
    other_mask = Grid(disk.nx, disk.ny, disk.cell_size_m, THICKNESS_M)
    with pytest.raises(ValueError, match="mask"):
        read_snapshot_text(path, other_mask)


@pytest.mark.parametrize("shape", [(3, 40), (2, 40, 40), (3, 40, 41), (1, 3, 40, 40)])
def test_bad_shapes_raise(tmp_path, disk, shape):
    with pytest.raises(ValueError, match="m must have shape"):
        write_snapshot_text(tmp_path / "x.txt", np.zeros(shape), disk, {})


@pytest.mark.parametrize(
    "metadata, match",
    [
        ({"two words": 1}, "identifiers"),
        ({"D": [1, 2]}, "D"),
        ({"run": "a\nb"}, "run"),
        ({"nx": 3}, "nx"),
    ],
)
def test_bad_metadata_raises(tmp_path, disk, metadata, match):
    with pytest.raises(ValueError, match=match):
        write_snapshot_text(tmp_path / "x.txt", random_unit_field(disk), disk, metadata)


def test_reserved_key_with_same_value_is_accepted(tmp_path, disk):
    write_snapshot_text(tmp_path / "x.txt", random_unit_field(disk), disk, {"nx": disk.nx})


def test_non_snapshot_file_raises(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1 2 3 4 5\n")
    with pytest.raises(ValueError, match="not a dmilib snapshot"):
        read_snapshot_text(path)


def test_corrupt_body_raises(tmp_path, disk):
    path = tmp_path / "snap.txt"
    write_snapshot_text(path, random_unit_field(disk), disk, {})
    lines = path.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    body = lines[len(header) :]
    path.write_text("\n".join(header + body + body[:1]) + "\n")
    with pytest.raises(ValueError, match="more than one row"):
        read_snapshot_text(path)
    shifted = body[0].split()
    shifted[0] = "1.0000000e-10"
    path.write_text("\n".join(header + [" ".join(shifted)]) + "\n")
    with pytest.raises(ValueError, match="cell centres"):
        read_snapshot_text(path)


def test_timing_study_grid(tmp_path):
    grid = Grid.disk(795e-9, 1.5e-9, THICKNESS_M)
    m = random_unit_field(grid)
    path = tmp_path / "big.txt"
    start = time.perf_counter()
    write_snapshot_text(path, m, grid, METADATA)
    written = time.perf_counter()
    read_snapshot_text(path, grid)
    done = time.perf_counter()
    size_mb = path.stat().st_size / 1e6
    print(f"530 x 530 disk: write {written - start:.2f} s, read {done - written:.2f} s, {size_mb:.1f} MB")
