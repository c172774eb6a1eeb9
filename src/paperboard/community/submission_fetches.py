"""The worker's side of submissions of papers the catalogue lacks: fetching them from arXiv, then listing them.

Web requests only queue such a submission (`listings.submit_paper`), so that no request waits for arXiv and arXiv
is asked by one careful caller: the worker claims due rows (a lease in `next_attempt_at`, committed before it asks
arXiv, with `SKIP LOCKED` on PostgreSQL so that two workers never take the same rows), fetches their papers in one
request per `batch_size` ids through a client spaced site-wide (`catalog.arxiv.pacing`), then lists each paper for
its submitter or records why it cannot be listed. While arXiv cannot be reached, a row is tried again after
`submission_fetch_retry_seconds`, doubled each time, and refused after `submission_fetch_attempts` tries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from paperboard.catalog.arxiv.api import ArxivApiClient
from paperboard.catalog.arxiv.http import queue_settings
from paperboard.catalog.arxiv.pacing import arxiv_api_pacer
from paperboard.catalog.fetch import FetchInterrupted, FetchReport, fetch_papers
from paperboard.clock import utcnow
from paperboard.community.listings import LISTED, PENDING, REFUSED, SubmissionRefused, list_fetched
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.job_queue import claim_due, retry_pause, still_claimed
from paperboard.db.models import SubmissionFetch

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    arxiv_id: str
    submitter_id: int
    attempts: int


@dataclass
class FetchRound:
    """What one call of `fetch_submitted_papers` did with the submissions it claimed."""

    listed: int = 0
    refused: int = 0
    retried: int = 0


def arxiv_client(database: Database, settings: Settings) -> ArxivApiClient:
    """The arXiv API client for submissions: impatient per request, spaced across every process of the site."""
    return ArxivApiClient.from_settings(queue_settings(settings), pacer=arxiv_api_pacer(database, settings))


def _claim(database: Database, now: datetime, limit: int) -> list[_Claimed]:
    with database.session() as session:
        rows = claim_due(session, SubmissionFetch, PENDING, now, limit)
        return [_Claimed(row.id, row.arxiv_id, row.submitter_id, row.attempts) for row in rows]


def _refusals(report: FetchReport) -> dict[str, str]:
    """Why arXiv gave no paper for these ids, in words for their submitters."""
    refusals = {arxiv_id: f"arXiv has no paper {arxiv_id}." for arxiv_id in report.not_found}
    for rejected in report.rejected:
        refusals[rejected.arxiv_id] = f"arXiv does not know the paper {rejected.arxiv_id}: {rejected.message}."
    for bad in report.bad_entries:
        if bad.arxiv_id is not None:
            refusals[bad.arxiv_id] = (
                f"arXiv's record of {bad.arxiv_id} cannot be read ({bad.message}), so it cannot be listed."
            )
    return refusals


def _ours(session: Session, claimed: _Claimed) -> SubmissionFetch | None:
    """The claimed row, unless it is no longer this claim's (deleted with its submitter, say)."""
    return still_claimed(session, SubmissionFetch, PENDING, claimed.id, claimed.attempts)


def _refuse(database: Database, claimed: _Claimed, message: str, now: datetime) -> None:
    with database.session() as session:
        if (row := _ours(session, claimed)) is not None:
            row.status, row.message, row.finished_at = REFUSED, message, now


def _list_or_refuse(database: Database, settings: Settings, claimed: _Claimed, now: datetime) -> str:
    with database.session() as session:
        row = _ours(session, claimed)
        if row is None:
            return PENDING
        try:
            list_fetched(session, claimed.submitter_id, claimed.arxiv_id, settings.submission_max_age_days)
        except SubmissionRefused as refusal:
            row.status, row.message = REFUSED, str(refusal)
        else:
            row.status = LISTED
        row.finished_at = now
        return row.status


def _retry_or_give_up(database: Database, settings: Settings, claimed: _Claimed, now: datetime) -> str:
    if claimed.attempts >= settings.submission_fetch_attempts:
        message = (
            f"arXiv could not be reached to fetch {claimed.arxiv_id} ({claimed.attempts} tries); submit it again later."
        )
        _refuse(database, claimed, message, now)
        return REFUSED
    pause = retry_pause(settings.submission_fetch_retry_seconds, claimed.attempts)
    with database.session() as session:
        if (row := _ours(session, claimed)) is not None:
            row.next_attempt_at = now + pause
    return PENDING


def fetch_submitted_papers(database: Database, settings: Settings, client: ArxivApiClient) -> FetchRound:
    """Fetch every due submission from arXiv, a batch at a time, and list or refuse each; until none is due."""
    outcome = FetchRound()
    while claimed := _claim(database, utcnow(), client.batch_size):
        try:
            report = fetch_papers(database, client, [row.arxiv_id for row in claimed])
            unfetched: set[str] = set()
        except FetchInterrupted as error:
            logger.warning("submissions: arXiv could not be asked: %s", error)
            report, unfetched = error.report, set(error.unfetched)
        refusals = _refusals(report)
        now = utcnow()
        for row in claimed:
            if row.arxiv_id in unfetched:
                status = _retry_or_give_up(database, settings, row, now)
            elif row.arxiv_id in refusals:
                _refuse(database, row, refusals[row.arxiv_id], now)
                status = REFUSED
            else:
                status = _list_or_refuse(database, settings, row, now)
            if status == LISTED:
                outcome.listed += 1
            elif status == REFUSED:
                outcome.refused += 1
            else:
                outcome.retried += 1
        if unfetched:
            # arXiv is down: the rest of the queue waits for its own next attempt rather than for the same failure.
            break
    return outcome
