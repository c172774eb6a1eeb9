"""The arXiv API client, `fetch_papers` and `paperboard fetch`, against a local server that answers like arXiv."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from paperboard.catalog.arxiv.api import ArxivApiClient, ArxivApiError, BadEntry
from paperboard.catalog.fetch import FetchInterrupted, InvalidId, RejectedId, fetch_papers
from paperboard.catalog.queries import iter_records
from paperboard.catalog.record import PaperRecord
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Paper
from tests.arxiv_server import ArxivServer, Reply
from tests.conftest import Cli

QUERY = "/api/query"
BATCH_IDS = ["2506.03781", "hep-th/9901001", "1411.4028"]

ClientFactory = Callable[..., ArxivApiClient]


def atom_entry(arxiv_id: str, version: int = 1, title: str | None = None, updated: str = "2025-06-04T09:12:33Z") -> str:
    return f"""
  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v{version}</id>
    <updated>{updated}</updated>
    <published>2025-06-04T09:12:33Z</published>
    <title>{title or f"Paper {arxiv_id}"}</title>
    <summary>  What paper {arxiv_id} is about.
</summary>
    <author><name>A. Author</name></author>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


def feed_of(*entries: str) -> Reply:
    """A reply holding a feed of these entries, written as arXiv writes one."""
    return Reply(
        body=(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
            f"{''.join(entries)}\n</feed>\n"
        ).encode()
    )


def papers_feed(*arxiv_ids: str) -> Reply:
    return feed_of(*(atom_entry(arxiv_id) for arxiv_id in arxiv_ids))


@pytest.fixture
def make_client(arxiv_server: ArxivServer) -> Iterator[ClientFactory]:
    """Clients of the local server that wait briefly; `waits` collects every pause they announce."""
    clients: list[ArxivApiClient] = []

    def make(batch_size: int = 100, waits: list[tuple[float, str]] | None = None, **settings: Any) -> ArxivApiClient:
        values = {
            "arxiv_api_url": arxiv_server.url(QUERY),
            "arxiv_api_delay": 0,
            "http_retries": 2,
            "http_retry_backoff": 0.05,
            **settings,
        }
        on_wait = None if waits is None else lambda seconds, reason: waits.append((seconds, reason))
        client = ArxivApiClient.from_settings(Settings(**values), batch_size=batch_size, on_wait=on_wait)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def stored(database: Database) -> dict[str, PaperRecord]:
    with database.session() as session:
        return {record.arxiv_id: record for record in iter_records(session)}


def changed_at(database: Database) -> dict[str, datetime]:
    with database.session() as session:
        return dict(session.execute(select(Paper.arxiv_id, Paper.changed_at)).all())


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[tuple[str, int | None]] = []

    def start(self, description: str, total: int | None = None, *, unit: str = "papers") -> None:
        self.events.append(("start", total))

    def update(self, *, completed: int | None = None, items: int | None = None, total: int | None = None) -> None:
        self.events.append(("update", completed))

    def finish(self) -> None:
        self.events.append(("finish", None))


# Parsing


