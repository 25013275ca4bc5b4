"""Dataset generation: validation, provenance, failure records, resume after kill -9,
a real two-worker Dask cluster, and the OVF/text interop. Uses the `tiny` preset (a
200 nm disk where D = 0 bubbles collapse, which exercises the failed-run path)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
import zarr

import dmilib
from dmilib.dataset import Dataset, generate, load_config, preset, with_overrides
from dmilib.dataset.interop import export_samples, import_ovf, read_manifest
from dmilib.dataset.store import DONE, FAILED
from dmilib.dataset.textformat import read_snapshot_text


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.zarr"
    summary = generate(preset("tiny"), path, scheduler="synchronous", progress=False)
    return path, summary


def test_summary_records_the_collapsed_run_with_its_reason(tiny_store):
    path, summary = tiny_store
    assert summary["runs"] == 4 and summary["runs_pending"] == 0
    assert summary["runs_failed"] == 1 and summary["runs_done"] == 3
    assert summary["valid_samples"] == 3 * 3
    (run, reason), = summary["failed_runs"].items()
    assert run == 0  # D = 0 in the 200 nm disk: no DMI, the wall energy wins
    assert "collapsed" in reason and "retry" in reason


def test_store_is_plain_zarr_with_provenance(tiny_store):
    path, _ = tiny_store
    group = zarr.open_group(str(path), mode="r")
    config = preset("tiny")
    runs, snapshots = len(config.runs()), config.snapshots_per_run
    grid = config.grid()
    assert group["magnetization"].shape == (runs * snapshots, 3, grid.ny, grid.nx)
    assert group["magnetization"].chunks == (1, 3, grid.ny, grid.nx)
    assert group["magnetization"].dtype == np.float32
    np.testing.assert_array_equal(group["mask"][:], grid.mask)
    np.testing.assert_allclose(group["D_J_per_m2"][:], np.repeat([d for d, _ in config.runs()], snapshots))
    np.testing.assert_allclose(group["Hz_T"][:snapshots], [-6e-3, -8e-3, -10e-3])
    assert set(group["tessellation"][:]) == {-1, 0}
    assert group["ku_maps"].shape == (1, grid.ny, grid.nx)
    attrs = group.attrs
    assert attrs["dmilib_version"] == dmilib.__version__
    assert attrs["git_commit"] and attrs["created"] and attrs["parameters_hash"] == config.parameters_hash()
    assert attrs["config"]["material"]["Ms_A_per_m"] == 0.55e6
    json.dumps(dict(attrs))  # attributes are plain JSON


def test_accepted_samples_are_physical(tiny_store):
    path, _ = tiny_store
    dataset = Dataset(path)
    valid = np.flatnonzero(dataset.valid)
    m = dataset.magnetization(valid)
    norms = np.linalg.norm(m, axis=1)[:, dataset.mask]
    np.testing.assert_allclose(norms, 1.0, atol=1e-3)
    assert np.all(m[:, :, ~dataset.mask] == 0)
    assert np.all(dataset.array("residual_T")[valid] < preset("tiny").protocol.torque_tolerance_T)
    assert np.all((m[:, 2][:, dataset.mask] < 0).any(axis=1))  # a bubble in every accepted image
    assert not dataset.valid[:3].any()  # the failed run's samples are marked invalid


def test_rerun_does_nothing_and_other_parameters_are_refused(tiny_store):
    path, _ = tiny_store
    before = Dataset(path).magnetization()
    again = generate(preset("tiny"), path, scheduler="synchronous", progress=False)
    assert again["runs_attempted"] == 0
    np.testing.assert_array_equal(Dataset(path).magnetization(), before)
    other = with_overrides(preset("tiny"), {"protocol.Hx_T": 0.05})
    with pytest.raises(ValueError, match="different parameters"):
        generate(other, path, scheduler="synchronous", progress=False)
    np.testing.assert_array_equal(Dataset(path).magnetization(), before)


def test_kill_9_then_rerun_gives_the_uninterrupted_samples(tiny_store, tmp_path):
    reference, _ = tiny_store
    path = tmp_path / "killed.zarr"
    command = [sys.executable, "-m", "dmilib", "generate", "--preset", "tiny", "--out", str(path),
               "--scheduler", "synchronous", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if (path / "run_status").exists():
                status = zarr.open_group(str(path), mode="r")["run_status"][:]
                if (status == DONE).sum() >= 1:
                    break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    status = zarr.open_group(str(path), mode="r")["run_status"][:]
    assert (status != 0).sum() < len(status), "the run finished before it could be killed"
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    resumed, uninterrupted = Dataset(path), Dataset(reference)
    np.testing.assert_array_equal(resumed.run_status, uninterrupted.run_status)
    np.testing.assert_array_equal(resumed.valid, uninterrupted.valid)
    np.testing.assert_allclose(resumed.magnetization(), uninterrupted.magnetization(), atol=1e-6)


def test_two_worker_dask_cluster_matches_in_process(tiny_store, tmp_path):
    reference, _ = tiny_store
    path = tmp_path / "dask.zarr"
    summary = generate(preset("tiny"), path, scheduler="local", workers=2, progress=False)
    assert summary["runs_done"] == 3 and summary["runs_failed"] == 1
    np.testing.assert_allclose(Dataset(path).magnetization(), Dataset(reference).magnetization(), atol=1e-6)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"material.Ms_A_per_m": 0.0}, "material.Ms_A_per_m"),
        ({"material.A_J_per_m": -1e-12}, "material.A_J_per_m"),
        ({"geometry.cell_size_m": 9e-9}, "geometry.cell_size_m"),
        ({"uniform_D_J_per_m2": [2.0e-3]}, "critical"),
        ({"geometry.disk_diameter_m": 5e-9}, "disk_diameter_m"),
        ({"protocol.Hz_step_T": 0.0}, "protocol.Hz_step_T"),
        ({"protocol.snapshot_Hz_T": [-6.5e-3]}, "snapshot_Hz_T"),
        ({"uniform_D_J_per_m2": [], "nonuniform_D_J_per_m2": []}, "nothing to generate"),
    ],
)
def test_non_physical_parameters_fail_before_any_work(overrides, field, tmp_path):
    config = with_overrides(preset("tiny"), overrides)
    with pytest.raises(ValueError, match=field):
        generate(config, tmp_path / "never.zarr", scheduler="synchronous", progress=False)
    assert not (tmp_path / "never.zarr").exists()


def test_cell_above_half_the_exchange_length_warns():
    with pytest.warns(UserWarning, match="half the exchange length"):
        with_overrides(preset("tiny"), {"geometry.cell_size_m": 4e-9}).validate()


def test_presets_keep_the_paper_numbers():
    paper = preset("paper")
    paper.validate()
    assert paper.grid().nx == 530 and len(paper.uniform_D_J_per_m2) == 101
    assert len(paper.runs()) == 101 + 6 * 11 and paper.snapshots_per_run == 9
    assert paper.protocol.Hz_step_T == pytest.approx(-0.01e-3)
    quick = preset("quick")
    assert quick.geometry.cell_size_m < quick.material_for(0.0).exchange_length_m / 2
    assert quick.geometry.disk_diameter_m == paper.geometry.disk_diameter_m


def test_yaml_and_set_overrides(tmp_path):
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump({"preset": "tiny", "protocol": {"Hx_T": 0.05}, "uniform_D_J_per_m2": [1e-3]}))
    config = load_config("quick", path, ["protocol.torque_tolerance_T=3e-4", "disorder.tessellation_seeds=[4, 5]"])
    assert config.preset == "tiny" and config.protocol.Hx_T == 0.05
    assert config.uniform_D_J_per_m2 == (1e-3,) and config.disorder.tessellation_seeds == (4, 5)
    assert config.protocol.torque_tolerance_T == 3e-4
    with pytest.raises(ValueError, match="unknown configuration field"):
        load_config("tiny", None, ["protocol.not_a_field=1"])


def test_cli_reports_bad_input_with_the_field_name(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dmilib", "generate", "--preset", "tiny", "--out",
                             str(tmp_path / "x.zarr"), "--set", "material.Ms_A_per_m=-5"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "material.Ms_A_per_m must be in [1000, 5e+06] A/m, got -5" in result.stderr


def test_ovf_and_text_export_and_ovf_import_round_trip(tiny_store, tmp_path):
    path, _ = tiny_store
    dataset = Dataset(path)
    valid = np.flatnonzero(dataset.valid)[:2]
    ovf_paths = export_samples(dataset, tmp_path / "ovf", fmt="ovf", indices=valid)
    text_paths = export_samples(dataset, tmp_path / "txt", fmt="text", indices=valid)
    m_text, metadata = read_snapshot_text(text_paths[0])
    np.testing.assert_allclose(m_text, dataset.magnetization(valid[0])[0], atol=1e-6)
    assert metadata["D_J_per_m2"] == pytest.approx(dataset.array("D_J_per_m2")[valid[0]])
    manifest = tmp_path / "manifest.csv"
    rows = ["path,D_J_per_m2,Hz_T,Hx_T"] + [
        f"{p},{dataset.array('D_J_per_m2')[i]},{dataset.array('Hz_T')[i]},0.1" for p, i in zip(ovf_paths, valid)
    ]
    manifest.write_text("\n".join(rows) + "\n")
    imported = import_ovf(read_manifest(manifest), tmp_path / "imported.zarr")
    np.testing.assert_allclose(imported.magnetization(), dataset.magnetization(valid), atol=1e-6)
    np.testing.assert_array_equal(imported.mask, dataset.mask)
    np.testing.assert_allclose(imported.array("D_J_per_m2"), dataset.array("D_J_per_m2")[valid])
    assert imported.grid.dx == pytest.approx(dataset.grid.dx)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,D_J_per_m2\nx.ovf,1\n")
    with pytest.raises(ValueError, match="lacks the column"):
        read_manifest(bad)
