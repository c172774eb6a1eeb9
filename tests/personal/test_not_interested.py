""" "Not interested" over HTTP: the button on every card (daily, weekly and monthly lists, search results, author and
category pages), marking and undoing with and without htmx, the list on /following, and privacy: nobody else, and
no page the cache keeps for visitors, shows a reader's marks or follows."""

from __future__ import annotations

import re
from datetime import date

import pytest

from paperboard.personal.not_interested import MAX_MARKS, mark, not_interested_ids
from paperboard.web.security import SESSION_COOKIE
from tests.community.factories import add_listing, paper_id
from tests.markup import main_of
from tests.personal.conftest import signals_changed_at, token_for, user_named
from tests.web.conftest import csrf_from

HTMX = {"HX-Request": "true"}
LISTED_ON = date(2025, 6, 2)
BUTTON = re.compile(r'<form class="not-interested" method="post" action="/papers/([^/"]+)/not-interested"')


def add_two_listed_papers(database, make_paper, add_papers) -> None:
    add_papers(
        database,
        make_paper(1, title="Diffusion models for proteins", authors=["Ada Lovelace"], categories=["cs.LG"]),
        make_paper(2, title="Diffusion models for text", authors=["Ada Lovelace"], categories=["cs.LG"]),
    )
    for arxiv_id in ("2506.00001", "2506.00002"):
        add_listing(database, arxiv_id, LISTED_ON)


@pytest.fixture
def papers(database, make_paper, add_papers):
    add_two_listed_papers(database, make_paper, add_papers)


def marked(database, username: str) -> set[int]:
    with database.read_session() as session:
        return not_interested_ids(session, user_named(database, username).id)


CARD_PAGES = [
    "/papers/date/2025-06-02",
    "/papers/week/2025-W23",
    "/papers/month/2025-06",
    "/papers/recent",
    "/authors/Ada%20Lovelace",
    "/categories/cs.LG",
    "/search?q=diffusion&mode=keyword",
]


@pytest.mark.parametrize("path", CARD_PAGES)
def test_every_card_has_the_button_for_a_reader_and_none_for_a_visitor(
    sqlite_database, client_for, sign_in, make_paper, add_papers, path, searches_see_changes_at_once
):
    # The cards' markup is the same on either database: SQLite alone keeps this long list of pages quick.
    add_two_listed_papers(sqlite_database, make_paper, add_papers)

    reader_page = sign_in(sqlite_database, "ann").get(path).text
    visitor_page = client_for(sqlite_database).get(path).text

    assert sorted(BUTTON.findall(reader_page)) == ["2506.00001", "2506.00002"]
    assert BUTTON.findall(visitor_page) == [] and "Not interested" not in visitor_page


def test_marking_with_htmx_swaps_in_an_undo_and_undoing_takes_it_back(database, papers, sign_in):
    client = sign_in(database, "ann")
    token = csrf_from(client.get("/papers/date/2025-06-02").text)
    before = signals_changed_at(database, "ann")

    response = client.post(
        "/papers/2506.00001/not-interested", data={"action": "add", "csrf_token": token}, headers=HTMX
    )

    assert response.status_code == 200
    assert "Hidden from your feed." in response.text and "Undo" in response.text
    assert 'name="action" value="remove"' in response.text
    assert marked(database, "ann") == {paper_id(database, "2506.00001")}
    assert before is None and signals_changed_at(database, "ann") is not None
    page = client.get("/papers/date/2025-06-02").text
    assert page.count("Hidden from your feed.") == 1
    following = main_of(client.get("/following").text)
    assert '<a href="/papers/2506.00001">Diffusion models for proteins</a>' in following

    undone = client.post(
        "/papers/2506.00001/not-interested", data={"action": "remove", "csrf_token": token}, headers=HTMX
    )
    assert undone.status_code == 200 and "Not interested" in undone.text and "Undo" not in undone.text
    assert marked(database, "ann") == set()
    assert "Diffusion models for proteins" not in main_of(client.get("/following").text)


