"""Harvesting over OAI-PMH from a local server that answers like arXiv."""

import time

import pytest

from paperboard.catalog.arxiv.http import PoliteClient, RetryPolicy
from paperboard.catalog.harvest import HarvestError, HarvestRequest, harvest
from paperboard.catalog.queries import count_papers, get_paper, iter_records
from paperboard.catalog.store import upsert_papers
from tests.arxiv_server import Reply
from tests.catalog.factories import make_record

FAST = RetryPolicy(retries=2, timeout=2.0, max_retry_wait=5.0, backoff=0.01)
FIRST_PAGE = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs:cs:CL"}


def script_three_pages(server, *, page2=None):
    server.add("/oai", Reply.fixture("oai/arxiv_page1.xml"), **FIRST_PAGE)
    server.add("/oai", *(page2 or [Reply.fixture("oai/arxiv_page2.xml")]), resumptionToken="6180921|1001")
    server.add("/oai", Reply.fixture("oai/arxiv_page3.xml"), resumptionToken="6180921|2001")


def run(database, server, policy=FAST, **kwargs):
    request = HarvestRequest(endpoint=server.url("/oai"), set_spec="cs:cs:CL", **kwargs)
    with PoliteClient(policy, "paperboard-tests") as client:
        return harvest(database, client, request)


def stored_ids(database):
    with database.session() as session:
        return sorted(record.arxiv_id for record in iter_records(session))


def test_a_harvest_follows_resumption_tokens_to_the_end(database, arxiv_server):
    with database.session() as session:
        upsert_papers(session, [make_record("2501.00099")])
    script_three_pages(arxiv_server)
    report = run(database, arxiv_server)
    assert report.pages == 3
    assert report.counts.inserted == 4
    assert report.deleted == 1
    assert [str(bad) for bad in report.bad] == ["oai:arXiv.org:2506.01003: title: missing"]
    assert stored_ids(database) == ["2501.00099", "2506.01001", "2506.01002", "2506.01004", "hep-th/9901001"]
    assert [r.query for r in arxiv_server.requests] == [
        FIRST_PAGE,
        {"verb": "ListRecords", "resumptionToken": "6180921|1001"},
        {"verb": "ListRecords", "resumptionToken": "6180921|2001"},
    ]
    with database.session() as session:
        assert get_paper(session, "2501.00099").deleted_at is not None
        assert count_papers(session) == 4
        paper = get_paper(session, "2506.01001")
        assert paper.title.startswith("Resampling Intermediate Reasoning States for Exploration")
        assert "$p \\propto \\exp(-\\beta \\hat{V}(s))$" in paper.abstract
        assert paper.code_url == "https://github.com/okafor-lab/resample-grpo"
        assert [c.category for c in paper.categories] == ["cs.CL", "cs.LG"]
        old_style = get_paper(session, "hep-th/9901001")
        assert old_style.authors == ["J. M. de la Cruz Jr", "Anna Weiß"]
        assert old_style.doi == "10.1016/S0550-3213(99)00123-4"
        assert get_paper(session, "2506.01002").project_url == "https://cmoreau.github.io/sparse-lcqa/"


def test_harvesting_the_same_records_again_changes_nothing(database, arxiv_server):
    script_three_pages(arxiv_server)
    run(database, arxiv_server)
    again = run(database, arxiv_server)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 4)


def test_the_arxivraw_format_brings_versions_and_updates_the_paper(sqlite_database, arxiv_server):
    script_three_pages(arxiv_server)
    run(sqlite_database, arxiv_server)
    arxiv_server.add("/oai", Reply.fixture("oai/arxivraw_page.xml"), metadataPrefix="arXivRaw")
    report = run(sqlite_database, arxiv_server, metadata_prefix="arXivRaw")
    assert report.counts.updated == 1
    with sqlite_database.session() as session:
        paper = get_paper(session, "2506.01001")
        assert paper.version == 2
        assert "five math benchmarks" in paper.abstract
        assert paper.authors == ["Adaeze Okafor", "Maja Lindqvist", "Hiroshi Tanaka"]
        assert str(paper.updated_at) == "2025-06-05 09:12:01"