def test_every_field_of_an_entry_is_read(arxiv_server: ArxivServer, make_client: ClientFactory) -> None:
    arxiv_server.add(QUERY, Reply.fixture("arxiv_api/batch.xml"), id_list=",".join(BATCH_IDS))

    feed = make_client().fetch(BATCH_IDS)

    assert [request.query for request in arxiv_server.requests] == [
        {"id_list": "2506.03781,hep-th/9901001,1411.4028", "max_results": "3"}
    ]
    assert feed.errors == [] and feed.bad_entries == []
    new_style, old_style, with_acm_classes = feed.records
    assert new_style == PaperRecord(
        arxiv_id="2506.03781",
        version=2,
        title="Token Budgets for Sparse Mixture-of-Experts Routing: Learning When Not to Compute",
        abstract=(
            "Sparse mixture-of-experts models route every token through a fixed number of experts, whatever its "
            "difficulty. We learn a per-token compute budget that lets easy tokens skip experts altogether, cutting "
            "inference cost by 38% at equal perplexity. Code and checkpoints: "
            "https://github.com/lindqvist-lab/token-budgets. Project page: https://lindqvist-lab.github.io/token-budgets/"
        ),
        authors=("Ada M. Lindqvist", "José Ñúñez-García", "Wei Zhang"),
        categories=("cs.CL", "cs.AI", "cs.LG"),
        published_at=datetime(2025, 6, 4, 9, 12, 33),
        updated_at=datetime(2025, 6, 20, 17, 1, 2),
        comment="15 pages, 6 figures; v2: added ablations on expert count",
        code_url="https://github.com/lindqvist-lab/token-budgets",
        project_url="https://lindqvist-lab.github.io/token-budgets/",
    )
    assert old_style == PaperRecord(
        arxiv_id="hep-th/9901001",
        version=3,
        title=r"Thermal Partition Functions of $\mathcal{N}=4$ Gauge Theory on $S^3\times S^1$",
        abstract=(
            r"We compute the one-loop partition function of $\mathcal{N}=4$ super Yang-Mills theory on "
            r"$S^3\times S^1$ and show that for $g_{YM}^2 N < 1$ the free energy scales as $N^2$ above a critical "
            "temperature.\n\n"
            "In the second part we relate the transition to the Hagedorn density of states and discuss its "
            r"\emph{deconfinement} interpretation."
        ),
        authors=("R. Ostrowski", "K. Tanabe"),
        categories=("hep-th", "gr-qc", "math-ph"),
        published_at=datetime(1999, 1, 4, 18, 30),
        updated_at=datetime(1999, 3, 15, 11, 20, 41),
        comment="24 pages, LaTeX; v3: references added",
        journal_ref="Nucl.Phys. B550 (1999) 123-145",
        doi="10.1016/S0550-3213(99)00123-4",
    )
    # The primary category leads even where the feed lists it later; ACM and MSC classes are not arXiv categories.
    assert with_acm_classes.arxiv_id == "1411.4028"
    assert with_acm_classes.categories == ("stat.ML", "cs.LG")
    assert with_acm_classes.version == 1
    assert with_acm_classes.updated_at == with_acm_classes.published_at == datetime(2014, 11, 14, 20, 5, 17)
    assert (with_acm_classes.comment, with_acm_classes.journal_ref, with_acm_classes.doi) == (None, None, None)


def test_a_bad_entry_is_reported_by_id_and_the_others_kept(
    arxiv_server: ArxivServer, make_client: ClientFactory, sqlite_database: Database
) -> None:
    arxiv_server.add(QUERY, Reply.fixture("arxiv_api/bad_entries.xml"))

    report = fetch_papers(sqlite_database, make_client(), ["2506.11111", "2506.22222", "2506.33333"])

    assert report.bad_entries == [
        BadEntry(2, "2506.22222", "title: missing"),
        BadEntry(3, "2506.33333", "published: '2025-13-45T25:61:00Z' is not a date"),
    ]
    assert report.not_found == []
    assert report.counts.inserted == 1
    assert list(stored(sqlite_database)) == ["2506.11111"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Rate exceeded.", "not well-formed, safe XML (syntax error: line 1, column 0); it begins 'Rate exceeded.'"),
        (b"<html><body>Service unavailable</body></html>", "not an Atom feed (its root element is <html>)"),
        (
            b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY lol "lol">]><feed>&lol;</feed>',
            "not well-formed, safe XML (EntitiesForbidden",
        ),
    ],
    ids=["plain text", "html", "entity expansion"],
)
def test_a_response_that_is_not_an_atom_feed_is_a_clear_error(
    arxiv_server: ArxivServer, make_client: ClientFactory, body: bytes, message: str
) -> None:
    arxiv_server.add(QUERY, Reply(body=body, content_type="text/plain"))

    with pytest.raises(ArxivApiError) as raised:
        make_client().fetch(["2506.03781"])

    assert str(raised.value).startswith("the arXiv API request id_list=2506.03781: the response is ")
    assert message in str(raised.value)


# Batches and ids