def test_marking_without_javascript_goes_back_to_the_page_and_is_idempotent(database, papers, sign_in):
    client = sign_in(database, "ann")
    token = csrf_from(client.get("/authors/Ada%20Lovelace").text)
    for _ in range(2):
        response = client.post(
            "/papers/2506.00002/not-interested",
            data={"action": "add", "csrf_token": token, "next": "/authors/Ada%20Lovelace"},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/authors/Ada%20Lovelace"
    assert marked(database, "ann") == {paper_id(database, "2506.00002")}
    elsewhere = client.post(
        "/papers/2506.00002/not-interested",
        data={"action": "remove", "csrf_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/papers/2506.00002"
    assert marked(database, "ann") == set()


def test_refusals_change_nothing(database, papers, sign_in, client_for):
    client = sign_in(database, "ann")
    token = csrf_from(client.get("/following").text)
    assert client.post("/papers/2506.00001/not-interested", data={"action": "add"}).status_code == 403
    assert (
        client.post("/papers/2506.99999/not-interested", data={"action": "add", "csrf_token": token}).status_code == 404
    )
    assert (
        client.post("/papers/nonsense/not-interested", data={"action": "add", "csrf_token": token}).status_code == 404
    )
    assert (
        client.post("/papers/2506.00001/not-interested", data={"action": "x", "csrf_token": token}).status_code == 422
    )
    visitor = client_for(database).post("/papers/2506.00001/not-interested", data={"action": "add"})
    assert visitor.status_code == 403
    assert marked(database, "ann") == set()


def test_marks_are_bounded(database, papers, sign_in, make_paper, add_papers):
    client = sign_in(database, "ann")
    ann = user_named(database, "ann")
    add_papers(database, *(make_paper(number) for number in range(10, 10 + MAX_MARKS)))
    with database.session() as session:
        for number in range(10, 10 + MAX_MARKS):
            mark(session, ann, paper_id(database, f"2506.{number:05d}"))
    token = csrf_from(client.get("/following").text)

    refused = client.post("/papers/2506.00001/not-interested", data={"action": "add", "csrf_token": token})

    assert refused.status_code == 400 and f"You marked {MAX_MARKS} papers" in refused.text
    assert len(marked(database, "ann")) == MAX_MARKS


def test_nobody_else_sees_a_reader_s_marks(database, papers, sign_in, client_for):
    ann = sign_in(database, "ann")
    token = csrf_from(ann.get("/following").text)
    ann.post("/papers/2506.00001/not-interested", data={"action": "add", "csrf_token": token})
    bob = sign_in(database, "bob")

    assert "Hidden from your feed." not in bob.get("/papers/date/2025-06-02").text
    assert "Diffusion models for proteins" not in main_of(bob.get("/following").text)
    assert "Hidden from your feed." not in client_for(database).get("/papers/date/2025-06-02").text
    ann_api = ann.get("/api/me/not_interested", headers={"Authorization": f"Bearer {token_for(database, 'ann')}"})
    bob_api = bob.get("/api/me/not_interested", headers={"Authorization": f"Bearer {token_for(database, 'bob')}"})
    assert ann_api.json() == [{"id": "2506.00001", "title": "Diffusion models for proteins"}]
    assert bob_api.json() == []
    assert client_for(database).get("/api/me/not_interested").status_code == 401


@pytest.mark.parametrize("cookie_spelling", ["{name}={token}", "{name} ={token}", "other=1; {name}= {token}"])
def test_the_page_cache_never_keeps_a_signed_in_reader_s_page(
    sqlite_database, client_for, sign_in, make_paper, add_papers, cookie_spelling
):
    database = sqlite_database
    add_papers(database, make_paper(1, authors=["Ada Lovelace"], categories=["cs.LG"]))
    signed_in = sign_in(database, "ann")
    token = csrf_from(signed_in.get("/following").text)
    signed_in.post("/follow", data={"kind": "author", "target": "Ada Lovelace", "action": "add", "csrf_token": token})
    signed_in.post("/papers/2506.00001/not-interested", data={"action": "add", "csrf_token": token})
    session_token = signed_in.cookies[SESSION_COOKIE]
    # One app, with its page cache on, seen first by the reader and then by a visitor.
    app_client = client_for(database, page_cache_seconds=60)
    cookie = cookie_spelling.format(name=SESSION_COOKIE, token=session_token)

    reader_page = app_client.get("/authors/Ada%20Lovelace", headers={"Cookie": cookie}).text
    app_client.cookies.clear()
    visitor_page = app_client.get("/authors/Ada%20Lovelace").text

    assert "Hidden from your feed." in reader_page and 'aria-pressed="true"' in reader_page
    assert "Hidden from your feed." not in visitor_page
    assert "Following" not in main_of(visitor_page) and "Sign in to follow" in visitor_page
    assert ">ann</a>" in reader_page and ">ann</a>" not in visitor_page
    assert csrf_from(reader_page) not in visitor_page
