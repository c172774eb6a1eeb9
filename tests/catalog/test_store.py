"""Storing papers, on SQLite and PostgreSQL: idempotence, versions, merging, withdrawals."""

from datetime import datetime

from paperboard.catalog.queries import catalogue_stats, count_papers, get_paper, iter_records
from paperboard.catalog.store import mark_deleted, upsert_papers
from tests.catalog.factories import make_record


def store(database, *records):
    with database.session() as session:
        return upsert_papers(session, list(records))


def stored(database, arxiv_id):
    with database.session() as session:
        return next(record for record in iter_records(session) if record.arxiv_id == arxiv_id)


def test_new_papers_are_inserted_with_every_field(database):
    record = make_record(
        "2506.00001v2",
        updated_at="2025-06-05T10:00:00Z",
        comment="12 pages",
        journal_ref="J. Test 1 (2025)",
        doi="10.1000/test",
        license="http://creativecommons.org/licenses/by/4.0/",
        code_url="https://github.com/a/b",
        project_url="https://a.github.io/b",
    )
    counts = store(database, record, make_record("hep-th/9901001", categories=["hep-th"]))
    assert (counts.inserted, counts.updated, counts.unchanged) == (2, 0, 0)
    assert stored(database, "2506.00001") == record
    with database.session() as session:
        paper = get_paper(session, "2506.00001")
        assert paper is not None
        assert [c.category for c in paper.categories] == ["cs.CL", "cs.LG"]
        assert paper.authors == ["Ada Lovelace", "Alan Turing"]
        assert paper.added_at == paper.changed_at


def test_storing_the_same_records_again_changes_nothing(database):
    records = [make_record(f"2506.0000{n}") for n in range(1, 6)]
    store(database, *records)
    with database.session() as session:
        changed_before = get_paper(session, "2506.00001").changed_at
    counts = store(database, *records)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 5)
    with database.session() as session:
        assert count_papers(session) == 5
        assert get_paper(session, "2506.00001").changed_at == changed_before


def test_a_newer_version_updates_the_paper_and_an_older_one_is_stale(database):
    store(database, make_record("2506.00001v1", title="First title", categories=["cs.CL"]))
    counts = store(database, make_record("2506.00001v2", title="Second title", categories=["cs.LG", "cs.CL"]))
    assert counts.updated == 1
    assert stored(database, "2506.00001").title == "Second title"
    assert stored(database, "2506.00001").categories == ("cs.LG", "cs.CL")
    counts = store(database, make_record("2506.00001v1", title="First title"))
    assert counts.stale == 1
    assert stored(database, "2506.00001").version == 2
    assert stored(database, "2506.00001").title == "Second title"


def test_without_versions_the_update_time_decides(database):
    store(database, make_record(updated_at="2025-06-05", title="Revised"))
    assert store(database, make_record(updated_at="2025-06-03", title="Older")).stale == 1
    assert store(database, make_record(updated_at="2025-06-07", title="Newest")).updated == 1
    assert stored(database, "2506.00001").title == "Newest"


def test_bare_metadata_only_fills_gaps_in_a_versioned_paper(database):
    store(database, make_record("2506.00001v2", title="From arXiv", doi=None))
    counts = store(database, make_record("2506.00001", title="From a file", doi="10.1000/filled"))
    assert counts.updated == 1
    paper = stored(database, "2506.00001")
    assert (paper.title, paper.doi, paper.version) == ("From arXiv", "10.1000/filled", 2)


def test_fields_a_source_leaves_empty_are_kept(database):
    store(database, make_record(doi="10.1000/x", comment="kept", code_url="https://github.com/a/b"))
    store(database, make_record(title="New title", comment=None, code_url=None))
    paper = stored(database, "2506.00001")
    assert (paper.title, paper.doi, paper.comment, paper.code_url) == (
        "New title",
        "10.1000/x",
        "kept",
        "https://github.com/a/b",
    )


def test_duplicates_within_one_batch_keep_the_last(database):
    counts = store(database, make_record(title="One"), make_record(title="Two"), make_record(title="Two"))
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 1)
    assert stored(database, "2506.00001").title == "Two"


def test_a_withdrawn_paper_is_marked_and_left_out_of_counts(database):
    store(database, make_record("2501.00099"), make_record("2501.00100"))
    with database.session() as session:
        assert mark_deleted(session, "2501.00099", datetime(2025, 6, 5))
        assert not mark_deleted(session, "2501.00099", datetime(2025, 6, 6))
        assert not mark_deleted(session, "2501.99999", datetime(2025, 6, 6))
    with database.session() as session:
        assert count_papers(session) == 1
        assert count_papers(session, include_deleted=True) == 2
        assert get_paper(session, "2501.00099").deleted_at == datetime(2025, 6, 5)


def test_stats_count_by_primary_category_and_month(database):
    store(
        database,
        make_record("2505.00001", categories=["cs.CL"], published_at="2025-05-30"),
        make_record("2506.00001", categories=["cs.CL", "cs.LG"], published_at="2025-06-02"),
        make_record("2506.00002", categories=["cs.LG", "cs.CL"], published_at="2025-06-03"),
        make_record("2506.00003", categories=[], published_at="2025-06-04"),
    )
    with database.session() as session:
        stats = catalogue_stats(session)
    assert stats.papers == 4
    assert stats.by_primary_category == [("cs.CL", 2), ("cs.LG", 1), ("(none)", 1)]
    assert stats.by_month == [("2025-05", 1), ("2025-06", 3)]
