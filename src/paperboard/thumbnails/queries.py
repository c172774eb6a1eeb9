"""Reading stored thumbnails: which papers have one, and how large (cards and pages reserve the space before the
image arrives), and one paper's image to serve."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.db.models import Paper, PaperThumbnail


@dataclass(frozen=True, slots=True)
class ThumbnailSize:
    width: int
    height: int


def thumbnail_sizes(session: Session, paper_ids: Collection[int]) -> dict[int, ThumbnailSize]:
    """The size of each of these papers' thumbnails, for those that have one; the images themselves are not read."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(PaperThumbnail.paper_id, PaperThumbnail.width, PaperThumbnail.height).where(
            PaperThumbnail.paper_id.in_(paper_ids)
        )
    )
    return {row.paper_id: ThumbnailSize(row.width, row.height) for row in rows}


def stored_thumbnail(session: Session, arxiv_id: str) -> PaperThumbnail | None:
    """The thumbnail of the paper `arxiv_id` (canonical), or None when it has none (yet)."""
    return session.scalars(
        select(PaperThumbnail).join(Paper, Paper.id == PaperThumbnail.paper_id).where(Paper.arxiv_id == arxiv_id)
    ).one_or_none()
