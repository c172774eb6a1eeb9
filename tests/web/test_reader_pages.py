"""Signed-in readers' lists and paper pages, made once for all of them and finished for each (web/reader_pages.py):
each reader sees their own name, CSRF token, upvotes, saves and "not interested" marks, and nothing of another's,
whichever of them made the kept page, on SQLite and PostgreSQL."""

import re
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from paperboard.clock import utcnow
from paperboard.community.accounts import user_by_name
from paperboard.community.sessions import end_session
from tests.community.factories import add_comment, add_listing
from tests.web.conftest import CSRF_INPUT, DEFAULT_PASSWORD, csrf_from

PAPERS = [f"2506.{number:05d}" for number in range(1, 5)]
MARKER = "<!--pb:"


def sign_in_on(client: TestClient, username: str) -> str:
    """Sign in through the form on `client` and return the session cookie, to send it again later."""
    client.cookies.clear()
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client.cookies["pb_session"]


def get_as(client: TestClient, session: str | None, path: str) -> str:
    client.cookies.clear()
    if session:
        client.cookies.set("pb_session", session)
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert MARKER not in response.text
    return response.text


def post_as(client: TestClient, session: str, path: str, data: dict[str, str]) -> None:
    token = csrf_from(get_as(client, session, "/account"))
    response = client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text


def vote_form(html: str, arxiv_id: str) -> str:
    return html.split(f'action="/papers/{arxiv_id}/upvote"')[1].split("</form>")[0]


def save_form(html: str, arxiv_id: str) -> str:
    return html.split(f'action="/papers/{arxiv_id}/save"')[1].split("</form>")[0]


def card(html: str, arxiv_id: str) -> str:
    return html.split(f'<li id="paper-{arxiv_id}">')[1].split("</article>")[0]


@pytest.fixture
def site(database, client_for, create_user, make_paper, add_papers):
    """Papers listed today, two readers (ann upvoted the first, saved the second and dismissed the third through the
    buttons) and a moderator, on one app whose pages are kept for a minute."""
    add_papers(database, *(make_paper(number) for number in range(1, 5)))
    today = utcnow().date()
    for arxiv_id in PAPERS:
        add_listing(database, arxiv_id, today, upvotes=3)
    for username in ("ann", "bob"):
        create_user(database, username)
    create_user(database, "mod", role="moderator")
    client = client_for(database, page_cache_seconds=60)
    sessions = {username: sign_in_on(client, username) for username in ("ann", "bob", "mod")}
    post_as(client, sessions["ann"], f"/papers/{PAPERS[0]}/upvote", {"action": "add"})
    post_as(client, sessions["ann"], f"/papers/{PAPERS[1]}/save", {"action": "add"})
    post_as(client, sessions["ann"], f"/papers/{PAPERS[2]}/not-interested", {"action": "add", "next": "/"})
    csrf = {username: csrf_from(get_as(client, session, "/account")) for username, session in sessions.items()}
    day = today.isoformat()
    year, week, _ = today.isocalendar()
    pages = ["/", f"/papers/date/{day}", f"/papers/week/{year}-W{week:02d}", f"/papers/month/{day[:7]}"]
    return client, sessions, csrf, [*pages, "/papers/trending", f"/papers/{PAPERS[0]}"]


def check_reader_page(html: str, username: str, csrf: dict[str, str], *, ann: bool) -> None:
    assert f'href="/account">{username}</a>' in html
    assert set(CSRF_INPUT.findall(html)) == {csrf[username]}
    assert all(other not in html for other in csrf if other != username)
    votes = vote_form(html, PAPERS[0])
    assert votes.count('aria-pressed="true"' if ann else 'aria-pressed="false"') == 1
    assert '<span class="vote-count">4</span>' in votes


def test_each_reader_sees_their_own_page_whoever_made_it(site):
    client, sessions, csrf, pages = site
    for path in pages:
        # The first request after ann's writes makes the page: bob's first, then ann's, and the other way round.
        order = ["bob", None, "ann", "bob", None, "ann"] if len(path) % 2 else ["ann", "bob", None, "ann", None, "bob"]
        for who in order:
            html = get_as(client, sessions[who] if who else None, path)
            if who is None:
                assert "Sign in to upvote" in html
                assert not CSRF_INPUT.search(html)
                assert "ann" not in html and "bob" not in html
                continue
            check_reader_page(html, who, csrf, ann=who == "ann")
            if path.startswith("/papers/2506"):
                assert 'aria-pressed="true"' not in save_form(html, PAPERS[0])
                continue
            saved = save_form(html, PAPERS[1])
            assert ('aria-pressed="true"' in saved) == (who == "ann")
            dismissed = card(html, PAPERS[2])
            assert ("Hidden from your feed." in dismissed) == (who == "ann")
            assert "Hide from the lists" not in html


