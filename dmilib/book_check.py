"""Check a built book: every chapter's page exists and shows its figures.

``python -m dmilib.book_check [_build/html] [--screenshots DIR]`` reads the table of
contents, opens each chapter's HTML page, and checks that every ``<img>`` on it points to
a PNG (or SVG) file that exists and decodes to a non-empty image, and that no Markdown table
was left as text (a paragraph of pipes). With ``--screenshots``
it also opens each page in a real headless browser (Chromium or Chrome, found on the
``PATH``) and saves what the browser drew, so that a person can look at the figures as a
reader will; the files are full-width PNGs, one per chapter.

Exit status 0 when every chapter has a page with at least one figure and no image is
missing or broken, 1 otherwise (the table printed says which).
"""

from __future__ import annotations

import argparse
import html.parser
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .book import REPOSITORY_ROOT, notebook_sources

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_UNPARSED_TABLE = re.compile(r"<p>\|[^<\n]*\|\s*$", re.MULTILINE)


class _ImageSources(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            source = dict(attrs).get("src")
            if source and not source.startswith(("http:", "https:", "data:")):
                self.sources.append(source)


@dataclass
class PageReport:
    """What :func:`check_page` found on one chapter's page."""

    chapter: str
    page: Path
    images: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.page.exists() and self.images > 0 and not self.problems


def _image_problem(path: Path) -> str | None:
    if not path.exists():
        return f"missing {path.name}"
    if path.suffix.lower() == ".svg":
        return None if path.stat().st_size > 0 else f"empty {path.name}"
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            width, height = image.size
    except Exception as error:  # any decoding failure is a broken figure
        return f"unreadable {path.name} ({error})"
    return None if width > 1 and height > 1 else f"{path.name} is {width} x {height} pixels"


def check_page(html_root: Path, chapter: str) -> PageReport:
    """Check the page of ``chapter`` (``"notebooks/solver"``) under ``html_root``."""
    page = html_root / f"{chapter}.html"
    report = PageReport(chapter, page)
    if not page.exists():
        report.problems.append("page not built")
        return report
    text = page.read_text(encoding="utf-8")
    parser = _ImageSources()
    parser.feed(text)
    for source in parser.sources:
        problem = _image_problem((page.parent / source.split("#")[0].split("?")[0]).resolve())
        if problem:
            report.problems.append(problem)
    report.images = len(parser.sources)
    if report.images == 0:
        report.problems.append("no figure on the page")
    # A table the renderer could not parse is left as a paragraph of pipes.
    unparsed = len(_UNPARSED_TABLE.findall(text))
    if unparsed:
        report.problems.append(f"{unparsed} Markdown table(s) shown as text")
    return report


def find_browser() -> str | None:
    """Path of a Chromium-family browser on the PATH, or None."""
    return next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)


def screenshot(browser: str, page: Path, out: Path, width: int = 1280, height: int = 6000) -> Path:
    """Save what a headless browser draws of ``page`` to ``out`` (PNG)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # --virtual-time-budget lets the page's scripts and images load before the capture.
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--window-size={width},{height}", "--virtual-time-budget=5000",
               f"--screenshot={out}", page.resolve().as_uri()]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dmilib.book_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("html", nargs="?", default=str(REPOSITORY_ROOT / "_build" / "html"),
                        help="the built book's HTML folder (default: _build/html)")
    parser.add_argument("--screenshots", metavar="DIR", help="also save a headless-browser screenshot of each page")
    args = parser.parse_args(argv)
    html_root = Path(args.html)
    if not (html_root / "index.html").exists():
        parser.exit(2, f"python -m dmilib.book_check: error: {html_root} has no index.html; run `make book` first\n")
    browser = find_browser() if args.screenshots else None
    if args.screenshots and browser is None:
        parser.exit(2, f"python -m dmilib.book_check: error: --screenshots needs one of {', '.join(BROWSERS)} "
                       "on the PATH\n")
    reports = [check_page(html_root, str(source.relative_to(REPOSITORY_ROOT).with_suffix(""))) for source in
               notebook_sources()]
    print(f"{'chapter':28} {'figures':>7}  status")
    for report in reports:
        print(f"{report.chapter:28} {report.images:7d}  {'ok' if report.ok else '; '.join(report.problems)}")
        if browser and report.page.exists():
            shot = screenshot(browser, report.page, Path(args.screenshots) / f"{Path(report.chapter).name}.png")
            print(f"{'':28} {'':7}  screenshot {shot}")
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
