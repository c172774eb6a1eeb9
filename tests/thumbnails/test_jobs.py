"""The worker's side of thumbnails, against a local server that serves PDFs written in the test: a corrupt, missing,
oversized or slow PDF is refused with the reason on the job, and the round goes on; an unreachable arXiv is tried again
later; two workers at once take turns at arXiv's pace and make each thumbnail once; a tall page is cut, not shrunk.
The way from a listing to the page is in tests/web/test_thumbnails.py."""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ByteSize
from sqlalchemy import select

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db.models import ArxivRequestSlot, ThumbnailJob
from paperboard.thumbnails.jobs import ThumbnailRound, make_thumbnails, pdf_client
from paperboard.thumbnails.render import MAX_HEIGHT, WIDTH
from tests.arxiv_server import ArxivServer, Reply
from tests.pdfs import pdf_document
from tests.thumbnails.support import job_states, listed, run_round, serve_pdf, stored, thumbnail_settings


@pytest.fixture
def settings(arxiv_server: ArxivServer, tmp_path: Path) -> Settings:
    return thumbnail_settings(arxiv_server, tmp_path)


def test_a_corrupt_a_missing_and_an_oversized_pdf_are_refused_with_the_reason_and_the_round_goes_on(
    database, arxiv_server, settings
):
    good = pdf_document()
    serve_pdf(arxiv_server, "2611.00001", b"%PDF-1.4\n" + b"\x00garbage" * 50)
    arxiv_server.add("/pdf/2611.00002", Reply(404, b"not found", content_type="text/plain"))
    serve_pdf(arxiv_server, "2611.00003", pdf_document(padding=len(good) + 10))
    serve_pdf(arxiv_server, "2611.00004", good)
    listed(database, "2611.00001", "2611.00002", "2611.00003", "2611.00004")
    limit = settings.model_copy(update={"thumbnail_max_pdf_bytes": ByteSize(len(good) + 10)})

    assert run_round(database, limit) == ThumbnailRound(made=1, refused=3)

    assert job_states(database) == [
        ("done", None),
        (
            "refused",
            f"arXiv gave no PDF of 2611.00002: {arxiv_server.url('/pdf/2611.00002')} answered 404 Not Found: not found",
        ),
        (
            "refused",
            "arXiv's PDF of 2611.00001 gives no thumbnail: it is not a PDF that can be read "
            "(Failed to load document (PDFium: Data format error).)",
        ),
        (
            "refused",
            f"arXiv's PDF of 2611.00003 is over {(len(good) + 10) / 2**20:g} MiB (PAPERBOARD_THUMBNAIL_MAX_PDF_BYTES)",
        ),
    ]
    assert len(stored(database)) == 1
    # Refusals are final: the next round asks arXiv nothing.
    requests = len(arxiv_server.requests)
    assert run_round(database, limit) == ThumbnailRound()
    assert len(arxiv_server.requests) == requests


def test_a_pdf_slower_to_render_than_allowed_is_refused(database, arxiv_server, settings):
    serve_pdf(arxiv_server, "2611.00001", pdf_document())
    listed(database, "2611.00001")
    # Less time than a Python process takes to start: the child is killed.
    impatient = settings.model_copy(update={"thumbnail_render_seconds": 0.01})

    assert run_round(database, impatient) == ThumbnailRound(refused=1)

    assert job_states(database) == [
        ("refused", "arXiv's PDF of 2611.00001 gives no thumbnail: rendering its first page took longer than 0.01 s")
    ]


def test_while_arxiv_cannot_be_reached_a_thumbnail_waits_and_the_round_stops(database, arxiv_server, settings):
    arxiv_server.add("/pdf/2611.00001", Reply(503, b"busy", content_type="text/plain"))
    serve_pdf(arxiv_server, "2611.00002", pdf_document())
    listed(database, "2611.00001", "2611.00002")

    assert run_round(database, settings) == ThumbnailRound(retried=1)

    # The request and its one retry; the other paper waits for the next round rather than for the same failure.
    assert [request.path for request in arxiv_server.requests] == ["/pdf/2611.00001"] * 2
    with database.read_session() as session:
        waiting = session.scalars(select(ThumbnailJob).where(ThumbnailJob.attempts == 1)).one()
    assert waiting.status == "pending"
    assert utcnow() + timedelta(seconds=295) < waiting.next_attempt_at <= utcnow() + timedelta(seconds=300)
    assert stored(database) == []


def test_two_workers_at_once_make_each_thumbnail_once_at_arxivs_pace_shared_with_the_api(
    database, arxiv_server, settings
):
    ids = [f"2611.{number:05d}" for number in range(1, 7)]
    for arxiv_id in ids:
        # Slow enough that the two workers' downloads would overlap if nothing kept them apart.
        serve_pdf(arxiv_server, arxiv_id, pdf_document(), delay=0.1)
    listed(database, *ids)
    spaced = settings.model_copy(update={"arxiv_api_delay": 0.3})
    start = threading.Barrier(2)
    rounds: list[ThumbnailRound] = []

    def work() -> None:
        with pdf_client(database, spaced) as client:
            start.wait()
            rounds.append(make_thumbnails(database, spaced, client))

    workers = [threading.Thread(target=work) for _ in range(2)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(request.path for request in arxiv_server.requests) == [f"/pdf/{arxiv_id}" for arxiv_id in ids]
    assert sum(done.made for done in rounds) == len(ids) and all(done.made for done in rounds)
    assert len(stored(database)) == len(ids)
    # Each download's start was reserved in the API's slot: the k-th arrives at least k intervals after the start.
    arrivals = sorted(request.at for request in arxiv_server.requests)
    assert all(arrival >= began + k * 0.3 - 0.005 for k, arrival in enumerate(arrivals))
    with database.read_session() as session:
        assert session.scalars(select(ArxivRequestSlot.service)).all() == ["api"]


def test_a_page_taller_than_the_thumbnail_is_cut_at_the_bottom(database, arxiv_server, settings):
    serve_pdf(arxiv_server, "2611.00001", pdf_document(width=200, height=2000))
    listed(database, "2611.00001")

    assert run_round(database, settings) == ThumbnailRound(made=1)

    [thumbnail] = stored(database)
    assert (thumbnail.width, thumbnail.height) == (WIDTH, MAX_HEIGHT)
    # The top of the page is kept: its band is in the first rows.
    assert max(Image.open(io.BytesIO(thumbnail.image)).getpixel((200, 150))) < 40
