"""Authors on SQLite and PostgreSQL: the lookup key, the rows every write keeps in step with the papers, the papers
of a name, its co-authors and categories, and migration 0010's backfill of a catalogue stored before it."""

import unicodedata
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import insert, select

from paperboard.catalog.authors import AUTHOR_KEY_LENGTH, NameCount, author_key, author_summary
from paperboard.catalog.queries import count_papers, newest_papers
from paperboard.catalog.store import mark_deleted, upsert_papers
from paperboard.catalog.taxonomy import ARXIV_CATEGORIES, CATEGORY_NAMES
from paperboard.db.models import Paper, PaperAuthor
from paperboard.db.schema import _alembic_config, upgrade
from tests.catalog.factories import make_record


def store(database, *records):
    with database.session() as session:
        upsert_papers(session, list(records))


def author_rows(database):
    with database.read_session() as session:
        return session.execute(
            select(Paper.arxiv_id, PaperAuthor.position, PaperAuthor.name, PaperAuthor.name_key)
            .join(Paper, Paper.id == PaperAuthor.paper_id)
            .order_by(Paper.arxiv_id, PaperAuthor.position)
        ).all()


def arxiv_ids(papers):
    return [paper.arxiv_id for paper in papers]


def test_the_key_ignores_case_spacing_and_unicode_forms_but_keeps_accents():
    assert author_key("  Ada \t LOVELACE ") == author_key("ada lovelace") == "ada lovelace"
    # "ü" composed, and "u" followed by a combining diaeresis: one spelling written two ways.
    assert author_key("M\u00fcller") == author_key("Mu\u0308ller")
    # A different spelling on arXiv, possibly a different person: not merged.
    assert author_key("Müller") != author_key("Muller")
    assert author_key("ß") == author_key("SS")
    assert len(author_key("A" * 5000)) == AUTHOR_KEY_LENGTH


def test_every_write_keeps_the_author_rows_in_step_with_the_papers(database):
    store(database, make_record("2506.00001v1", authors=["Ada Lovelace", "ALAN Turing"]))
    assert author_rows(database) == [
        ("2506.00001", 0, "Ada Lovelace", "ada lovelace"),
        ("2506.00001", 1, "ALAN Turing", "alan turing"),
    ]
    # A new version with another author list replaces the rows; one that changes only the title leaves them.
    store(database, make_record("2506.00001v2", authors=["Grace Hopper", "Ada Lovelace", "Alan Turing"]))
    store(
        database, make_record("2506.00001v3", title="Renamed", authors=["Grace Hopper", "Ada Lovelace", "Alan Turing"])
    )
    assert author_rows(database) == [
        ("2506.00001", 0, "Grace Hopper", "grace hopper"),
        ("2506.00001", 1, "Ada Lovelace", "ada lovelace"),
        ("2506.00001", 2, "Alan Turing", "alan turing"),
    ]


def test_the_papers_of_a_name_newest_first_in_any_case_without_withdrawn_ones(database):
    store(
        database,
        make_record("2506.00001", authors=["Ada Lovelace"], published_at="2025-06-01"),
        make_record("2506.00002", authors=["Alan Turing", "ADA  LOVELACE"], published_at="2025-06-03"),
        make_record("2506.00003", authors=["Ada Lovelace"], published_at="2025-06-02"),
        make_record("2506.00004", authors=["Ada Byron Lovelace"], published_at="2025-06-04"),
        make_record("2506.00005", authors=["Ada Lovelace"], published_at="2025-06-05"),
    )
    with database.session() as session:
        mark_deleted(session, "2506.00005", datetime(2025, 7, 1))
    with database.read_session() as session:
        assert arxiv_ids(newest_papers(session, author="ada lovelace", limit=10)) == [
            "2506.00002",
            "2506.00003",
            "2506.00001",
        ]
        assert arxiv_ids(newest_papers(session, author="Ada Lovelace", limit=2, offset=1)) == [
            "2506.00003",
            "2506.00001",
        ]
        assert count_papers(session, author="Ada Lovelace") == 3
        assert count_papers(session, author="Ada Lovelace", include_deleted=True) == 4
        assert count_papers(session, author="Charles Babbage") == 0


