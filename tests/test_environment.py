"""environment.yml (conda) must describe the same environment as pyproject.toml.

Every core, ``[book]`` and ``[test]`` dependency of pyproject.toml must appear
in environment.yml -- as a conda package or in its ``pip:`` section -- with the
same version range.  Specifiers are compared as sets, so ``numpy >=1.26.0,<3``
(conda syntax) equals ``numpy<3,>=1.26.0`` (PEP 508).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"

# extras of pyproject.toml that environment.yml must contain
CHECKED_EXTRAS = ("book", "test")
# conda-forge package name -> PyPI name, where they differ
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib"}
# conda entries that are not Python dependencies of dmilib
NOT_DEPENDENCIES = {"python", "pip"}

_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")


def _specs(text: str) -> frozenset[str]:
    """Canonical form of a version range: the set of its clauses."""
    return frozenset(str(s) for s in SpecifierSet(text.replace(" ", "")))


def parse_conda_spec(spec: str) -> tuple[str, frozenset[str]]:
    """Parse a conda match spec ``name [version]`` into (pypi name, clauses).

    Handles the PEP 440-like subset conda shares with pip (``>=``, ``<``,
    ``==``, ``!=``, comma = and) plus conda's fuzzy ``=1.2`` / ``1.2``
    (both mean ``1.2.*``).  Anything else (build strings, ``|``) is rejected.
    """
    m = _CONDA_SPEC.match(spec)
    if m is None:
        raise ValueError(f"cannot parse conda spec {spec!r}")
    name, version = m.groups()
    version = re.sub(r"\s*,\s*", ",", version)
    if "::" in name or " " in version or "|" in version:
        raise ValueError(f"unsupported conda spec {spec!r}")
    name = canonicalize_name(CONDA_TO_PYPI.get(name.lower(), name))
    clauses = []
    for clause in filter(None, version.split(",")):
        if re.match(r"^=[^=]", clause):  # conda fuzzy '=1.2' -> '==1.2.*'
            clause = "=" + clause + ("" if clause.endswith("*") else ".*")
        elif re.match(r"^[0-9]", clause):  # bare '1.2' -> '==1.2.*'
            clause = "==" + clause + ("" if clause.endswith("*") else ".*")
        clauses.append(clause)
    return name, _specs(",".join(clauses))


def pyproject_deps(path: Path = PYPROJECT, extras=CHECKED_EXTRAS) -> dict:
    """{name: clauses} for the core dependencies and the given extras."""
    project = tomllib.loads(path.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    out = {}
    for text in reqs:
        req = Requirement(text)
        out[canonicalize_name(req.name)] = frozenset(str(s) for s in req.specifier)
    return out


def environment_deps(path: Path = ENVIRONMENT) -> dict:
    """{name: clauses} for the conda packages and the pip: section."""
    env = yaml.safe_load(path.read_text())
    out = {}

    def add(name, clauses):
        if name in out:
            raise ValueError(f"{name} listed twice in {path.name}")
        out[name] = clauses

    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                line = line.strip()
                if line.startswith("-"):  # -e ., --index-url ...: not a dependency
                    continue
                req = Requirement(line)
                add(canonicalize_name(req.name), frozenset(str(s) for s in req.specifier))
        else:
            name, clauses = parse_conda_spec(str(entry))
            if name not in NOT_DEPENDENCIES:
                add(name, clauses)
    return out


def environment_python(path: Path = ENVIRONMENT) -> str | None:
    env = yaml.safe_load(path.read_text())
    for entry in env["dependencies"]:
        if isinstance(entry, str) and parse_conda_spec(entry)[0] == "python":
            return entry.split("=", 1)[1].strip("=") if "=" in entry else None
    return None


def compare(pyproject: dict, environment: dict, allowed_extra: dict | None = None) -> list[str]:
    """Human-readable differences; an empty list means the files agree."""
    problems = []
    for name, clauses in sorted(pyproject.items()):
        if name not in environment:
            problems.append(f"{name}: in pyproject.toml but missing from environment.yml")
        elif environment[name] != clauses:
            problems.append(
                f"{name}: range differs: pyproject {','.join(sorted(clauses)) or 'any'}"
                f" vs environment.yml {','.join(sorted(environment[name])) or 'any'}"
            )
    allowed_extra = allowed_extra or {}
    for name, clauses in sorted(environment.items()):
        if name in pyproject:
            continue
        if name not in allowed_extra:
            problems.append(f"{name}: in environment.yml but not a dependency in pyproject.toml")
        elif allowed_extra[name] != clauses:
            problems.append(f"{name}: range differs from pyproject.toml's optional extra")
    return problems


def _other_extras() -> dict:
    """Deps of the extras not required in environment.yml (gpu, ml): allowed, same range."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    others = [e for e in project["optional-dependencies"] if e not in CHECKED_EXTRAS]
    return pyproject_deps(extras=others)


