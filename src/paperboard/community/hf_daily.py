"""Importing the Hugging Face Daily Papers archive as daily listings, so that an instance starts with a real history.

The file is JSON Lines, plain or gzip-compressed, one line per paper on one day's list (schema in
../shared/data/SOURCES.md). Read: `date`, `arxiv_id`, `upvotes`, `comments`, `submitted_by`,
`submitted_on_daily_at`, `github`, `github_stars`, `project_page`, `organization`, `ai_keywords`; the other fields are
not needed.

- Each line becomes a listing on `date`. Its counts are stored apart from local votes and comments
  (`imported_upvotes`, `imported_comments`) and added to them for ranking (`community.counts`).
- A paper on several days keeps its first day, with that day's submitter and submission time, and the highest
  counts seen.
- `organization` (a full name) becomes a row of `organizations` (community/organizations.py) the listing points at;
  a listing keeps its first day's organization, or a later day's when the first named none.
- The paper must be in the catalogue already (`paperboard import papers.jsonl.gz`); a line about another paper is
  reported and skipped, like a malformed line.
- `github` and `project_page` fill a paper's code and project links where it has none; existing links are kept.
- `ai_keywords` become the paper's keywords (search/paper_keywords.py), in place of any extracted here; of several
  lists for one paper, the longest is kept.

Each chunk of lines is one transaction, and a line that would change nothing writes nothing: running the import
again, after it finished or after it was interrupted, stores what is missing and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.jsonl import BadLine, line_chunks, parse_lines
from paperboard.catalog.record import RecordError, checked_text, checked_web_url, parse_datetime
from paperboard.catalog.store import PaperLinks, UpsertCounts, fill_missing_links
from paperboard.community.organizations import checked_organization, organization_ids, organization_key
from paperboard.community.periods import InvalidPeriod, parse_period
from paperboard.db import Database
from paperboard.db.models import Listing, Organization, Paper
from paperboard.progress import Progress, SilentProgress
from paperboard.search.paper_keywords import store_archive_keywords

# The length of `listings.imported_submitter`.
MAX_SUBMITTER_LENGTH = 100
# Counts are stored in 32-bit integer columns.
MAX_COUNT = 2**31 - 1
# The archive's lists hold up to 30 keywords of up to about 100 characters; longer ones are cut, not refused.
MAX_KEYWORDS = 40
MAX_KEYWORD_LENGTH = 200
_listings = Listing.__table__


@dataclass(frozen=True, slots=True)
class HfListing:
    """One line of the archive: a paper on one day's list, checked."""

    arxiv_id: str
    day: date
    submitted_at: datetime
    submitter: str | None
    upvotes: int
    comments: int
    github_stars: int | None
    code_url: str | None
    project_url: str | None
    organization: str | None
    keywords: tuple[str, ...] = ()


@dataclass
class HfImportReport:
    lines: int = 0
    # One count per good line: a new listing, a change to one (an earlier day, higher counts), or no change.
    listings: UpsertCounts = field(default_factory=UpsertCounts)
    papers_given_links: int = 0
    papers_given_keywords: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)


