"""Importing a reader's library into a collection: a BibTeX file, or a pasted list of arXiv ids and addresses (any
form `catalog.ids` reads), the cold start of "these are my papers".

Every entry is accounted for in the report: added, already there, not in the catalogue (named, so that the reader
knows which; they are not fetched: the worker's queue of submissions lists what it fetches on today's list, which
an import must not do), or skipped with the reason (malformed BibTeX, no arXiv id, an unreadable line). The good
entries are kept whatever is wrong with the others. The text is bounded (`MAX_IMPORT_CHARACTERS`), and so is the
number of entries, by the collection's own limit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import bibtexparser
from bibtexparser.model import Entry
from sqlalchemy.orm import Session

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.db.models import PaperCollection
from paperboard.personal.collections import (
    AlreadyInCollection,
    CollectionLimitReached,
    CollectionRefused,
    PaperNotInCatalogue,
    add_paper,
)

ImportFormat = Literal["bibtex", "ids"]
# About 2,000 BibTeX entries of arXiv papers, a collection's worth.
MAX_IMPORT_CHARACTERS = 1_000_000
# BibTeX fields where reference managers put an arXiv id or address, most specific first.
_ID_FIELDS = ("eprint", "arxivid", "arxiv", "url", "doi", "journal", "note", "howpublished")
# "arXiv:2506.03781", "arXiv preprint arXiv:2506.03781": an id inside prose.
_ARXIV_MENTION = re.compile(r"arxiv[:\s]\s*([\w./-]+)", re.IGNORECASE)
_TOKEN_SEPARATORS = re.compile(r"[\s,;]+")
# Names a malformed block by its key when it has one: `@article{key,`.
_BLOCK_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^,\s]+)\s*,")


class ImportTooLarge(CollectionRefused):
    """The text to import is longer than `MAX_IMPORT_CHARACTERS`."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One entry of what was imported: its label (a BibTeX key, a line) and the arXiv id found in it, or why none."""

    label: str
    arxiv_id: str | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    label: str
    reason: str


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    not_in_catalogue: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _label(text: str, length: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


def _id_in(value: str) -> str | None:
    """The arXiv id a field value holds: the whole value in any form `parse_arxiv_id` reads, or one mentioned."""
    candidates = [value, *_ARXIV_MENTION.findall(value)]
    for candidate in candidates:
        try:
            return parse_arxiv_id(candidate.strip().rstrip(".")).id
        except InvalidArxivId:
            continue
    return None


def _entry_candidate(entry: Entry) -> Candidate:
    fields = {name.lower(): str(value.value) for name, value in entry.fields_dict.items()}
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv").lower()
    for name in _ID_FIELDS:
        if name == "eprint" and prefix != "arxiv":
            continue
        found = _id_in(fields.get(name, ""))
        if found is not None:
            return Candidate(entry.key, found)
    return Candidate(entry.key, None, "has no arXiv id (eprint, url, doi or journal field)")


def candidates_from_bibtex(text: str) -> list[Candidate]:
    """One candidate per BibTeX entry, malformed ones included (named by key or line, with the parser's reason)."""
    library = bibtexparser.parse_string(text)
    candidates = [_entry_candidate(entry) for entry in library.entries]
    for block in library.failed_blocks:
        key = _BLOCK_KEY.match(block.raw.lstrip())
        name = key.group(1) if key else f"the entry at line {block.start_line + 1}"
        candidates.append(Candidate(name, None, "is not valid BibTeX (an unclosed brace or quote?)"))
    return candidates


def candidates_from_ids(text: str) -> list[Candidate]:
    """One candidate per non-blank line: the first word of it that is an arXiv id or address."""
    candidates = []
    for line in text.splitlines():
        words = [word for word in _TOKEN_SEPARATORS.split(line) if word]
        if not words:
            continue
        found = next((arxiv_id for word in words if (arxiv_id := _id_in(word)) is not None), None)
        candidates.append(Candidate(_label(line), found, None if found else "is not an arXiv id or address"))
    return candidates


def parse_library(text: str, import_format: ImportFormat) -> list[Candidate]:
    if len(text) > MAX_IMPORT_CHARACTERS:
        raise ImportTooLarge(
            f"The text to import has {len(text):,} characters; at most {MAX_IMPORT_CHARACTERS:,} are read at once. "
            "Split it into several imports."
        )
    return candidates_from_bibtex(text) if import_format == "bibtex" else candidates_from_ids(text)


def import_library(
    session: Session, collection: PaperCollection, text: str, import_format: ImportFormat
) -> ImportReport:
    """Add every paper the text names to the end of the collection, in the text's order; the report says what
    became of each entry."""
    report = ImportReport()
    seen: set[str] = set()
    for candidate in parse_library(text, import_format):
        if candidate.arxiv_id is None:
            report.skipped.append(Skipped(candidate.label, candidate.problem or "has no arXiv id"))
            continue
        if candidate.arxiv_id in seen:
            continue
        seen.add(candidate.arxiv_id)
        try:
            add_paper(session, collection, candidate.arxiv_id)
        except AlreadyInCollection:
            report.already_there.append(candidate.arxiv_id)
        except PaperNotInCatalogue:
            report.not_in_catalogue.append(candidate.arxiv_id)
        except CollectionLimitReached as error:
            report.skipped.append(Skipped(candidate.arxiv_id, str(error)))
        else:
            report.added.append(candidate.arxiv_id)
    return report
