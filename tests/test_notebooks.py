"""The book's notebooks execute: under nbval (lax mode, after jupytext conversion) and
through papermill with tiny smoke parameters, checking the values each one records."""

import math
import subprocess
import sys

import pytest

from dmilib.book import notebook_sources, prepare_notebook, run_notebooks

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("papermill")
    return run_notebooks("smoke", out, work_dir=tmp_path_factory.mktemp("work"))


def test_every_notebook_runs_under_papermill_and_records(smoke_run):
    names = [source.stem for source in notebook_sources()]
    assert sorted(smoke_run) == sorted(names)


def test_solver_notebook_record(smoke_run):
    record = smoke_run["solver"]
    assert record["converged"] == [True, True]
    assert all(math.isfinite(value) for value in record["mean_mz"])


def test_dataset_notebook_record(smoke_run):
    record = smoke_run["dataset"]
    # The tiny preset: 4 runs of 3 snapshots, the D = 0 run collapses (see test_dataset_generate).
    assert record["samples"] == 12 and record["valid_samples"] == 9
    assert record["runs_done"] == 3 and record["runs_failed"] == 1


def test_notebooks_pass_nbval_lax(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for source in notebook_sources():
        prepare_notebook(source, tmp_path / "notebooks", "smoke", work)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(tmp_path / "notebooks")],
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "passed" in result.stdout
