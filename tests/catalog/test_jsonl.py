"""JSON Lines import and export through the catalogue service, on SQLite and PostgreSQL."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from paperboard.catalog.jsonl import export_file, import_file, record_from_json, record_to_json
from paperboard.catalog.queries import count_papers, iter_records
from paperboard.catalog.record import RecordError
from paperboard.db.models import Paper, PaperAuthor, PaperCategory
from tests.catalog.factories import make_record

SHARED_FORMAT = {
    "arxiv_id": "2405.14906",
    "title": "AutoCoder: Enhancing Code Large Language Model with AIEV-Instruct",
    "abstract": "We introduce AutoCoder. The code is available in https://github.com/bin123apple/AutoCoder.",
    "authors": ["Bin Lei", "Yuchen Li", "Qiuwu Chen"],
    "categories": [],
    "published": "2024-05-23",
    "upvotes": 7,
    "comments": 1,
    "hf_daily_date": "2024-05-27",
}

ARXIV_SNAPSHOT_FORMAT = {
    "id": "0704.0001",
    "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies",
    "comments": "37 pages, 15 figures; published version",
    "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009",
    "categories": "hep-ph",
    "license": None,
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented.\n",
    "versions": [
        {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
        {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
    ],
    "update_date": "2008-11-13",
    "authors_parsed": [
        ["Balázs", "C.", ""],
        ["Berger", "E. L.", ""],
        ["Nadolsky", "P. M.", ""],
        ["Yuan", "C. -P.", ""],
    ],
}


def write_lines(path, lines):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        for line in lines:
            out.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def test_the_shared_corpus_format_is_read():
    record = record_from_json(SHARED_FORMAT)
    assert record.arxiv_id == "2405.14906"
    assert record.published_at == datetime(2024, 5, 23)
    assert record.comment is None  # `comments` there is a count, not arXiv's comment
    assert record.code_url == "https://github.com/bin123apple/AutoCoder"
    assert record_from_json({**SHARED_FORMAT, "github": "https://github.com/x/y"}).code_url == "https://github.com/x/y"


def test_arxivs_bulk_snapshot_format_is_read():
    record = record_from_json(ARXIV_SNAPSHOT_FORMAT)
    assert record.arxiv_id == "0704.0001"
    assert record.version == 2
    assert record.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert record.categories == ("hep-ph",)
    assert record.published_at == datetime(2007, 4, 2, 19, 18, 42)
    assert record.updated_at == datetime(2007, 7, 24, 20, 10, 27)
    assert record.comment == "37 pages, 15 figures; published version"
    assert record.journal_ref == "Phys.Rev.D76:013009,2007"
    assert record.abstract == "A fully differential calculation in perturbative quantum chromodynamics is presented."


def test_the_export_format_reads_back_to_an_equal_record():
    record = make_record(
        "2506.00001v2",
        updated_at="2025-06-05T10:11:12Z",
        comment="c",
        journal_ref="j",
        doi="10.1/x",
        license="l",
        code_url=None,
        project_url="https://p.example",
        deleted_at="2025-07-01",
    )
    assert record_from_json(json.loads(json.dumps(record_to_json(record)))) == record


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({**SHARED_FORMAT, "arxiv_id": "abc"}, "id:"),
        ({key: value for key, value in SHARED_FORMAT.items() if key != "arxiv_id"}, "^id: missing$"),
        ({**SHARED_FORMAT, "arxiv_id": 2405.1}, "^id: 2405.1 is a number; write the id as text, in quotes$"),
        ({**SHARED_FORMAT, "title": ""}, "title: missing"),
        ({**SHARED_FORMAT, "published": "2025-02-30"}, "published:"),
    ],
)
def test_bad_records_say_why(data, message):
    with pytest.raises(RecordError, match=message):
        record_from_json(data)


def test_import_keeps_every_good_record_and_names_each_bad_line(database, tmp_path):
    good = [{**SHARED_FORMAT, "arxiv_id": f"2405.1490{n}", "title": f"Paper {n}"} for n in range(5)]
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            good[0],
            "{not json",
            good[1],
            {**SHARED_FORMAT, "arxiv_id": "2405.14999", "title": "   "},
            "",
            good[2],
            {**SHARED_FORMAT, "arxiv_id": "not-an-id"},
            {**SHARED_FORMAT, "arxiv_id": "2405.14998", "published": "2024-13-01"},
            good[3],
            '"just a string"',
            good[4],
        ],
    )
    seen = []
    report = import_file(database, path, on_bad_line=seen.append)
    assert report.counts.inserted == 5
    assert [(bad.line, bad.message.split(":")[0]) for bad in report.bad_lines] == [
        (2, "bad JSON"),
        (4, "title"),
        (7, "id"),
        (8, "published"),
        (10, "expected a JSON object, got str"),
    ]
    assert seen == report.bad_lines
    assert all(bad.path == str(path) for bad in report.bad_lines)
    assert str(report.bad_lines[0]).startswith(f"{path}:2: bad JSON")
    with database.session() as session:
        assert count_papers(session) == 5


def test_import_reads_gzip_and_is_idempotent(database, tmp_path):
    path = write_lines(
        tmp_path / "papers.jsonl.gz", [{**SHARED_FORMAT, "arxiv_id": f"2405.{n:05d}"} for n in range(3000)]
    )
    first = import_file(database, path)
    second = import_file(database, path)
    assert (first.counts.inserted, second.counts.inserted, second.counts.unchanged) == (3000, 0, 3000)
    with database.session() as session:
        assert count_papers(session) == 3000


def test_a_truncated_gzip_file_keeps_what_could_be_read(database, tmp_path):
    complete = write_lines(
        tmp_path / "whole.jsonl.gz", [{**SHARED_FORMAT, "arxiv_id": f"2405.{n:05d}"} for n in range(4000)]
    )
    data = complete.read_bytes()
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(data[: len(data) // 2])
    report = import_file(database, truncated)
    assert report.bad_lines and "ends early" in report.bad_lines[-1].message
    with database.session() as session:
        stored = count_papers(session)
    assert 0 < stored < 4000
    assert stored == report.counts.inserted


def test_export_then_import_into_an_empty_database_exports_identically(database, sqlite_database, tmp_path):
    records = [
        make_record("2506.00001v2", updated_at="2025-06-05T10:00:00Z", doi="10.1/x", comment="Code soon"),
        make_record("hep-th/9901001", categories=["hep-th"], published_at="1999-01-04", abstract="$\\mathbb{C}^3$"),
        make_record("2506.00002", categories=[], authors=[], abstract="", code_url=None),
        make_record("2501.00099", deleted_at="2025-06-05", title="Withdrawn <b>title</b> & ünïcödé"),
    ]
    path = write_lines(tmp_path / "in.jsonl", [record_to_json(r) for r in records])
    import_file(database, path)
    first = tmp_path / "first.jsonl.gz"
    assert export_file(database, first) == 4
    import_file(sqlite_database, first)
    second = tmp_path / "second.jsonl.gz"
    export_file(sqlite_database, second)
    assert first.read_bytes() == second.read_bytes()
    with sqlite_database.session() as session:
        assert sorted(iter_records(session), key=lambda r: r.arxiv_id) == sorted(records, key=lambda r: r.arxiv_id)


# Runs an import in a process of its own, with small transactions that each take a moment, so that a kill lands
# between two of them; the file, the database and the kill are real.
_SLOW_IMPORT = """
import sys, time
from pathlib import Path
import paperboard.catalog.jsonl as jsonl
from paperboard.db import Database

