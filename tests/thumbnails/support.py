"""What the thumbnail tests share: settings that point the worker at a local server, PDFs served there, papers
listed as the site lists them, one worker round, and what the database then holds."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from paperboard.community.listings import Submission, submit_paper
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import PaperThumbnail, ThumbnailJob
from paperboard.thumbnails.jobs import ThumbnailRound, make_thumbnails, pdf_client
from tests.arxiv_server import ArxivServer, Reply
from tests.community.factories import add_paper, add_user

PDF = "application/pdf"


def thumbnail_settings(arxiv_server: ArxivServer, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", arxiv_pdf_url=arxiv_server.url("/pdf"), arxiv_api_delay=0, http_retry_backoff=0.01
    )


def serve_pdf(arxiv_server: ArxivServer, arxiv_id: str, body: bytes, **reply: object) -> None:
    arxiv_server.add(f"/pdf/{arxiv_id}", Reply(body=body, content_type=PDF, **reply))  # type: ignore[arg-type]


def listed(database: Database, *arxiv_ids: str) -> None:
    """Each paper submitted to today's list by its own user, as the site lists papers."""
    for number, arxiv_id in enumerate(arxiv_ids):
        add_paper(database, arxiv_id, title=f"Paper {arxiv_id}")
        outcome = submit_paper(database, add_user(database, f"user{number}"), arxiv_id, max_age_days=14)
        assert isinstance(outcome, Submission)


def run_round(database: Database, settings: Settings) -> ThumbnailRound:
    with pdf_client(database, settings) as client:
        return make_thumbnails(database, settings, client)


def jobs(database: Database) -> dict[int, tuple[str, int, str | None]]:
    """Each paper's job: its status, attempts and message."""
    with database.read_session() as session:
        return {job.paper_id: (job.status, job.attempts, job.message) for job in session.scalars(select(ThumbnailJob))}


def job_states(database: Database) -> list[tuple[str, str | None]]:
    return sorted((status, message) for status, _, message in jobs(database).values())


def stored(database: Database) -> list[PaperThumbnail]:
    with database.read_session() as session:
        return list(session.scalars(select(PaperThumbnail)))
