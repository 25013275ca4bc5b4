"""Every name a dmilib module promises in ``__all__`` can be star-imported.

The modules are found from the source tree (any file that assigns ``__all__``), so a new
module is covered without editing this test.
"""

import importlib
import pathlib

import pytest

import dmilib

PACKAGE_DIR = pathlib.Path(dmilib.__file__).parent


def _modules_with_all() -> list[str]:
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "__all__" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


MODULES = _modules_with_all()


def test_modules_were_found():
    # the packages that re-export their API; losing one from the scan would hide its failures
    assert {"dmilib.learn", "dmilib.dataset", "dmilib.simulate"} <= set(MODULES)


@pytest.mark.parametrize("module_name", MODULES)
def test_star_import_defines_every_name(module_name):
    module = importlib.import_module(module_name)
    declared = list(module.__all__)
    assert len(declared) == len(set(declared)), f"{module_name}.__all__ repeats a name"
    namespace: dict = {}
    exec(f"from {module_name} import *", namespace)  # noqa: S102 - the statement under test
    missing = [name for name in declared if name not in namespace]
    assert not missing, f"{module_name}.__all__ names missing attributes: {missing}"
