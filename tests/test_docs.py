"""Every ``docs/<file>.md §<id>`` citation in the code resolves to a heading of that docs file, and no code
cites the unshipped research notes (``theory.md §1.3`` without ``docs/``).

All files are scanned (not a fixed list), so modules that are added, moved or renamed are covered.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("theory", "empirical", "bridge", "bench")
DOCS = ROOT / "docs"

# "docs/theory.md §1.3", "docs/theory.md §1.3, §2.6", "docs/theory.md §1.3–§1.4", "§1.3/§1.4", "§2.1 and §2.2"
CITATION = re.compile(r"docs/([\w-]+)\.md\s*((?:§\d+(?:\.\d+)*(?:\s*(?:,|/|–|-|and)\s*)?)+)")
SECTION_ID = re.compile(r"§(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#+\s+(\d+(?:\.\d+)*)\s", re.MULTILINE)
# A notes file named without the docs/ prefix: "theory.md §1.3", "empirical.md 8.2", "research/theory.md".
BARE = re.compile(r"(?<!docs/)\b([\w-]+)\.md\b`?\s*(?:§|\d)")


def _sources() -> list[Path]:
    files = [p for d in CODE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]
    files += sorted((ROOT / "experiments").glob("*.toml"))
    return [p for p in files if "__pycache__" not in p.parts]


def citations(text: str) -> list[tuple[str, str]]:
    """(docs file stem, section id) of every citation in ``text``."""
    return [(m.group(1), sid) for m in CITATION.finditer(text) for sid in SECTION_ID.findall(m.group(2))]


def bare_citations(text: str) -> list[str]:
    """Citations of a ``<name>.md`` section that do not go through the shipped ``docs/`` folder."""
    out = []
    for m in BARE.finditer(text):
        out.append(m.group(0).strip())
    return out


def headings(stem: str) -> set[str]:
    path = DOCS / f"{stem}.md"
    return set(HEADING.findall(path.read_text(encoding="utf-8"))) if path.is_file() else set()


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def test_citation_parser_reads_lists_ranges_and_ignores_placeholders():
    text = ("see docs/theory.md §1.3, §2.6 and docs/empirical.md §2.2–§2.3; docs/theory.md §1.3/§1.4. "
            "Cite as ``docs/<file>.md §<section>``; docs/theory.md §4.2 item 8.")
    assert citations(text) == [("theory", "1.3"), ("theory", "2.6"), ("empirical", "2.2"),
                               ("empirical", "2.3"), ("theory", "1.3"), ("theory", "1.4"), ("theory", "4.2")]
    assert bare_citations(text) == []
    assert bare_citations("(research notes theory.md §1.3)") == ["theory.md §"]
    assert bare_citations("as in empirical.md 8.2 and /work/shared/research/empirical.md` §3") == [
        "empirical.md 8", "empirical.md` §"]
    assert headings("theory") >= {"1.3", "2.1.4"}


def test_every_docs_citation_resolves_to_a_heading():
    sources = _sources()
    assert len(sources) > 20, "the scan found too few source files; was the layout changed?"
    missing, seen = [], 0
    for path in sources:
        for stem, sid in citations(path.read_text(encoding="utf-8")):
            seen += 1
            if sid not in headings(stem):
                missing.append(f"{_rel(path)}: docs/{stem}.md §{sid}")
    assert seen > 50, "almost no docs citations found; is the citation pattern still docs/<file>.md §<id>?"
    assert not missing, ("citations without a matching '## <id> ...' heading in docs/ (add the section or "
                         "fix the citation):\n" + "\n".join(sorted(set(missing))))


def test_no_code_cites_the_research_notes():
    found = [f"{_rel(p)}: {hit}" for p in _sources() for hit in bare_citations(p.read_text(encoding="utf-8"))]
    assert not found, ("cite the shipped docs as 'docs/<file>.md §<id>', not the research notes:\n"
                       + "\n".join(found))


@pytest.mark.parametrize("stem", ["theory", "empirical"])
def test_docs_headings_are_unique(stem):
    ids = HEADING.findall((DOCS / f"{stem}.md").read_text(encoding="utf-8"))
    dup = sorted({i for i in ids if ids.count(i) > 1})
    assert not dup, f"docs/{stem}.md has repeated section ids {dup}; citations would be ambiguous"
