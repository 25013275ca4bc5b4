"""The book's run profiles: ``book/profiles/<profile>.yaml`` is their single source.

A profile file maps notebook names to the parameters injected into their ``parameters``
cells; the profile's dataset preset is its ``dataset`` chapter's ``preset_name``. The
notebooks' own ``parameters`` cells are the ``quick`` profile's values (``quick.yaml``
injects nothing but its name and preset).
"""

from __future__ import annotations

from .datasets import REPOSITORY_ROOT, default_dataset_path

PROFILE_FOLDER = REPOSITORY_ROOT / "book" / "profiles"


def profile_names() -> list[str]:
    """The profiles in :data:`PROFILE_FOLDER` (file stems), sorted."""
    return sorted(p.stem for p in PROFILE_FOLDER.glob("*.yaml"))


def _profile_table(profile: str) -> dict:
    import yaml

    path = PROFILE_FOLDER / f"{profile}.yaml"
    if not isinstance(profile, str) or not path.is_file():
        raise ValueError(f"profile must be one of {profile_names()}, got {profile!r}")
    return yaml.safe_load(path.read_text()) or {}


def profile_settings(profile: str) -> dict:
    """Settings of a notebook profile, e.g. ``"quick"`` (CPU), ``"paper"`` (GPU), ``"smoke"`` (tests).

    Returns
    -------
    dict
        A new dict with ``profile``, ``preset_name`` (the ``dataset`` chapter's preset in
        ``book/profiles/<profile>.yaml``) and ``dataset_path`` (:func:`default_dataset_path`
        of that preset, a Path).

    Raises
    ------
    ValueError
        For a profile without a file in ``book/profiles``, or one whose ``dataset`` entry
        names no ``preset_name``.
    """
    table = _profile_table(profile)
    preset_name = (table.get("dataset") or {}).get("preset_name")
    if not isinstance(preset_name, str):
        raise ValueError(f"book/profiles/{profile}.yaml: the dataset entry needs a preset_name")
    return {"profile": profile, "preset_name": preset_name, "dataset_path": default_dataset_path(preset_name)}


def notebook_parameters(profile: str, notebook: str, work_dir) -> dict:
    """Parameters of ``notebook`` under ``profile`` from ``book/profiles/<profile>.yaml``.

    ``"{work}"`` inside string values is replaced by ``work_dir``.
    """
    parameters = dict(_profile_table(profile).get(notebook) or {})
    return {key: value.replace("{work}", str(work_dir)) if isinstance(value, str) else value
            for key, value in parameters.items()}
