"""Bad input, one case per line: what the user gives, the exit status, the words of the message.

CLI cases run ``dmilib.cli.main(argv)`` in-process (fast; nothing is generated: every case
must fail before any relaxation); API cases call the public function and expect an
exception type. ``{d}`` in an argument is the folder of the fixture files, ``{store}`` a
copy of the shipped reduced store. A new defect of this kind is one line in ``CASES``.
Cases that must leave nothing behind name the path in the last column.
"""

from __future__ import annotations

import dataclasses
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from dmilib.cli import main
from dmilib.dataset import generate, preset, with_overrides
from dmilib.dataset.config import MaterialConfig
from dmilib.dataset.interop import import_ovf, read_manifest
from dmilib.dataset.ovf import read_ovf, write_ovf

DATA = Path(__file__).parent / "data"
TINY = ["generate", "--preset", "tiny", "--scheduler", "synchronous", "--quiet", "--out", "{d}/new.zarr"]
STEP = 3e-9


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width x height`` (no pixel data: readers must refuse it from the header)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))


def _disk(n: int = 16, layers: int = 1) -> np.ndarray:
    y, x = np.mgrid[:n, :n] - (n - 1) / 2
    inside = np.hypot(x, y) < n / 2 - 0.5
    m = np.zeros((3, layers, n, n))
    m[2, :, inside] = 1.0
    return m


