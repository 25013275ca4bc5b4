"""dmilib.book_check finds each chapter's page and catches missing or broken figures."""

import numpy as np
import pytest
from PIL import Image

from dmilib.book import notebook_sources
from dmilib.book_check import check_page, main


def _chapter(tmp_path, name, body):
    page = tmp_path / "notebooks" / f"{name}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    return page


def _png(path, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros(size[::-1], np.uint8)).save(path)


def test_page_with_a_real_figure_is_ok(tmp_path):
    _png(tmp_path / "_images" / "figure.png")
    _chapter(tmp_path, "solver", '<img src="../_images/figure.png" alt="x"><img src="https://x.org/logo.png">')
    report = check_page(tmp_path, "notebooks/solver")
    assert report.ok and report.images == 1


@pytest.mark.parametrize("body, problem", [
    ('<img src="../_images/gone.png">', "missing gone.png"),
    ('<img src="../_images/broken.png">', "unreadable broken.png"),
    ("<p>text only</p>", "no figure on the page"),
    ('<img src="../_images/figure.png">\n<p>| a | b |\n|---|---|</p>', "1 Markdown table(s) shown as text"),
])
def test_missing_broken_or_absent_figures_are_reported(tmp_path, body, problem):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "broken.png").write_bytes(b"not a png")
    _png(tmp_path / "_images" / "figure.png")
    _chapter(tmp_path, "dataset", body)
    report = check_page(tmp_path, "notebooks/dataset")
    assert not report.ok and any(p.startswith(problem) for p in report.problems)


def test_unbuilt_page_and_unbuilt_book(tmp_path, capsys):
    assert check_page(tmp_path, "notebooks/noise").problems == ["page not built"]
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path)])
    assert exit_info.value.code == 2 and "make book" in capsys.readouterr().err


def test_main_checks_every_chapter_of_the_toc(tmp_path, capsys):
    (tmp_path / "index.html").write_text("<html></html>")
    _png(tmp_path / "_images" / "f.png")
    names = [source.stem for source in notebook_sources()]
    for name in names[:-1]:
        _chapter(tmp_path, name, '<img src="../_images/f.png">')
    assert main([str(tmp_path)]) == 1  # the last chapter's page is missing
    out = capsys.readouterr().out
    assert all(name in out for name in names) and "page not built" in out
