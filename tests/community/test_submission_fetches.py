"""The worker's side of submissions of papers the catalogue lacks, against a local server that answers like arXiv:
fetched in one request per batch, listed for their submitters or refused with the reason, tried again with back-off
while arXiv cannot be reached, never fetched twice by two workers, with the site-wide interval between requests."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from paperboard.catalog.arxiv.api import ArxivApiClient
from paperboard.catalog.arxiv.pacing import arxiv_api_pacer
from paperboard.clock import utcnow
from paperboard.community.listings import FetchState, fetch_state, submit_paper, today
from paperboard.community.submission_fetches import FetchRound, arxiv_client, fetch_submitted_papers
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Listing, Paper, SubmissionFetch, User
from tests.arxiv_server import ArxivServer, Reply
from tests.catalog.arxiv.test_api import QUERY, feed_of
from tests.community.factories import add_user

MAX_AGE = 14


def entry(arxiv_id: str, published: datetime) -> str:
    stamp = published.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""
  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v1</id>
    <updated>{stamp}</updated>
    <published>{stamp}</published>
    <title>Fetched paper {arxiv_id}</title>
    <summary>What paper {arxiv_id} is about.</summary>
    <author><name>A. Author</name></author>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


def recent_entry(arxiv_id: str) -> str:
    return entry(arxiv_id, utcnow() - timedelta(days=2))


@pytest.fixture
def settings(arxiv_server: ArxivServer, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        arxiv_api_url=arxiv_server.url(QUERY),
        arxiv_api_delay=0,
        # Patient, as for a harvest: a submission's request retries once all the same.
        http_retries=5,
        http_retry_backoff=0.01,
        submission_max_age_days=MAX_AGE,
        submission_fetch_attempts=2,
    )


def pending(database: Database, user: User, text: str) -> FetchState:
    outcome = submit_paper(database, user, text, max_age_days=MAX_AGE)
    assert isinstance(outcome, FetchState) and outcome.status == "pending", outcome
    return outcome


def drain(database: Database, settings: Settings) -> FetchRound:
    with arxiv_client(database, settings) as client:
        return fetch_submitted_papers(database, settings, client)


def state(database: Database, user: User, arxiv_id: str) -> tuple[str, str]:
    with database.read_session() as session:
        found = fetch_state(session, user, arxiv_id)
    assert found is not None
    return found.status, found.message


def listings(database: Database) -> dict[str, int | None]:
    with database.read_session() as session:
        rows = session.execute(
            select(Paper.arxiv_id, Listing.submitter_id).join(Paper, Paper.id == Listing.paper_id)
        ).all()
    return {arxiv_id: submitter_id for arxiv_id, submitter_id in rows}


def test_due_submissions_are_fetched_in_one_request_then_listed_or_refused_with_the_reason(
    database, arxiv_server, settings
):
    arxiv_server.add(
        QUERY,
        feed_of(recent_entry("2611.00042"), recent_entry("2611.00043"), entry("2601.00042", datetime(2026, 1, 5, 12))),
    )
    ann, ben, cat, dan = (add_user(database, name) for name in ("ann", "ben", "cat", "dan"))
    pending(database, ann, "2611.00042")
    pending(database, ben, "arXiv:2611.00043v1")
    pending(database, cat, "2611.99999")
    pending(database, dan, "2601.00042")

    outcome = drain(database, settings)

    assert outcome == FetchRound(listed=2, refused=2, retried=0)
    assert [request.query["id_list"] for request in arxiv_server.requests] == [
        "2611.00042,2611.00043,2611.99999,2601.00042"
    ]
    assert listings(database) == {"2611.00042": ann.id, "2611.00043": ben.id}
    with database.read_session() as session:
        assert set(session.scalars(select(Listing.day))) == {today()}
    assert state(database, ann, "2611.00042") == ("listed", "2611.00042 was fetched from arXiv and listed.")
    assert state(database, cat, "2611.99999") == ("refused", "arXiv has no paper 2611.99999.")
    status, message = state(database, dan, "2601.00042")
    assert status == "refused"
    assert message.startswith("2601.00042 was first published on 2026-01-05")
    # Nothing is due any more: a second round asks arXiv nothing.
    assert drain(database, settings) == FetchRound()
    assert len(arxiv_server.requests) == 1


def test_an_id_arxiv_rejects_is_refused_with_arxivs_words(sqlite_database, arxiv_server, settings):
    arxiv_server.add(QUERY, Reply.fixture("arxiv_api/error.xml", status=400))
    ann = add_user(sqlite_database, "ann")
    pending(sqlite_database, ann, "foo-bar/9901001")

    drain(sqlite_database, settings)

    assert state(sqlite_database, ann, "foo-bar/9901001") == (
        "refused",
        "arXiv does not know the paper foo-bar/9901001: incorrect id format for foo-bar/9901001.",
    )


def test_while_arxiv_cannot_be_reached_a_submission_is_tried_again_later_then_refused(database, arxiv_server, settings):
    arxiv_server.add(QUERY, Reply(503))
    ann = add_user(database, "ann")
    pending(database, ann, "2611.55555")
    patient = settings.model_copy(update={"submission_fetch_retry_seconds": 60})

    first = drain(database, patient)
    right_after = drain(database, patient)

    assert (first, right_after) == (FetchRound(retried=1), FetchRound())
    assert len(arxiv_server.requests) == 2  # the request and its one retry, however patient the settings
    with database.read_session() as session:
        fetch = session.scalars(select(SubmissionFetch)).one()
    assert fetch.attempts == 1
    assert utcnow() + timedelta(seconds=55) < fetch.next_attempt_at <= utcnow() + timedelta(seconds=60)
    assert state(database, ann, "2611.55555")[0] == "pending"

    # The minute has passed; this second attempt is the last the settings allow.
    with database.session() as session:
        session.execute(update(SubmissionFetch).values(next_attempt_at=utcnow()))
    assert drain(database, patient) == FetchRound(refused=1)

    assert len(arxiv_server.requests) == 4
    assert state(database, ann, "2611.55555") == (
        "refused",
        "arXiv could not be reached to fetch 2611.55555 (2 tries); submit it again later.",
    )
    assert listings(database) == {}


def test_two_workers_at_once_fetch_each_paper_once_one_request_at_a_time(database, arxiv_server, settings):
    ids = [f"2611.{number:05d}" for number in range(1, 7)]
    for arxiv_id in ids:
        # Slow enough that the two workers' requests would overlap if nothing kept them apart.
        arxiv_server.add(QUERY, replace(feed_of(recent_entry(arxiv_id)), delay=0.1), id_list=arxiv_id)
    users = [add_user(database, f"user{number}") for number in range(len(ids))]
    for user, arxiv_id in zip(users, ids, strict=True):
        pending(database, user, arxiv_id)
    spaced = settings.model_copy(update={"arxiv_api_delay": 0.3})
    start = threading.Barrier(2)
    rounds: list[FetchRound] = []

    def work() -> None:
        # One id per request, so that the two workers take turns at the queue.
        with ArxivApiClient.from_settings(spaced, batch_size=1, pacer=arxiv_api_pacer(database, spaced)) as client:
            start.wait()
            rounds.append(fetch_submitted_papers(database, spaced, client))

    workers = [threading.Thread(target=work) for _ in range(2)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(request.query["id_list"] for request in arxiv_server.requests) == ids
    assert sum(done.listed for done in rounds) == len(ids) and all(done.listed for done in rounds)
    assert listings(database) == {arxiv_id: user.id for user, arxiv_id in zip(users, ids, strict=True)}
    arrivals = sorted(request.at for request in arxiv_server.requests)
    # Measured where arXiv would see them. Each request starts no earlier than its reserved slot, and the slots are
    # the delay apart from the first, which is no earlier than the workers began: so the k-th arrival comes at least
    # k delays after that. (The gap between two arrivals alone can be shorter on a loaded machine, when the earlier
    # request was sent late; unpaced, all six arrive within a few milliseconds of the start.)
    assert all(arrival >= began + k * 0.3 - 0.005 for k, arrival in enumerate(arrivals))
