"""The README and docs/: every relative link resolves, anchors included, and the README stays
short enough to read on a screen or two (the rest lives in docs/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
README_MOST_LINES = 200
# [text](target) outside code spans; an optional #anchor
LINK = re.compile(r"(?<!`)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def links(page: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z]+:", target)  # http:, https:, mailto: are not checked here
    ]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_fits_a_screen_or_two_and_links_every_doc() -> None:
    readme = (PROJECT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MOST_LINES
    linked = {Path(target.partition("#")[0]).name for target in links(PROJECT / "README.md")}
    assert {page.name for page in PAGES[1:]} <= linked


def test_the_link_check_sees_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## A part: here\n")
    page.write_text(
        "[ok](other.md) [ok too](other.md#a-part-here) `[code](nowhere.md)` "
        "[gone](nowhere.md) [no anchor](other.md#elsewhere) [web](https://example.com)\n"
    )

    assert links(page) == ["other.md", "other.md#a-part-here", "nowhere.md", "other.md#elsewhere"]
    assert broken_links(page) == [
        "nowhere.md: no such file",
        "other.md#elsewhere: no heading #elsewhere in other.md",
    ]