def test_ids_are_fetched_in_batches(
    arxiv_server: ArxivServer, make_client: ClientFactory, sqlite_database: Database
) -> None:
    ids = ["2506.00001", "2506.00002", "2506.00003", "2506.00004", "2506.00005"]
    for batch in (ids[0:2], ids[2:4], ids[4:]):
        arxiv_server.add(QUERY, papers_feed(*batch), id_list=",".join(batch))
    progress = RecordingProgress()

    report = fetch_papers(sqlite_database, make_client(batch_size=2), ids, progress)

    assert [request.query for request in arxiv_server.requests] == [
        {"id_list": "2506.00001,2506.00002", "max_results": "2"},
        {"id_list": "2506.00003,2506.00004", "max_results": "2"},
        {"id_list": "2506.00005", "max_results": "1"},
    ]
    assert report.counts.inserted == 5
    assert sorted(stored(sqlite_database)) == ids
    assert progress.events == [("start", 5), ("update", 2), ("update", 4), ("update", 5), ("finish", None)]


def test_ids_in_any_form_are_normalised_and_invalid_ones_not_sent(
    arxiv_server: ArxivServer, make_client: ClientFactory, sqlite_database: Database
) -> None:
    arxiv_server.add(QUERY, papers_feed("2506.03781"), id_list="2506.03781,hep-th/9901001")

    report = fetch_papers(
        sqlite_database,
        make_client(),
        [
            "arXiv:2506.03781v2",
            "https://arxiv.org/pdf/2506.03781v1",
            "not an id",
            "http://arxiv.org/abs/hep-th/9901001",
        ],
    )

    assert [request.query["id_list"] for request in arxiv_server.requests] == ["2506.03781,hep-th/9901001"]
    assert report.requested == ["2506.03781", "hep-th/9901001"]
    assert report.invalid == [
        InvalidId("not an id", "'not an id' is not an arXiv id (expected e.g. 2506.03781 or hep-th/9901001)")
    ]
    assert report.not_found == ["hep-th/9901001"]
    assert report.problems == 2


def test_ids_arxiv_does_not_have_are_reported(
    arxiv_server: ArxivServer, make_client: ClientFactory, sqlite_database: Database
) -> None:
    arxiv_server.add(QUERY, Reply.fixture("arxiv_api/empty.xml"), id_list="2506.99999")
    arxiv_server.add(QUERY, papers_feed("2506.03781"), id_list="2506.03781,2506.99998")
    client = make_client()

    alone = fetch_papers(sqlite_database, client, ["2506.99999"])
    mixed = fetch_papers(sqlite_database, client, ["2506.03781", "2506.99998"])

    assert (alone.not_found, alone.counts.total) == (["2506.99999"], 0)
    assert (mixed.not_found, mixed.counts.inserted) == (["2506.99998"], 1)
    assert list(stored(sqlite_database)) == ["2506.03781"]


@pytest.mark.parametrize("status", [200, 400], ids=["sent-as-200", "sent-as-400"])
def test_an_error_entry_is_narrowed_down_to_the_id_arxiv_rejects(
    arxiv_server: ArxivServer, make_client: ClientFactory, sqlite_database: Database, status: int
) -> None:
    error = Reply.fixture("arxiv_api/error.xml", status=status)
    arxiv_server.add(QUERY, error, id_list="2506.03781,foo-bar/9901001,hep-th/9901001")
    arxiv_server.add(QUERY, error, id_list="2506.03781,foo-bar/9901001")
    arxiv_server.add(QUERY, error, id_list="foo-bar/9901001")
    arxiv_server.add(QUERY, papers_feed("2506.03781"), id_list="2506.03781")
    arxiv_server.add(QUERY, papers_feed("hep-th/9901001"), id_list="hep-th/9901001")

    report = fetch_papers(sqlite_database, make_client(), ["2506.03781", "foo-bar/9901001", "hep-th/9901001"])

    assert report.rejected == [RejectedId("foo-bar/9901001", "incorrect id format for foo-bar/9901001")]
    assert report.not_found == []
    assert report.counts.inserted == 2
    assert sorted(stored(sqlite_database)) == ["2506.03781", "hep-th/9901001"]
    assert len(arxiv_server.requests) == 5


# Throttling and failures


def test_a_503_with_retry_after_is_waited_out(
    arxiv_server: ArxivServer, make_client: ClientFactory, sqlite_database: Database
) -> None:
    arxiv_server.add(QUERY, Reply(503, headers={"Retry-After": "1"}), papers_feed("2506.03781"))
    waits: list[tuple[float, str]] = []

    report = fetch_papers(sqlite_database, make_client(waits=waits), ["2506.03781"])

    assert report.counts.inserted == 1
    assert waits == [(1.0, "503 Retry-After 1 s")]
    first, second = arxiv_server.requests
    assert second.at - first.at >= 0.95


