"""API tokens on the account page, over HTTP: created and shown once, listed, used, revoked; CSRF, other people's
tokens, bad names and password changes."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from paperboard.db.models import ApiToken
from tests.web.conftest import DEFAULT_PASSWORD, csrf_from

PAPER = "2506.00001"
TOKEN = re.compile(r'<code id="new-token-value">(pb_[A-Za-z0-9_-]+)</code>')


@pytest.fixture
def ann(sqlite_database, sign_in, make_paper, add_papers):
    """A signed-in client of `ann`, with one paper to upvote through the API."""
    add_papers(sqlite_database, make_paper(1))
    return sign_in(sqlite_database, "ann")


def create(client, name: str, *, token: str | None = None):
    csrf = token if token is not None else csrf_from(client.get("/account").text)
    return client.post("/account/tokens", data={"name": name, "csrf_token": csrf}, follow_redirects=False)


def plaintext_in(page: str) -> str:
    match = TOKEN.search(page)
    assert match, "the page shows no new token"
    return match.group(1)


def token_rows(database) -> list[tuple[str, str]]:
    with database.read_session() as session:
        return [tuple(row) for row in session.execute(select(ApiToken.name, ApiToken.token_hash))]


def upvote_with(client, token: str):
    return client.post(f"/api/papers/{PAPER}/upvote", headers={"Authorization": f"Bearer {token}"})


def listed_tokens(page: str) -> list[list[str]]:
    """The text of each cell of each row of the token table, as a reader sees it."""
    table = page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


def revoke_path(page: str, name: str) -> str:
    row = next(row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if f"<td>{name}</td>" in html.unescape(row))
    match = re.search(r'action="(/account/tokens/\d+/revoke)"', row)
    assert match, row
    return match.group(1)


def test_a_token_is_shown_once_then_listed_and_works(sqlite_database, ann):
    assert "You have no API tokens." in ann.get("/account").text

    response = create(ann, "paper bot")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = plaintext_in(response.text)
    assert "Copy it now: it is shown only this once." in response.text
    assert upvote_with(ann, token).json() == {"upvotes": 1, "upvoted": True}

    page = ann.get("/account").text
    assert token not in page and TOKEN.search(page) is None
    [[name, created, last_used, revoke]] = listed_tokens(page)
    assert name == "paper bot"
    # Used a moment ago: the last use is today, like the creation.
    assert last_used == created != "Never"
    assert revoke == "Revoke"
    assert [name for name, _ in token_rows(sqlite_database)] == ["paper bot"]


def test_a_revoked_token_is_refused_and_leaves_the_list(sqlite_database, ann):
    token = plaintext_in(create(ann, "laptop").text)
    create(ann, "server")
    page = ann.get("/account").text

    response = ann.post(revoke_path(page, "laptop"), data={"csrf_token": csrf_from(page)}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/account?revoked=true#api-tokens"
    page = ann.get(response.headers["location"]).text
    assert "The token was revoked" in page
    assert [row[0] for row in listed_tokens(page)] == ["server"]
    refused = upvote_with(ann, token)
    assert refused.status_code == 401
    assert refused.json() == {"error": "This API token is not valid: it was revoked, or never existed."}
    assert [name for name, _ in token_rows(sqlite_database)] == ["server"]


def test_forms_without_the_csrf_token_change_nothing(sqlite_database, ann):
    assert create(ann, "sneaky", token="forged").status_code == 403
    assert token_rows(sqlite_database) == []

    create(ann, "kept")
    page = ann.get("/account").text
    response = ann.post(revoke_path(page, "kept"), data={"csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert [name for name, _ in token_rows(sqlite_database)] == ["kept"]


def test_nobody_revokes_another_user_s_token(sqlite_database, ann, sign_in):
    token = plaintext_in(create(ann, "ann's").text)
    path = revoke_path(ann.get("/account").text, "ann's")
    bob = sign_in(sqlite_database, "bob")

    response = bob.post(path, data={"csrf_token": csrf_from(bob.get("/account").text)}, follow_redirects=False)

    assert response.status_code == 404
    assert "You have no API token" in response.text
    assert upvote_with(ann, token).status_code == 200
    assert [name for name, _ in token_rows(sqlite_database)] == ["ann's"]


def test_a_bad_name_comes_back_with_the_reason(sqlite_database, ann):
    create(ann, "laptop")
    for name, reason in [("", "Give the token a name"), ("laptop", "You already have a token named laptop")]:
        response = create(ann, name)
        assert response.status_code == 400
        assert reason in response.text
        assert TOKEN.search(response.text) is None
    assert [name for name, _ in token_rows(sqlite_database)] == ["laptop"]


def test_signed_out_visitors_are_sent_to_sign_in(sqlite_database, client_for):
    client = client_for(sqlite_database)
    token = csrf_from(client.get("/login").text)
    response = client.post("/account/tokens", data={"name": "x", "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert token_rows(sqlite_database) == []


def test_tokens_survive_a_password_change_and_the_page_says_so(sqlite_database, ann):
    token = plaintext_in(create(ann, "laptop").text)
    response = ann.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": "another long password",
            "new_password_again": "another long password",
            "csrf_token": csrf_from(ann.get("/account").text),
        },
    )
    assert "Your API tokens keep working" in response.text
    assert upvote_with(ann, token).status_code == 200