def test_503_retry_after_is_honoured(sqlite_database, arxiv_server):
    script_three_pages(
        arxiv_server,
        page2=[Reply(503, b"busy", headers={"Retry-After": "1"}), Reply.fixture("oai/arxiv_page2.xml")],
    )
    report = run(sqlite_database, arxiv_server)
    assert report.pages == 3
    page2 = arxiv_server.requests_for(resumptionToken="6180921|1001")
    assert len(page2) == 2
    assert page2[1].at - page2[0].at >= 1.0


def test_an_unreadable_retry_after_falls_back_to_the_usual_wait(sqlite_database, arxiv_server):
    # "²" passes str.isdigit() but not float(); the header reaches the client as Latin-1.
    script_three_pages(
        arxiv_server,
        page2=[Reply(503, b"busy", headers={"Retry-After": "\u00b2"}), Reply.fixture("oai/arxiv_page2.xml")],
    )
    report = run(sqlite_database, arxiv_server)
    assert report.pages == 3
    assert len(arxiv_server.requests_for(resumptionToken="6180921|1001")) == 2


def test_a_retry_after_longer_than_allowed_stops_with_a_message(sqlite_database, arxiv_server):
    script_three_pages(arxiv_server, page2=[Reply(503, headers={"Retry-After": "3600"})])
    with pytest.raises(HarvestError, match="retry after 3600 s"):
        run(sqlite_database, arxiv_server)
    assert stored_ids(sqlite_database) == ["2506.01001", "hep-th/9901001"]


def test_malformed_xml_stops_the_harvest_and_the_next_run_resumes(database, arxiv_server):
    script_three_pages(
        arxiv_server, page2=[Reply.fixture("oai/truncated_page2.xml"), Reply.fixture("oai/arxiv_page2.xml")]
    )
    with pytest.raises(HarvestError, match=r"page 2 .* not well-formed XML"):
        run(database, arxiv_server)
    assert stored_ids(database) == ["2506.01001", "hep-th/9901001"]
    report = run(database, arxiv_server)
    assert report.resumed_at_page == 1
    assert report.pages == 2
    assert len(arxiv_server.requests_for(**FIRST_PAGE)) == 1, "the stored first page was fetched again"
    assert stored_ids(database) == ["2506.01001", "2506.01002", "2506.01004", "hep-th/9901001"]


def test_an_oai_error_code_stops_with_its_message(sqlite_database, arxiv_server):
    arxiv_server.add("/oai", Reply.fixture("oai/error_badArgument.xml"))
    with pytest.raises(HarvestError, match="badArgument: Illegal date format"):
        run(sqlite_database, arxiv_server)


def test_no_records_match_is_an_empty_harvest(sqlite_database, arxiv_server):
    arxiv_server.add("/oai", Reply.fixture("oai/error_noRecordsMatch.xml"))
    report = run(sqlite_database, arxiv_server)
    assert (report.pages, report.counts.total) == (1, 0)


def test_an_expired_token_makes_the_next_run_start_over(sqlite_database, arxiv_server):
    script_three_pages(
        arxiv_server, page2=[Reply.fixture("oai/error_badResumptionToken.xml"), Reply.fixture("oai/arxiv_page2.xml")]
    )
    with pytest.raises(HarvestError, match="starts this harvest again"):
        run(sqlite_database, arxiv_server)
    report = run(sqlite_database, arxiv_server)
    assert report.resumed_at_page == 0
    assert report.pages == 3
    assert len(arxiv_server.requests_for(**FIRST_PAGE)) == 2


def test_a_timeout_stops_with_a_message_and_keeps_stored_pages(sqlite_database, arxiv_server):
    script_three_pages(arxiv_server, page2=[Reply.fixture("oai/arxiv_page2.xml", delay=1.5)])
    policy = RetryPolicy(retries=1, timeout=0.5, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(HarvestError, match=r"did not answer within 0\.5 s"):
        run(sqlite_database, arxiv_server, policy=policy)
    assert time.monotonic() - started < 10
    assert stored_ids(sqlite_database) == ["2506.01001", "hep-th/9901001"]


def test_server_errors_are_retried_then_reported(sqlite_database, arxiv_server):
    script_three_pages(arxiv_server, page2=[Reply(500, b"oops"), Reply(502), Reply(500, b"still broken")])
    with pytest.raises(HarvestError, match="answered 500"):
        run(sqlite_database, arxiv_server)
    assert len(arxiv_server.requests_for(resumptionToken="6180921|1001")) == 3
