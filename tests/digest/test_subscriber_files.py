"""Importing and exporting subscribers as CSV, through the service: confirmed on import, updated rather than
duplicated, bad rows named by line and skipped, unsubscriptions respected, and an export that imports back as it was."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from paperboard.characters import forbidden_character
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Subscriber
from paperboard.db.schema import upgrade
from paperboard.digest.subscriber_files import (
    COLUMNS,
    BadFile,
    ImportReport,
    export_subscribers,
    import_subscribers,
)
from paperboard.digest.subscriptions import Preferences, subscribe
from tests.fuzzing import fuzz_settings, hostile_text

NOW = datetime(2026, 12, 1, 9, 30)
LATER = datetime(2026, 12, 2, 9, 30)


def run_import(database: Database, text: str, now: datetime = NOW) -> ImportReport:
    heard = []
    report = import_subscribers(database, io.StringIO(text, newline=""), now=now, on_problem=heard.append)
    assert heard == report.skipped
    return report


def subscribers(database: Database) -> dict[str, dict]:
    with database.read_session() as session:
        return {
            row.email: {
                "frequency": row.frequency,
                "categories": row.categories,
                "keywords": row.keywords,
                "status": row.status,
                "confirmed_at": row.confirmed_at,
            }
            for row in session.scalars(select(Subscriber))
        }


def exported(database: Database) -> str:
    destination = io.StringIO()
    with database.read_session() as session:
        export_subscribers(session, destination)
    return destination.getvalue()


def test_imported_addresses_are_confirmed_with_their_preferences(database):
    report = run_import(
        database,
        "email,frequency,categories,keywords\n"
        'ada@example.org,weekly,CS.cl cs.LG,"graph neural networks, retrieval"\n'
        "Bob@Example.ORG,,,\n"
        'cy@example.org,Daily,"cs.CL,hep-th",transformers\n',
    )

    assert (report.imported, report.updated, report.unchanged, report.skipped) == (3, 0, 0, [])
    assert subscribers(database) == {
        "ada@example.org": {
            "frequency": "weekly",
            "categories": ["cs.CL", "cs.LG"],
            "keywords": ["graph neural networks", "retrieval"],
            "status": "active",
            "confirmed_at": NOW,
        },
        # The domain is folded to lower case by the address check; the local part is kept as written.
        "Bob@example.org": {
            "frequency": "daily",
            "categories": [],
            "keywords": [],
            "status": "active",
            "confirmed_at": NOW,
        },
        "cy@example.org": {
            "frequency": "daily",
            "categories": ["cs.CL", "hep-th"],
            "keywords": ["transformers"],
            "status": "active",
            "confirmed_at": NOW,
        },
    }


def test_bad_rows_are_named_by_line_and_skipped_while_good_ones_are_kept(sqlite_database):
    too_many_keywords = ", ".join(f"keyword {number}" for number in range(21))
    report = run_import(
        sqlite_database,
        "email,frequency,categories,keywords\n"
        "good@example.org,daily,cs.CL,\n"
        "not an address,daily,,\n"
        "monthly@example.org,monthly,,\n"
        f"{'a' * 250}@example.org,daily,,\n"
        f"long@example.org,daily,,{'k' * 101}\n"
        "category@example.org,daily,cs.NOPE,\n"
        f'many@example.org,daily,,"{too_many_keywords}"\n'
        "cells@example.org,daily\n"
        "\n"
        '"multi@example.org",daily,cs.CL,"a keyword\nwritten on two lines"\n'
        "also-good@example.org,weekly,,\n",
    )

    assert [(problem.line, problem.message) for problem in report.skipped] == [
        (3, "not an address: An email address must have an @-sign."),
        (4, "monthly@example.org: choose daily or weekly digests"),
        (5, f"{'a' * 60}: a mail address has at most 254 characters"),
        (6, "long@example.org: a keyword has at most 100 characters"),
        (
            7,
            "category@example.org: 'cs.NOPE' is not an arXiv category or archive: write them like cs.CL, math.AG, "
            "hep-th or cs",
        ),
        (8, "many@example.org: give at most 20 keywords"),
        (9, "2 cells where the header names 4"),
    ]
    assert str(report.skipped[0]) == "line 3: not an address: An email address must have an @-sign."
    assert (report.imported, report.updated, report.unchanged) == (3, 0, 0)
    stored = subscribers(sqlite_database)
    assert sorted(stored) == ["also-good@example.org", "good@example.org", "multi@example.org"]
    # A line break inside a quoted cell separates keywords, as in the subscription form.
    assert stored["multi@example.org"]["keywords"] == ["a keyword", "written on two lines"]


def test_an_address_already_there_is_updated_not_added_again(sqlite_database):
    run_import(sqlite_database, "email,frequency,keywords\nada@example.org,daily,transformers\n")

    again = run_import(
        sqlite_database,
        "email,frequency,keywords\nADA@example.org,weekly,retrieval\nADA@example.org,weekly,retrieval\n",
        now=LATER,
    )

    # The address is found whatever its case; the file's second line repeats its first and changes nothing more.
    assert (again.imported, again.updated, again.unchanged) == (0, 1, 1)
    assert subscribers(sqlite_database) == {
        "ADA@example.org": {
            "frequency": "weekly",
            "categories": [],
            "keywords": ["retrieval"],
            "status": "active",
            "confirmed_at": NOW,
        }
    }
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1


def test_an_import_confirms_a_pending_address_but_never_brings_back_one_that_left(sqlite_database):
    run_import(
        sqlite_database,
        "email,status\npending@example.org,pending\nleft@example.org,unsubscribed\nbounced@example.org,paused\n"
        "stays@example.org,active\n",
    )
    assert {email: row["status"] for email, row in subscribers(sqlite_database).items()} == {
        "pending@example.org": "pending",
        "left@example.org": "unsubscribed",
        "bounced@example.org": "paused",
        "stays@example.org": "active",
    }

    report = run_import(
        sqlite_database,
        "email,frequency\npending@example.org,daily\nleft@example.org,daily\nbounced@example.org,weekly\n",
        now=LATER,
    )
    # The file's own `unsubscribed` is applied to an active address.
    leaving = run_import(sqlite_database, "email,status\nstays@example.org,unsubscribed\n", now=LATER)

    assert [(problem.line, problem.message) for problem in report.kept_inactive] == [
        (3, "left@example.org is unsubscribed; it stays so"),
        (4, "bounced@example.org is paused; it stays so"),
    ]
    assert (report.imported, report.updated, report.unchanged) == (0, 2, 1)
    assert (leaving.updated, leaving.kept_inactive) == (1, [])
    stored = subscribers(sqlite_database)
    assert {email: row["status"] for email, row in stored.items()} == {
        "pending@example.org": "active",
        "left@example.org": "unsubscribed",
        "bounced@example.org": "paused",
        "stays@example.org": "unsubscribed",
    }
    assert stored["pending@example.org"]["confirmed_at"] == LATER
    assert stored["bounced@example.org"]["frequency"] == "weekly"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "address,frequency\nada@example.org,daily\n",
        "email,frequency,colour\nada@example.org,daily,blue\n",
        "email,email\nada@example.org,ada@example.org\n",
        "ada@example.org,daily,cs.CL,\n",
    ],
)
def test_a_file_without_a_proper_header_is_refused_whole(sqlite_database, text):
    with pytest.raises(BadFile, match="first line must name the columns"):
        run_import(sqlite_database, text)

    assert subscribers(sqlite_database) == {}


def test_an_export_imports_back_as_it_was(database, tmp_path):
    lines = [
        "email,frequency,categories,keywords,status",
        'ada@example.org,weekly,cs.CL cs.LG,"graph neural networks, retrieval",active',
        'bob@example.org,daily,hep-th,"quotes ""inside"", a keyword",paused',
        "cy@example.org,daily,,,unsubscribed",
        "dee@example.org,daily,math,Grothendieck;topos,pending",
    ]
    run_import(database, "\n".join(lines) + "\n")

    first = exported(database)
    assert first.splitlines() == lines
    other = Database(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    upgrade(other)
    report = run_import(other, first)
    assert (report.imported, report.skipped) == (4, [])
    assert exported(other) == first
    assert subscribers(other) == subscribers(database)
    other.dispose()


def test_an_export_keeps_spreadsheets_from_running_cells_as_formulas_and_imports_back(sqlite_database, tmp_path):
    run_import(
        sqlite_database,
        'email,keywords\n-ada@example.org,"=HYPERLINK(""http://example.com""), @sum(1)"\nbob@example.org,+1 graphs\n',
    )
    keywords = subscribers(sqlite_database)["-ada@example.org"]["keywords"]
    assert keywords == ['=HYPERLINK("http://example.com")', "@sum(1)"]

    first = exported(sqlite_database)
    assert first.splitlines()[1:] == [
        """'-ada@example.org,daily,,"'=HYPERLINK(""http://example.com""), @sum(1)",active""",
        "bob@example.org,daily,,'+1 graphs,active",
    ]
    other = Database(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    upgrade(other)
    assert run_import(other, first).imported == 2
    assert subscribers(other) == subscribers(sqlite_database)
    assert exported(other) == first
    other.dispose()


def test_a_long_list_is_stored_in_batches_and_imports_again_unchanged(sqlite_database):
    text = "email,frequency\n" + "".join(f"reader{number}@example.org,weekly\n" for number in range(1, 1201))

    first = run_import(sqlite_database, text)
    second = run_import(sqlite_database, text, now=LATER)

    assert (first.imported, first.updated, first.unchanged) == (1200, 0, 0)
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 1200)
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber).where(Subscriber.status == "active")) == 1200


