"""Queuing thumbnails: a paper is queued when it is listed (`community.listings`), and `paperboard thumbnails
queue` queues the papers listed before (an imported archive, a site older than thumbnails) or, with `rebuild`,
makes every thumbnail again. Queuing only writes `thumbnail_jobs` rows; the worker does the rest
(`thumbnails.jobs`)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.inserts import insert_missing
from paperboard.db.models import Listing, Paper, PaperThumbnail, ThumbnailJob

ThumbnailStatus = Literal["pending", "done", "refused"]
PENDING: ThumbnailStatus = "pending"
DONE: ThumbnailStatus = "done"
REFUSED: ThumbnailStatus = "refused"


def queue_thumbnails(session: Session, paper_ids: Collection[int]) -> int:
    """Queue the thumbnail of each of these papers for the worker, due now; returns how many were queued. A paper
    whose job is pending is left as it is; a finished or refused one is queued afresh."""
    if not paper_ids:
        return 0
    now = utcnow()
    fresh = {"status": PENDING, "attempts": 0, "next_attempt_at": now, "message": None, "finished_at": None}
    again = session.execute(
        update(ThumbnailJob)
        .where(ThumbnailJob.paper_id.in_(paper_ids), ThumbnailJob.status != PENDING)
        .values(**fresh)
        .execution_options(synchronize_session=False)
    ).rowcount
    rows = [{"paper_id": paper_id, "created_at": now, **fresh} for paper_id in paper_ids]
    return again + insert_missing(session, ThumbnailJob.__table__, rows, key=("paper_id",))


def queue_listed(session: Session, *, rebuild: bool = False) -> int:
    """Queue every listed paper (hidden and withdrawn ones aside) that has no thumbnail, or with `rebuild` every
    one, and is not queued already; returns how many were queued."""
    listed = (
        select(Listing.paper_id)
        .join(Paper, Paper.id == Listing.paper_id)
        .where(Listing.hidden_at.is_(None), Paper.deleted_at.is_(None))
        .where(
            ~select(ThumbnailJob.id)
            .where(ThumbnailJob.paper_id == Listing.paper_id, ThumbnailJob.status == PENDING)
            .exists()
        )
    )
    if not rebuild:
        listed = listed.where(
            ~select(PaperThumbnail.paper_id).where(PaperThumbnail.paper_id == Listing.paper_id).exists()
        )
    return queue_thumbnails(session, list(session.scalars(listed)))
