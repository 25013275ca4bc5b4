"""`python -m dmilib.dataset.record`: what a committed record says about a store."""

import json
from pathlib import Path

import numpy as np

from dmilib.dataset import Dataset
from dmilib.dataset.record import compare_cell_sizes, generation_record, main
from dmilib.dataset.reduce import reduce_store

DATA = Path(__file__).parent / "data"


def test_record_counts_the_store_and_its_bytes():
    store = DATA / "quick_b5.zarr"
    record = generation_record(store)
    # The shipped store: 9 runs of the old quick preset, 5 snapshots each, none failed.
    assert (record["runs"], record["runs_done"], record["runs_failed"], record["samples"]) == (9, 9, 0, 45)
    assert record["grid_cells"] == [45, 45]
    files = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    assert record["store_bytes"] == files
    assert record["iterations_per_run"]["min"] <= record["iterations_per_run"]["mean"] <= record["iterations_per_run"]["max"]


def test_cell_comparison_of_a_block_averaged_copy_agrees_within_a_coarse_cell(tmp_path):
    fine = DATA / "quick_b5.zarr"  # 17.5 nm cells
    coarse = tmp_path / "b3.zarr"
    reduce_store(fine, coarse, pixelation=3, dtype="float32")  # 52.5 nm cells
    rows = compare_cell_sizes(coarse, fine)
    assert len(rows) == int(Dataset(fine).valid.sum())
    coarse_cell_nm = 52.5
    for row in rows:
        # Block averaging moves the m_z = 0 contour by less than one coarse cell.
        assert abs(row["radius_coarse_nm"] - row["radius_fine_nm"]) < coarse_cell_nm
    assert np.median([abs(r["radius_relative_difference"]) for r in rows]) < 0.1


def test_cli_writes_json_and_names_a_missing_store(tmp_path, capsys):
    out = tmp_path / "records" / "quick.json"
    assert main(["--store", str(DATA / "quick_b5.zarr"), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["samples"] == 45
    try:
        main(["--store", str(tmp_path / "missing.zarr"), "--out", str(out)])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "missing.zarr" in capsys.readouterr().err
