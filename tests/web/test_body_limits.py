"""Request bodies over their limit: 413 before anything reads, authenticates or parses them, announced or chunked,
for forms and for everything else; bodies within the limit reach the app whole."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from paperboard.community.api_tokens import create_token
from paperboard.db import Database
from paperboard.db.models import Comment, Vote

LIMIT = 4096
FORM_LIMIT = 1024
PAPER = "2506.00001"


@pytest.fixture
def paper(sqlite_database, make_paper, add_papers) -> Database:
    add_papers(sqlite_database, make_paper(1))
    return sqlite_database


def chunks(size: int, chunk: int = 500) -> Iterator[bytes]:
    """A body of `size` bytes sent chunked, without Content-Length."""
    while size > 0:
        yield b"x" * min(chunk, size)
        size -= chunk


def token_header(database: Database, create_user, username: str) -> dict[str, str]:
    user = create_user(database, username)
    with database.session() as session:
        return {"Authorization": f"Bearer {create_token(session, user, 'script').plaintext}"}


def votes(database: Database) -> int:
    with database.read_session() as session:
        return session.scalar(select(func.count()).select_from(Vote)) or 0


def assert_too_large(response, limit: int, *, json: bool) -> None:
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    message = f"The request body is larger than this address accepts ({limit:,} bytes)."
    if json:
        assert response.json() == {"error": message}
    else:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.text == message


def test_an_api_body_over_the_limit_is_refused_before_authentication(paper, client_for):
    client = client_for(paper, max_body_bytes=LIMIT)
    # Without a token the API answers 401 to a body within the limit: the limit is checked first.
    assert client.post("/api/papers/index", content=b"{}" + b" " * (LIMIT - 2)).status_code == 401
    assert_too_large(client.post("/api/papers/index", content=b" " * (LIMIT + 1)), LIMIT, json=True)
    assert_too_large(client.post("/api/papers/index", content=chunks(LIMIT + 1)), LIMIT, json=True)


def test_forms_have_a_smaller_limit(paper, client_for):
    client = client_for(paper, max_body_bytes=LIMIT, max_form_bytes=FORM_LIMIT)
    email = "ann@example.org"
    within = {"email": email, "padding": "x" * (FORM_LIMIT - 100)}
    response = client.post("/subscribe/start", data=within)
    assert response.status_code == 200
    assert email in response.text

    over = {"email": email, "padding": "x" * FORM_LIMIT}
    assert_too_large(client.post("/subscribe/start", data=over), FORM_LIMIT, json=False)
    # Multipart is a form too, whatever its parts.
    response = client.post("/subscribe/start", data={"email": email}, files={"f": ("a.txt", b"x" * FORM_LIMIT)})
    assert_too_large(response, FORM_LIMIT, json=False)


def test_a_body_is_refused_on_any_path_even_where_nothing_reads_it(paper, client_for):
    client = client_for(paper, max_body_bytes=LIMIT)
    for path in ("/", f"/papers/{PAPER}", "/feeds/recent.rss", "/no/such/page"):
        assert_too_large(client.request("GET", path, content=chunks(LIMIT + 1)), LIMIT, json=False)
        assert_too_large(client.request("GET", path, content=b"x" * (LIMIT + 1)), LIMIT, json=False)
    assert client.get("/", headers={"Content-Length": "0"}).status_code == 200


def test_a_refused_write_changes_nothing(paper, client_for, create_user):
    client = client_for(paper, max_body_bytes=LIMIT)
    headers = token_header(paper, create_user, "ann")
    # An upvote reads no body: only the limit, not the route, can refuse this one.
    response = client.post(f"/api/papers/{PAPER}/upvote", headers=headers, content=chunks(LIMIT + 1))
    assert response.status_code == 413
    assert votes(paper) == 0
    assert client.post(f"/api/papers/{PAPER}/upvote", headers=headers, content=chunks(LIMIT)).status_code == 200
    assert votes(paper) == 1


def test_a_chunked_body_within_the_limit_reaches_the_app_whole(paper, client_for, create_user):
    client = client_for(paper, max_body_bytes=LIMIT)
    text = "a" * (LIMIT - 100)
    body = json.dumps({"comment": text}).encode()
    pieces = (body[start : start + 500] for start in range(0, len(body), 500))
    headers = token_header(paper, create_user, "bob") | {"Content-Type": "application/json"}
    response = client.post(f"/api/papers/{PAPER}/comment", headers=headers, content=pieces)
    assert response.status_code == 201, response.text
    with paper.read_session() as session:
        assert list(session.scalars(select(Comment.body))) == [text]
