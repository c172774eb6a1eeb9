"""`/healthz` on healthy and broken databases, what a probe costs and for how long it remembers, and the site
served for real by `paperboard serve`."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
from sqlalchemy import event, text

from paperboard import readiness
from paperboard.db import Database
from paperboard.db.schema import head_revision, upgrade
from paperboard.readiness import PAPER_COUNT_SECONDS, SCHEMA_RECHECK_SECONDS
from tests.network import free_port

SERVER_START_TIMEOUT = 30.0


def test_a_healthy_site_reports_its_schema_and_paper_count(database, client_for, make_paper, add_papers):
    add_papers(database, make_paper(1), make_paper(2))

    response = client_for(database).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "schema": head_revision(), "papers": 2}


def test_a_database_without_schema_is_unhealthy(unmigrated_database, client_for):
    response = client_for(unmigrated_database).get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "ok",
        "schema": None,
        "message": "the database has no schema: run `paperboard init`",
    }


def test_an_unreachable_database_is_unhealthy_without_revealing_where_it_is(client_for):
    # Nothing listens on port 1, so the connection is refused at once.
    unreachable = Database("postgresql://paperboard@127.0.0.1:1/paperboard")

    response = client_for(unreachable).get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "error",
        "schema": None,
        "message": "the database cannot be reached",
    }


def _wait_until_healthy(server: subprocess.Popen[str], client: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server stopped: {server.communicate()[1]}"
        try:
            return client.get("/healthz")
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer within {SERVER_START_TIMEOUT} s")


def test_paperboard_serve_runs_the_site_in_worker_processes(cli):
    assert cli.run("init").returncode == 0
    port = free_port()
    server = cli.popen("serve", "--port", str(port), "--workers", "2")
    try:
        # Not the environment's proxies: the server is on this machine.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client:
            health = _wait_until_healthy(server, client)
            home = client.get("/")
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)

    assert health.status_code == 200 and health.json()["papers"] == 0
    assert home.status_code == 200 and "The catalogue is empty" in home.text
    assert server.returncode == 0, log
    assert log.count("Application shutdown complete") == 2, log


def test_liveness_answers_without_the_database(unmigrated_database, client_for):
    response = client_for(unmigrated_database).get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_probe_runs_one_trivial_query_and_counts_nothing(database, client_for, make_paper, add_papers):
    add_papers(database, make_paper(1), make_paper(2))
    client = client_for(database)
    assert client.get("/healthz").json()["papers"] == 2
    statements: list[str] = []
    event.listen(
        client.app.state.database.engine,
        "before_cursor_execute",
        lambda _connection, _cursor, statement, *_: statements.append(statement.lower()),
    )

    probes = [client.get("/healthz") for _ in range(5)]

    assert {probe.status_code for probe in probes} == {200}
    queries = [statement for statement in statements if not statement.startswith("begin")]
    assert len(queries) <= 5, queries
    assert not [query for query in queries if "count(" in query or "alembic_version" in query]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The time the readiness check sees, moved by the test."""
    now = [1_000.0]
    monkeypatch.setattr(readiness, "monotonic", lambda: now[0])
    return now


def test_the_paper_count_is_remembered_for_its_time(database, client_for, make_paper, add_papers, clock):
    add_papers(database, make_paper(1))
    client = client_for(database)
    assert client.get("/healthz").json()["papers"] == 1
    add_papers(database, make_paper(2))

    clock[0] += PAPER_COUNT_SECONDS - 1
    assert client.get("/healthz").json()["papers"] == 1
    clock[0] += 1
    assert client.get("/healthz").json()["papers"] == 2


def test_a_schema_changed_behind_the_site_is_noticed_within_its_recheck_time(sqlite_database, client_for, clock):
    client = client_for(sqlite_database)
    assert client.get("/healthz").status_code == 200
    with sqlite_database.session() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0001'"))

    clock[0] += SCHEMA_RECHECK_SECONDS - 1
    assert client.get("/healthz").status_code == 200
    clock[0] += 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["message"] == f"the database is at schema 0001, not {head_revision()}: run `paperboard init`"


def test_a_database_initialised_while_probed_is_ready_at_the_next_probe(unmigrated_database, client_for):
    client = client_for(unmigrated_database)
    assert client.get("/healthz").status_code == 503

    upgrade(unmigrated_database)

    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "schema": head_revision(), "papers": 0}
