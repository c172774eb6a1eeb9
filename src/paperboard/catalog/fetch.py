"""Fetching papers by id from the arXiv API into the catalogue, as when a user submits one it lacks.

Ids are read in any form people paste; invalid ones are reported and never sent. The others go to
arXiv in batches, each stored in its own transaction, so a failure part way keeps the batches before
it and running again completes the rest. Fetching papers already stored changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from paperboard.catalog.arxiv.api import ArxivApiClient, ArxivApiError, BadEntry
from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.record import PaperRecord
from paperboard.catalog.store import UpsertCounts, upsert_papers
from paperboard.db import Database
from paperboard.progress import Progress, SilentProgress


@dataclass(frozen=True)
class InvalidId:
    """Text that is not an arXiv id; `reason` quotes it and says why."""

    text: str
    reason: str


@dataclass(frozen=True)
class RejectedId:
    """An id arXiv answered with an error entry rather than a paper."""

    arxiv_id: str
    message: str


@dataclass
class FetchReport:
    """What a fetch did: counts of papers stored, and every id that was not, grouped by why."""

    # Canonical ids asked of arXiv, in the order given, each once.
    requested: list[str] = field(default_factory=list)
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    invalid: list[InvalidId] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    rejected: list[RejectedId] = field(default_factory=list)
    bad_entries: list[BadEntry] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """Ids that did not end up stored: invalid, unknown to arXiv, rejected by it, or unreadable."""
        return len(self.invalid) + len(self.not_found) + len(self.rejected) + len(self.bad_entries)


class FetchInterrupted(Exception):
    """arXiv could not be read for good; `report` covers the batches stored before, `unfetched` the ids left."""

    def __init__(self, error: ArxivApiError, report: FetchReport, unfetched: list[str]) -> None:
        fetched = len(report.requested) - len(unfetched)
        super().__init__(
            f"{error}; {len(unfetched):,} of {len(report.requested):,} ids were not fetched"
            + (f", the {fetched:,} before them are stored" if fetched else "")
        )
        self.report = report
        self.unfetched = unfetched


@dataclass
class _BatchOutcome:
    records: list[PaperRecord] = field(default_factory=list)
    bad_entries: list[BadEntry] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    rejected: list[RejectedId] = field(default_factory=list)


def _canonical_ids(texts: Iterable[str], invalid: list[InvalidId]) -> list[str]:
    ids: dict[str, None] = {}
    for text in texts:
        try:
            # The catalogue keeps a paper's latest version, so a version written with the id is not asked for.
            ids.setdefault(parse_arxiv_id(text).id)
        except InvalidArxivId as error:
            invalid.append(InvalidId(text, str(error)))
    return list(ids)


def _fetch_batch(client: ArxivApiClient, arxiv_ids: list[str], outcome: _BatchOutcome) -> None:
    feed = client.fetch(arxiv_ids)
    outcome.records += feed.records
    outcome.bad_entries += feed.bad_entries
    answered = {record.arxiv_id for record in feed.records} | {bad.arxiv_id for bad in feed.bad_entries}
    missing = [arxiv_id for arxiv_id in arxiv_ids if arxiv_id not in answered]
    if not feed.errors or not missing:
        outcome.not_found += missing
    elif len(arxiv_ids) == 1:
        outcome.rejected.append(RejectedId(arxiv_ids[0], "; ".join(feed.errors)))
    else:
        # arXiv answers a list holding one id it rejects with the error alone: halve it until that id stands alone.
        middle = (len(missing) + 1) // 2
        for half in (missing[:middle], missing[middle:]):
            if half:
                _fetch_batch(client, half, outcome)


def fetch_papers(
    database: Database, client: ArxivApiClient, ids: Iterable[str], progress: Progress | None = None
) -> FetchReport:
    """Fetch papers from arXiv by id, in any pasted form, and store them; FetchInterrupted if arXiv fails for good."""
    progress = progress or SilentProgress()
    report = FetchReport()
    report.requested = _canonical_ids(ids, report.invalid)
    progress.start("Fetching papers from arXiv", total=len(report.requested))
    try:
        for start in range(0, len(report.requested), client.batch_size):
            batch = report.requested[start : start + client.batch_size]
            outcome = _BatchOutcome()
            try:
                _fetch_batch(client, batch, outcome)
            except ArxivApiError as error:
                raise FetchInterrupted(error, report, report.requested[start:]) from error
            if outcome.records:
                with database.session() as session:
                    report.counts.add(upsert_papers(session, outcome.records))
            report.bad_entries += outcome.bad_entries
            report.not_found += outcome.not_found
            report.rejected += outcome.rejected
            progress.update(completed=start + len(batch), items=report.counts.total)
    finally:
        progress.finish()
    return report
