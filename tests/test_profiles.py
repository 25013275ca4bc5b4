"""Every profile in book/profiles names notebooks that exist and parameters that they declare."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from dmilib.book import PROFILE_FOLDER, notebook_parameters, profile_names

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
PARAMETERS_CELL = re.compile(r"```\{code-cell\}[^\n]*\n:tags: \[parameters\]\n(.*?)```", re.S)


def declared_parameters(notebook: Path) -> set[str]:
    match = PARAMETERS_CELL.search(notebook.read_text())
    if match is None:
        return set()
    tree = ast.parse(match.group(1))
    return {target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("*.md")), ids=lambda path: path.stem)
def test_papermill_reads_every_declared_parameter(notebook):
    # Papermill parses the parameters cell with its own line regex; a line it cannot parse
    # (an "=" in the trailing comment is enough) drops that name from its list, and every
    # batch run of the chapter then warns "Passed unknown parameter".
    from nbformat.v4 import new_code_cell
    from papermill.translators import PythonTranslator

    match = PARAMETERS_CELL.search(notebook.read_text())
    if match is None:
        pytest.skip(f"{notebook.name} has no parameters cell")
    seen = {parameter.name for parameter in PythonTranslator.inspect(new_code_cell(match.group(1)))}
    assert seen == declared_parameters(notebook), sorted(declared_parameters(notebook) ^ seen)


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


def test_pixelation_seeds_survive_papermill_string_keys():
    from papermill.translators import PythonTranslator

    from dmilib.book import pixelation_seeds

    for profile in ("standard", "paper", "smoke"):
        for chapter, pixelations in (("pixelation", "pixelations"), ("noise", "noise_pixelations")):
            parameters = notebook_parameters(profile, chapter, "/tmp")
            # What the notebook receives: the parameter as papermill writes it into the code cell.
            namespace = {}
            exec(f"value = {PythonTranslator.translate(parameters.get('seeds_by_pixelation', {}))}", namespace)
            seeds = pixelation_seeds(namespace["value"], parameters[pixelations], parameters["seeds"])
            wanted = {int(b): tuple(s) for b, s in (parameters.get("seeds_by_pixelation") or {}).items()}
            for b in parameters[pixelations]:
                assert seeds[b] == wanted.get(b, tuple(parameters["seeds"])), (profile, chapter, b)
    standard = notebook_parameters("standard", "pixelation", "/tmp")
    assert pixelation_seeds({"2": [0, 1, 2]}, standard["pixelations"], standard["seeds"])[2] == (0, 1, 2)
    with pytest.raises(ValueError, match="seeds_by_pixelation"):
        pixelation_seeds({"b2": [0]}, [2], [0])
    with pytest.raises(ValueError, match="no seed"):
        pixelation_seeds({2: []}, [2], [0])