def test_a_429_is_retried_after_a_pause(
    arxiv_server: ArxivServer, make_client: ClientFactory, sqlite_database: Database
) -> None:
    arxiv_server.add(QUERY, Reply(429), papers_feed("2506.03781"))
    waits: list[tuple[float, str]] = []

    report = fetch_papers(sqlite_database, make_client(waits=waits), ["2506.03781"])

    assert report.counts.inserted == 1
    assert waits == [(0.05, "429 without Retry-After")]
    assert len(arxiv_server.requests) == 2


def test_when_retries_run_out_the_earlier_batches_are_kept(
    arxiv_server: ArxivServer, make_client: ClientFactory, database: Database
) -> None:
    arxiv_server.add(QUERY, papers_feed("2506.00001", "2506.00002"), id_list="2506.00001,2506.00002")
    arxiv_server.add(QUERY, Reply(503), id_list="2506.00003,2506.00004")

    with pytest.raises(FetchInterrupted) as raised:
        fetch_papers(database, make_client(batch_size=2), ["2506.00001", "2506.00002", "2506.00003", "2506.00004"])

    message = str(raised.value)
    assert "the arXiv API request id_list=2506.00003,2506.00004" in message
    assert "still answers 503 after 3 attempts" in message
    assert message.endswith("; 2 of 4 ids were not fetched, the 2 before them are stored")
    assert raised.value.unfetched == ["2506.00003", "2506.00004"]
    assert raised.value.report.counts.inserted == 2
    assert sorted(stored(database)) == ["2506.00001", "2506.00002"]


def test_a_malformed_response_stores_nothing_from_its_batch(
    arxiv_server: ArxivServer, make_client: ClientFactory, database: Database
) -> None:
    arxiv_server.add(QUERY, papers_feed("2506.01111", "2506.02222"), id_list="2506.01111,2506.02222")
    arxiv_server.add(QUERY, Reply.fixture("arxiv_api/truncated.xml"), id_list="2506.04444,2506.05555")

    with pytest.raises(FetchInterrupted) as raised:
        fetch_papers(database, make_client(batch_size=2), ["2506.01111", "2506.02222", "2506.04444", "2506.05555"])

    assert "the arXiv API request id_list=2506.04444,2506.05555: the response is not well-formed" in str(raised.value)
    # The first entry of the broken response is complete, yet a batch is stored whole or not at all.
    assert sorted(stored(database)) == ["2506.01111", "2506.02222"]


def test_a_server_that_does_not_answer_times_out(arxiv_server: ArxivServer, make_client: ClientFactory) -> None:
    arxiv_server.add(QUERY, Reply(delay=1.0))

    with pytest.raises(ArxivApiError) as raised:
        make_client(http_timeout=0.2, http_retries=1).fetch(["2506.03781"])

    assert "did not answer within 0.2 s (2 attempts)" in str(raised.value)
    assert len(arxiv_server.requests) == 2


# Storing again


def test_fetching_the_same_papers_again_changes_nothing(
    arxiv_server: ArxivServer, make_client: ClientFactory, database: Database
) -> None:
    arxiv_server.add(QUERY, Reply.fixture("arxiv_api/batch.xml"), id_list=",".join(BATCH_IDS))
    client = make_client()
    first = fetch_papers(database, client, BATCH_IDS)
    papers, changed = stored(database), changed_at(database)

    again = fetch_papers(database, client, BATCH_IDS)

    assert first.counts.inserted == 3
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    assert stored(database) == papers
    assert changed_at(database) == changed


def test_a_newer_version_updates_the_stored_paper(
    arxiv_server: ArxivServer, make_client: ClientFactory, database: Database
) -> None:
    client = make_client()
    arxiv_server.add(QUERY, feed_of(atom_entry("2506.03781", 1, "First title")))
    fetch_papers(database, client, ["2506.03781"])
    arxiv_server.add(QUERY, feed_of(atom_entry("2506.03781", 2, "Revised title", updated="2025-06-20T17:01:02Z")))

    report = fetch_papers(database, client, ["2506.03781"])

    assert (report.counts.inserted, report.counts.updated) == (0, 1)
    paper = stored(database)["2506.03781"]
    assert (paper.version, paper.title) == (2, "Revised title")
    assert (paper.published_at, paper.updated_at) == (datetime(2025, 6, 4, 9, 12, 33), datetime(2025, 6, 20, 17, 1, 2))


