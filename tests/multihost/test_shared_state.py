"""What several hosts on one PostgreSQL database must share, through real `paperboard serve` processes with data dirs
of their own: one rate limit for all of them, and a write on one host on every host's next anonymous page, also after
the connection that listens for changes was cut."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import text

from paperboard.catalog.jsonl import record_to_json
from paperboard.catalog.record import build_record
from paperboard.db.changes import CHANNEL
from tests.catalog.test_jsonl import write_lines
from tests.conftest import PASSWORD
from tests.multihost.conftest import Cluster, Host
from tests.web.conftest import csrf_from

PAPER = "2506.00001"
VOTE_COUNT = re.compile(r'class="vote-count">(\d+)<')
# Long enough that only an announcement, never the cache's time to live, can explain a page that changed.
PAGE_CACHE = {"page_cache_seconds": "120"}
LISTENERS = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = :listen")


def import_a_paper(cluster: Cluster, tmp_path: Path) -> None:
    record = build_record(
        arxiv_id=PAPER,
        title="A paper every host shows",
        abstract="Its upvotes are counted once, whichever host takes them.",
        authors=["Ann Author"],
        categories=["cs.CL"],
        published_at=datetime(2025, 6, 1, 12, 0),
        code_url=None,
        project_url=None,
    )
    imported = cluster.cli().run("import", str(write_lines(tmp_path / "paper.jsonl", [record_to_json(record)])))
    assert imported.returncode == 0, imported.stderr


def signed_in(cluster: Cluster, host: Host, username: str) -> httpx.Client:
    created = cluster.cli().run("user", "create", username, "--password-stdin", input=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    client = httpx.Client(base_url=host.base_url, timeout=30)
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return client


def upvote(client: httpx.Client) -> None:
    token = csrf_from(client.get(f"/papers/{PAPER}").text)
    response = client.post(f"/papers/{PAPER}/upvote", data={"action": "add", "csrf_token": token})
    assert response.status_code == 303, response.text


def anonymous_upvotes(host: Host) -> int:
    match = VOTE_COUNT.search(host.get(f"/papers/{PAPER}").text)
    assert match, "the paper page shows no upvote count"
    return int(match.group(1))


def seconds_until_shown(host: Host, upvotes: int, *, limit: float) -> float:
    start = time.monotonic()
    while anonymous_upvotes(host) != upvotes:
        assert time.monotonic() - start < limit, f"{host.base_url} still shows an old count after {limit} s"
        time.sleep(0.05)
    return time.monotonic() - start


def listener_pids(cluster: Cluster) -> set[int]:
    with cluster.database.read_session() as session:
        return set(session.scalars(LISTENERS, {"listen": f"LISTEN {CHANNEL}"}))


def test_a_limit_of_10_a_minute_is_10_across_two_hosts(hosts):
    a, b = hosts(2, api_requests_per_minute="10")
    answers = [host.get("/api/daily_papers") for _ in range(10) for host in (a, b)]
    assert [answer.status_code for answer in answers].count(200) == 10
    assert [answer.status_code for answer in answers[10:]] == [429] * 10
    assert 55 <= int(answers[-1].headers["retry-after"]) <= 60


def test_an_upvote_on_one_host_is_on_the_other_hosts_next_anonymous_page_within_a_second(cluster, hosts, tmp_path):
    a, b = hosts(2, **PAGE_CACHE)
    import_a_paper(cluster, tmp_path)
    reader = signed_in(cluster, a, "ann")
    # B keeps its page with no upvote.
    assert anonymous_upvotes(b) == 0
    assert anonymous_upvotes(b) == 0

    upvote(reader)
    elapsed = seconds_until_shown(b, 1, limit=1.0)
    print(f"host B showed the upvote made on host A after {elapsed * 1000:.0f} ms")


def test_the_hosts_listen_again_after_their_connections_were_cut(cluster, hosts, tmp_path):
    a, b = hosts(2, **PAGE_CACHE)
    import_a_paper(cluster, tmp_path)
    reader = signed_in(cluster, a, "ann")
    before = listener_pids(cluster)
    assert len(before) == 2

    with cluster.database.session() as session:
        terminated = session.scalars(
            text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) AS pid"), {"pids": list(before)}
        )
        assert all(terminated)
    deadline = time.monotonic() + 15
    while len(after := listener_pids(cluster)) < 2 or after & before:
        assert time.monotonic() < deadline, f"the hosts listen on {after} after {before} were cut"
        time.sleep(0.1)

    assert anonymous_upvotes(b) == 0
    assert anonymous_upvotes(b) == 0
    upvote(reader)
    seconds_until_shown(b, 1, limit=1.0)


def test_a_sign_out_on_one_host_ends_the_session_on_the_other_at_once(cluster, hosts, tmp_path):
    a, b = hosts(2, **PAGE_CACHE)
    import_a_paper(cluster, tmp_path)
    reader = signed_in(cluster, a, "ann")
    on_b = httpx.Client(base_url=b.base_url, cookies=reader.cookies, timeout=30)
    # B has looked the session up, and remembers whose it is for as long as it keeps pages.
    assert "Sign out" in on_b.get(f"/papers/{PAPER}").text
    assert "Sign out" in on_b.get(f"/papers/{PAPER}").text

    token = csrf_from(reader.get(f"/papers/{PAPER}").text)
    assert reader.post("/logout", data={"csrf_token": token}).status_code == 303
    start = time.monotonic()
    while "Sign out" in on_b.get(f"/papers/{PAPER}").text:
        assert time.monotonic() - start < 1.0, "host B still takes the session signed out on host A"
        time.sleep(0.05)
