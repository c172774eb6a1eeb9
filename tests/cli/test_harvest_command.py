"""`paperboard harvest` as a real process against a local OAI-PMH server: resuming after kills and Ctrl-C."""

import signal
import sqlite3
import time

from tests.arxiv_server import Reply

FIRST_PAGE = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs:cs:CL", "from": "2025-06-05"}
HARVEST = ("harvest", "--category", "cs.CL", "--from", "2025-06-05")


def configure(cli, server):
    cli.env.update(
        PAPERBOARD_OAI_PMH_URL=server.url("/oai"),
        PAPERBOARD_HTTP_RETRY_BACKOFF="0.01",
        PAPERBOARD_HTTP_TIMEOUT="60",
    )
    assert cli.run("init").returncode == 0


def wait_for_request(server, timeout=30.0, **query):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.requests_for(**query):
            return
        time.sleep(0.05)
    raise AssertionError(f"no request for {query} within {timeout} s")


def stored_ids(cli):
    database = cli.env["PAPERBOARD_DATA_DIR"] + "/paperboard.sqlite3"
    with sqlite3.connect(database) as connection:
        return sorted(row[0] for row in connection.execute("SELECT arxiv_id FROM papers"))


def test_a_harvest_killed_mid_run_resumes_without_refetching_or_duplicating(cli, arxiv_server):
    configure(cli, arxiv_server)
    arxiv_server.add("/oai", Reply.fixture("oai/arxiv_page1.xml"), **FIRST_PAGE)
    # Pages 2 and 3 hang, the first time each is asked for, so the process can be killed while it waits.
    arxiv_server.add("/oai", Reply(delay=60), Reply.fixture("oai/arxiv_page2.xml"), resumptionToken="6180921|1001")
    arxiv_server.add("/oai", Reply(delay=60), Reply.fixture("oai/arxiv_page3.xml"), resumptionToken="6180921|2001")

    first = cli.popen(*HARVEST)
    wait_for_request(arxiv_server, resumptionToken="6180921|1001")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert stored_ids(cli) == ["2506.01001", "hep-th/9901001"]

    second = cli.popen(*HARVEST)
    wait_for_request(arxiv_server, resumptionToken="6180921|2001")
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=10)
    assert stored_ids(cli) == ["2506.01001", "2506.01002", "hep-th/9901001"]

    third = cli.run(*HARVEST, timeout=60)
    # The record without a title was on page 2, which the second run stored (and reported) before it was killed.
    assert third.returncode == 0, third.stderr
    assert "resumed at page 3" in third.stdout
    assert stored_ids(cli) == ["2506.01001", "2506.01002", "2506.01004", "hep-th/9901001"]
    assert len(arxiv_server.requests_for(**FIRST_PAGE)) == 1
    assert len(arxiv_server.requests_for(resumptionToken="6180921|1001")) == 2

    rerun = cli.run(*HARVEST, timeout=60)
    assert "0 new, 0 updated, 4 unchanged" in rerun.stdout
    assert stored_ids(cli) == ["2506.01001", "2506.01002", "2506.01004", "hep-th/9901001"]


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(cli, arxiv_server):
    configure(cli, arxiv_server)
    arxiv_server.add("/oai", Reply.fixture("oai/arxiv_page1.xml"), **FIRST_PAGE)
    arxiv_server.add("/oai", Reply(delay=60), resumptionToken="6180921|1001")
    process = cli.popen(*HARVEST)
    wait_for_request(arxiv_server, resumptionToken="6180921|1001")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "harvest interrupted. What was stored is kept; run the same command to resume." in stderr
    assert "Traceback" not in stderr
    assert stored_ids(cli) == ["2506.01001", "hep-th/9901001"]


def test_retry_after_is_shown_and_honoured(cli, arxiv_server):
    configure(cli, arxiv_server)
    arxiv_server.add(
        "/oai", Reply(503, headers={"Retry-After": "1"}), Reply.fixture("oai/arxiv_page3.xml"), **FIRST_PAGE
    )
    result = cli.run(*HARVEST, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "waiting 1 s: 503 Retry-After 1 s" in result.stderr
    assert "1 new" in result.stdout


def test_bad_options_are_refused(cli, arxiv_server):
    configure(cli, arxiv_server)
    for args, message in [
        (("--from", "2025-02-30"), "is not a date"),
        (("--from", "2025-06-05", "--until", "2025-06-01"), "--from is after --until"),
        (("--category", "cs.CL", "--set", "cs"), "not both"),
        (("--format", "oai_dc"), "use one of: arXiv, arXivRaw"),
    ]:
        result = cli.run("harvest", *args)
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)
    assert arxiv_server.requests == []


def test_an_unreachable_endpoint_fails_with_a_message(cli, arxiv_server):
    configure(cli, arxiv_server)
    cli.env.update(PAPERBOARD_OAI_PMH_URL="http://127.0.0.1:9/oai", PAPERBOARD_HTTP_RETRIES="1")
    result = cli.run(*HARVEST, timeout=60)
    assert result.returncode == 1
    assert "harvest stopped: page 1: cannot reach http://127.0.0.1:9/oai" in result.stderr
