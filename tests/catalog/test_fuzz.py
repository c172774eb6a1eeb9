"""The catalogue's importers and parsers, fuzzed (Hypothesis): JSON Lines in the shared corpus's and arXiv's bulk
snapshot's formats, OAI-PMH pages in both of arXiv's formats, and Atom feeds of the arXiv API.

Files mix good records with hostile ones (forbidden characters, huge values, wrong types, non-ASCII digits, dates at
the ends of the calendar, broken JSON and XML). Whatever they hold, a parser answers only with its documented error
(a bad line or record, named; a whole OAI or Atom response that is not well-formed XML), every good record comes
out as written, and every record that comes out passes the characters rule and can be stored on either database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select

from paperboard.catalog.arxiv.api import ArxivApiError, parse_feed
from paperboard.catalog.arxiv.oai_pmh import OaiError, parse_list_records
from paperboard.catalog.jsonl import import_file, parse_lines, record_from_json
from paperboard.catalog.record import PaperRecord, RecordError
from paperboard.db import Database
from paperboard.db.models import Paper, PaperCategory
from tests.fuzzing import assert_texts_allowed, fuzz_settings, hostile_text, hostile_values

_SNAPSHOT_FIELDS = ["id", "title", "abstract", "authors", "authors_parsed", "categories", "versions", "comments"]
_SHARED_FIELDS = ["arxiv_id", "title", "abstract", "authors", "categories", "published", "github"]
_OTHER_FIELDS = ["version", "updated", "comment", "journal-ref", "doi", "license", "code_url", "projectPage", "deleted"]


def shared_format(arxiv_id: str) -> dict[str, Any]:
    return {
        "arxiv_id": arxiv_id,
        "title": f"A good paper {arxiv_id}",
        "abstract": "What it is about.",
        "authors": ["Ann Author", "Bo Author"],
        "categories": ["cs.CL"],
        "published": "2024-05-23",
        "github": "https://github.com/ann/good",
    }


def snapshot_format(arxiv_id: str) -> dict[str, Any]:
    return {
        "id": arxiv_id,
        "title": f"A good paper {arxiv_id}",
        "abstract": "  What it is about.\n",
        "authors": "A. Author, B. Author",
        "authors_parsed": [["Author", "A.", ""], ["Author", "B.", ""]],
        "categories": "hep-ph cs.CL",
        "comments": "12 pages",
        "versions": [
            {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
            {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
        ],
    }


def _as_line(value: Any, ascii_only: bool) -> bytes:
    # Without ensure_ascii a lone surrogate goes out as its (invalid) UTF-8 bytes, which json.loads still reads.
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def hostile_line(draw: st.DrawFn, arxiv_id: str) -> bytes:
    kind = draw(st.sampled_from(["field", "field", "nested", "value", "bytes", "truncated"]))
    make = draw(st.sampled_from([shared_format, snapshot_format]))
    record = make(arxiv_id)
    if kind == "nested":
        # The snapshot's lists of versions and of authors' name parts, with hostile items.
        text = hostile_text() | hostile_values()
        record["versions"] = draw(st.lists(st.fixed_dictionaries({"version": text, "created": text}), max_size=3))
        record["authors_parsed"] = draw(st.lists(st.lists(text, max_size=4), max_size=3))
        return _as_line(record, draw(st.booleans()))
    if kind == "field":
        fields = _SHARED_FIELDS if make is shared_format else _SNAPSHOT_FIELDS
        record[draw(st.sampled_from(fields + _OTHER_FIELDS))] = draw(hostile_values())
        return _as_line(record, draw(st.booleans()))
    if kind == "value":
        return _as_line(draw(hostile_values()), draw(st.booleans()))
    if kind == "bytes":
        return draw(st.binary(max_size=200)).replace(b"\n", b"")
    line = _as_line(record, True)
    return line[: draw(st.integers(0, len(line) - 1))]


@st.composite
def json_lines(draw: st.DrawFn) -> tuple[list[bytes], dict[str, str]]:
    """The lines of a file, and the good ones' ids with their titles."""
    lines: list[bytes] = []
    good: dict[str, str] = {}
    for number in range(1, draw(st.integers(1, 12)) + 1):
        if draw(st.booleans()):
            record = draw(st.sampled_from([shared_format, snapshot_format]))(f"2405.{number:05d}")
            good[f"2405.{number:05d}"] = record["title"]
            lines.append(_as_line(record, True))
        else:
            lines.append(draw(hostile_line(f"2407.{number:05d}")))
    return lines, good


def _record_texts(record: PaperRecord) -> list[Any]:
    return [getattr(record, name) for name in PaperRecord.__slots__ if not name.endswith("_at")]