def test_an_unknown_status_or_an_unreadable_cell_skips_only_its_row(sqlite_database):
    report = run_import(
        sqlite_database,
        f'email,status\ngone@example.org,gone\nhuge@example.org,"{"x" * 200_000}"\nkept@example.org,paused\n',
    )

    assert [str(problem) for problem in report.skipped] == [
        "line 2: gone@example.org: status 'gone' is not one of pending, active, paused, unsubscribed",
        "line 3: not readable as CSV (field larger than field limit (131072))",
    ]
    assert {email: row["status"] for email, row in subscribers(sqlite_database).items()} == {
        "kept@example.org": "paused"
    }


def test_a_row_holding_nul_or_other_forbidden_characters_is_skipped_and_the_rest_stored(database):
    """A NUL in a keyword failed the whole batch on PostgreSQL; a control character was stored on SQLite."""
    report = run_import(
        database,
        "email,frequency,categories,keywords\n"
        "first@example.org,daily,,retrieval\n"
        "nul@example.org,daily,,re\x00trieval\n"
        "escape@example.org,weekly,,\x1b[31mred\n"
        "last@example.org,weekly,,\n",
    )

    assert [str(problem) for problem in report.skipped] == [
        "line 3: keywords holds a NUL character (U+0000) at position 3, which no text here may contain",
        "line 4: keywords holds a control character (U+001B) at position 1, which no text here may contain",
    ]
    assert sorted(subscribers(database)) == ["first@example.org", "last@example.org"]


