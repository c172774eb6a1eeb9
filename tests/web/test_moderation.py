"""Moderation over HTTP: hiding comments, suspending and reinstating accounts, and the public profile page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from paperboard.db.models import Comment, User, Vote
from tests.web.conftest import DEFAULT_PASSWORD, csrf_from

PAPER = "2506.00001"


@pytest.fixture
def paper(sqlite_database, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1, title="A paper worth discussing"))
    return PAPER


def post(client, path, **data):
    token = csrf_from(client.get("/account").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def comment(client, body, parent_id=None):
    data = {"body": body} if parent_id is None else {"body": body, "parent_id": str(parent_id)}
    response = post(client, f"/papers/{PAPER}/comments", **data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("-", 1)[1])


def suspended(database, username):
    with database.read_session() as session:
        return session.scalars(select(User.suspended_at).where(User.username == username)).one() is not None


def test_moderators_hide_and_unhide_comments(sqlite_database, sign_in, paper):
    ann = sign_in(sqlite_database, "ann")
    bob = sign_in(sqlite_database, "bob")
    moderator = sign_in(sqlite_database, "mod", role="moderator")
    spam = comment(ann, "Buy cheap watches.")
    comment(bob, "Please stop.", parent_id=spam)

    assert post(bob, f"/comments/{spam}/hide").status_code == 403
    assert "Buy cheap watches." in bob.get(f"/papers/{PAPER}").text
    assert f"/comments/{spam}/hide" not in bob.get(f"/papers/{PAPER}").text

    response = post(moderator, f"/comments/{spam}/hide")
    assert response.status_code == 303
    assert response.headers["location"] == f"/papers/{PAPER}#comment-{spam}"
    reader_view = bob.get(f"/papers/{PAPER}").text
    assert "Buy cheap watches." not in reader_view and "[hidden by a moderator]" in reader_view
    assert "Please stop." in reader_view
    moderator_view = moderator.get(f"/papers/{PAPER}").text
    assert "Buy cheap watches." in moderator_view and "Hidden by a moderator" in moderator_view
    assert f'action="/comments/{spam}/unhide"' in moderator_view
    assert "Buy cheap watches." in ann.get(f"/papers/{PAPER}").text  # its author still sees it, marked
    assert ann.get(f"/comments/{spam}/edit").status_code == 403
    assert 'Comments <span class="count">(1)</span>' in reader_view  # only the reply counts now

    assert post(bob, f"/comments/{spam}/unhide").status_code == 403
    assert post(moderator, f"/comments/{spam}/unhide").status_code == 303
    assert "Buy cheap watches." in bob.get(f"/papers/{PAPER}").text
    assert post(moderator, "/comments/9999/hide").status_code == 404
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Comment).where(Comment.hidden_at.is_not(None))) == 0


def test_hiding_without_a_csrf_token_changes_nothing(sqlite_database, sign_in, paper):
    ann = sign_in(sqlite_database, "ann")
    moderator = sign_in(sqlite_database, "mod", role="moderator")
    spam = comment(ann, "Spam.")
    response = moderator.post(f"/comments/{spam}/hide", data={"csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert "Spam." in ann.get(f"/papers/{PAPER}").text


def test_a_suspended_user_is_signed_out_and_can_neither_comment_nor_vote(sqlite_database, sign_in, client_for, paper):
    eve = sign_in(sqlite_database, "eve")
    moderator = sign_in(sqlite_database, "mod", role="moderator")
    comment(eve, "A comment from before.")
    token = csrf_from(eve.get(f"/papers/{PAPER}").text)

    profile = moderator.get("/users/eve").text
    assert 'action="/users/eve/suspend"' in profile
    response = post(moderator, "/users/eve/suspend")
    assert response.status_code == 303 and response.headers["location"] == "/users/eve"
    assert suspended(sqlite_database, "eve")

    assert "Sign out" not in eve.get("/").text and ">eve<" not in eve.get("/").text
    for path, data in (
        (f"/papers/{PAPER}/comments", {"body": "After."}),
        (f"/papers/{PAPER}/upvote", {"action": "add"}),
    ):
        response = eve.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    with sqlite_database.read_session() as session:
        assert session.scalars(select(Comment.body)).all() == ["A comment from before."]
        assert session.scalar(select(func.count()).select_from(Vote)) == 0

    # Signing in again does not work either, until a moderator reinstates the account.
    fresh = client_for(sqlite_database)
    login = {"username": "eve", "password": DEFAULT_PASSWORD, "csrf_token": csrf_from(fresh.get("/login").text)}
    assert fresh.post("/login", data=login).status_code == 400
    page = client_for(sqlite_database).get("/users/eve").text
    assert "This account is suspended." in page
    assert "A comment from before." in page  # what they wrote stays

    assert 'action="/users/eve/reinstate"' in moderator.get("/users/eve").text
    assert post(moderator, "/users/eve/reinstate").status_code == 303
    assert not suspended(sqlite_database, "eve")
    assert fresh.post("/login", data=login, follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("actor_role", "target", "status", "message"),
    [
        ("user", "victim", 403, "Only moderators may do this."),
        ("moderator", "boss", 403, "boss is an administrator"),
        ("moderator", "peer", 403, "peer is a moderator"),
        ("moderator", "actor", 403, "You cannot suspend your own account."),
        ("moderator", "nobody", 404, "There is no user named nobody."),
    ],
)
def test_suspensions_that_are_not_allowed(sqlite_database, sign_in, create_user, actor_role, target, status, message):
    create_user(sqlite_database, "victim")
    create_user(sqlite_database, "boss", role="admin")
    create_user(sqlite_database, "peer", role="moderator")
    actor = sign_in(sqlite_database, "actor", role=actor_role)
    if target != "nobody":
        assert f"/users/{target}/suspend" not in actor.get(f"/users/{target}").text
    response = post(actor, f"/users/{target}/suspend")
    assert response.status_code == status
    assert message in response.text
    with sqlite_database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.suspended_at.is_not(None))) == 0


def test_suspending_without_a_csrf_token_changes_nothing(sqlite_database, sign_in, create_user):
    create_user(sqlite_database, "victim")
    moderator = sign_in(sqlite_database, "mod", role="moderator")
    response = moderator.post("/users/victim/suspend", data={"csrf_token": ""}, follow_redirects=False)
    assert response.status_code == 403
    assert not suspended(sqlite_database, "victim")


def test_the_profile_shows_the_person_and_their_visible_comments(sqlite_database, sign_in, client_for, paper):
    ann = sign_in(sqlite_database, "ann")
    moderator = sign_in(sqlite_database, "mod", role="moderator")
    kept = comment(ann, "Worth *reading*.")
    deleted = comment(ann, "Second thoughts.")
    hidden = comment(ann, "Off topic.")
    post(ann, f"/comments/{deleted}/delete")
    post(moderator, f"/comments/{hidden}/hide")

    response = client_for(sqlite_database).get("/users/ANN")
    assert response.status_code == 200
    page = response.text[response.text.index("<main") :]
    assert '<h1 id="profile-title">ann</h1>' in page
    assert re.search(r"<dt>Joined</dt>\s*<dd><time datetime=\"\d{4}-\d{2}-\d{2}\">", page)
    assert f'<a href="/papers/{PAPER}#comment-{kept}">A paper worth discussing</a>' in page
    assert "<p>Worth <em>reading</em>.</p>" in page
    assert "Second thoughts." not in page and "Off topic." not in page
    assert "<dt>Comments</dt>\n    <dd>1</dd>" in page
    assert "suspended" not in page and "/suspend" not in page

    assert client_for(sqlite_database).get("/users/nobody").status_code == 404
    moderator_page = client_for(sqlite_database).get("/users/mod").text
    assert '<span class="role-badge">moderator</span>' in moderator_page
