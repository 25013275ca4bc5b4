"""What the results chapters share: their data and results folder, and Markdown tables.

Chapters call these instead of repeating the same cells; the numbers and their
verdicts come from :mod:`dmilib.learn.report`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..dataset.store import Dataset
from .datasets import REPOSITORY_ROOT, ensure_dataset, from_root

#: Numbers measured once, on a named machine, and committed: a store too large for the
#: repository (the standard preset's generation), a benchmark. ``book/records/<name>.json``.
RECORDS_FOLDER = REPOSITORY_ROOT / "book" / "records"


@dataclass(frozen=True)
class ChapterData:
    """A chapter's dataset store (opened) and its results folder (absolute)."""

    path: Path
    dataset: Dataset
    results_root: Path


def chapter_data(preset_name: str | None, dataset_path=None, results_root="results/quick", *,
                 scheduler: str = "local") -> ChapterData:
    """The preset's store (:func:`~dmilib.book.datasets.ensure_dataset`: reused, or generated) and the results root.

    ``dataset_path`` and ``results_root`` may be relative to the repository root. With
    ``preset_name=None`` the store at ``dataset_path`` is used as it is (an imported or
    reduced store, such as the tests' ``tests/data/quick_b5.zarr``): nothing is generated
    and its parameters are not compared with any preset.
    """
    if preset_name is None:
        if dataset_path is None:
            raise ValueError("dataset_path is required when preset_name is None (a store to use as it is)")
        path = from_root(dataset_path)
        if not path.exists():
            raise ValueError(f"dataset_path {path} does not exist; with preset_name=None nothing is generated")
        return ChapterData(path, Dataset(path), from_root(results_root))
    path = ensure_dataset(preset_name, dataset_path, scheduler=scheduler)
    return ChapterData(path, Dataset(path), from_root(results_root))


def recorded(name: str) -> dict:
    """The committed measurement ``book/records/<name>.json`` (``name`` may hold a ``/``).

    Raises
    ------
    ValueError
        If there is no such record (the message lists the ones there are).
    """
    path = RECORDS_FOLDER / f"{name}.json"
    if not path.is_file():
        known = sorted(str(p.relative_to(RECORDS_FOLDER).with_suffix("")) for p in RECORDS_FOLDER.rglob("*.json"))
        raise ValueError(f"no record {name!r} in book/records (there are: {', '.join(known) or 'none'})")
    return json.loads(path.read_text())


def study_record(chapter: str, profile: str = "standard") -> dict | None:
    """The committed study record ``book/records/<profile>/<chapter>.json``, or None if absent.

    Records are written by ``make standard`` (:mod:`dmilib.learn.study_record`); their
    ``rows`` feed the same tables, figures and verdicts as a chapter's live experiments.

    Raises
    ------
    ValueError
        If the record is unreadable or stale: made from a dataset whose parameters differ
        from today's ``profile`` preset (the message says how to remake it).
    """
    from ..learn.study_record import check_study_record, read_study_record

    path = RECORDS_FOLDER / profile / f"{chapter}.json"
    if not path.is_file():
        return None
    record = read_study_record(path)
    problems = check_study_record(record, profile)
    if problems:
        raise ValueError(f"{path.relative_to(REPOSITORY_ROOT)}: " + "; ".join(problems))
    return record


def markdown_table(columns: list[str], rows: list[list]) -> str:
    """A Markdown table: a header of ``columns`` and one line per row (cells as ``str``).

    A ``|`` inside a cell (``max |m - m_ref|``) is escaped, since it would otherwise end the
    cell and the renderer would drop the whole table back to text.
    """
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"every row must have {len(columns)} cells (one per column)")

    def line(cells) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(columns), "|" + "---|" * len(columns), *(line(row) for row in rows)])


def pixelation_seeds(seeds_by_pixelation: dict, pixelations, seeds) -> dict[int, tuple[int, ...]]:
    """The seeds to train at each pixelation ``b``: ``seeds_by_pixelation[b]`` where given, else ``seeds``.

    Papermill writes a dict parameter with its keys as strings (``{2: [0]}`` arrives as
    ``{"2": [0]}``), so the keys are read back as integers here; without this, a profile's
    fewer seeds at ``b = 2`` were silently replaced by all of them. Keys for a ``b`` the
    chapter does not run are ignored (a profile may set them for another list).

    Raises
    ------
    ValueError
        If a key is not an integer or a seed list is empty.

    Examples
    --------
    >>> pixelation_seeds({"2": [0, 1, 2]}, [2, 5], range(10))[2]
    (0, 1, 2)
    >>> pixelation_seeds({2: [0]}, [5], [0, 1])
    {5: (0, 1)}
    """
    chosen = {int(b): tuple(int(s) for s in seeds) for b in pixelations}
    for key, values in (seeds_by_pixelation or {}).items():
        try:
            b = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"seeds_by_pixelation: key {key!r} is not a pixelation b (an integer)") from None
        values = tuple(int(s) for s in values)
        if not values:
            raise ValueError(f"seeds_by_pixelation: b = {b} has no seed")
        if b in chosen:
            chosen[b] = values
    return chosen
