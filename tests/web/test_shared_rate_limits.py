"""Rate limits counted in the database (`PAPERBOARD_RATE_LIMIT_STORE`), on both backends: two apps on one database,
as two worker processes or two hosts, count against one limit; a refusal is remembered by the process that got it;
the window is the database's; `auto` shares the counts on PostgreSQL only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from paperboard.db import Database
from paperboard.db.models import RateWindow
from paperboard.web import rate_limits

LIMIT = 10
PAGE = "/healthz"


class Clock:
    """Both clocks of the rate limits, monotonic and wall, moved on together by a test instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall_start = datetime(2026, 12, 7, 8, 0)

    def monotonic(self) -> float:
        return self.now

    def utcnow(self) -> datetime:
        return self.wall_start + timedelta(seconds=self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(rate_limits, "monotonic", clock.monotonic)
    monkeypatch.setattr(rate_limits, "utcnow", clock.utcnow)
    return clock


def two_apps(client_for, database: Database, store: str):
    return [client_for(database, rate_limit_store=store, page_requests_per_minute=LIMIT) for _ in range(2)]


def statuses(clients, rounds: int) -> list[int]:
    return [client.get(PAGE).status_code for _ in range(rounds) for client in clients]


def test_two_apps_on_one_database_share_one_limit(database, client_for, clock):
    first, second = two_apps(client_for, database, "database")
    answers = statuses([first, second], LIMIT)
    assert answers.count(200) == LIMIT
    assert answers[LIMIT:] == [429] * LIMIT
    refused = second.get(PAGE)
    assert refused.headers["retry-after"] == "60"
    with database.read_session() as session:
        assert session.scalars(select(RateWindow.count).where(RateWindow.key.like("requests:pages:%"))).all() == [LIMIT]

    clock.now += 60
    assert statuses([first, second], LIMIT // 2).count(200) == LIMIT


def test_a_refusal_is_remembered_without_asking_the_database_again(database, client_for, clock):
    first, second = two_apps(client_for, database, "database")
    assert statuses([first], LIMIT + 1)[-1] == 429
    # The count is gone from the database: the app that was refused still refuses until its window ends, from what it
    # remembers, while the other one, which never asked, counts afresh.
    with database.session() as session:
        session.execute(delete(RateWindow))
    clock.now += 30
    assert first.get(PAGE).headers["retry-after"] == "30"
    assert second.get(PAGE).status_code == 200
    clock.now += 30
    assert first.get(PAGE).status_code == 200


def counted(database: Database) -> list[int]:
    with database.read_session() as session:
        return session.scalars(select(RateWindow.count).where(RateWindow.key.like("requests:pages:%"))).all()


def test_a_process_takes_a_share_of_a_large_limit_and_answers_it_from_memory(database, client_for, clock):
    app = client_for(database, rate_limit_store="database", page_requests_per_minute=600)
    assert app.get(PAGE).status_code == 200
    # A twentieth of 600 was counted at once, and the next 29 requests are answered without a statement.
    assert counted(database) == [30]
    assert statuses([app], 29) == [200] * 29
    assert counted(database) == [30]
    assert app.get(PAGE).status_code == 200
    assert counted(database) == [60]


def test_processes_holding_shares_never_let_more_than_the_limit_through(database, client_for, clock):
    first, second = (client_for(database, rate_limit_store="database", page_requests_per_minute=100) for _ in range(2))
    answers = statuses([first, second], 60)
    assert answers.count(200) == 100
    assert counted(database) == [100]
    # The shares end with the window: both processes count afresh.
    clock.now += 60
    assert statuses([first, second], 1) == [200, 200]
    assert counted(database) == [10]


def test_a_burst_of_one_clients_requests_takes_shares_one_at_a_time(database):
    # 200 requests at once from one address, as a page of votes makes: each must not take a share of its own,
    # which would spend the limit of 600 on twenty of them.
    counter = rate_limits.SharedWindowCounter(database, "pages", 600)
    with ThreadPoolExecutor(max_workers=40) as pool:
        waits = list(pool.map(lambda _: counter.take("192.0.2.1", now=0.0), range(200)))
    assert waits == [0.0] * 200
    assert counted(database) == [210]


def test_tokens_are_counted_in_the_database_too(database, client_for, clock):
    apps = [client_for(database, rate_limit_store="database", api_token_requests_per_minute=2) for _ in range(2)]
    token = {"Authorization": "Bearer pb_anything"}
    answers = [app.get("/api/daily_papers", headers=token).status_code for app in apps * 2]
    assert answers == [200, 200, 429, 429]
    with database.read_session() as session:
        [key] = session.scalars(select(RateWindow.key).where(RateWindow.key.like("requests:token:%"))).all()
    # The token's SHA-256, never the token.
    assert "pb_anything" not in key


def test_auto_shares_the_counts_on_postgresql_and_keeps_them_per_process_on_sqlite(database, client_for, clock):
    first, second = two_apps(client_for, database, "auto")
    accepted = statuses([first, second], LIMIT).count(200)
    assert accepted == (LIMIT if database.backend == "postgresql" else 2 * LIMIT)


def test_memory_keeps_the_counts_per_process(database, client_for, clock):
    first, second = two_apps(client_for, database, "memory")
    assert statuses([first, second], LIMIT + 1).count(200) == 2 * LIMIT
    with database.read_session() as session:
        assert session.scalars(select(RateWindow.key)).all() == []


def test_requests_are_let_through_when_the_database_cannot_be_reached(caplog):
    # Nothing listens on port 1: every connection is refused at once.
    unreachable = Database("postgresql://paperboard@127.0.0.1:1/paperboard")
    counter = rate_limits.SharedWindowCounter(unreachable, "pages", 1)
    assert [counter.take("192.0.2.1", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert "rate limit pages not counted, the request is let through" in caplog.text
    unreachable.dispose()
