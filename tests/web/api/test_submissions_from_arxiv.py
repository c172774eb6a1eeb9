"""Submissions of papers the catalogue lacks, over HTTP: the request never asks arXiv, it answers 202 "pending";
the worker's fetch lists the papers, or refuses them with a reason the submitter reads at the status address; a
slow arXiv holds up no request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from paperboard.community.submission_fetches import arxiv_client, fetch_submitted_papers
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import User
from tests.arxiv_server import ArxivServer
from tests.catalog.arxiv.test_api import QUERY, feed_of
from tests.community.test_submission_fetches import recent_entry
from tests.conftest import Cli, LiveServer, cli_environment, serving
from tests.web.api.test_write_api import assert_error, bearer, token_for

SUBMISSIONS = 45


def test_concurrent_submissions_of_unknown_papers_are_pending_until_the_worker_fetches_them(
    database, client_for, create_user, arxiv_server, tmp_path
):
    ids = [f"2611.{number:05d}" for number in range(1, SUBMISSIONS + 1)]
    unknown = ids[-1]
    arxiv_server.add(QUERY, feed_of(*(recent_entry(arxiv_id) for arxiv_id in ids[:-1])))
    settings = {"arxiv_api_url": arxiv_server.url(QUERY), "arxiv_api_delay": 0, "http_retry_backoff": 0.01}
    client = client_for(database, **settings)
    ann = bearer(token_for(database, create_user(database, "ann")))
    bob = bearer(token_for(database, create_user(database, "bob")))

    # Every paper at once, and the first five twice more: again by ann, and by bob.
    submissions = [(arxiv_id, ann) for arxiv_id in ids] + [(arxiv_id, ann) for arxiv_id in ids[:5]]
    with ThreadPoolExecutor(max_workers=len(submissions)) as pool:
        responses = list(
            pool.map(
                lambda submission: client.post(
                    "/api/papers/index", json={"arxivId": submission[0]}, headers=submission[1]
                ),
                submissions,
            )
        )
    by_bob = client.post("/api/papers/index", json={"arxivId": ids[0]}, headers=bob)

    assert arxiv_server.requests == []
    assert [response.status_code for response in responses] == [202] * len(submissions)
    for (arxiv_id, _), response in zip(submissions, responses, strict=True):
        body = response.json()
        assert body["arxivId"] == arxiv_id and body["status"] == "pending"
        assert body["message"] == f"We are fetching {arxiv_id} from arXiv; it will be listed when it arrives."
        # From the base URL, never from the request's Host (docs/security.md, page cache).
        assert body["statusUrl"] == f"http://127.0.0.1:8000/api/papers/index/{arxiv_id}" == response.headers["location"]
    assert_error(by_bob, 409, f"{ids[0]} was submitted by someone else and is being fetched from arXiv")
    assert client.get(f"/api/papers/index/{ids[0]}", headers=ann).json()["status"] == "pending"
    assert_error(client.get(f"/api/papers/index/{ids[0]}", headers=bob), 404, f"You have no submission of {ids[0]}")

    # The worker's round: one request for all of them, each id once.
    worker_settings = Settings(data_dir=tmp_path / "worker", **settings)
    with arxiv_client(database, worker_settings) as arxiv:
        fetch_submitted_papers(database, worker_settings, arxiv)

    assert [sorted(request.query["id_list"].split(",")) for request in arxiv_server.requests] == [ids]
    listed = client.get(f"/api/papers/index/arXiv:{ids[0]}v1", headers=ann).json()
    assert (listed["status"], listed["message"]) == ("listed", f"{ids[0]} was fetched from arXiv and listed.")
    refused = client.get(f"/api/papers/index/{unknown}", headers=ann).json()
    assert (refused["status"], refused["message"]) == ("refused", f"arXiv has no paper {unknown}.")
    daily = client.get("/api/daily_papers", params={"limit": 100}).json()
    assert sorted(item["paper"]["id"] for item in daily) == ids[:-1]
    assert {item["submittedBy"]["name"] for item in daily} == {"ann"}
    # Listed now: a new submission is refused as for any listed paper, and asks arXiv nothing.
    assert_error(client.post("/api/papers/index", json={"arxivId": ids[1]}, headers=bob), 409, "is already listed")
    assert len(arxiv_server.requests) == 1


@pytest.fixture
def served_with_slow_arxiv(arxiv_server: ArxivServer, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """`paperboard serve` whose arXiv takes 20 s to answer anything, and an API token of a user of it."""
    arxiv_server.add(QUERY, replace(feed_of(), delay=20))
    data_dir = tmp_path / "data"
    cli = Cli(cli_environment(data_dir, arxiv_api_url=arxiv_server.url(QUERY), arxiv_api_delay="0"))
    with serving(cli, data_dir) as server:
        server.create_user("ann")
        database = Database(f"sqlite:///{data_dir / 'paperboard.sqlite3'}")
        with database.read_session() as session:
            ann = session.scalars(select(User)).one()
        yield server, token_for(database, ann)
        database.dispose()


def test_a_slow_arxiv_holds_up_no_request(served_with_slow_arxiv, arxiv_server):
    server, token = served_with_slow_arxiv
    with httpx.Client(timeout=10, headers=bearer(token)) as http, ThreadPoolExecutor(SUBMISSIONS) as pool:
        posts = [
            pool.submit(http.post, server.url("/api/papers/index"), json={"arxivId": f"2611.{number:05d}"})
            for number in range(1, SUBMISSIONS + 1)
        ]
        # Time for the submissions to reach the server first: had they waited for arXiv, they would hold every
        # thread of its pool now.
        time.sleep(0.5)
        started = time.monotonic()
        login = http.get(server.url("/login"))
        login_seconds = time.monotonic() - started
        answers = [post.result() for post in posts]

    assert login.status_code == 200
    # Generous: the page takes milliseconds; a request stuck behind arXiv's 20 s would time out instead.
    assert login_seconds < 5
    assert [answer.status_code for answer in answers] == [202] * SUBMISSIONS
    assert arxiv_server.requests == []