def test_a_summary_names_the_commonest_spelling_frequent_coauthors_and_categories(database):
    store(
        database,
        make_record("2506.00001", authors=["Ada Lovelace", "Alan Turing", "Grace Hopper"], categories=["cs.LG"]),
        make_record("2506.00002", authors=["Ada Lovelace", "Alan Turing"], categories=["cs.CL", "cs.LG"]),
        make_record("2506.00003", authors=["ada lovelace", "Alan Turing", "Edsger Dijkstra"], categories=["cs.DS"]),
        # Listed twice in one paper: that paper counts once.
        make_record("2506.00004", authors=["Ada Lovelace", "Grace Hopper", "Ada Lovelace"], categories=["cs.LG"]),
        make_record("2506.00005", authors=["Alan Turing", "Barbara Liskov"], categories=["cs.PL"]),
    )
    with database.read_session() as session:
        summary = author_summary(session, "ADA LOVELACE")
        assert summary is not None
        assert summary.name == "Ada Lovelace"
        assert summary.coauthors == [
            NameCount("Alan Turing", 3),
            NameCount("Grace Hopper", 2),
            NameCount("Edsger Dijkstra", 1),
        ]
        assert summary.categories == [NameCount("cs.LG", 3), NameCount("cs.CL", 1), NameCount("cs.DS", 1)]
        assert count_papers(session, author="Ada Lovelace") == 4
        assert author_summary(session, "Charles Babbage") is None


def test_the_migration_fills_the_authors_of_papers_stored_before_it(database_url):
    from paperboard.db import Database

    database = Database(database_url)
    command.upgrade(_alembic_config(database), "0009")
    # More papers than one backfill batch (5,000), some with no authors, written as the catalogue stood before 0010.
    papers = [
        {
            "arxiv_id": f"2506.{number:05d}",
            "title": f"Paper {number}",
            "abstract": "",
            "authors": [] if number % 1000 == 0 else [f"Author {number}", "Ada  LOVELACE"],
            "published_at": datetime(2025, 6, 1),
        }
        for number in range(1, 5003)
    ]
    with database.session() as session:
        session.execute(insert(Paper.__table__), papers)

    upgrade(database)

    with database.read_session() as session:
        assert count_papers(session, author="Ada Lovelace") == 5002 - 5
        assert arxiv_ids(newest_papers(session, author="author 4999", limit=5)) == ["2506.04999"]
        assert session.scalar(select(PaperAuthor.name).where(PaperAuthor.name_key == "ada lovelace").limit(1)) == (
            "Ada  LOVELACE"
        )
        assert len(session.execute(select(PaperAuthor.paper_id)).all()) == 2 * (5002 - 5)
    database.dispose()


@pytest.mark.parametrize("name", ["J. R. R. Tolkien", "A/B Testing Group", 'Zoë O\'Brien-"Quotes"', "李 小龙"])
def test_names_of_any_shape_are_found_as_stored(sqlite_database, name):
    store(sqlite_database, make_record("2506.00001", authors=[name]))
    with sqlite_database.read_session() as session:
        assert arxiv_ids(newest_papers(session, author=name, limit=5)) == ["2506.00001"]
        summary = author_summary(session, name)
        assert summary is not None and summary.name == name


def test_every_category_of_the_taxonomy_has_a_name_for_its_page():
    assert set(CATEGORY_NAMES) == set(ARXIV_CATEGORIES.values())
    assert CATEGORY_NAMES["cs.CL"] == "Computation and Language"


def test_the_quick_key_of_ascii_names_is_the_unicode_key():
    # ASCII names skip NFKC and casefold(): every ASCII character, alone and in names, must key as they would.
    def unicode_key(name: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", name).casefold().split())[:AUTHOR_KEY_LENGTH]

    names = [chr(code) for code in range(128)] + ["  O'Brien,\tJr. ", "VAN DER\x1fWAALS", "a\x0bb\x0cc", "X" * 400]
    for name in names:
        assert name.isascii()
        assert author_key(name) == unicode_key(name), repr(name)
