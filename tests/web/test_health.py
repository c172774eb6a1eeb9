"""`/healthz` on healthy and broken databases, and the site served for real by `paperboard serve`."""

from __future__ import annotations

import subprocess
import time

import httpx

from paperboard.db import Database
from paperboard.db.schema import head_revision
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
