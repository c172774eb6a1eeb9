"""Following over HTTP: authors, categories, saved searches and people, from their pages' buttons (plain forms and
htmx), listed on /following and in the API; idempotent, bounded, refusing bad input, and private to their owner."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from paperboard.db.models import Follow
from paperboard.personal.follows import MAX_FOLLOWS, follow, search_target
from tests.markup import main_of
from tests.personal.conftest import signals_changed_at, token_for, user_named
from tests.web.conftest import csrf_from

HTMX = {"HX-Request": "true"}


def follows_in(database, username: str) -> list[tuple[str, str, str]]:
    user = user_named(database, username)
    with database.read_session() as session:
        return sorted(
            (row.kind, row.target_key, row.label)
            for row in session.scalars(select(Follow).where(Follow.user_id == user.id))
        )


def follow_form(page: str) -> dict[str, str]:
    """The hidden fields of the page's follow button, as a browser would post them."""
    form = re.search(r'<form class="follow".*?</form>', page, re.S)
    assert form, "the page has no follow button"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(0)))


@pytest.fixture
def papers(database, make_paper, add_papers):
    add_papers(
        database,
        make_paper(1, authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG"]),
        make_paper(2, authors=["ada  LOVELACE"], categories=["cs.CL"]),
    )


def test_following_an_author_from_their_page_without_javascript(database, papers, sign_in):
    client = sign_in(database, "ann")
    page = client.get("/authors/Ada%20Lovelace").text
    fields = follow_form(page)
    assert fields["action"] == "add" and fields["kind"] == "author" and fields["next"] == "/authors/Ada%20Lovelace"

    response = client.post("/follow", data=fields, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == "/authors/Ada%20Lovelace"
    assert follows_in(database, "ann") == [("author", "ada lovelace", "Ada Lovelace")]
    again = client.get("/authors/ADA%20lovelace").text
    assert follow_form(again)["action"] == "remove"
    assert 'aria-pressed="true"' in again and ">\n    Following<" in again
    following = main_of(client.get("/following").text)
    assert '<a href="/authors/Ada%20Lovelace">Ada Lovelace</a>' in following


def test_following_twice_in_any_spelling_is_one_follow_and_unfollowing_ends_it(database, papers, sign_in):
    client = sign_in(database, "ann")
    token = csrf_from(client.get("/following").text)
    for name in ("Ada Lovelace", "ADA   lovelace", "ada lovelace"):
        response = client.post(
            "/follow", data={"kind": "author", "target": name, "action": "add", "csrf_token": token}, headers=HTMX
        )
        assert response.status_code == 200
        assert 'value="remove"' in response.text and "Following" in response.text
    assert follows_in(database, "ann") == [("author", "ada lovelace", "Ada Lovelace")]

    response = client.post(
        "/follow",
        data={"kind": "author", "target": "Ada Lovelace", "action": "remove", "csrf_token": token},
        headers=HTMX,
    )
    assert response.status_code == 200 and 'value="add"' in response.text and "Follow<" in response.text
    assert follows_in(database, "ann") == []


def test_categories_and_archives_are_followed_as_arxiv_spells_them(database, papers, sign_in):
    client = sign_in(database, "ann")
    page = client.get("/categories/cs.CL").text
    fields = follow_form(page)
    client.post("/follow", data=fields | {"target": "CS.cl"}, follow_redirects=False)
    client.post("/follow", data=fields | {"target": "cs"}, follow_redirects=False)

    assert follows_in(database, "ann") == [("category", "cs", "cs"), ("category", "cs.CL", "cs.CL")]
    assert follow_form(client.get("/categories/cs.CL").text)["action"] == "remove"
    assert follow_form(client.get("/categories/cs.LG").text)["action"] == "add"
    following = main_of(client.get("/following").text)
    assert '<a href="/categories/cs.CL">cs.CL</a> Computation and Language' in following
    assert client.post("/follow", data=fields | {"target": "cs.XX"}).status_code == 404
    assert follows_in(database, "ann") == [("category", "cs", "cs"), ("category", "cs.CL", "cs.CL")]


def test_a_search_is_saved_with_its_filters_once_and_links_back_to_the_search(database, papers, sign_in):
    client = sign_in(database, "ann")
    page = client.get("/search?q=Paper%20number&category=cs.CL&has_code=on&sort=date").text
    fields = follow_form(page)
    assert "Save this search" in page
    assert {name: fields[name] for name in ("kind", "q", "category", "has_code")} == {
        "kind": "search",
        "q": "Paper number",
        "category": "cs.CL",
        "has_code": "on",
    }
    assert "sort" not in fields  # the order only presents a search

    client.post("/follow", data=fields, follow_redirects=False)
    # The same words in another case and spacing, with the same filters, are the same search.
    client.post("/follow", data=fields | {"q": "  paper   NUMBER "}, follow_redirects=False)
    # Other filters make another search.
    client.post("/follow", data={k: v for k, v in fields.items() if k != "has_code"}, follow_redirects=False)

    saved = follows_in(database, "ann")
    assert [kind for kind, _, _ in saved] == ["search", "search"]
    following = main_of(client.get("/following").text)
    links = [
        link.replace("&amp;", "&") for link in re.findall(r'<a href="(/search\?[^"]+)">Paper number</a>', following)
    ]
    assert sorted((parse_qs(urlsplit(link).query) for link in links), key=len) == [
        {"q": ["Paper number"], "category": ["cs.CL"]},
        {"q": ["Paper number"], "category": ["cs.CL"], "has_code": ["on"]},
    ]
    # Each opens the search page with its words and filters filled in.
    for link in links:
        opened = client.get(link).text
        assert 'name="q" value="Paper number"' in opened and 'name="category" value="cs.CL"' in opened
    assert "Saved search" in client.get("/search?q=paper+number&category=cs.CL&has_code=on").text


def test_people_are_followed_from_their_profile_but_not_oneself(database, papers, sign_in, create_user):
    create_user(database, "bob")
    client = sign_in(database, "ann")
    fields = follow_form(client.get("/users/bob").text)
    client.post("/follow", data=fields, follow_redirects=False)
    bob = user_named(database, "bob")
    assert follows_in(database, "ann") == [("user", str(bob.id), "bob")]
    assert '<form class="follow"' not in client.get("/users/ann").text
    refused = client.post("/follow", data=fields | {"target": "ann"})
    assert refused.status_code == 400 and "You cannot follow yourself." in refused.text
    assert client.post("/follow", data=fields | {"target": "nobody"}).status_code == 404


def test_every_follow_tells_the_reader_s_model(database, papers, sign_in):
    client = sign_in(database, "ann")
    token = csrf_from(client.get("/following").text)
    assert signals_changed_at(database, "ann") is None
    client.post("/follow", data={"kind": "category", "target": "cs.CL", "action": "add", "csrf_token": token})
    followed_at = signals_changed_at(database, "ann")
    assert followed_at is not None
    client.post("/follow", data={"kind": "category", "target": "cs.CL", "action": "remove", "csrf_token": token})
    assert signals_changed_at(database, "ann") >= followed_at


def test_follows_are_bounded_with_a_clear_refusal(database, papers, sign_in):
    client = sign_in(database, "ann")
    ann = user_named(database, "ann")
    with database.session() as session:
        for number in range(MAX_FOLLOWS):
            follow(session, ann, search_target({"q": f"topic {number}"}))
    token = csrf_from(client.get("/following").text)

    refused = client.post("/follow", data={"kind": "category", "target": "cs.CL", "action": "add", "csrf_token": token})

    assert refused.status_code == 400
    assert f"You follow {MAX_FOLLOWS} things already" in refused.text
    # Following again what is followed already, and unfollowing, still work at the limit.
    again = {"kind": "search", "q": "topic 1", "action": "add", "csrf_token": token}
    assert client.post("/follow", data=again, follow_redirects=False).status_code == 303
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Follow)) == MAX_FOLLOWS


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"kind": "author", "target": "A" * 1001}, 400, "at most 1000 characters"),
        ({"kind": "planet", "target": "Mars"}, 400, "One follows authors, categories, searches or users"),
        ({"kind": "search", "q": "   "}, 400, "Type some words"),
        ({"kind": "search", "q": "x" * 251}, 400, "at most 250 characters"),
        ({"kind": "search", "q": "x", "category": "c" * 65}, 400, "at most 64 characters"),
        ({"kind": "search", "q": "x", "mode": "telepathic"}, 400, "mode must be one of"),
        ({"kind": "search", "q": "x", "published_from": "yesterday"}, 400, "is not a date"),
        ({"kind": "author", "target": "Nobody Atall"}, 404, "No paper of this catalogue lists the author"),
    ],
)
def test_bad_targets_are_refused_and_change_nothing(database, papers, sign_in, fields, status, message):
    client = sign_in(database, "ann")
    token = csrf_from(client.get("/following").text)
    response = client.post("/follow", data=fields | {"action": "add", "csrf_token": token})
    assert response.status_code == status and message in response.text
    assert follows_in(database, "ann") == []


