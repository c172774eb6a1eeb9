"""`paperboard digest send`, run as a separate process against a real SMTP server on loopback (aiosmtpd): a run
composes and sends, a second run sends nothing twice, and a sender killed mid-run again and again still gets every
digest to every subscriber exactly once."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from paperboard.db import Database
from paperboard.db.models import OutboxMessage, Subscriber
from paperboard.db.schema import upgrade
from paperboard.digest.statuses import MailStatus
from tests.community.factories import add_listing, add_paper
from tests.conftest import Cli, cli_environment
from tests.network import free_port
from tests.smtp_server import SmtpServer

# A Monday: its daily digest covers Friday 27 to Sunday 29 November.
MONDAY = "2026-11-30"
FRIDAY = date(2026, 11, 27)


@dataclass
class Site:
    data_dir: Path
    database: Database
    # Given to the command; None for SQLite in the data folder, as `paperboard init` makes it.
    database_url: str | None = None


def initialised_site(data_dir: Path, database_url: str | None = None) -> Site:
    """A site whose Friday has three listed papers; its schema made as `paperboard init` would, without the
    seconds a process takes to start."""
    database = Database(database_url or f"sqlite:///{data_dir / 'paperboard.sqlite3'}")
    upgrade(database)
    for number, upvotes in enumerate((12, 30, 7), start=1):
        arxiv_id = f"2611.0000{number}"
        add_paper(database, arxiv_id, title=f"Listed paper {number}", published_at="2026-11-26")
        add_listing(database, arxiv_id, FRIDAY, upvotes=upvotes)
    return Site(data_dir, database, database_url)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A site on SQLite."""
    site = initialised_site(tmp_path / "data")
    yield site
    site.database.dispose()


@pytest.fixture
def site_on_each_backend(tmp_path: Path, database_url: str) -> Iterator[Site]:
    site = initialised_site(tmp_path / "data", database_url)
    yield site
    site.database.dispose()


def add_daily_subscribers(database: Database, count: int) -> list[str]:
    """Active daily subscribers, confirmed well before the period; their addresses."""
    addresses = [f"reader{number}@example.org" for number in range(count)]
    confirmed = datetime(2026, 11, 1)
    with database.session() as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "email": address,
                    "email_key": address,
                    "frequency": "daily",
                    "categories": [],
                    "keywords": [],
                    "similar_to_upvoted": False,
                    "status": "active",
                    "created_at": confirmed,
                    "confirmed_at": confirmed,
                    "consecutive_failures": 0,
                }
                for address in addresses
            ],
        )
    return addresses


def sender(site: Site, smtp_url: str | None, **settings: str) -> Cli:
    values = {"mail_retry_seconds": "0", "secret_key": "a test secret key that is long enough", **settings}
    if smtp_url:
        values["smtp_url"] = smtp_url
    return Cli(cli_environment(site.data_dir, site.database_url, **values))


def outbox(database: Database) -> dict[str, OutboxMessage]:
    """Every outbox row by its subscriber's address."""
    with database.read_session() as session:
        rows = session.execute(
            select(Subscriber.email, OutboxMessage).join(OutboxMessage, OutboxMessage.subscriber_id == Subscriber.id)
        )
        return {address: row for address, row in rows}


def test_a_run_composes_and_sends_then_a_second_sends_nothing(site, smtp_server):
    database = site.database
    addresses = add_daily_subscribers(database, 5)
    cli = sender(site, smtp_server.url)

    first = cli.run("digest", "send", "--period", "daily", "--date", MONDAY)

    assert first.returncode == 0, first.stderr
    assert "5 composed for 5 subscribers" in first.stdout
    assert "mail: 5 sent, 0 to retry later, 0 failed" in first.stdout
    rows = outbox(database)
    for address in addresses:
        [mail] = smtp_server.mails_to(address)
        assert mail.message_id == rows[address].message_id
        assert rows[address].status == MailStatus.SENT
        assert "Listed paper 2" in mail.part("text/plain")

    second = cli.run("digest", "send", "--period", "daily", "--date", MONDAY)
    assert second.returncode == 0, second.stderr
    assert "0 composed for 5 subscribers, 0 with nothing new, 5 composed before" in second.stdout
    assert "mail: 0 sent" in second.stdout
    assert len(smtp_server.received) == 5