def test_an_address_subscribed_while_its_batch_is_stored_is_updated_not_refused(database, tmp_path):
    if database.backend == "sqlite":
        pytest.skip("on SQLite an import holds the write lock from its first read: no one can subscribe meanwhile")
    settings = Settings(data_dir=tmp_path, mail_from="Paperboard <digest@papers.example>")
    subscribed: list[int | None] = []

    def subscribe_from_the_site_first(session: Session, *_: object) -> None:
        # Between the batch's look-up of the addresses it knows and its insert, as a visitor of the site would (once:
        # the site's own session flushes too).
        if not subscribed:
            subscribed.append(None)
            with database.session() as other:
                subscribed[0] = subscribe(
                    other, settings, "Ada@example.org", Preferences("daily"), client="192.0.2.1", now=NOW
                )

    event.listen(Session, "before_flush", subscribe_from_the_site_first)
    try:
        report = run_import(database, "email,frequency\nada@example.org,weekly\nbob@example.org,daily\n")
    finally:
        event.remove(Session, "before_flush", subscribe_from_the_site_first)

    assert subscribed and subscribed[0] is not None
    # The batch was stored again, finding the address the site had just added: updated and confirmed, not twice.
    assert (report.imported, report.updated, report.unchanged) == (1, 1, 0)
    assert {email: (row["frequency"], row["status"]) for email, row in subscribers(database).items()} == {
        "ada@example.org": ("weekly", "active"),
        "bob@example.org": ("daily", "active"),
    }


@st.composite
def _subscriber_rows(draw: st.DrawFn) -> tuple[str, dict[str, list[str]]]:
    """A CSV file mixing good rows with hostile ones, and the good rows' addresses with their keywords."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    good: dict[str, list[str]] = {}
    for number in range(draw(st.integers(1, 10))):
        row = [f"reader{number}@example.org", "weekly", "cs.CL", f"topic {number}, retrieval"]
        if draw(st.booleans()):
            good[row[0]] = [f"topic {number}", "retrieval"]
            writer.writerow(row)
        elif draw(st.booleans()):
            row[draw(st.integers(0, 3))] = draw(hostile_text())
            writer.writerow(row)
        else:
            out.write(draw(hostile_text()).replace("\n", " ") + "\n")
    return out.getvalue(), good


@fuzz_settings(25)
@given(rows=_subscriber_rows())
def test_fuzzed_subscriber_files_skip_bad_rows_by_line_and_store_every_good_one(database, rows):
    text, good = rows
    with database.session() as session:
        session.execute(delete(Subscriber))

    report = run_import(database, text)

    stored = subscribers(database)
    assert {email: stored[email]["keywords"] for email in good} == good
    assert report.imported == len(stored)
    for email, row in stored.items():
        assert forbidden_character(email) is None and not any(map(forbidden_character, row["keywords"]))
