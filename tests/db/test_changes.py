"""Changes announced on PostgreSQL (`db.changes`): a write that pages show is announced when, and only if, its
transaction commits; bookkeeping (a rate limit's count) is not announced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from paperboard.catalog.record import build_record
from paperboard.catalog.store import upsert_papers
from paperboard.clock import utcnow
from paperboard.db.rate_windows import take
from tests.db.conftest import heard


def a_paper(number: int):
    return build_record(
        arxiv_id=f"2506.{number:05d}",
        title=f"Paper {number}",
        abstract="An abstract.",
        authors=["Ann Author"],
        categories=["cs.CL"],
        published_at=utcnow(),
        code_url=None,
        project_url=None,
    )


def test_a_write_is_announced_once_when_its_transaction_commits(postgres, listening):
    with postgres.session() as session:
        upsert_papers(session, [a_paper(1), a_paper(2)])
        session.flush()
        assert heard(listening) == 0
    assert heard(listening) == 1


def test_a_write_rolled_back_is_not_announced(postgres, listening):
    with pytest.raises(RuntimeError), postgres.session() as session:
        upsert_papers(session, [a_paper(1)])
        raise RuntimeError("given up")
    assert heard(listening) == 0
    # Nor by the next transaction of the connection, which only reads.
    with postgres.session() as session:
        session.execute(select(1))
    assert heard(listening) == 0


def test_counters_are_not_announced(postgres, listening):
    with postgres.session() as session:
        assert take(session, "requests:pages:192.0.2.1", limit=5, window=timedelta(minutes=1), now=utcnow()) == 0
    with postgres.counting_connection() as connection:
        assert take(connection, "requests:pages:192.0.2.1", limit=5, window=timedelta(minutes=1), now=utcnow()) == 0
    assert heard(listening) == 0
