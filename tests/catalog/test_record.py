from datetime import datetime

import pytest

from paperboard.catalog.record import RecordError, build_record, split_author_string
from tests.catalog.factories import make_record


def test_a_record_is_normalised():
    record = make_record(
        "arXiv:2506.00001v3",
        title="  A  title\n spread   over lines ",
        abstract="First line\nof a paragraph with $\\alpha  +  \\beta$.\n\n  Second paragraph.  ",
        authors=[" Ada   Lovelace ", "", "Alan Turing"],
        categories=["cs.CL", "cs.LG", "cs.CL"],
        published_at="2025-06-02T17:59:58+02:00",
        comment="Code: https://github.com/a/b",
    )
    assert record.arxiv_id == "2506.00001"
    assert record.version == 3
    assert record.title == "A title spread over lines"
    assert record.abstract == "First line of a paragraph with $\\alpha + \\beta$.\n\nSecond paragraph."
    assert record.authors == ("Ada Lovelace", "Alan Turing")
    assert record.categories == ("cs.CL", "cs.LG")
    assert record.published_at == datetime(2025, 6, 2, 15, 59, 58)
    assert record.code_url == "https://github.com/a/b"


def test_explicit_links_are_kept_even_when_empty():
    record = make_record(abstract="Code at https://github.com/a/b", code_url=None, project_url="https://p.example")
    assert record.code_url is None
    assert record.project_url == "https://p.example"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"arxiv_id": "nonsense"}, "id:"),
        ({"arxiv_id": None}, "id:"),
        ({"title": ""}, "title: missing"),
        ({"title": None}, "title: missing"),
        ({"title": 42}, "title: expected text"),
        ({"title": "x" * 1001}, "title: longer than"),
        ({"abstract": ["not", "text"]}, "abstract: expected text"),
        ({"authors": "Ada Lovelace"}, "authors: expected a list"),
        ({"authors": [{"name": "Ada"}]}, "authors: expected text"),
        ({"categories": ["cs.CL", "not a category!"]}, "categories:"),
        ({"categories": "cs.CL"}, "categories: expected a list"),
        ({"published_at": None}, "published: missing"),
        ({"published_at": "2025-02-30"}, "published:"),
        ({"published_at": "yesterday"}, "published:"),
        ({"version": 0}, "version:"),
        ({"version": "2"}, "version:"),
        ({"updated_at": "never"}, "updated:"),
        ({"code_url": "javascript:alert(1)"}, "code_url: .* is not an http"),
        ({"project_url": "data:text/html,<script>"}, "project_url: .* is not an http"),
    ],
)
def test_bad_fields_are_named(fields, message):
    with pytest.raises(RecordError, match=message):
        make_record(**fields)


def test_build_record_accepts_rfc_2822_dates():
    record = build_record(
        arxiv_id="2506.00001",
        title="t",
        abstract="a",
        authors=[],
        categories=[],
        published_at="Mon, 2 Jun 2025 17:59:58 GMT",
    )
    assert record.published_at == datetime(2025, 6, 2, 17, 59, 58)


def test_author_strings_are_split_and_affiliations_dropped():
    assert split_author_string("A. One (MIT), B. Two ((1) ETH, (2) EPFL), and C. Three") == [
        "A. One",
        "B. Two",
        "C. Three",
    ]
    assert split_author_string("Alexander Anderson and Sandy Band") == ["Alexander Anderson", "Sandy Band"]