jsonl.BATCH_SIZE, jsonl.RECORDS_PER_TRANSACTION = 50, 200
upsert = jsonl.upsert_papers


def slow_upsert(session, records):
    time.sleep(0.15)
    return upsert(session, records)


jsonl.upsert_papers = slow_upsert
jsonl.import_file(Database(sys.argv[1]), Path(sys.argv[2]))
"""


def stored_rows(database):
    with database.read_session() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table)) for table in (Paper, PaperAuthor, PaperCategory)
        )


def test_an_import_killed_midway_keeps_whole_transactions_and_a_second_run_completes_it(database, tmp_path):
    count = 3000
    path = write_lines(
        tmp_path / "papers.jsonl",
        [
            {
                **SHARED_FORMAT,
                "arxiv_id": f"2405.{n:05d}",
                "authors": [f"Author {n % 97}", "Ann Other", f"Z {n}"],
                "categories": ["cs.CL", "cs.LG"],
            }
            for n in range(count)
        ],
    )
    url = database.url.render_as_string(hide_password=False)
    # In a session of its own, killed with its parsing processes as a service manager kills a job's process group.
    process = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, url, str(path)], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while stored_rows(database)[0] < 400:
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    papers, authors, categories = stored_rows(database)
    assert 400 <= papers < count
    # Each transaction of 200 papers was kept whole, with all its authors and categories, or not at all.
    assert papers % 200 == 0
    assert (authors, categories) == (3 * papers, 2 * papers)

    report = import_file(database, path)
    assert (report.counts.inserted, report.counts.unchanged) == (count - papers, papers)
    assert stored_rows(database) == (count, 3 * count, 2 * count)
