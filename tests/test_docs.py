"""The docs keep up with the code: every command documented, every link inside the repo and alive.

Scope: README.md and every Markdown file under docs/. Code blocks and inline code are not links, so
they are skipped when links are read; commands are looked for everywhere, code included.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import click
import pytest

from promo.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCED = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>")
SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
CITED_TEST = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def prose(path: Path) -> str:
    """The file without its code: what a Markdown renderer could turn into links."""
    return INLINE_CODE.sub("", FENCED.sub("", path.read_text(encoding="utf-8")))


def links(path: Path) -> list[str]:
    text = prose(path)
    return [*INLINE_LINK.findall(text), *REFERENCE_LINK.findall(text), *AUTOLINK.findall(text)]


@cache
def anchors(path: Path) -> frozenset[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCED.sub("", path.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
        slug = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN").replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(found)


def command_names() -> list[str]:
    """Every command and subcommand as typed after ``promo``: ``apply``, ``accounts check``, ..."""

    def walk(name: str, command: click.Command) -> list[str]:
        names = [name]
        if isinstance(command, click.Group):
            for sub_name, sub in sorted(command.commands.items()):
                names += walk(f"{name} {sub_name}", sub)
        return names

    names: list[str] = []
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None, f"promo {name} is in COMMANDS but cannot be loaded"
        names += walk(name, command)
    return names


def test_the_docs_are_found() -> None:
    assert ROOT / "README.md" in DOCS and ROOT / "docs" / "reliability.md" in DOCS
    assert len(DOCS) > 10


def test_every_command_is_documented() -> None:
    texts = {relative(path): path.read_text(encoding="utf-8") for path in DOCS}
    missing = []
    for name in command_names():
        mention = re.compile(r"\bpromo\s+" + r"\s+".join(map(re.escape, name.split())) + r"(?![\w-])")
        if not any(mention.search(text) for text in texts.values()):
            missing.append(f"promo {name}")
    assert not missing, f"not mentioned in README.md or docs/ (add them to docs/operations.md): {missing}"


def test_relative_links_point_at_files_that_exist() -> None:
    broken = []
    for path in DOCS:
        for target in links(path):
            if not target or SCHEME.match(target):
                continue
            file_part, _, anchor = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            if not destination.exists():
                broken.append(f"{relative(path)}: {target} (no such file)")
            elif not destination.is_relative_to(ROOT):
                broken.append(f"{relative(path)}: {target} (outside the repository)")
            elif anchor and destination.suffix == ".md" and anchor.lower() not in anchors(destination):
                broken.append(f"{relative(path)}: {target} (no heading '{anchor}' in {relative(destination)})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_no_doc_links_outside_the_repository() -> None:
    outside = [
        f"{relative(path)}: {target}" for path in DOCS for target in links(path) if SCHEME.match(target)
    ]
    assert not outside, "docs must not link outside the repository (name the source in plain text):\n" + "\n".join(
        outside
    )


def test_the_reliability_doc_names_no_address_at_all() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert "://" not in text and "www." not in text


@pytest.mark.parametrize("path", [p for p in DOCS if CITED_TEST.search(p.read_text(encoding="utf-8"))],
                         ids=relative)
def test_cited_tests_exist(path: Path) -> None:
    """A doc that says "this test shows it" names a test that is there."""
    missing = []
    for test_file, test_name in CITED_TEST.findall(path.read_text(encoding="utf-8")):
        source = ROOT / test_file
        if not source.exists() or not re.search(rf"^\s*(?:async\s+)?def {test_name}\(", source.read_text(), re.M):
            missing.append(f"{test_file}::{test_name}")
    assert not missing, f"{relative(path)} cites tests that do not exist: {missing}"


def test_the_link_reader_reads_links() -> None:
    sample = ROOT / "docs" / "architecture.md"
    assert "reliability.md" in links(sample)
    assert "benchmarks.md" in links(sample)
    assert {"the-package-map", "where-does-it-go", "the-publishing-engine"} <= anchors(sample)