def _manifest(d: Path, name: str, line: str, header: str = "path,D_J_per_m2,Hz_T,Hx_T,tessellation") -> None:
    (d / name).write_text(f"{header}\n{line}\n")


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    write_ovf(d / "good.ovf", _disk(), (STEP, STEP, 12e-9))
    write_ovf(d / "two_layers.ovf", _disk(layers=2), (STEP, STEP, 6e-9))
    # write_ovf refuses NaN: patch one value of a good file instead.
    raw = bytearray((d / "good.ovf").read_bytes())
    start = raw.index(b"# Begin: Data Binary 4\n") + len(b"# Begin: Data Binary 4\n") + 4
    raw[start : start + 4] = np.float32(np.nan).tobytes()
    (d / "nan.ovf").write_bytes(bytes(raw))
    (d / "truncated.ovf").write_bytes((d / "good.ovf").read_bytes()[:-200])
    (d / "not_ovf.ovf").write_text("hello\n")
    _manifest(d, "missing_file.csv", "absent.ovf,1e-3,-6e-3,0.1,-1")
    _manifest(d, "D_too_large.csv", "good.ovf,1.5,-6e-3,0.1,-1")
    _manifest(d, "Hz_too_large.csv", "good.ovf,1e-3,-8,0.1,-1")
    _manifest(d, "Hx_too_large.csv", "good.ovf,1e-3,-6e-3,5,-1")
    _manifest(d, "D_nan.csv", "good.ovf,nan,-6e-3,0.1,-1")
    _manifest(d, "D_text.csv", "good.ovf,abc,-6e-3,0.1,-1")
    _manifest(d, "tessellation.csv", "good.ovf,1e-3,-6e-3,0.1,-5")
    _manifest(d, "two_layers.csv", "two_layers.ovf,1e-3,-6e-3,0.1,-1")
    _manifest(d, "nan_file.csv", "nan.ovf,1e-3,-6e-3,0.1,-1")
    _manifest(d, "truncated.csv", "truncated.ovf,1e-3,-6e-3,0.1,-1")
    _manifest(d, "not_ovf.csv", "not_ovf.ovf,1e-3,-6e-3,0.1,-1")
    _manifest(d, "good.csv", "good.ovf,1e-3,-6e-3,0.1,-1")
    _manifest(d, "no_column.csv", "good.ovf,1e-3", header="path,D_J_per_m2")
    (d / "empty.csv").write_text("path,D_J_per_m2,Hz_T,Hx_T\n")
    (d / "bad.yaml").write_text("material: {Ms_A_per_m: [1, \n")
    (d / "list.yaml").write_text("- 1\n- 2\n")
    (d / "a_file").write_text("not a store\n")
    thesis = d / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work\n")
    np.save(d / "m.npy", _disk()[:, 0].astype(np.float32))
    np.save(d / "nan.npy", np.full((8, 8), np.nan))
    np.save(d / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    big = np.lib.format.open_memmap(d / "huge.npy", mode="w+", dtype=np.uint8, shape=(8193, 8193))
    del big  # a sparse file: the header alone says 8193 x 8193
    _png_header_only(d / "bomb.png", 20000, 20000)
    (d / "garbage.png").write_bytes(b"not a png at all")
    (d / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (d / "store_copy.zarr").mkdir()  # replaced by the shipped store below when it exists
    if (DATA / "quick_b5.zarr").exists():
        shutil.rmtree(d / "store_copy.zarr")
        shutil.copytree(DATA / "quick_b5.zarr", d / "store_copy.zarr")
    return d


def _stub_run(pixel_m: float = 3.5e-9, side: int = 64):
    """What ``prepare_inputs`` reads of a trained run (a scalar mz model), without Keras."""
    from dmilib.degrade import Degradation
    from dmilib.learn.artifacts import LoadedRun

    return LoadedRun(path="stub-run", models=[], seeds=[], degradation=Degradation(component="mz"),
                     info={"input_pixel_size_m": pixel_m, "input_shape": [side, side, 1]})


def _huge_resample(d):
    from dmilib.infer import prepare_inputs, read_image

    image = read_image(d / "m.npy", pixel_size_m=90000e-9)
    scalar = dataclasses.replace(image, array=image.array[2], kind="scalar", component="mz")
    prepare_inputs(scalar, _stub_run())


def _config(**material):
    return dataclasses.replace(preset("tiny"), material=MaterialConfig(**material))


# (id, CLI argv or API callable, exit status or exception type, words in the message, path that must not exist)
CASES = [
    # --- generate: configuration (item 4, 5, 6) -----------------------------------------
    ("Ms boolean", [*TINY, "--set", "material.Ms_A_per_m=true"], 2, ["material.Ms_A_per_m", "boolean"], "new.zarr"),
    ("Ms 1 A/m", [*TINY, "--set", "material.Ms_A_per_m=1"], 2, ["material.Ms_A_per_m", "[1000, 5e+06] A/m"], None),
    ("Ms negative", [*TINY, "--set", "material.Ms_A_per_m=-5"], 2, ["material.Ms_A_per_m", "got -5"], None),
    ("A negative", [*TINY, "--set", "material.A_J_per_m=-1e-12"], 2, ["material.A_J_per_m", "J/m"], None),
    ("A boolean", [*TINY, "--set", "material.A_J_per_m=false"], 2, ["material.A_J_per_m", "boolean"], None),
    ("Ku negative", [*TINY, "--set", "material.Ku_J_per_m3=-1"], 2, ["material.Ku_J_per_m3", "J/m^3"], None),
    ("Ku huge", [*TINY, "--set", "material.Ku_J_per_m3=1e9"], 2, ["material.Ku_J_per_m3", "1e+08"], None),
    ("thickness in nm", [*TINY, "--set", "geometry.thickness_m=12"], 2, ["geometry.thickness_m", "1e-06"], None),
    ("cell size zero", [*TINY, "--set", "geometry.cell_size_m=0"], 2, ["geometry.cell_size_m"], None),
    ("cell over exchange length", [*TINY, "--set", "geometry.cell_size_m=9e-9"], 2,
     ["geometry.cell_size_m", "exchange length"], None),
    ("795 um disk", [*TINY, "--set", "geometry.disk_diameter_m=795e-6"], 2, ["geometry.disk_diameter_m", "0.0001"],
     None),
    ("grid too large for memory", [*TINY, "--set", "geometry.disk_diameter_m=50e-6", "--set",
                                   "geometry.cell_size_m=1.5e-9"], 2, ["GiB", "4096 cells across"], "new.zarr"),
    ("disk smaller than 3 cells", [*TINY, "--set", "geometry.disk_diameter_m=10e-9", "--set",
                                   "geometry.cell_size_m=4e-9", "--set", "protocol.seed_radius_m=2e-9", "--set",
                                   "disorder.mean_grain_diameter_m=5e-9"], 2,
     ["disk_diameter_m", "3 cells"], None),
    ("negative tessellation seed", [*TINY, "--set", "disorder.tessellation_seeds=[-3]"], 2,
     ["disorder.tessellation_seeds", "[0, 4294967295]"], "new.zarr"),
    ("repeated seeds", [*TINY, "--set", "disorder.tessellation_seeds=[1, 1]"], 2, ["distinct"], None),
    ("fractional seed", [*TINY, "--set", "disorder.tessellation_seeds=[0.5]"], 2, ["tessellation_seeds"], None),
    ("boolean seed", [*TINY, "--set", "disorder.tessellation_seeds=[true]"], 2, ["tessellation_seeds", "boolean"],
     None),
    ("grain larger than disk", [*TINY, "--set", "disorder.mean_grain_diameter_m=50e-6"], 2,
     ["mean_grain_diameter_m", "disk"], None),
    ("sigma 0.5", [*TINY, "--set", "disorder.relative_sigma=0.5"], 2, ["disorder.relative_sigma"], None),
    ("Hx not a number", [*TINY, "--set", "protocol.Hx_T=abc"], 2, ["protocol.Hx_T", "must be a number"], None),
    ("Hx NaN", [*TINY, "--set", "protocol.Hx_T=.nan"], 2, ["protocol.Hx_T", "[-10, 10] T"], None),
    ("Hx 50 T", [*TINY, "--set", "protocol.Hx_T=50"], 2, ["protocol.Hx_T", "got 50"], None),
    ("Hx boolean", [*TINY, "--set", "protocol.Hx_T=yes"], 2, ["protocol.Hx_T", "boolean"], None),
    ("Hz step zero", [*TINY, "--set", "protocol.Hz_step_T=0"], 2, ["protocol.Hz_step_T", "zero steps"], None),
    ("Hz step too fine", [*TINY, "--set", "protocol.Hz_step_T=-1e-9"], 2, ["100000 steps"], None),
    ("snapshot off the sweep", [*TINY, "--set", "protocol.snapshot_Hz_T=[-6.5e-3]"], 2, ["snapshot_Hz_T"], None),
    ("tolerance zero", [*TINY, "--set", "protocol.torque_tolerance_T=0"], 2, ["protocol.torque_tolerance_T"], None),
    ("max iterations zero", [*TINY, "--set", "protocol.max_iterations=0"], 2, ["protocol.max_iterations"], None),
    ("max iterations fraction", [*TINY, "--set", "protocol.max_iterations=1.5"], 2,
     ["protocol.max_iterations", "integer"], None),
    ("max iterations boolean", [*TINY, "--set", "protocol.max_iterations=true"], 2,
     ["protocol.max_iterations", "boolean"], None),
    ("seed radius negative", [*TINY, "--set", "protocol.seed_radius_m=-1"], 2, ["protocol.seed_radius_m"], None),
    ("D beyond 10 mJ/m2", [*TINY, "--set", "uniform_D_J_per_m2=[1.5]"], 2, ["uniform_D_J_per_m2", "J/m^2"], None),
    ("D boolean", [*TINY, "--set", "uniform_D_J_per_m2=[true]"], 2, ["uniform_D_J_per_m2", "boolean"], None),
    ("D infinite", [*TINY, "--set", "nonuniform_D_J_per_m2=[.inf]"], 2, ["nonuniform_D_J_per_m2"], None),
    ("no D at all", [*TINY, "--set", "uniform_D_J_per_m2=[]", "--set", "nonuniform_D_J_per_m2=[]"], 2,
     ["nothing to generate"], None),
    ("dtype", [*TINY, "--set", "dtype=float16"], 2, ["dtype"], None),
    ("runs per task zero", [*TINY, "--set", "runs_per_task=0"], 2, ["runs_per_task"], None),
    ("--runs-per-task zero", [*TINY, "--runs-per-task", "0"], 2, ["runs_per_task"], None),
    ("unknown field", [*TINY, "--set", "protocol.not_a_field=1"], 2, ["unknown configuration field"], None),
    ("section as value", [*TINY, "--set", "protocol=1"], 2, ["protocol is a section"], None),
    ("override without =", [*TINY, "--set", "protocol.Hx_T"], 2, ["section.field=value"], None),
    # --- generate: files, scheduler, overwrite (items 1, 7, 13) -----------------------------
    ("missing --config", [*TINY, "--config", "{d}/absent.yaml"], 2, ["absent.yaml", "cannot read"], "new.zarr"),
    ("malformed --config", [*TINY, "--config", "{d}/bad.yaml"], 2, ["bad.yaml", "not valid YAML"], None),
    ("--config not a mapping", [*TINY, "--config", "{d}/list.yaml"], 2, ["list.yaml", "mapping"], None),
    ("--config is a folder", [*TINY, "--config", "{d}/thesis"], 2, ["thesis", "cannot read"], None),
    ("--out is a file", [*TINY[:-1], "{d}/a_file"], 2, ["a_file", "not a dmilib dataset store"], None),
    ("--overwrite a thesis folder", [*TINY[:-1], "{d}/thesis", "--overwrite"], 2,
     ["thesis", "not a dmilib dataset store"], None),
    ("--out under a file", [*TINY[:-1], "{d}/a_file/x.zarr"], 2, ["a_file"], None),
    ("bad scheduler", [*TINY[:3], "--scheduler", "nonsense", "--out", "{d}/new.zarr"], 2, ["scheduler must be"],
     "new.zarr"),
    ("workers zero", [*TINY[:3], "--scheduler", "local", "--workers", "0", "--out", "{d}/new.zarr"], 2,
     ["workers must be"], "new.zarr"),
    # --- export (items 3, 7) -------------------------------------------------------------------
    ("export missing store", ["export", "--dataset", "{d}/absent.zarr", "--out", "{d}/exported"], 2,
     ["absent.zarr", "does not exist"], "exported"),
    ("export a non-store folder", ["export", "--dataset", "{d}/thesis", "--out", "{d}/exported"], 2,
     ["thesis", "not a dmilib dataset store"], "exported"),
    ("export index out of range", ["export", "--dataset", "{d}/store_copy.zarr", "--out", "{d}/exported",
                                   "--indices", "99999"], 2, ["sample index must be in"], None),
    ("export into a file", ["export", "--dataset", "{d}/store_copy.zarr", "--out", "{d}/a_file", "--indices", "0"],
     2, ["a_file"], None),
    # --- import (items 1, 7, 8) ----------------------------------------------------------------
    ("manifest missing", ["import", "--manifest", "{d}/absent.csv", "--out", "{d}/imp.zarr"], 2,
     ["absent.csv", "cannot read"], "imp.zarr"),
    ("manifest lacks a column", ["import", "--manifest", "{d}/no_column.csv", "--out", "{d}/imp.zarr"], 2,
     ["lacks the column"], "imp.zarr"),
    ("manifest lists nothing", ["import", "--manifest", "{d}/empty.csv", "--out", "{d}/imp.zarr"], 2,
     ["lists no file"], "imp.zarr"),
    ("manifest names a missing file", ["import", "--manifest", "{d}/missing_file.csv", "--out", "{d}/imp.zarr"], 2,
     ["line 2", "absent.ovf", "does not exist"], "imp.zarr"),
    ("D = 1.5 J/m2", ["import", "--manifest", "{d}/D_too_large.csv", "--out", "{d}/imp.zarr"], 2,
     ["line 2", "D_J_per_m2", "[-0.01, 0.01]"], "imp.zarr"),
    ("Hz = -8 T", ["import", "--manifest", "{d}/Hz_too_large.csv", "--out", "{d}/imp.zarr"], 2, ["Hz_T", "[-1, 1]"],
     "imp.zarr"),
    ("Hx = 5 T", ["import", "--manifest", "{d}/Hx_too_large.csv", "--out", "{d}/imp.zarr"], 2, ["Hx_T"], "imp.zarr"),
    ("D NaN", ["import", "--manifest", "{d}/D_nan.csv", "--out", "{d}/imp.zarr"], 2, ["D_J_per_m2", "nan"],
     "imp.zarr"),
    ("D not a number", ["import", "--manifest", "{d}/D_text.csv", "--out", "{d}/imp.zarr"], 2, ["line 2"],
     "imp.zarr"),
    ("tessellation -5", ["import", "--manifest", "{d}/tessellation.csv", "--out", "{d}/imp.zarr"], 2,
     ["tessellation", ">= -1"], "imp.zarr"),
    ("multi-layer without --layer", ["import", "--manifest", "{d}/two_layers.csv", "--out", "{d}/imp.zarr"], 2,
     ["two_layers.ovf", "2 layers", "--layer"], "imp.zarr"),
    ("--layer out of range", ["import", "--manifest", "{d}/two_layers.csv", "--out", "{d}/imp.zarr", "--layer", "5"],
     2, ["two_layers.ovf", "layer"], "imp.zarr"),
    ("--layer not a number", ["import", "--manifest", "{d}/two_layers.csv", "--out", "{d}/imp.zarr", "--layer", "x"],
     2, ["--layer must be"], "imp.zarr"),
    ("OVF with NaN", ["import", "--manifest", "{d}/nan_file.csv", "--out", "{d}/imp.zarr"], 2, ["nan.ovf", "NaN"],
     "imp.zarr"),
    ("truncated OVF", ["import", "--manifest", "{d}/truncated.csv", "--out", "{d}/imp.zarr"], 2,
     ["truncated.ovf", "truncated"], "imp.zarr"),
    ("not an OVF file", ["import", "--manifest", "{d}/not_ovf.csv", "--out", "{d}/imp.zarr"], 2,
     ["not_ovf.ovf", "not an OVF"], "imp.zarr"),
    ("import over a thesis folder", ["import", "--manifest", "{d}/good.csv", "--out", "{d}/thesis", "--overwrite"],
     2, ["thesis", "not a dmilib dataset store"], None),
    ("import over a store without --overwrite", ["import", "--manifest", "{d}/good.csv", "--out",
                                                 "{d}/store_copy.zarr"], 2, ["exists"], None),
    # --- predict: images are read and checked before any run is loaded (items 6, 7) ---------------
    ("image missing", ["predict", "--model", "{d}/no_run", "{d}/absent.npy", "--pixel-size-nm", "3"], 2,
     ["absent.npy", "does not exist"], None),
    ("image type", ["predict", "--model", "{d}/no_run", "{d}/photo.jpg", "--pixel-size-nm", "3"], 2,
     ["photo.jpg", "unsupported"], None),
    ("pixel size missing", ["predict", "--model", "{d}/no_run", "{d}/m.npy"], 2, ["pixel_size_m is required"], None),
    ("pixel size zero", ["predict", "--model", "{d}/no_run", "{d}/m.npy", "--pixel-size-nm", "0"], 2,
     ["--pixel-size-nm", "> 0"], None),
    ("pixel size NaN", ["predict", "--model", "{d}/no_run", "{d}/m.npy", "--pixel-size-nm", "nan"], 2,
     ["--pixel-size-nm"], None),
    ("PNG bomb 20000^2", ["predict", "--model", "{d}/no_run", "{d}/bomb.png", "--pixel-size-nm", "3",
                          "--component", "mz"], 2, ["bomb.png", "400000000 pixels", "8192 x 8192"], None),
    ("npy of 8193^2", ["predict", "--model", "{d}/no_run", "{d}/huge.npy", "--pixel-size-nm", "3",
                       "--component", "mz"], 2, ["huge.npy", "8193 x 8193", "limit"], None),
    ("PNG garbage", ["predict", "--model", "{d}/no_run", "{d}/garbage.png", "--pixel-size-nm", "3",
                     "--component", "mz"], 2, ["garbage.png", "not a readable PNG"], None),
    ("npy of objects", ["predict", "--model", "{d}/no_run", "{d}/objects.npy", "--pixel-size-nm", "3"], 2,
     ["objects.npy", "unpickling"], None),
    ("npy with NaN", ["predict", "--model", "{d}/no_run", "{d}/nan.npy", "--pixel-size-nm", "3", "--component", "mz"],
     2, ["nan.npy", "NaN"], None),
    ("scalar image without component", ["predict", "--model", "{d}/no_run", "{d}/bomb.png", "--pixel-size-nm", "3"],
     2, ["component is required"], None),
    ("multi-layer OVF image", ["predict", "--model", "{d}/no_run", "{d}/two_layers.ovf"], 2,
     ["two_layers.ovf", "2 layers"], None),
    ("missing run folder", ["predict", "--model", "{d}/no_run", "{d}/good.ovf"], 2, ["no_run", "does not exist"],
     None),
    ("run folder without run.json", ["predict", "--model", "{d}/thesis", "{d}/good.ovf"], 2, ["run.json"], None),
    # --- train (item 7) ---------------------------------------------------------------------------
    ("train seeds zero", ["train", "--dataset", "{d}/store_copy.zarr", "--out", "{d}/run", "--seeds", "0"], 2,
     ["--seeds"], "run"),
    ("train pixelation zero", ["train", "--dataset", "{d}/store_copy.zarr", "--out", "{d}/run", "--pixelation", "0"],
     2, ["pixelation"], "run"),
    ("train missing dataset", ["train", "--dataset", "{d}/absent.zarr", "--out", "{d}/run"], 2,
     ["absent.zarr", "does not exist"], "run"),
    ("train on a non-store", ["train", "--dataset", "{d}/thesis", "--out", "{d}/run"], 2,
     ["not a dmilib dataset store"], "run"),
    # --- bench (item 12) ---------------------------------------------------------------------------
    ("bench lists its benchmarks", ["bench", "--help"], 0, ["solver", "train"], None),
    ("bench forwards bad options", ["bench", "solver", "--repeats", "0"], 2, ["--repeats must be >= 1"], None),
    # --- public API ----------------------------------------------------------------------------------
    ("API: Ms boolean in a config", lambda d: _config(Ms_A_per_m=True).validate(), ValueError,
     ["material.Ms_A_per_m", "must be a number"], None),
    ("API: Ku boolean via with_overrides", lambda d: with_overrides(preset("tiny"), {"material.Ku_J_per_m3": True}),
     ValueError, ["material.Ku_J_per_m3", "boolean"], None),
    ("API: bad scheduler leaves no store", lambda d: generate(preset("tiny"), d / "api.zarr", scheduler="tcp:/x"),
     ValueError, ["scheduler must be"], "api.zarr"),
    ("API: workers boolean", lambda d: generate(preset("tiny"), d / "api.zarr", workers=True), ValueError,
     ["workers"], "api.zarr"),
    ("API: write_ovf title with ##", lambda d: write_ovf(d / "x.ovf", _disk(), (STEP,) * 3, title="m ## x"),
     ValueError, ["title", "##"], "x.ovf"),
    ("API: write_ovf header value with ##", lambda d: write_ovf(d / "x.ovf", _disk(), (STEP,) * 3,
                                                                 extra_header={"note": "a ## b"}),
     ValueError, ["extra_header", "##"], "x.ovf"),
    ("API: read_ovf names the file", lambda d: read_ovf(d / "truncated.ovf"), ValueError, ["truncated.ovf"], None),
    ("API: read_ovf missing file", lambda d: read_ovf(d / "absent.ovf"), FileNotFoundError, ["absent.ovf"], None),
    ("API: import_ovf layer -1", lambda d: import_ovf(read_manifest(d / "two_layers.csv"), d / "imp.zarr", layer=-1),
     ValueError, ["layer must be"], "imp.zarr"),
    ("API: read_manifest D range", lambda d: read_manifest(d / "D_too_large.csv"), ValueError,
     ["D_too_large.csv", "line 2"], None),
    ("API: resampling to 29 TiB", _huge_resample, ValueError, ["m.npy", "GiB", "8192 x 8192", "pixel size"], None),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_bad_input(case, d, capsys):
    name, action, expected, words, absent = case
    if callable(action):
        with pytest.raises(expected) as error:
            action(d)
        message = str(error.value)
    else:
        argv = [a.replace("{d}", str(d)) for a in action]
        with pytest.raises(SystemExit) as exit_info:
            status = main(argv)
            raise SystemExit(status)
        assert exit_info.value.code == expected, capsys.readouterr()
        captured = capsys.readouterr()
        message = captured.err + captured.out
        if expected != 0:
            assert "Traceback" not in message
            assert len(message.strip().splitlines()) == 1 or message.startswith("usage"), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    if absent is not None:
        assert not (d / absent).exists()


def test_enough_cases():
    assert len(CASES) >= 60


def test_thesis_folder_survives_overwrite(d):
    """Item 1: after the refused --overwrite cases above (or here), the folder is intact."""
    for argv in ([*TINY[:-1], "{d}/thesis", "--overwrite"],
                 ["import", "--manifest", "{d}/good.csv", "--out", "{d}/thesis", "--overwrite"]):
        with pytest.raises(SystemExit):
            main([a.replace("{d}", str(d)) for a in argv])
    assert (d / "thesis" / "chapter1.tex").read_text() == "years of work\n"


def test_debug_shows_the_traceback(d):
    with pytest.raises(ValueError, match="material.Ms_A_per_m"):
        main(["--debug", *[a.replace("{d}", str(d)) for a in TINY], "--set", "material.Ms_A_per_m=true"])
