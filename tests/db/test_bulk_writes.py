"""Bulk writes (`db.inserts.insert_values`, `Database.bulk_session`), as an import makes them, on SQLite and
PostgreSQL: values stored exactly as given whatever characters they hold, announced like any write, and a bulk
session's large page cache given back when it ends."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from sqlalchemy import select

from paperboard.catalog.authors import AUTHOR_COLUMNS
from paperboard.catalog.store import upsert_papers
from paperboard.db.engine import BULK_CACHE_KIB
from paperboard.db.inserts import insert_values
from paperboard.db.models import PaperAuthor
from tests.catalog.factories import make_record
from tests.db.conftest import heard

# Characters that mean something to SQL or to a driver's parameter syntax, and text no driver should alter.
AWKWARD_NAMES = [
    "O'Brien",
    'Say "cheese"',
    "What?",
    "100% sure",
    "%s and %(name)s",
    "Robert'); DROP TABLE papers;--",
    "\u00e9l\u00e8ve \u5f20\u4f1f \U0001f600",
    "x" * 5000,
]


def test_values_are_stored_exactly_as_given(database):
    with database.session() as session:
        upsert_papers(session, [make_record("2506.00001", authors=["Placeholder"])])
        paper_id = session.scalar(select(PaperAuthor.paper_id))
        session.query(PaperAuthor).delete()
        insert_values(
            session.connection(),
            PaperAuthor.__table__,
            AUTHOR_COLUMNS,
            [(paper_id, position, name, name.lower()) for position, name in enumerate(AWKWARD_NAMES)],
        )
    with database.read_session() as session:
        rows = session.execute(
            select(PaperAuthor.position, PaperAuthor.name, PaperAuthor.name_key).order_by(PaperAuthor.position)
        ).all()
    assert [tuple(row) for row in rows] == [(n, name, name.lower()) for n, name in enumerate(AWKWARD_NAMES)]


def test_nothing_is_run_for_no_rows(database):
    with database.session() as session:
        insert_values(session.connection(), PaperAuthor.__table__, AUTHOR_COLUMNS, [])
        assert session.scalar(select(PaperAuthor.paper_id)) is None


def test_a_bulk_insert_is_announced_when_it_commits(postgres, listening):
    with postgres.session() as session:
        upsert_papers(session, [make_record("2506.00001")])
    assert heard(listening) == 1
    with postgres.session() as session:
        paper_id = session.scalar(select(PaperAuthor.paper_id))
        insert_values(
            session.connection(),
            PaperAuthor.__table__,
            AUTHOR_COLUMNS,
            [(paper_id, 9, "Late Author", "late author")],
        )
        assert heard(listening) == 0
    assert heard(listening) == 1


def cache_size(dbapi_connection) -> int:
    return dbapi_connection.execute("PRAGMA cache_size").fetchone()[0]


@pytest.mark.parametrize("fails", [False, True], ids=["committed", "rolled back"])
def test_a_bulk_session_gives_its_page_cache_back(sqlite_database, fails):
    with sqlite_database.session() as session:
        dbapi_connection = session.connection().connection.dbapi_connection
        own = cache_size(dbapi_connection)
    with pytest.raises(RuntimeError) if fails else nullcontext(), sqlite_database.bulk_session() as session:
        assert session.connection().connection.dbapi_connection is dbapi_connection
        assert cache_size(dbapi_connection) == -BULK_CACHE_KIB
        upsert_papers(session, [make_record("2506.00001")])
        if fails:
            raise RuntimeError("the import failed")
    assert cache_size(dbapi_connection) == own
    with sqlite_database.read_session() as session:
        assert len(session.execute(select(PaperAuthor.name)).all()) == (0 if fails else 2)
