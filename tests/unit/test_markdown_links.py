"""Every Markdown link in the repository leads somewhere in it, or to a library's public documentation: whoever
clones Pay has every page its documentation points to."""

import itertools
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
# Public documentation of the tools and libraries Pay uses: the only places outside the repository a link may go.
LIBRARY_DOCS = frozenset({"docs.astral.sh", "schemathesis.readthedocs.io"})

_markdown = MarkdownIt("commonmark")


def markdown_files() -> list[Path]:
    """Every Markdown file git tracks or would track (new ones included, ignored ones not)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(ROOT / name for name in set(listed) if (ROOT / name).exists())


def _tokens(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _tokens(token.children)


def links(path: Path) -> list[str]:
    tokens = _tokens(_markdown.parse(path.read_text(encoding="utf-8")))
    found = []
    for token in tokens:
        target = token.attrGet("href") if token.type == "link_open" else token.attrGet("src")
        if token.type in ("link_open", "image") and isinstance(target, str):
            found.append(target)
    return found


@cache
def anchors(path: Path) -> frozenset[str]:
    """The ids the usual code hosts give a page's headings: lower case, punctuation dropped, spaces as hyphens,
    a repeated one numbered."""
    tokens = _markdown.parse(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        text = "".join(child.content for child in inline.children or [] if child.type in ("text", "code_inline"))
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}-{seen[slug]}"] = 0
    return frozenset(seen)


def broken(source: Path, target: str) -> str | None:
    """Why `target`, linked from `source`, leads nowhere in the repository; None when it is fine."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme == "https" and parts.hostname in LIBRARY_DOCS:
            return None
        return "leaves the repository"
    if parts.path.startswith("/"):
        return "is absolute: a clone has no such root"
    destination = (source.parent / unquote(parts.path)).resolve() if parts.path else source
    if not destination.is_relative_to(ROOT):
        return "leaves the repository"
    if not destination.exists():
        return "names no file"
    if parts.fragment and destination.suffix == ".md" and unquote(parts.fragment) not in anchors(destination):
        return f"names no heading of {destination.relative_to(ROOT)}"
    return None


def test_the_repository_has_its_documentation() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in markdown_files()}
    assert {"README.md", "docs/architecture.md", "docs/glossary.md", "docs/operations.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_link_leads_into_the_repository_or_to_library_docs(path: Path) -> None:
    faults = [f"{target} {why}" for target in links(path) if (why := broken(path, target)) is not None]
    assert not faults


def test_a_link_is_judged_by_where_it_leads(tmp_path: Path) -> None:
    readme = ROOT / "README.md"
    assert broken(readme, "docs/glossary.md") is None
    assert broken(readme, "docs/operations.md#keys") is None
    assert broken(readme, "#two-commands") is None
    assert broken(readme, "#no-such-heading") == "names no heading of README.md"
    assert broken(readme, "docs/missing.md") == "names no file"
    assert broken(readme, "../shared/SPEC.md") == "leaves the repository"
    assert broken(readme, "https://example.com/") == "leaves the repository"
    assert broken(readme, "http://docs.astral.sh/uv/") == "leaves the repository"
    assert broken(readme, "https://docs.astral.sh/uv/") is None
    assert broken(readme, "/etc/passwd") == "is absolute: a clone has no such root"


def test_headings_get_the_ids_code_hosts_give_them(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Pay\n## `pay reconcile`\n## One origin: the gateway\n## Notes\n## Notes\n", encoding="utf-8")
    assert anchors(page) == {"pay", "pay-reconcile", "one-origin-the-gateway", "notes", "notes-1"}