def announced(client: TestClient) -> bool:
    """Whether writes made outside the app's requests reach its caches: on PostgreSQL every write pages show is
    announced to every process (`db.changes`); on SQLite only the process's own write requests empty them."""
    return client.app.state.database.backend == "postgresql"


def eventually(check: Callable[[], bool], *, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"not seen within {within} s"
        time.sleep(0.02)


def test_a_signed_in_page_is_kept_until_a_write(site, add_papers, make_paper):
    client, sessions, _, pages = site
    get_as(client, sessions["bob"], pages[1])
    add_papers(client.app.state.database, make_paper(4, title="Changed behind the cache"))
    if announced(client):
        eventually(lambda: "Changed behind the cache" in get_as(client, sessions["ann"], pages[1]))
    else:
        # Changed behind the app's back, as no running site on SQLite does: the kept page shows the old title.
        assert "Changed behind the cache" not in get_as(client, sessions["ann"], pages[1])
    post_as(client, sessions["bob"], f"/papers/{PAPERS[3]}/upvote", {"action": "add"})
    html = get_as(client, sessions["ann"], pages[1])
    assert "Changed behind the cache" in html
    assert 'aria-pressed="true"' not in vote_form(html, PAPERS[3])
    assert '<span class="vote-count">4</span>' in vote_form(html, PAPERS[3])
    client.app.state.reader_pages.clear()
    assert 'aria-pressed="true"' in vote_form(get_as(client, sessions["bob"], pages[1]), PAPERS[3])


def test_moderators_get_their_own_page(site):
    client, sessions, csrf, pages = site
    get_as(client, sessions["bob"], pages[1])
    html = get_as(client, sessions["mod"], pages[1])
    assert "Hide from the lists" in html
    assert set(CSRF_INPUT.findall(html)) == {csrf["mod"]}
    assert "Hide from the lists" not in get_as(client, sessions["bob"], pages[1])


def test_a_signed_out_session_gets_the_visitors_page_at_once(site):
    client, sessions, csrf, pages = site
    get_as(client, sessions["ann"], pages[1])
    client.post("/logout", data={"csrf_token": csrf["ann"]}, follow_redirects=False)
    html = get_as(client, sessions["ann"], pages[1])
    assert "Sign in to upvote" in html and "ann" not in html


def test_a_reader_who_commented_sees_their_hidden_comment(site):
    client, sessions, _, pages = site
    database = client.app.state.database
    with database.read_session() as session:
        ann = user_by_name(session, "ann")
    add_comment(database, PAPERS[0], ann, hidden=True)
    client.app.state.reader_pages.clear()
    paper_page = pages[-1]
    assert "A comment." not in get_as(client, sessions["bob"], paper_page)
    html = get_as(client, sessions["ann"], paper_page)
    assert "A comment." in html and "Delete this comment for good" in html
    assert "A comment." not in get_as(client, sessions["bob"], paper_page)


def test_markers_in_what_papers_say_are_text(database, client_for, create_user, make_paper, add_papers):
    add_papers(database, make_paper(1, authors=["<!--pb:reader-name-->", "<!--pb:csrf-->"]))
    add_listing(database, PAPERS[0], utcnow().date())
    create_user(database, "ann")
    client = client_for(database, page_cache_seconds=60)
    session = sign_in_on(client, "ann")
    for _ in range(2):
        html = get_as(client, session, f"/papers/{PAPERS[0]}")
        assert ">&lt;!--pb:reader-name--&gt;</a>" in html and ">&lt;!--pb:csrf--&gt;</a>" in html
        assert len(re.findall(r">ann<", html)) == 1


def test_a_session_ended_through_another_process_ends_here_at_once(site):
    client, sessions, _, pages = site
    get_as(client, sessions["ann"], pages[1])
    # As a sign-out through another worker process (or host) does: on PostgreSQL it is announced and empties the
    # sessions this process remembers; on SQLite sessions are looked up at every request.
    with client.app.state.database.session() as session:
        end_session(session, sessions["ann"])
    eventually(lambda: "Sign in to upvote" in get_as(client, sessions["ann"], pages[1]))
    assert "ann" not in get_as(client, sessions["ann"], pages[1])
