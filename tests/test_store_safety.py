"""Nothing lost, nothing silently wrong: damaged chunks are found and repaired by the same
command, a second writer is told who holds the store, and a store is replaced only by a
complete one (the `tiny` preset, and the shipped reduced store copied to tmp)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dmilib.cli import main
from dmilib.dataset import Dataset, generate, preset, with_overrides
from dmilib.dataset.interop import import_ovf, read_manifest
from dmilib.dataset.ovf import write_ovf
from dmilib.dataset.store import StoreBusyError, damaged_runs, writer_lock

DATA = Path(__file__).parent / "data"


def _files(root: Path) -> dict[str, bytes]:
    """Every file's bytes, except the root attributes (creation time, timing) and run_seconds (wall times)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p != root / "zarr.json" and "run_seconds" not in p.parts[len(root.parts):][:1]}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("safety") / "tiny.zarr"
    generate(preset("tiny"), path, scheduler="synchronous", progress=False)
    return path


def test_deleted_and_truncated_chunks_are_reported_by_run_and_repaired_to_the_same_bytes(tiny, tmp_path):
    path = tmp_path / "damaged.zarr"
    shutil.copytree(tiny, path)
    snapshots = preset("tiny").snapshots_per_run
    # Samples 3..5 are run 1 and 6..8 run 2, both finished with a bubble in every image.
    deleted = path / "magnetization" / "c" / "4" / "0" / "0" / "0"
    truncated = path / "magnetization" / "c" / "7" / "0" / "0" / "0"
    deleted.unlink()
    truncated.write_bytes(truncated.read_bytes()[:100])
    dataset = Dataset(path)
    with pytest.raises(ValueError, match=r"sample 4 \(run 1\).*all zeros.*dmilib generate"):
        dataset.magnetization([4])
    with pytest.raises(ValueError, match=r"sample 7 \(run 2\).*cannot be read"):
        dataset.magnetization()
    assert sorted(damaged_runs(dataset.group)) == [4 // snapshots, 7 // snapshots]

    summary = generate(preset("tiny"), path, scheduler="synchronous", progress=False)
    assert sorted(summary["repaired_runs"]) == [1, 2] and summary["runs_attempted"] == 2
    assert _files(path) == _files(tiny)
    assert damaged_runs(Dataset(path).group) == {}


def test_export_of_a_damaged_store_is_one_line_naming_the_run(tiny, tmp_path, capsys):
    path = tmp_path / "damaged.zarr"
    shutil.copytree(tiny, path)
    (path / "magnetization" / "c" / "5" / "0" / "0" / "0").unlink()
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--dataset", str(path), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "sample 5 (run 1)" in err and len(err.strip().splitlines()) == 1


def test_a_deleted_chunk_of_a_store_without_digests_is_found(tmp_path):
    source = DATA / "quick_b5.zarr"
    if not source.exists():
        pytest.skip("the shipped store is missing")
    path = tmp_path / "legacy.zarr"
    shutil.copytree(source, path)
    assert damaged_runs(Dataset(path).group) == {}
    chunk = next(p for p in sorted((path / "magnetization" / "c").iterdir()))
    shutil.rmtree(chunk) if chunk.is_dir() else chunk.unlink()
    assert 0 in damaged_runs(Dataset(path).group)
    with pytest.raises(ValueError, match="all zeros"):
        Dataset(path).magnetization([0])


def test_a_second_writer_is_told_who_holds_the_store(tmp_path, capsys):
    out = tmp_path / "locked.zarr"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom dmilib.dataset.store import writer_lock\n"
         "with writer_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)\n", str(out)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SystemExit) as exit_info:
            main(["generate", "--preset", "tiny", "--scheduler", "synchronous", "--quiet", "--out", str(out)])
        assert exit_info.value.code == 3
        err = capsys.readouterr().err
        assert "another process is writing" in err and f"pid {holder.pid}" in err
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    with writer_lock(out):  # released by the operating system when its holder died
        pass


def test_concurrent_writers_in_one_process_are_refused(tmp_path):
    out = tmp_path / "busy.zarr"
    config = with_overrides(preset("tiny"), {"uniform_D_J_per_m2": [1e-3], "nonuniform_D_J_per_m2": []})
    with writer_lock(out):
        with pytest.raises(StoreBusyError, match="another process"):
            generate(config, out, scheduler="synchronous", progress=False)
    assert not out.exists()


def test_overwrite_replaces_a_store_only_once_the_new_one_is_complete(tiny, tmp_path, monkeypatch):
    gen = sys.modules["dmilib.dataset.generate"]

    out = tmp_path / "replaced.zarr"
    shutil.copytree(tiny, out)
    before = _files(out)
    other = with_overrides(preset("tiny"), {"uniform_D_J_per_m2": [1e-3], "nonuniform_D_J_per_m2": []})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gen, "run_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate(other, out, scheduler="synchronous", overwrite=True, progress=False)
    assert _files(out) == before  # the old store is untouched while the new one is unfinished
    monkeypatch.undo()
    summary = generate(other, out, scheduler="synchronous", overwrite=True, progress=False)
    assert summary["runs"] == 1 and summary["runs_pending"] == 0
    assert Dataset(out).config.parameters_hash() == other.parameters_hash()
    assert not out.with_name(out.name + ".new").exists() and not out.with_name(out.name + ".replaced").exists()


def test_import_of_a_multilayer_file_needs_a_layer_and_records_the_film_thickness(tmp_path):
    m = np.zeros((3, 2, 8, 8))
    m[2, 0] = 1.0
    m[0, 1] = 1.0
    write_ovf(tmp_path / "two.ovf", m, (3e-9, 3e-9, 6e-9))
    (tmp_path / "manifest.csv").write_text("path,D_J_per_m2,Hz_T,Hx_T\ntwo.ovf,1e-3,-6e-3,0.1\n")
    rows = read_manifest(tmp_path / "manifest.csv")
    with pytest.raises(ValueError, match="2 layers"):
        import_ovf(rows, tmp_path / "none.zarr")
    top = import_ovf(rows, tmp_path / "top.zarr", layer=1)
    np.testing.assert_array_equal(top.magnetization()[0, 0], np.ones((8, 8)))
    assert top.attrs["cell_size_m"][2] == pytest.approx(12e-9)  # two 6 nm layers: a 12 nm film
    assert top.attrs["ovf_layers"] == {"count": 2, "used": 1, "layer_thickness_m": 6e-9}
    with pytest.raises(ValueError, match="not 1 inside"):  # the mean of +x and +z has |m| = 1/sqrt(2)
        import_ovf(rows, tmp_path / "mean.zarr", layer="mean")
    again = import_ovf(rows, tmp_path / "top.zarr", layer=0, overwrite=True)
    np.testing.assert_array_equal(again.magnetization()[0, 2], np.ones((8, 8)))
