"""`paperboard thumbnails queue` and the worker's thumbnails, as real processes on SQLite and PostgreSQL: papers
listed before thumbnails existed are queued once, made by `paperboard worker --once`, and made again with `--rebuild`;
a worker killed in the middle of a download leaves its job to be taken again when its lease runs out, and the next
worker makes the thumbnail once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from paperboard.clock import utcnow
from paperboard.community.listings import today
from paperboard.db import Database
from paperboard.db.models import PaperThumbnail, ThumbnailJob
from tests.arxiv_server import ArxivServer
from tests.community.factories import add_listing, add_paper, add_user
from tests.conftest import Cli, cli_environment
from tests.pdfs import pdf_document
from tests.thumbnails.support import jobs, serve_pdf, stored


@pytest.fixture
def site(tmp_path: Path, database_url: str, arxiv_server: ArxivServer) -> tuple[Cli, Database]:
    cli = Cli(
        cli_environment(tmp_path / "data", database_url, arxiv_pdf_url=arxiv_server.url("/pdf"), arxiv_api_delay="0")
    )
    assert cli.run("init").returncode == 0
    return cli, Database(database_url)


def test_papers_listed_before_are_queued_once_made_by_the_worker_and_rebuilt_on_request(site, arxiv_server):
    cli, database = site
    moderator = add_user(database, "mod", role="moderator")
    for arxiv_id in ("2611.00001", "2611.00002", "2611.00003"):
        add_paper(database, arxiv_id)
        serve_pdf(arxiv_server, arxiv_id, pdf_document())
    # Imported history: listed without going through a submission, so nothing is queued yet.
    add_listing(database, "2611.00001", today())
    add_listing(database, "2611.00002", today())
    add_listing(database, "2611.00003", today(), hidden_by=moderator)
    assert jobs(database) == {}

    first = cli.run("thumbnails", "queue")
    again = cli.run("thumbnails", "queue")

    assert first.returncode == 0, first.stderr
    assert "2 thumbnails queued for the worker" in first.stdout
    assert "0 thumbnails queued" in again.stdout
    worked = cli.run("worker", "--once", timeout=600)
    assert worked.returncode == 0, worked.stderr
    assert "thumbnails: 2 made, 0 refused, 0 to try again" in worked.stderr
    assert sorted(request.path for request in arxiv_server.requests) == ["/pdf/2611.00001", "/pdf/2611.00002"]
    assert len(stored(database)) == 2
    assert "0 thumbnails queued" in cli.run("thumbnails", "queue").stdout

    rebuilt = cli.run("thumbnails", "queue", "--rebuild")
    assert "2 thumbnails queued" in rebuilt.stdout
    assert sorted(status for status, _, _ in jobs(database).values()) == ["pending", "pending"]
    assert "thumbnails: 2 made" in cli.run("worker", "--once", timeout=600).stderr
    assert len(stored(database)) == 2 and len(arxiv_server.requests) == 4
    database.dispose()


def test_a_worker_killed_mid_download_leaves_the_job_to_the_next_worker_once_its_lease_runs_out(site, arxiv_server):
    cli, database = site
    add_paper(database, "2611.00042")
    add_listing(database, "2611.00042", today())
    assert "1 thumbnail queued for the worker" in cli.run("thumbnails", "queue").stdout
    # Slow enough to be killed in the middle of it.
    serve_pdf(arxiv_server, "2611.00042", pdf_document(), delay=10)

    worker = cli.popen("worker")
    deadline = time.monotonic() + 120
    while not arxiv_server.requests:
        assert time.monotonic() < deadline and worker.poll() is None, "the worker never asked for the PDF"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)

    [(status, attempts, _)] = jobs(database).values()
    assert (status, attempts) == ("pending", 1)
    # The killed worker's lease still holds: the next worker leaves the job alone.
    serve_pdf(arxiv_server, "2611.00042", pdf_document())
    assert "thumbnails:" not in cli.run("worker", "--once", timeout=600).stderr
    assert len(arxiv_server.requests) == 1
    # The lease has run out.
    with database.session() as session:
        session.execute(update(ThumbnailJob).values(next_attempt_at=utcnow()))
    resumed = cli.run("worker", "--once", timeout=600)

    assert "thumbnails: 1 made, 0 refused, 0 to try again" in resumed.stderr, resumed.stderr
    assert len(arxiv_server.requests) == 2
    assert list(jobs(database).values()) == [("done", 2, None)]
    with database.read_session() as session:
        assert len(session.scalars(select(PaperThumbnail.paper_id)).all()) == 1
    database.dispose()