# The command


@pytest.fixture
def fetch_cli(cli: Cli, arxiv_server: ArxivServer) -> Cli:
    cli.env.update(
        PAPERBOARD_ARXIV_API_URL=arxiv_server.url(QUERY),
        PAPERBOARD_ARXIV_API_DELAY="0",
        PAPERBOARD_HTTP_RETRIES="1",
        PAPERBOARD_HTTP_RETRY_BACKOFF="0.05",
    )
    assert cli.run("init").returncode == 0
    return cli


def cli_database(cli: Cli) -> Database:
    return Database(f"sqlite:///{cli.env['PAPERBOARD_DATA_DIR']}/paperboard.sqlite3")


def test_the_fetch_command_stores_papers_given_in_any_form(arxiv_server: ArxivServer, fetch_cli: Cli) -> None:
    arxiv_server.add(QUERY, Reply.fixture("arxiv_api/batch.xml"), id_list=",".join(BATCH_IDS))

    result = fetch_cli.run("fetch", "arXiv:2506.03781v2", "https://arxiv.org/abs/hep-th/9901001v1", "1411.4028")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "Asked arXiv for 3 ids: 3 new, 0 updated, 0 unchanged; 0 not on arXiv, 0 invalid, 0 skipped"
    )
    database = cli_database(fetch_cli)
    assert sorted(stored(database)) == ["1411.4028", "2506.03781", "hep-th/9901001"]
    database.dispose()


def test_the_fetch_command_fails_when_an_id_is_not_stored(arxiv_server: ArxivServer, fetch_cli: Cli) -> None:
    arxiv_server.add(QUERY, papers_feed("2506.03781"), id_list="2506.03781,2506.99999")

    result = fetch_cli.run("fetch", "2506.03781", "2506.99999", "not-an-id")

    assert result.returncode == 1
    assert "1 new" in result.stdout and "1 not on arXiv, 1 invalid" in result.stdout
    assert "not on arXiv 2506.99999" in result.stderr
    assert "invalid 'not-an-id' is not an arXiv id" in result.stderr
    assert "error: 2 id(s) not stored" in result.stderr


def test_the_fetch_command_reports_an_unreachable_arxiv(arxiv_server: ArxivServer, fetch_cli: Cli) -> None:
    arxiv_server.add(QUERY, Reply(503, headers={"Retry-After": "0"}))

    result = fetch_cli.run("fetch", "2506.03781")

    assert result.returncode == 1
    assert "waiting" not in result.stderr  # a zero Retry-After is no pause
    assert "error: the arXiv API request id_list=2506.03781:" in result.stderr
    assert "still answers 503 after 2 attempts" in result.stderr
    assert "Traceback" not in result.stderr


def test_fetch_commands_run_at_once_keep_one_interval_between_all_their_requests(
    arxiv_server: ArxivServer, fetch_cli: Cli
) -> None:
    # Each command is throttled three times before its paper comes: four requests each, which two processes that
    # only spaced their own requests would interleave.
    for arxiv_id in ("2506.03781", "2506.03782"):
        arxiv_server.add(QUERY, *[Reply(503)] * 3, papers_feed(arxiv_id), id_list=arxiv_id)
    fetch_cli.env.update(
        PAPERBOARD_ARXIV_API_DELAY="0.5", PAPERBOARD_HTTP_RETRIES="3", PAPERBOARD_HTTP_RETRY_BACKOFF="0"
    )

    commands = [fetch_cli.popen("fetch", arxiv_id) for arxiv_id in ("2506.03781", "2506.03782")]
    results = [command.communicate(timeout=120) for command in commands]

    assert [command.returncode for command in commands] == [0, 0], results
    starts = sorted(request.at for request in arxiv_server.requests)
    assert len(starts) == 8
    # As arXiv saw them. A start is reserved in the database, then the request leaves and arrives: on this loaded
    # machine that took up to a few tens of milliseconds more for one request than for another. Without the shared
    # reservation the two commands' requests come within milliseconds of each other.
    assert min(later - earlier for earlier, later in pairwise(starts)) >= 0.5 - 0.1
