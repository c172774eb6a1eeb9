"""`paperboard worker --once` as a real process, with a local arXiv and a real SMTP server: the scheduled harvest,
digest composition and sending, each run once a day, a failed job that does not stop the others and is resumed, the
daily purge of expired sign-ins, and the submitted papers it fetches from arXiv."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from paperboard.clock import utcnow
from paperboard.community.listings import FetchState, fetch_state, submit_paper
from paperboard.db import Database
from paperboard.db.models import Listing, LoginAttempt, Paper, RateWindow, ScheduledRun, UserSession
from paperboard.digest.periods import digest_period
from paperboard.worker.schedule import WEEKDAYS
from tests.arxiv_server import ArxivServer, Reply
from tests.catalog.arxiv.test_api import QUERY, feed_of
from tests.community.factories import add_listing, add_paper, add_user
from tests.community.test_submission_fetches import recent_entry
from tests.conftest import Cli, cli_environment
from tests.digest.factories import add_subscriber
from tests.smtp_server import SmtpServer

FIRST_PAGE = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs:cs:CL"}


def midday_zone() -> tuple[str, date]:
    """A time zone where it is now between 08:00 and 16:59, so that the test is far from the turn of the local
    day, and the local date there."""
    now = datetime.now(UTC)
    hours_ahead = next(hours for hours in range(-12, 15) if 8 <= (now.hour + hours) % 24 <= 16)
    # POSIX signs: Etc/GMT-5 is five hours ahead of UTC.
    name = "Etc/GMT" + ("" if hours_ahead == 0 else f"{-hours_ahead:+d}")
    return name, now.astimezone(ZoneInfo(name)).date()


@pytest.fixture
def scheduled(
    tmp_path: Path, arxiv_server: ArxivServer, smtp_server: SmtpServer
) -> Iterator[tuple[Cli, Database, date]]:
    """An initialised site whose harvest and digests are all due now, with a weekly and a daily subscriber and a
    paper listed yesterday (in the digest time zone) with upvotes."""
    zone, today = midday_zone()
    cli = Cli(
        cli_environment(
            tmp_path / "data",
            oai_pmh_url=arxiv_server.url("/oai"),
            http_retry_backoff="0.01",
            smtp_url=smtp_server.url,
            mail_from="Paperboard <digest@example.org>",
            digest_time_zone=zone,
            digest_hour="1",
            harvest_hour="1",
            digest_weekly_day=WEEKDAYS[today.weekday()],
            harvest_categories="cs.CL",
        )
    )
    assert cli.run("init").returncode == 0
    database = Database(f"sqlite:///{tmp_path / 'data' / 'paperboard.sqlite3'}")
    add_paper(database, "2506.00001", title="Listed yesterday", days_old=2)
    add_listing(database, "2506.00001", today - timedelta(days=1), upvotes=12)
    week_ago = utcnow() - timedelta(days=8)
    for email, frequency in (("weekly@example.org", "weekly"), ("daily@example.org", "daily")):
        add_subscriber(database, email, frequency=frequency, confirmed_at=week_ago)
    yield cli, database, today
    database.dispose()


def runs(database: Database) -> dict[tuple[str, str], bool]:
    """Each recorded run and whether it finished."""
    with database.read_session() as session:
        return {(run.job, run.run_key): run.finished_at is not None for run in session.scalars(select(ScheduledRun))}


def harvested(database: Database) -> list[str]:
    with database.read_session() as session:
        return sorted(session.scalars(select(Paper.arxiv_id)))


def test_a_failed_harvest_does_not_stop_the_digests_and_is_resumed(scheduled, arxiv_server, smtp_server):
    cli, database, today = scheduled
    weekly_key = digest_period("weekly", today).key
    weekday = today.weekday() < 5
    arxiv_server.add("/oai", Reply.fixture("oai/error_badArgument.xml"), **FIRST_PAGE)

    first = cli.run("worker", "--once", timeout=600)

    assert first.returncode == 0, first.stderr
    assert f"harvest {today} failed: cs.CL: page 1 from {arxiv_server.url('/oai')}: " in first.stderr
    assert "Traceback" not in first.stderr
    assert f"digest:weekly {weekly_key} finished: 1 digests composed for 1 subscribers" in first.stderr
    assert len(smtp_server.mails_to("weekly@example.org")) == 1
    assert "Listed yesterday" in smtp_server.mails_to("weekly@example.org")[0].part("text/plain")
    # Daily digests go out on weekdays only.
    assert len(smtp_server.mails_to("daily@example.org")) == (1 if weekday else 0)
    assert runs(database) == {
        ("purge", today.isoformat()): True,
        ("harvest", today.isoformat()): False,
        ("digest:weekly", weekly_key): True,
    } | ({("digest:daily", today.isoformat()): True} if weekday else {})

    # arXiv answers again: the next worker resumes the harvest, and composes and sends nothing a second time.
    arxiv_server.add("/oai", Reply.fixture("oai/arxiv_page1.xml"), **FIRST_PAGE)
    arxiv_server.add("/oai", Reply.fixture("oai/arxiv_page3.xml"), resumptionToken="6180921|1001")
    second = cli.run("worker", "--once", timeout=600)

    assert second.returncode == 0, second.stderr
    assert f"harvest {today} finished: cs.CL from " in second.stderr
    assert harvested(database) == ["2506.00001", "2506.01001", "2506.01004", "hep-th/9901001"]
    assert all(runs(database).values())
    assert "digest:" not in second.stderr
    assert len(smtp_server.received) == (2 if weekday else 1)

    requests_so_far = len(arxiv_server.requests)
    third = cli.run("worker", "--once", timeout=600)

    assert third.returncode == 0, third.stderr
    assert not re.search(r"(harvest|purge|digest:\w+) \S+ (finished|failed)", third.stderr), third.stderr
    assert len(arxiv_server.requests) == requests_so_far
    assert len(smtp_server.received) == (2 if weekday else 1)


def test_the_daily_purge_forgets_expired_sessions_and_old_sign_in_attempts(scheduled, arxiv_server):
    cli, database, today = scheduled
    user = add_user(database, "ada")
    now = utcnow()
    with database.session() as session:
        session.add_all(
            [
                UserSession(
                    token_hash="expired",
                    user_id=user.id,
                    created_at=now - timedelta(days=31),
                    expires_at=now - timedelta(days=1),
                ),
                UserSession(token_hash="current", user_id=user.id, created_at=now, expires_at=now + timedelta(days=30)),
                LoginAttempt(
                    username_key="ada", address="10.0.0.1", attempted_at=now - timedelta(hours=2), succeeded=False
                ),
                LoginAttempt(
                    username_key="ada", address="10.0.0.1", attempted_at=now - timedelta(minutes=1), succeeded=False
                ),
                RateWindow(key="sign-up:10.0.0.1", window_start=now - timedelta(days=2), count=3),
                RateWindow(key="sign-up:10.0.0.2", window_start=now - timedelta(minutes=5), count=1),
            ]
        )
    arxiv_server.add("/oai", Reply.fixture("oai/error_noRecordsMatch.xml"), **FIRST_PAGE)

    result = cli.run("worker", "--once", timeout=600)

    assert result.returncode == 0, result.stderr
    assert (
        f"purge {today} finished: 1 expired sessions, 1 old sign-in attempts and 1 finished rate-limit windows deleted"
        in result.stderr
    )
    with database.read_session() as session:
        assert list(session.scalars(select(UserSession.token_hash))) == ["current"]
        assert [attempt.attempted_at for attempt in session.scalars(select(LoginAttempt))] == [
            now - timedelta(minutes=1)
        ]
        assert list(session.scalars(select(RateWindow.key))) == ["sign-up:10.0.0.2"]


def test_the_worker_fetches_submitted_papers_from_arxiv_and_lists_them(tmp_path, arxiv_server):
    cli = Cli(cli_environment(tmp_path / "data", arxiv_api_url=arxiv_server.url(QUERY), arxiv_api_delay="0"))
    assert cli.run("init").returncode == 0
    database = Database(f"sqlite:///{tmp_path / 'data' / 'paperboard.sqlite3'}")
    ann = add_user(database, "ann")
    for arxiv_id in ("2611.00042", "2611.99999"):
        assert isinstance(submit_paper(database, ann, arxiv_id, max_age_days=14), FetchState)
    arxiv_server.add(QUERY, feed_of(recent_entry("2611.00042")))

    first = cli.run("worker", "--once", timeout=600)
    second = cli.run("worker", "--once", timeout=600)

    assert first.returncode == 0, first.stderr
    assert "submissions from arXiv: 1 listed, 1 refused, 0 to try again" in first.stderr
    assert [request.query["id_list"] for request in arxiv_server.requests] == ["2611.00042,2611.99999"]
    with database.read_session() as session:
        assert session.scalars(select(Paper.arxiv_id).join(Listing, Listing.paper_id == Paper.id)).all() == [
            "2611.00042"
        ]
        assert fetch_state(session, ann, "2611.99999").message == "arXiv has no paper 2611.99999."
    # Nothing left to fetch: the next round asks arXiv nothing.
    assert second.returncode == 0 and "submissions from arXiv" not in second.stderr
    assert len(arxiv_server.requests) == 1
    database.dispose()