# ---------------------------------------------------------------- the real check


def test_environment_yml_matches_pyproject():
    problems = compare(pyproject_deps(), environment_deps(), _other_extras())
    assert not problems, "environment.yml out of sync with pyproject.toml:\n" + "\n".join(problems)


def test_environment_python_satisfies_requires_python():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    python = environment_python()
    assert python, "environment.yml must pin python"
    assert SpecifierSet(project["requires-python"]).contains(python + ".0"), python


def test_environment_yml_is_a_conda_env():
    env = yaml.safe_load(ENVIRONMENT.read_text())
    assert env["name"] == "dmilib"
    assert "conda-forge" in env["channels"]
    pip = [e for e in env["dependencies"] if isinstance(e, dict)]
    assert pip and any(line.strip().startswith("-e .") for line in pip[0]["pip"]), (
        "environment.yml must install dmilib itself (pip: -e .)"
    )


def test_all_ranges_bounded_above():
    """Every dependency range excludes the next major version."""
    for name, clauses in pyproject_deps(extras=("book", "test", "gpu", "ml")).items():
        assert any(c.startswith("<") for c in clauses), f"{name} has no upper bound"
        assert any(c.startswith(">=") for c in clauses), f"{name} has no lower bound"


# ------------------------------------------- the check must be able to fail


def _altered(tmp_path: Path, old: str, new: str) -> Path:
    text = ENVIRONMENT.read_text()
    assert old in text, f"fixture out of date: {old!r} not in environment.yml"
    path = tmp_path / "environment.yml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "culprit"),
    [
        ("numpy >=1.26.0,<3", "numpy >=1.26.0,<4", "numpy"),  # upper bound
        ("scipy >=1.11.1,<2", "scipy >=1.10,<2", "scipy"),  # lower bound
        ("pytest >=8.0.0,<9", "pytest", "pytest"),  # range dropped
        ("  - nbval >=0.11.0,<1\n", "", "nbval"),  # package removed
        ("  - tqdm >=4.66.0,<5\n", "", "tqdm"),  # core package removed
        ("  - pip:\n", "  - pandas >=2,<3\n  - pip:\n", "pandas"),  # unknown extra
    ],
)
def test_altered_copy_is_detected(tmp_path, old, new, culprit):
    env = environment_deps(_altered(tmp_path, old, new))
    problems = compare(pyproject_deps(), env, _other_extras())
    assert problems, f"altering {old.strip()!r} went unnoticed"
    assert any(p.startswith(culprit + ":") for p in problems), problems


def test_moving_a_package_to_pip_section_is_fine(tmp_path):
    """A dependency may come from pip instead of conda, with the same range."""
    path = _altered(tmp_path, "  - papermill >=2.6.0,<3\n", "")
    path.write_text(path.read_text().replace("      - -e .", "      - papermill<3,>=2.6.0\n      - -e ."))
    assert compare(pyproject_deps(), environment_deps(path), _other_extras()) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("numpy >=1.26.0,<3", ("numpy", {">=1.26.0", "<3"})),
        ("numpy>=1.26.0,<3", ("numpy", {">=1.26.0", "<3"})),
        ("numpy <3,>=1.26.0", ("numpy", {">=1.26.0", "<3"})),
        ("PyYAML >=6.0,<7", ("pyyaml", {">=6.0", "<7"})),
        ("matplotlib-base >=3.8.0,<4", ("matplotlib", {">=3.8.0", "<4"})),
        ("pytest_timeout", ("pytest-timeout", set())),
        ("python=3.11", ("python", {"==3.11.*"})),
        ("scipy 1.11", ("scipy", {"==1.11.*"})),
    ],
)
def test_parse_conda_spec(spec, expected):
    name, clauses = parse_conda_spec(spec)
    assert (name, set(clauses)) == expected


def test_equivalent_but_different_ranges_are_not_equal():
    # deliberately strict: '<3' and '<3.0' are equivalent for PEP 440 but we
    # want the files to be textually in step, up to order and whitespace
    assert parse_conda_spec("numpy <3")[1] != parse_conda_spec("numpy <3.0")[1]