@fuzz_settings(80)
@given(json_lines())
def test_fuzzed_json_lines_give_records_or_named_errors_and_keep_every_good_line(file):
    lines, good = file

    results = parse_lines(1, [line + b"\n" for line in lines], record_from_json)

    assert [number for number, _ in results] == [number for number, line in enumerate(lines, 1) if line.strip()]
    records = {}
    for _, result in results:
        assert isinstance(result, PaperRecord | RecordError)
        if isinstance(result, PaperRecord):
            assert_texts_allowed(_record_texts(result))
            records[result.arxiv_id] = result
    assert {arxiv_id: records[arxiv_id].title for arxiv_id in good} == good


@fuzz_settings(10)
@given(file=json_lines())
def test_fuzzed_json_lines_import_stores_every_good_line_on_either_database(database: Database, tmp_path: Path, file):
    lines, good = file
    with database.session() as session:
        session.execute(delete(PaperCategory))
        session.execute(delete(Paper))
    path = tmp_path / "fuzzed.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))

    report = import_file(database, path)

    with database.read_session() as session:
        stored = {arxiv_id: title for arxiv_id, title in session.execute(select(Paper.arxiv_id, Paper.title))}
    assert {arxiv_id: stored.get(arxiv_id) for arxiv_id in good} == good
    assert report.counts.inserted == len(stored)
    assert report.counts.inserted + len(report.bad_lines) == sum(1 for line in lines if line.strip())


# OAI-PMH and Atom: records as arXiv writes them, with one field made hostile in some, and whole documents broken.

_OAI = "http://www.openarchives.org/OAI/2.0/"


def _element(tag: str, text: str | None) -> str:
    return "" if text is None else f"<{tag}>{escape(text)}</{tag}>"


def _oai_record(arxiv_id: str, prefix: str, fields: dict[str, str | None]) -> str:
    values: dict[str, str | None] = {
        "identifier": f"oai:arXiv.org:{arxiv_id}",
        "datestamp": "2025-06-05",
        "id": arxiv_id,
        "created": "2025-06-02",
        "date": "Mon, 2 Jun 2025 17:59:58 GMT",
        "version": "v1",
        "title": f"A good paper {arxiv_id}",
        "abstract": "What it is about.",
        "categories": "cs.CL cs.LG",
        "keyname": "Author",
        "forenames": "Ann",
        "authors": "Ann Author and Bo Author",
        "comments": "18 pages",
        "doi": None,
        "license": None,
        "journal-ref": None,
    } | fields
    shared = "".join(_element(tag, values[tag]) for tag in ("id", "title", "categories", "comments", "doi", "license"))
    shared += _element("journal-ref", values["journal-ref"]) + _element("abstract", values["abstract"])
    if prefix == "arXiv":
        author = _element("keyname", values["keyname"]) + _element("forenames", values["forenames"])
        body = _element("created", values["created"]) + f"<authors><author>{author}</author></authors>" + shared
    else:
        version = f'<version version="{escape(values["version"] or "", {chr(34): "&quot;"})}">'
        body = version + _element("date", values["date"]) + "</version>" + _element("authors", values["authors"])
        body += shared
    header = _element("identifier", values["identifier"]) + _element("datestamp", values["datestamp"])
    namespace = f"http://arxiv.org/OAI/{prefix}/"
    metadata = f'<metadata><{prefix} xmlns="{namespace}">{body}</{prefix}></metadata>'
    return f"<record><header>{header}</header>{metadata}</record>"


_OAI_FIELDS = ["identifier", "datestamp", "id", "created", "date", "version", "title", "abstract", "categories"]
_OAI_FIELDS += ["keyname", "forenames", "authors", "comments", "doi", "license", "journal-ref"]
# Ways to break a whole document, each of which its parser must answer with its documented error.
_BROKEN = {
    "truncated": lambda document, cut: document[: cut % len(document)],
    "raw NUL": lambda document, cut: document[: cut % len(document)] + b"\x00" + document[cut % len(document) :],
    "NUL reference": lambda document, _: document.replace(b"good paper", b"good &#0; paper", 1),
    "surrogate reference": lambda document, _: document.replace(b"good paper", b"&#xD800;", 1),
    "entity": lambda document, _: b'<!DOCTYPE x [<!ENTITY e "boom">]>' + document.split(b"?>", 1)[-1],
}


@st.composite
def xml_entries(draw: st.DrawFn, make_entry: Any, fields: list[str]) -> tuple[bytes, dict[str, str]]:
    """The records or entries of a document, and the good ones' ids with their titles."""
    entries = []
    good: dict[str, str] = {}
    for number in range(1, draw(st.integers(1, 8)) + 1):
        if draw(st.booleans()):
            good[f"2506.{number:05d}"] = f"A good paper 2506.{number:05d}"
            entries.append(make_entry(f"2506.{number:05d}", {}))
        else:
            hostile = {draw(st.sampled_from(fields)): draw(hostile_text(xml=True) | st.none())}
            entries.append(make_entry(f"2507.{number:05d}", hostile))
    return "".join(entries).encode(), good


