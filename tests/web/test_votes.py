"""Upvotes over HTTP: with and without htmx, repeated requests, CSRF, and 200 voters at once on a real server."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from paperboard.catalog.jsonl import record_to_json
from paperboard.catalog.queries import get_paper
from paperboard.community.sessions import start_session
from paperboard.db import Database
from paperboard.db.models import User, Vote
from paperboard.web.security import SESSION_COOKIE
from tests.catalog.test_jsonl import write_lines
from tests.conftest import Cli, cli_environment, serving
from tests.web.conftest import csrf_from

VOTERS = 200


def votes_for(database, arxiv_id):
    with database.session() as session:
        paper = get_paper(session, arxiv_id)
        return session.scalar(select(func.count()).select_from(Vote).where(Vote.paper_id == paper.id))


def test_an_upvote_without_javascript_redirects_back(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    client = sign_in(sqlite_database, "ann")
    token = csrf_from(client.get("/account").text)
    response = client.post(
        "/papers/2506.00001/upvote",
        data={"action": "add", "csrf_token": token},
        headers={"Referer": "http://testserver/papers/recent"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/papers/recent"
    assert votes_for(sqlite_database, "2506.00001") == 1


@pytest.mark.parametrize(
    "referrer",
    ["http://testserver//evil.example/x", "http://testserver/\\evil.example/x", "http://testserver/\t/evil.example"],
)
def test_a_referrer_that_names_another_site_is_not_followed(sqlite_database, sign_in, make_paper, add_papers, referrer):
    add_papers(sqlite_database, make_paper(1))
    client = sign_in(sqlite_database, "ann")
    token = csrf_from(client.get("/account").text)
    response = client.post(
        "/papers/2506.00001/upvote",
        data={"action": "add", "csrf_token": token},
        headers={"Referer": referrer},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/papers/2506.00001"


def test_htmx_gets_the_new_button_and_repeats_change_nothing(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    client = sign_in(sqlite_database, "ben")
    token = csrf_from(client.get("/account").text)
    headers = {"HX-Request": "true"}
    for _ in range(2):
        response = client.post(
            "/papers/2506.00001/upvote", data={"action": "add", "csrf_token": token}, headers=headers
        )
        assert response.status_code == 200
        assert 'aria-pressed="true"' in response.text
        assert re.search(r'class="vote-count">1<', response.text)
    assert votes_for(sqlite_database, "2506.00001") == 1
    for _ in range(2):
        response = client.post(
            "/papers/2506.00001/upvote", data={"action": "remove", "csrf_token": token}, headers=headers
        )
        assert 'aria-pressed="false"' in response.text
        assert re.search(r'class="vote-count">0<', response.text)
    assert votes_for(sqlite_database, "2506.00001") == 0


@pytest.mark.parametrize(
    ("path", "data", "status"),
    [
        ("/papers/2506.00001/upvote", {"action": "add"}, 403),
        ("/papers/2506.00001/upvote", {"action": "add", "csrf_token": "forged"}, 403),
        ("/papers/2506.00001/upvote", {"action": "twice"}, 422),
        ("/papers/2506.99999/upvote", {"action": "add"}, 404),
        ("/papers/not-an-id/upvote", {"action": "add"}, 404),
    ],
)
def test_bad_votes_are_refused_and_change_nothing(sqlite_database, sign_in, make_paper, add_papers, path, data, status):
    add_papers(sqlite_database, make_paper(1))
    client = sign_in(sqlite_database, "cat")
    if "csrf_token" not in data and status != 403:
        data = {**data, "csrf_token": csrf_from(client.get("/account").text)}
    assert client.post(path, data=data, follow_redirects=False).status_code == status
    assert votes_for(sqlite_database, "2506.00001") == 0


def test_visitors_are_sent_to_sign_in(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    client = client_for(sqlite_database)
    client.get("/login")
    response = client.post("/papers/2506.00001/upvote", data={"action": "add"}, follow_redirects=False)
    assert response.status_code in (303, 403)
    assert votes_for(sqlite_database, "2506.00001") == 0


def test_200_users_upvoting_at_once_make_exactly_200_votes(database_url, tmp_path, make_paper, create_user):
    """Two server processes, 200 distinct signed-in users, one paper, all requests released together."""
    cli = Cli(cli_environment(tmp_path / "data", database_url))
    with serving(cli, tmp_path / "data", workers=2) as server:
        papers = write_lines(tmp_path / "paper.jsonl", [record_to_json(make_paper(1))])
        assert cli.run("import", str(papers)).returncode == 0
        database = Database(database_url)
        # One password hash for all: hashing 200 Argon2 passwords would only slow the test down.
        template = create_user(database, "voter000")
        with database.session() as session:
            users = [template] + [
                User(
                    username=f"voter{n:03d}",
                    username_key=f"voter{n:03d}",
                    display_name=f"Voter {n}",
                    password_hash=template.password_hash,
                    role="user",
                    created_at=template.created_at,
                    password_changed_at=template.created_at,
                )
                for n in range(1, VOTERS)
            ]
            session.add_all(users[1:])
            session.flush()
            tokens = [
                start_session(session, session.merge(user), lifetime=__import__("datetime").timedelta(hours=1))
                for user in users
            ]

        csrf_tokens = []
        for token in tokens:
            with httpx.Client(base_url=server.base_url, cookies={SESSION_COOKIE: token}) as client:
                csrf_tokens.append(csrf_from(client.get("/account").text))
        # Fresh connections for the votes: one kept open while the other 199 readers fetched their forms would be
        # past the server's keep-alive time, and a request sent as the server closes it is reset.
        clients = [httpx.Client(base_url=server.base_url, cookies={SESSION_COOKIE: token}) for token in tokens]
        start = threading.Barrier(VOTERS)

        def vote(index: int) -> int:
            start.wait()
            response = clients[index].post(
                "/papers/2506.00001/upvote",
                data={"action": "add", "csrf_token": csrf_tokens[index]},
                headers={"HX-Request": "true"},
                timeout=120,
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=VOTERS) as pool:
            statuses = list(pool.map(vote, range(VOTERS)))
        for client in clients:
            client.close()
        assert statuses == [200] * VOTERS
        assert votes_for(database, "2506.00001") == VOTERS
        database.dispose()