def _count(data: dict[str, object], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise RecordError(f"{name}: {value!r} is not a count")
    return value


def _keywords(value: object) -> tuple[str, ...]:
    """The archive's `ai_keywords`: text, checked, each once whatever its case, at most `MAX_KEYWORDS`."""
    if value is None:
        return ()
    if isinstance(value, str | bytes | dict) or not isinstance(value, list):
        raise RecordError(f"ai_keywords: expected a list of text, got {type(value).__name__}")
    kept: dict[str, str] = {}
    for item in value:
        keyword = checked_text(item, "ai_keywords")
        if keyword is not None:
            kept.setdefault(keyword.casefold(), keyword[:MAX_KEYWORD_LENGTH])
    return tuple(kept.values())[:MAX_KEYWORDS]


def hf_listing_from_json(data: object) -> HfListing:
    """One decoded line as a checked listing; RecordError says what is wrong with it."""
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object, got {type(data).__name__}")
    try:
        arxiv_id = parse_arxiv_id(data.get("arxiv_id")).id  # type: ignore[arg-type]
    except InvalidArxivId as error:
        raise RecordError(f"arxiv_id: {error}") from None
    day_text = data.get("date")
    if not isinstance(day_text, str):
        raise RecordError(f"date: {day_text!r} is not a day (YYYY-MM-DD)")
    try:
        day = parse_period("day", day_text).start
    except InvalidPeriod as error:
        raise RecordError(f"date: {error}") from None
    submitted = data.get("submitted_on_daily_at")
    return HfListing(
        arxiv_id=arxiv_id,
        day=day,
        # Without a time of submission, the listing counts as submitted when its day began.
        submitted_at=datetime(day.year, day.month, day.day)
        if submitted in (None, "")
        else parse_datetime(submitted, "submitted_on_daily_at"),
        submitter=checked_text(data.get("submitted_by"), "submitted_by", MAX_SUBMITTER_LENGTH),
        upvotes=_count(data, "upvotes") or 0,
        comments=_count(data, "comments") or 0,
        github_stars=_count(data, "github_stars"),
        code_url=checked_web_url(data.get("github"), "github"),
        project_url=checked_web_url(data.get("project_page"), "project_page"),
        organization=checked_organization(data.get("organization"), "organization"),
        keywords=_keywords(data.get("ai_keywords")),
    )


@dataclass(frozen=True, slots=True)
class _ListingState:
    """The columns of a listing that imported lines decide."""

    day: date
    submitted_at: datetime
    imported_submitter: str | None
    imported_upvotes: int
    imported_comments: int
    github_stars: int | None
    # The organization's key (community/organizations.py), which its row's id replaces when written.
    organization: str | None


def _highest(first: int | None, second: int | None) -> int | None:
    return second if first is None else first if second is None else max(first, second)


def _merged(state: _ListingState | None, line: HfListing) -> _ListingState:
    """The listing once `line` is applied: the earlier day wins, with its submission and its organization (the
    other's when it names none); the highest counts win."""
    incoming = _ListingState(
        line.day,
        line.submitted_at,
        line.submitter,
        line.upvotes,
        line.comments,
        line.github_stars,
        None if line.organization is None else organization_key(line.organization),
    )
    if state is None:
        return incoming
    earlier, later = (incoming, state) if incoming.day < state.day else (state, incoming)
    return replace(
        earlier,
        imported_upvotes=max(state.imported_upvotes, incoming.imported_upvotes),
        imported_comments=max(state.imported_comments, incoming.imported_comments),
        github_stars=_highest(state.github_stars, incoming.github_stars),
        organization=earlier.organization or later.organization,
    )


class _ChunkWriter:
    """Stores the good lines of one chunk in one transaction, reporting the lines about papers not catalogued."""

    def __init__(self, session: Session, report: HfImportReport, report_bad_line: Callable[[int, str], None]) -> None:
        self._session = session
        self._report = report
        self._report_bad_line = report_bad_line
        # Each organization's full name as first met in the chunk, by key.
        self._fullnames: dict[str, str] = {}

    def store(self, parsed: list[tuple[int, HfListing | RecordError]]) -> None:
        lines = [(number, line) for number, line in parsed if isinstance(line, HfListing)]
        paper_ids = self._paper_ids({line.arxiv_id for _, line in lines})
        stored = self._stored_listings(list(paper_ids.values()))
        new: dict[int, _ListingState] = {}
        changed: dict[int, _ListingState] = {}
        links: dict[str, PaperLinks] = {}
        keywords: dict[int, tuple[str, ...]] = {}
        counts = self._report.listings
        for number, line in parsed:
            if isinstance(line, RecordError):
                self._report_bad_line(number, str(line))
                continue
            paper_id = paper_ids.get(line.arxiv_id)
            if paper_id is None:
                self._report_bad_line(
                    number, f"{line.arxiv_id} is not in the catalogue; import the papers first (paperboard import)"
                )
                continue
            current = new.get(paper_id) or changed.get(paper_id) or stored.get(paper_id)
            merged = _merged(current, line)
            if line.organization is not None:
                self._fullnames.setdefault(organization_key(line.organization), line.organization)
            if current is None:
                new[paper_id] = merged
                counts.inserted += 1
            elif merged == current:
                counts.unchanged += 1
            else:
                (new if paper_id in new else changed)[paper_id] = merged
                counts.updated += 1
            if len(line.keywords) > len(keywords.get(paper_id, ())):
                keywords[paper_id] = line.keywords
            known = links.get(line.arxiv_id, PaperLinks(None, None))
            links[line.arxiv_id] = PaperLinks(known.code_url or line.code_url, known.project_url or line.project_url)
        self._write(new, changed)
        self._report.papers_given_links += fill_missing_links(
            self._session, {arxiv_id: found for arxiv_id, found in links.items() if found.code_url or found.project_url}
        )
        self._report.papers_given_keywords += store_archive_keywords(self._session, keywords)

    def _paper_ids(self, arxiv_ids: set[str]) -> dict[str, int]:
        if not arxiv_ids:
            return {}
        rows = self._session.execute(select(Paper.arxiv_id, Paper.id).where(Paper.arxiv_id.in_(list(arxiv_ids))))
        return {arxiv_id: paper_id for arxiv_id, paper_id in rows}

    def _stored_listings(self, paper_ids: list[int]) -> dict[int, _ListingState]:
        if not paper_ids:
            return {}
        rows = self._session.execute(
            select(
                Listing.paper_id,
                Listing.day,
                Listing.submitted_at,
                Listing.imported_submitter,
                Listing.imported_upvotes,
                Listing.imported_comments,
                Listing.github_stars,
                Organization.name_key,
            )
            .outerjoin(Organization, Organization.id == Listing.organization_id)
            .where(Listing.paper_id.in_(paper_ids))
        )
        return {paper_id: _ListingState(*state) for paper_id, *state in rows}

    def _write(self, new: dict[int, _ListingState], changed: dict[int, _ListingState]) -> None:
        # Only organizations that listings written now name are stored: a later day's, which the first day's
        # outranked, makes none.
        written = {state.organization for state in (*new.values(), *changed.values()) if state.organization}
        organizations = organization_ids(self._session, written, self._fullnames) if written else {}

        def columns(state: _ListingState) -> dict[str, object]:
            return {
                "day": state.day,
                "submitted_at": state.submitted_at,
                "imported_submitter": state.imported_submitter,
                "imported_upvotes": state.imported_upvotes,
                "imported_comments": state.imported_comments,
                "github_stars": state.github_stars,
                "organization_id": organizations.get(state.organization) if state.organization else None,
            }

        if new:
            self._session.execute(
                insert(_listings), [{"paper_id": paper_id, **columns(state)} for paper_id, state in new.items()]
            )
        if changed:
            self._session.execute(
                update(_listings).where(_listings.c.paper_id == bindparam("listed_paper_id")),
                [{"listed_paper_id": paper_id, **columns(state)} for paper_id, state in changed.items()],
            )


def import_hf_daily(
    database: Database,
    path: Path,
    progress: Progress | None = None,
    on_bad_line: Callable[[BadLine], None] | None = None,
) -> HfImportReport:
    """Store every good line of the archive as a listing; bad lines are reported and skipped. Safe to repeat."""
    progress = progress or SilentProgress()
    report = HfImportReport()

    def report_bad_line(number: int, message: str) -> None:
        bad = BadLine(str(path), number, message)
        report.bad_lines.append(bad)
        if on_bad_line is not None:
            on_bad_line(bad)

    def on_position(position: int) -> None:
        progress.update(completed=position, items=report.listings.total)

    progress.start(f"Importing {path.name}", total=path.stat().st_size)
    for first, lines in line_chunks(path, on_position):
        parsed = parse_lines(first, lines, hf_listing_from_json)
        if parsed:
            with database.session() as session:
                _ChunkWriter(session, report, report_bad_line).store(parsed)
        report.lines = first + len(lines) - 1
    on_position(path.stat().st_size)
    progress.finish()
    return report
