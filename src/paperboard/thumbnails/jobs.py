"""The worker's side of thumbnails: claim a queued paper, download its PDF from arXiv, render the first page, store
the WebP, or record why there is none.

As with submissions (`community.submission_fetches`), no web request downloads or renders anything. The worker
claims one due job at a time (`db/job_queue.py`: a lease committed before the download, `SKIP LOCKED` on
PostgreSQL), downloads the PDF through the polite client and the site-wide slot of arXiv's API
(`catalog.arxiv.pacing`: the PDFs come from the same export service, whose one request every 3 s counts them
all), at most `thumbnail_max_pdf_bytes` of it, and renders it in a child process of bounded memory and time
(`thumbnails.render`). The image and the job's end are written in one transaction, so that a worker killed at
any point leaves either both or neither, and the job is claimed again when its lease runs out.

While arXiv cannot be reached, a job is tried again after `RETRY_SECONDS`, doubled each time, and refused after
`ATTEMPTS` tries; a PDF that is missing, too large, unreadable or too slow to render is refused at once, with the
reason kept on the job. A round makes at most `PER_ROUND` thumbnails, so that a backfill of thousands never holds
the worker's other duties for long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from paperboard.catalog.arxiv.http import FetchError, PoliteClient, ResponseTooLarge, RetryPolicy, queue_settings
from paperboard.catalog.arxiv.pacing import arxiv_api_pacer
from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.job_queue import claim_due, retry_pause, still_claimed
from paperboard.db.models import Paper, PaperThumbnail, ThumbnailJob
from paperboard.thumbnails.queue import DONE, PENDING, REFUSED
from paperboard.thumbnails.render import Rendered, RenderRefused, render_thumbnail

logger = logging.getLogger(__name__)

# About half a minute of arXiv's time per round, at one request every 3 s.
PER_ROUND = 10
# Tries while arXiv cannot be reached, and the first pause between them: a thumbnail can wait.
ATTEMPTS = 5
RETRY_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    paper_id: int
    arxiv_id: str
    attempts: int


@dataclass
class ThumbnailRound:
    """What one call of `make_thumbnails` did with the jobs it claimed."""

    made: int = 0
    refused: int = 0
    retried: int = 0


def pdf_client(database: Database, settings: Settings) -> PoliteClient:
    """The client for arXiv's PDFs: impatient per request, spaced with the API's requests across the whole site."""
    policy = RetryPolicy.from_settings(queue_settings(settings), min_interval=settings.arxiv_api_delay)
    return PoliteClient(policy, settings.user_agent, pacer=arxiv_api_pacer(database, settings))


def pdf_url(settings: Settings, arxiv_id: str) -> str:
    """The address of the latest version's PDF (`https://export.arxiv.org/pdf/2506.03781`)."""
    return f"{settings.arxiv_pdf_url.rstrip('/')}/{arxiv_id}"


def _claim(database: Database, now: datetime) -> _Claimed | None:
    with database.session() as session:
        jobs = claim_due(session, ThumbnailJob, PENDING, now, 1)
        if not jobs:
            return None
        [job] = jobs
        arxiv_id = session.scalars(select(Paper.arxiv_id).where(Paper.id == job.paper_id)).one()
        return _Claimed(job.id, job.paper_id, arxiv_id, job.attempts)


def _finish(database: Database, claimed: _Claimed, rendered: Rendered | None, message: str | None) -> str | None:
    """Store the thumbnail and mark the job done, or mark it refused with `message`; the job's new state, or None
    when the job is no longer this claim's (its paper deleted, or claimed again after the lease ran out)."""
    now = utcnow()
    with database.session() as session:
        job = still_claimed(session, ThumbnailJob, PENDING, claimed.id, claimed.attempts)
        if job is None:
            return None
        if rendered is not None:
            session.merge(
                PaperThumbnail(
                    paper_id=claimed.paper_id,
                    image=rendered.image,
                    width=rendered.width,
                    height=rendered.height,
                    rendered_at=now,
                )
            )
        job.status = DONE if rendered is not None else REFUSED
        job.message, job.finished_at = message, now
        if message is not None:
            logger.info("thumbnail refused: %s", message)
        return job.status


def _retry_or_give_up(database: Database, claimed: _Claimed, error: FetchError) -> str | None:
    if claimed.attempts >= ATTEMPTS:
        return _finish(database, claimed, None, f"arXiv could not be reached ({claimed.attempts} tries): {error}")
    with database.session() as session:
        if (job := still_claimed(session, ThumbnailJob, PENDING, claimed.id, claimed.attempts)) is not None:
            job.next_attempt_at = utcnow() + retry_pause(RETRY_SECONDS, claimed.attempts)
            job.message = str(error)
    return PENDING


def _make_one(database: Database, settings: Settings, client: PoliteClient, claimed: _Claimed) -> str | None:
    """Download, render and store one claimed thumbnail, or record why not; the job's state after (None: no longer
    this claim's)."""
    limit = int(settings.thumbnail_max_pdf_bytes)
    try:
        pdf = client.get(pdf_url(settings, claimed.arxiv_id), max_bytes=limit).content
    except ResponseTooLarge:
        too_large = (
            f"arXiv's PDF of {claimed.arxiv_id} is over {limit / 2**20:g} MiB (PAPERBOARD_THUMBNAIL_MAX_PDF_BYTES)"
        )
        return _finish(database, claimed, None, too_large)
    except FetchError as error:
        if error.status is not None and error.status < 500:
            # An answer that will not change (404 for an id arXiv lacks): asking again would only ask again.
            return _finish(database, claimed, None, f"arXiv gave no PDF of {claimed.arxiv_id}: {error}")
        return _retry_or_give_up(database, claimed, error)
    try:
        rendered = render_thumbnail(
            pdf, seconds=settings.thumbnail_render_seconds, memory_bytes=int(settings.thumbnail_render_memory)
        )
    except RenderRefused as refusal:
        return _finish(database, claimed, None, f"arXiv's PDF of {claimed.arxiv_id} gives no thumbnail: {refusal}")
    return _finish(database, claimed, rendered, None)


def make_thumbnails(
    database: Database, settings: Settings, client: PoliteClient, limit: int = PER_ROUND
) -> ThumbnailRound:
    """Make up to `limit` due thumbnails, one at a time; stops early when arXiv cannot be reached."""
    outcome = ThumbnailRound()
    for _ in range(limit):
        claimed = _claim(database, utcnow())
        if claimed is None:
            break
        state = _make_one(database, settings, client, claimed)
        if state == DONE:
            outcome.made += 1
        elif state == REFUSED:
            outcome.refused += 1
        elif state == PENDING:
            outcome.retried += 1
            # arXiv is down: the rest of the queue waits for its own next attempt rather than for the same failure.
            break
    return outcome