@fuzz_settings(80)
@given(prefix=st.sampled_from(["arXiv", "arXivRaw"]), data=st.data())
def test_fuzzed_oai_pmh_pages_keep_every_good_record_or_fail_whole_with_oai_error(prefix, data):
    records, good = data.draw(xml_entries(lambda arxiv_id, fields: _oai_record(arxiv_id, prefix, fields), _OAI_FIELDS))
    size = escape(data.draw(hostile_text(xml=True)), {'"': "&quot;"})
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{_OAI}"><ListRecords>'.encode()
        + records
        + f'<resumptionToken completeListSize="{size}">token</resumptionToken></ListRecords></OAI-PMH>'.encode()
    )
    broken = data.draw(st.sampled_from([None, None, *_BROKEN]))
    if broken:
        document = _BROKEN[broken](document, data.draw(st.integers(0, 10**6)))

    try:
        page = parse_list_records(document, prefix)
    except OaiError:
        assert broken, "a well-formed page was refused whole"
        return
    for record in page.records:
        assert_texts_allowed(_record_texts(record))
    assert {record.arxiv_id: record.title for record in page.records if record.arxiv_id in good} == good or broken


def _atom_entry(arxiv_id: str, fields: dict[str, str | None]) -> str:
    values: dict[str, str | None] = {
        "id": f"http://arxiv.org/abs/{arxiv_id}v1",
        "updated": "2025-06-04T09:12:33Z",
        "published": "2025-06-04T09:12:33Z",
        "title": f"A good paper {arxiv_id}",
        "summary": "What it is about.",
        "name": "Ann Author",
        "term": "cs.LG",
        "arxiv:comment": "12 pages",
        "arxiv:journal_ref": None,
        "arxiv:doi": None,
    } | fields
    simple = ("id", "updated", "published", "title", "summary", "arxiv:comment", "arxiv:journal_ref", "arxiv:doi")
    term = escape(values["term"] or "", {'"': "&quot;"})
    return (
        "<entry>"
        + "".join(_element(tag, values[tag]) for tag in simple)
        + f"<author>{_element('name', values['name'])}</author>"
        + f'<arxiv:primary_category term="{term}"/><category term="{term}"/>'
        + "</entry>"
    )


_ATOM_FIELDS = ["id", "updated", "published", "title", "summary", "name", "term", "arxiv:comment", "arxiv:journal_ref"]
_ATOM_FIELDS += ["arxiv:doi"]


@fuzz_settings(80)
@given(data=st.data())
def test_fuzzed_atom_feeds_keep_every_good_entry_or_fail_whole_with_api_error(data):
    entries, good = data.draw(xml_entries(_atom_entry, _ATOM_FIELDS))
    document = (
        b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        b'xmlns:arxiv="http://arxiv.org/schemas/atom">' + entries + b"</feed>"
    )
    broken = data.draw(st.sampled_from([None, None, *_BROKEN]))
    if broken:
        document = _BROKEN[broken](document, data.draw(st.integers(0, 10**6)))

    try:
        feed = parse_feed(document, "the fuzzed request")
    except ArxivApiError:
        assert broken, "a well-formed feed was refused whole"
        return
    for record in feed.records:
        assert_texts_allowed(_record_texts(record))
    kept = {record.arxiv_id: record.title for record in feed.records if record.arxiv_id in good}
    assert kept == good or broken


# What the fuzz tests found, kept as examples: each had raised out of the parser and stopped the whole import.
FOUND_BY_FUZZING = [
    ({"versions": [{"version": "v²", "created": "2007-04-02"}]}, None),  # '²'.isdigit(), but int('²') fails
    ({"authors_parsed": [[]]}, None),  # no name parts: the authors string is read instead
    ({"authors_parsed": [[["Author"], "A."]]}, None),
    (
        {"versions": [{"version": "v1", "created": "0001-01-01T00:00:00+01:00"}]},
        "published: '0001-01-01T00:00:00+01:00'",
    ),
    ({"versions": [{"version": "v2147483648", "created": "2007-04-02"}]}, "version: 2147483648 is not a version"),
    ({"categories": "cs." + "A" * 100}, "categories: 'cs.AAAA"),
]


@pytest.mark.parametrize(("fields", "problem"), FOUND_BY_FUZZING)
def test_what_fuzzing_found_is_a_named_bad_line_or_a_record(fields, problem):
    line = json.dumps(snapshot_format("0704.0001") | fields).encode()

    [(_, result)] = parse_lines(1, [line], record_from_json)

    if problem is None:
        assert isinstance(result, PaperRecord)
        assert result.authors == ("A. Author", "B. Author")
    else:
        assert isinstance(result, RecordError) and str(result).startswith(problem)


def test_an_oai_list_size_in_digits_other_than_ascii_is_ignored():
    document = (
        f'<OAI-PMH xmlns="{_OAI}"><ListRecords>{_oai_record("2506.00001", "arXiv", {})}'
        '<resumptionToken completeListSize="²">next</resumptionToken></ListRecords></OAI-PMH>'
    ).encode()

    page = parse_list_records(document, "arXiv")

    assert [record.arxiv_id for record in page.records] == ["2506.00001"]
    assert (page.resumption_token, page.complete_list_size) == ("next", None)