def test_a_follow_needs_the_reader_s_csrf_token_and_a_session(database, papers, sign_in, client_for):
    client = sign_in(database, "ann")
    fields = follow_form(client.get("/categories/cs.CL").text)
    assert client.post("/follow", data=fields | {"csrf_token": "forged"}).status_code == 403
    visitor = client_for(database)
    # A visitor has no session, so the signed-in reader's token is not theirs.
    assert visitor.post("/follow", data=fields, follow_redirects=False).status_code == 403
    assert follows_in(database, "ann") == []
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Follow)) == 0


def test_a_visitor_is_asked_to_sign_in_and_sees_no_form(database, papers, client_for):
    page = client_for(database).get("/authors/Ada%20Lovelace").text
    assert '<form class="follow"' not in page
    assert 'href="/login?next=/authors/Ada%2520Lovelace"' in page or "Sign in to follow" in page


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example/"])
def test_the_way_back_never_leaves_the_site(database, papers, sign_in, target):
    client = sign_in(database, "ann")
    fields = follow_form(client.get("/categories/cs.CL").text)
    response = client.post("/follow", data=fields | {"next": target}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/following"


def test_nobody_else_sees_someone_s_follows(database, papers, sign_in, client_for, create_user):
    ann = sign_in(database, "ann")
    token = csrf_from(ann.get("/following").text)
    ann.post("/follow", data={"kind": "author", "target": "Alan Turing", "action": "add", "csrf_token": token})
    ann.post("/follow", data={"kind": "search", "q": "secret topic", "action": "add", "csrf_token": token})
    bob = client_for(database)
    create_user(database, "bob")
    bob_token = csrf_from(bob.get("/login").text)
    bob.post("/login", data={"username": "bob", "password": "a long enough password", "csrf_token": bob_token})

    # Bob sees his own (empty) page and unpressed buttons; a visitor is sent to sign in.
    bob_page = main_of(bob.get("/following").text)
    assert "You follow nothing yet" in bob_page and "secret topic" not in bob_page and "Alan Turing" not in bob_page
    assert follow_form(bob.get("/authors/Alan%20Turing").text)["action"] == "add"
    visitor = client_for(database).get("/following", follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")

    ann_api = ann.get("/api/me/follows", headers={"Authorization": f"Bearer {token_for(database, 'ann')}"})
    bob_api = ann.get("/api/me/follows", headers={"Authorization": f"Bearer {token_for(database, 'bob')}"})
    assert ann_api.status_code == 200
    assert sorted((item["kind"], item["label"]) for item in ann_api.json()) == [
        ("author", "Alan Turing"),
        ("search", "secret topic"),
    ]
    assert [item["query"] for item in ann_api.json() if item["kind"] == "search"] == [{"q": "secret topic"}]
    assert bob_api.json() == []
    # The session cookie is no token.
    assert ann.get("/api/me/follows").status_code == 401
