"""dmilib.book: ensure_dataset reuses, generates, resumes, and refuses other parameters;
the printed command is the CLI's; profile settings. Uses the `tiny` preset (seconds)."""

import contextlib
import io
import shlex
import shutil

import numpy as np
import pytest
import zarr

from dmilib.book import (REPOSITORY_ROOT, default_dataset_path, ensure_dataset, generate_command,
                         profile_settings)
from dmilib.cli import build_parser
from dmilib.dataset import Dataset, load_config, preset
from dmilib.dataset.store import PENDING


def _mtimes(path):
    return {p: p.stat().st_mtime_ns for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A tiny store made by ensure_dataset (the only full generation here), and what it printed."""
    path = tmp_path_factory.mktemp("book") / "tiny.zarr"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = ensure_dataset("tiny", path, scheduler="synchronous", progress=False)
    return path, returned, printed.getvalue()


@pytest.fixture
def tiny_path(generated):
    return generated[0]


def test_missing_store_is_generated_after_printing_the_command(generated):
    path, returned, printed = generated
    assert returned == path.resolve()
    assert f"dmilib generate --preset tiny --out {path.resolve()} --scheduler synchronous --quiet" in printed
    summary = Dataset(path).summary()
    assert summary["runs_pending"] == 0 and summary["runs_done"] == 3 and summary["runs_failed"] == 1


def test_second_call_reuses_the_store_without_writing(tiny_path, capsys):
    capsys.readouterr()
    before = _mtimes(tiny_path)
    seconds = Dataset(tiny_path).array("run_seconds")
    timing = dict(zarr.open_group(str(tiny_path), mode="r").attrs["timing"])
    assert ensure_dataset("tiny", tiny_path, scheduler="synchronous", progress=False) == tiny_path.resolve()
    assert capsys.readouterr().out == ""  # nothing generated, nothing announced
    assert _mtimes(tiny_path) == before  # not a byte rewritten, not even the timing attribute
    np.testing.assert_array_equal(Dataset(tiny_path).array("run_seconds"), seconds)
    assert dict(zarr.open_group(str(tiny_path), mode="r").attrs["timing"]) == timing


def test_interrupted_store_is_finished_run_by_run(tiny_path, tmp_path, capsys):
    path = tmp_path / "partial.zarr"
    shutil.copytree(tiny_path, path)
    group = zarr.open_group(str(path), mode="r+")
    group["run_status"][2] = PENDING  # as if killed before run 2 was written
    kept = {run: float(group["run_seconds"][run]) for run in (1, 3)}
    capsys.readouterr()
    ensure_dataset("tiny", path, scheduler="synchronous", progress=False)
    assert "resuming 1 unfinished run(s)" in capsys.readouterr().out
    dataset = Dataset(path)
    assert dataset.summary()["runs_pending"] == 0
    for run, seconds in kept.items():  # the other runs were not recomputed
        assert float(dataset.array("run_seconds")[run]) == seconds


def test_store_with_other_parameters_is_refused_with_the_command(tiny_path):
    before = _mtimes(tiny_path)
    with pytest.raises(ValueError, match="left untouched") as error:
        ensure_dataset("tiny", tiny_path, overrides={"protocol.Hx_T": 0.05}, scheduler="synchronous")
    message = str(error.value)
    assert "dmilib generate --preset tiny" in message and "--set protocol.Hx_T=0.05" in message
    assert f"--out {tiny_path.resolve()}" in message and "--overwrite" in message
    with pytest.raises(ValueError, match="dmilib generate --preset quick"):
        ensure_dataset("quick", tiny_path)  # another preset at that path
    assert _mtimes(tiny_path) == before


def test_path_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "notes.zarr").mkdir()
    (tmp_path / "notes.zarr" / "readme.txt").write_text("not a store")
    with pytest.raises(ValueError, match="not a dmilib dataset store"):
        ensure_dataset("tiny", tmp_path / "notes.zarr", scheduler="synchronous")


def test_bad_preset_and_override_fail_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="preset must be one of"):
        ensure_dataset("huge", tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="unknown configuration field"):
        ensure_dataset("tiny", tmp_path / "x.zarr", overrides={"protocol.H_x": 0.1})
    assert not (tmp_path / "x.zarr").exists()


def test_command_is_accepted_by_the_cli_and_means_the_same_parameters(tmp_path):
    overrides = {"protocol": {"Hx_T": 0.05, "snapshot_Hz_T": (-6e-3, -10e-3)}, "runs_per_task": 2}
    command = generate_command("tiny", tmp_path / "t.zarr", overrides=overrides, scheduler="synchronous")
    argv = shlex.split(command)
    assert argv[:2] == ["dmilib", "generate"] and "--runs-per-task" in argv
    args = build_parser().parse_args(argv[1:])
    config = load_config(args.preset, args.config, args.set)
    expected = load_config("tiny", sets=["protocol.Hx_T=0.05", "protocol.snapshot_Hz_T=[-0.006,-0.01]"])
    assert config.parameters_hash() == expected.parameters_hash() != preset("tiny").parameters_hash()
    assert args.runs_per_task == 2 and args.scheduler == "synchronous"


def test_default_paths_are_in_the_repository_data_folder():
    assert default_dataset_path("quick") == REPOSITORY_ROOT / "data" / "quick.zarr"
    assert (REPOSITORY_ROOT / "dmilib" / "book" / "__init__.py").is_file()
    assert generate_command("quick") == "dmilib generate --preset quick --out data/quick.zarr"
    assert generate_command("quick", "data/q.zarr", overwrite=True).endswith("--out data/q.zarr --overwrite")


def test_profile_settings():
    quick, paper = profile_settings("quick"), profile_settings("paper")
    assert quick["preset_name"] == "quick" and quick["dataset_path"] == default_dataset_path("quick")
    assert paper["preset_name"] == "paper" and paper["dataset_path"] == default_dataset_path("paper")
    quick["preset_name"] = "changed"  # a copy: callers may extend it
    assert profile_settings("quick")["preset_name"] == "quick"
    assert profile_settings("smoke")["preset_name"] == "tiny"  # the test suite's smoke runs
    with pytest.raises(ValueError, match="profile must be one of"):
        profile_settings("gpu")


def test_flag_examples_show_one_change_each():
    from scipy import ndimage

    from dmilib.book import FLAG_EXAMPLES, flag_examples

    # A dark disk of radius 6 pixels centred in a bright 20 x 20 film, with tanh walls.
    rows, cols = np.indices((20, 20)) + 0.0
    image = np.tanh(np.hypot(rows - 9.5, cols - 9.5) - 6.0).astype(np.float32)
    examples = flag_examples(image)
    assert list(examples) == list(FLAG_EXAMPLES)

    def dark_regions(array):
        return ndimage.label(array < 0)[1]

    def dark_centroid(array):
        where = np.argwhere(array < 0)
        return where.mean(axis=0)

    np.testing.assert_array_equal(examples["held-out bubble"], image)
    assert examples["lattice of bubbles"].shape == (60, 60) and dark_regions(examples["lattice of bubbles"]) == 9
    np.testing.assert_array_equal(examples["inverted contrast"], -image)
    assert np.ptp(examples["flat image"]) == 0 and examples["flat image"][0, 0] == image.max()
    # 0.15 x 20 pixels = 3 pixels down and right; zero where the shift uncovers the frame.
    moved = examples["off-centre, model-sized"]
    assert moved.shape == image.shape and not moved[:3].any() and not moved[:, :3].any()
    np.testing.assert_allclose(dark_centroid(moved) - dark_centroid(image), [3.0, 3.0])
    larger = examples["off-centre, larger view"]
    assert larger.shape == (60, 60) and dark_regions(larger) == 1
    np.testing.assert_allclose(dark_centroid(larger), [9.5, 49.5])
    cut = examples["cut by the edge"]
    assert cut.shape == (20, 10) and (cut[:, 0] < 0).any()  # the bubble reaches the first column
    with pytest.raises(ValueError, match="offset_fraction"):
        flag_examples(image, offset_fraction=0.5)
    with pytest.raises(ValueError, match="2-D"):
        flag_examples(image[0])


def test_markdown_tables_with_pipes_in_cells_parse_as_tables():
    from markdown_it import MarkdownIt

    from dmilib.book import markdown_table

    text = markdown_table(["method", "max |m - m_ref|"], [["minimizer", "|x| = 0.001"], ["LLG", 2]])
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    cells = [token.content for token in tokens if token.type == "inline"]
    assert cells == ["method", "max |m - m_ref|", "minimizer", "|x| = 0.001", "LLG", "2"]
