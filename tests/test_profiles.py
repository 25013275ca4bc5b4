"""Every profile in book/profiles names notebooks that exist and parameters that they declare."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from dmilib.book import PROFILE_FOLDER, profile_names

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
PARAMETERS_CELL = re.compile(r"```\{code-cell\}[^\n]*\n:tags: \[parameters\]\n(.*?)```", re.S)


def declared_parameters(notebook: Path) -> set[str]:
    match = PARAMETERS_CELL.search(notebook.read_text())
    if match is None:
        return set()
    tree = ast.parse(match.group(1))
    return {target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


@pytest.mark.parametrize("profile", profile_names())
def test_profile_parameters_exist_in_their_notebooks(profile):
    table = yaml.safe_load((PROFILE_FOLDER / f"{profile}.yaml").read_text())
    assert "dataset" in table and isinstance(table["dataset"].get("preset_name"), str)
    for notebook, values in table.items():
        path = NOTEBOOKS / f"{notebook}.md"
        assert path.is_file(), f"{profile}.yaml names a notebook that does not exist: {notebook}"
        unknown = set(values or {}) - declared_parameters(path)
        assert not unknown, f"{profile}.yaml gives {notebook} parameters it does not declare: {sorted(unknown)}"


def test_the_standard_profile_reads_the_standard_preset():
    from dmilib.dataset.config import preset

    table = yaml.safe_load((PROFILE_FOLDER / "standard.yaml").read_text())
    assert table["dataset"]["preset_name"] == "standard"
    assert len(preset("standard").runs()) == 101 + 6 * 11  # the study's D grid (issue 9)