def test_a_daily_digest_on_a_weekend_is_refused(site, smtp_server):
    database = site.database
    add_daily_subscribers(database, 2)

    result = sender(site, smtp_server.url).run("digest", "send", "--period", "daily", "--date", "2026-11-28")

    assert result.returncode == 2
    assert "2026-11-28 is a Saturday: daily digests go out on weekdays" in result.stderr
    assert outbox(database) == {}
    assert smtp_server.received == []


def test_without_an_smtp_url_the_digests_wait_in_the_outbox(site):
    database = site.database
    add_daily_subscribers(database, 3)

    result = sender(site, None).run("digest", "send", "--period", "daily", "--date", MONDAY)

    assert result.returncode == 1
    assert "3 composed for 3 subscribers" in result.stdout
    assert "PAPERBOARD_SMTP_URL is not set: 3 mails wait in the outbox" in result.stderr
    assert {row.status for row in outbox(database).values()} == {MailStatus.PENDING}


def test_a_server_that_is_down_leaves_the_digests_waiting(site):
    database = site.database
    add_daily_subscribers(database, 3)
    down = f"smtp://127.0.0.1:{free_port()}"

    result = sender(site, down).run("digest", "send", "--period", "daily", "--date", MONDAY)

    assert result.returncode == 1
    assert "3 composed for 3 subscribers" in result.stdout
    assert f"sending stopped: could not connect to {down}" in result.stderr
    assert "the rest waits in the outbox" in result.stderr
    assert {row.status for row in outbox(database).values()} == {MailStatus.PENDING}


def test_a_malformed_smtp_url_is_refused_before_composing(site):
    database = site.database
    add_daily_subscribers(database, 1)

    result = sender(site, "smtp://mail.example:port").run("digest", "send", "--period", "daily", "--date", MONDAY)

    assert result.returncode == 2
    assert "PAPERBOARD_SMTP_URL: the SMTP URL's port is not a number" in result.stderr
    assert outbox(database) == {}


def test_a_sender_killed_mid_run_again_and_again_delivers_every_digest_exactly_once(site_on_each_backend):
    site = site_on_each_backend
    database = site.database
    subscribers = 300
    kills = 3
    connections = 2
    addresses = add_daily_subscribers(database, subscribers)
    # Slow enough that the whole run takes several seconds and every kill lands in the middle of it.
    settings = {"mail_rate_per_second": "60", "mail_connections": str(connections)}
    rng = random.Random(6)

    with SmtpServer() as server:
        cli = sender(site, server.url, **settings)
        for _ in range(kills):
            received_before = len(server.received)
            process = cli.popen("digest", "send", "--period", "daily", "--date", MONDAY)
            try:
                deadline = time.monotonic() + 60
                # Kill it only once it is sending, at a random moment after.
                while len(server.received) == received_before and process.poll() is None:
                    assert time.monotonic() < deadline, "the sender sent nothing within a minute"
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.2, 1.0))
                assert process.poll() is None, f"the sender finished before it was killed: {process.communicate()}"
            finally:
                process.kill()
                process.communicate()
        killed_with = len(server.received)
        assert 0 < killed_with < subscribers

        final = cli.run("digest", "send", "--period", "daily", "--date", MONDAY)
        assert final.returncode == 0, final.stderr

        rows = outbox(database)
        assert {row.status for row in rows.values()} == {MailStatus.SENT}
        copies: Counter[int] = Counter()
        for address in addresses:
            mails = server.mails_to(address)
            # Exactly one digest: every copy has the Message-ID of the subscriber's one outbox row.
            assert {mail.message_id for mail in mails} == {rows[address].message_id}, address
            copies[len(mails)] += 1
        duplicates = len(server.received) - subscribers
        print(
            f"\n{kills} kills after {killed_with} of {subscribers} mails; {len(server.received)} received, "
            f"{duplicates} duplicate copies (copies per subscriber: {dict(sorted(copies.items()))})"
        )
        # A kill can leave at most one mail per connection accepted by the server but not yet recorded as sent.
        assert duplicates <= kills * connections
