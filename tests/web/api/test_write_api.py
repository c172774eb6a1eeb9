"""The API's write endpoints over HTTP with personal tokens: submitting, upvoting and comments. Every refusal is
JSON with a message and changes nothing in the database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperboard.catalog.jsonl import record_to_json
from paperboard.clock import utcnow
from paperboard.community.accounts import suspend
from paperboard.community.api_tokens import create_token, list_tokens, revoke_token
from paperboard.community.comments import MAX_COMMENT_LENGTH
from paperboard.db import Database
from paperboard.db.models import Comment, Listing, Paper, User, Vote
from tests.catalog.test_jsonl import write_lines
from tests.conftest import Cli, cli_environment, serving

PAPER = "2506.00001"
OTHER_PAPER = "2506.00002"
# PAPERBOARD_BASE_URL, which the addresses in answers are made from (not the Host header the client sent).
SITE_URL = "https://papers.example.org"


def token_for(database: Database, user: User, name: str = "script") -> str:
    with database.session() as session:
        return create_token(session, user, name).plaintext


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the write endpoints can change."""
    with database.read_session() as session:
        return {
            "listings": [tuple(row) for row in session.execute(select(Listing.paper_id, Listing.submitter_id))],
            "votes": [tuple(row) for row in session.execute(select(Vote.user_id, Vote.paper_id))],
            "comments": [
                tuple(row)
                for row in session.execute(
                    select(Comment.id, Comment.body, Comment.parent_id, Comment.edited_at, Comment.deleted_at)
                )
            ],
        }


def assert_error(response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert message in body["error"]


@dataclass
class Site:
    database: Database
    client: TestClient
    ann: User
    bob: User
    ann_token: str
    bob_token: str

    def as_ann(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=bearer(self.ann_token), **kwargs)

    def as_bob(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=bearer(self.bob_token), **kwargs)

    def comment(self, text: str = "Does it scale?", *, arxiv_id: str = PAPER) -> int:
        response = self.as_ann("POST", f"/api/papers/{arxiv_id}/comment", json={"comment": text})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


@pytest.fixture
def site(database, client_for, create_user, make_paper, add_papers):
    """The app on each backend, with two recent papers and two users, `ann` and `bob`, each with a token."""
    recent = utcnow() - timedelta(days=1)
    add_papers(database, make_paper(1, published_at=recent), make_paper(2, published_at=recent))
    ann, bob = create_user(database, "ann"), create_user(database, "bob")
    return Site(
        database, client_for(database, base_url=SITE_URL), ann, bob, token_for(database, ann), token_for(database, bob)
    )


# Authentication, the same for every write endpoint.

WRITES = [
    ("POST", "/api/papers/index", {"arxivId": PAPER}),
    ("POST", f"/api/papers/{PAPER}/upvote", None),
    ("DELETE", f"/api/papers/{PAPER}/upvote", None),
    ("POST", f"/api/papers/{PAPER}/comment", {"comment": "Hello"}),
    ("POST", f"/api/papers/{PAPER}/comment/1/reply", {"comment": "Hello"}),
    ("PATCH", f"/api/papers/{PAPER}/comment/1", {"comment": "Hello"}),
    ("DELETE", f"/api/papers/{PAPER}/comment/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_writes_need_a_valid_token_of_an_account_in_good_standing(site, method, path, body):
    site.comment("ann's first comment")
    site.as_ann("POST", f"/api/papers/{PAPER}/upvote")
    before = snapshot(site.database)
    with site.database.session() as session:
        [bobs] = list_tokens(session, site.bob)
        revoke_token(session, site.bob, bobs.id)

    def send(headers: dict[str, str]) -> Any:
        return site.client.request(method, path, json=body, headers=headers)

    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": f"Token {site.ann_token}"}):
        response = send(headers)
        assert_error(response, 401, "This request needs a personal API token")
        assert response.headers["www-authenticate"] == "Bearer"
    for token in (site.bob_token, "pb_made-up", site.ann_token[:-1]):
        response = send(bearer(token))
        assert_error(response, 401, "This API token is not valid: it was revoked, or never existed.")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    with site.database.session() as session:
        suspend(session.get(User, site.ann.id))
    assert_error(send(bearer(site.ann_token)), 403, "The account ann is suspended; its API tokens are refused.")

    assert snapshot(site.database) == before


def test_a_signed_in_browser_s_cookie_is_not_a_token(database, sign_in, make_paper, add_papers):
    add_papers(database, make_paper(1))
    browser = sign_in(database, "carol")
    assert browser.get("/account").status_code == 200
    assert_error(browser.post(f"/api/papers/{PAPER}/upvote"), 401, "needs a personal API token")
    assert snapshot(database)["votes"] == []


def test_the_openapi_schema_declares_the_bearer_scheme_on_writes_only(site):
    schema = site.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["PersonalToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pb_…",
        "description": "A personal API token, created on your account page; sent as `Authorization: Bearer <token>`.",
    }
    paths = schema["paths"]
    assert paths["/api/papers/{arxiv_id}/upvote"]["post"]["security"] == [{"PersonalToken": []}]
    assert paths["/api/papers/index"]["post"]["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "security" not in paths["/api/papers/{arxiv_id}/comments"]["get"]


# Submitting


def stored_listing(database: Database, arxiv_id: str) -> tuple[datetime, int | None]:
    with database.read_session() as session:
        return session.execute(
            select(Listing.submitted_at, Listing.submitter_id)
            .join(Paper, Paper.id == Listing.paper_id)
            .where(Paper.arxiv_id == arxiv_id)
        ).one()


def test_a_catalogued_paper_is_submitted_to_today_s_list(site):
    response = site.as_ann("POST", "/api/papers/index", json={"arxivId": "https://arxiv.org/abs/2506.00001v2"})

    assert response.status_code == 201, response.text
    submitted_at, submitter_id = stored_listing(site.database, PAPER)
    assert submitter_id == site.ann.id
    assert response.json() == {
        "arxivId": PAPER,
        "submittedOnDailyAt": submitted_at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "url": f"{SITE_URL}/papers/{PAPER}",
    }
    assert submitted_at.date() == utcnow().date()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"arxivId": "not a paper"}, 400, "not an arXiv id"),
        ({"arxivId": ""}, 400, ""),
        ({"arxivId": 2506.00001}, 400, "arxivId"),
        ({"paper": PAPER}, 400, "arxivId: Field required"),
        ({"arxivId": "x" * 1001}, 400, "arxivId"),
        ([PAPER], 400, ""),
    ],
)
def test_malformed_submissions_are_400(site, body, status, message):
    assert_error(site.as_ann("POST", "/api/papers/index", json=body), status, message)
    assert snapshot(site.database)["listings"] == []


def test_a_body_that_is_not_json_is_400(site):
    response = site.as_ann("POST", "/api/papers/index", content=b"arxivId=2506.00001")
    assert_error(response, 400, "")
    assert snapshot(site.database)["listings"] == []


def test_submission_rules_are_the_form_s(site, make_paper, add_papers):
    add_papers(
        site.database,
        make_paper(3, published_at=utcnow() - timedelta(days=30)),
        make_paper(4, published_at=utcnow() - timedelta(days=1), deleted_at=utcnow()),
    )
    assert site.as_ann("POST", "/api/papers/index", json={"arxivId": PAPER}).status_code == 201
    before = snapshot(site.database)

    assert_error(
        site.as_bob("POST", "/api/papers/index", json={"arxivId": PAPER}), 409, f"{PAPER} is already listed on"
    )
    assert_error(
        site.as_bob("POST", "/api/papers/index", json={"arxivId": "2506.00003"}),
        422,
        "only papers first published in the last 14 days may be submitted",
    )
    assert_error(
        site.as_bob("POST", "/api/papers/index", json={"arxivId": "2506.00004"}),
        422,
        "2506.00004 was withdrawn from arXiv",
    )
    assert snapshot(site.database) == before


# Upvotes


def test_upvotes_are_idempotent_and_counted_with_imported_ones(site):
    with site.database.session() as session:
        paper_id = session.scalars(select(Paper.id).where(Paper.arxiv_id == PAPER)).one()
        session.add(Listing(paper_id=paper_id, day=utcnow().date(), submitted_at=utcnow(), imported_upvotes=5))

    for _ in range(2):
        response = site.as_ann("POST", f"/api/papers/{PAPER}/upvote")
        assert response.status_code == 200
        assert response.json() == {"upvotes": 6, "upvoted": True}
    assert site.as_bob("POST", f"/api/papers/arXiv:{PAPER}v1/upvote").json() == {"upvotes": 7, "upvoted": True}
    assert snapshot(site.database)["votes"] == [(site.ann.id, paper_id), (site.bob.id, paper_id)]

    for _ in range(2):
        assert site.as_ann("DELETE", f"/api/papers/{PAPER}/upvote").json() == {"upvotes": 6, "upvoted": False}
    assert snapshot(site.database)["votes"] == [(site.bob.id, paper_id)]


def test_upvotes_of_old_style_ids(site, make_paper, add_papers):
    add_papers(site.database, make_paper(9, arxiv_id="hep-th/9901001"))
    response = site.as_ann("POST", "/api/papers/hep-th/9901001/upvote")
    assert response.json() == {"upvotes": 1, "upvoted": True}


def test_upvoting_a_paper_that_is_not_here_is_404_and_a_withdrawn_one_409(site, make_paper, add_papers):
    add_papers(site.database, make_paper(5, deleted_at=utcnow()))
    assert_error(site.as_ann("POST", "/api/papers/2601.99999/upvote"), 404, "There is no paper 2601.99999 here.")
    assert_error(site.as_ann("DELETE", "/api/papers/nonsense/upvote"), 404, "")
    assert_error(site.as_ann("POST", "/api/papers/2506.00005/upvote"), 409, "withdrawn from arXiv")
    assert snapshot(site.database)["votes"] == []


# Comments


def test_comments_and_replies_are_listed_in_threads_without_a_token(site):
    first = site.comment("Does it **scale**?")
    reply = site.as_bob("POST", f"/api/papers/{PAPER}/comment/{first}/reply", json={"comment": "It does."})
    assert reply.status_code == 201
    reply_id = reply.json()["id"]
    # A reply to a reply joins the thread of the comment that started it.
    answer = site.as_ann("POST", f"/api/papers/{PAPER}/comment/{reply_id}/reply", json={"comment": "Thanks."})
    assert answer.json()["parentId"] == first
    second = site.comment("Another thought.")

    threads = site.client.get(f"/api/papers/{PAPER}/comments")

    assert threads.status_code == 200
    body = threads.json()
    assert [(thread["id"], [r["id"] for r in thread["replies"]]) for thread in body] == [
        (first, [reply_id, answer.json()["id"]]),
        (second, []),
    ]
    top = body[0]
    with site.database.read_session() as session:
        created_at = session.get(Comment, first).created_at
    assert {key: value for key, value in top.items() if key != "replies"} == {
        "id": first,
        "parentId": None,
        "removed": False,
        "author": {"name": "ann", "fullname": "ann"},
        "createdAt": created_at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "editedAt": None,
        "comment": "Does it **scale**?",
        "commentHtml": "<p>Does it <strong>scale</strong>?</p>\n",
    }
    assert top["replies"][0]["author"] == {"name": "bob", "fullname": "bob"}
    assert site.client.get(f"/api/papers/{OTHER_PAPER}/comments").json() == []


def test_a_new_comment_is_answered_with_itself_and_its_html_is_sanitised(site):
    response = site.as_ann(
        "POST", f"/api/papers/{PAPER}/comment", json={"comment": "<script>alert(1)</script> [x](javascript:alert(1))"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["comment"] == "<script>alert(1)</script> [x](javascript:alert(1))"
    # Raw HTML is shown as text, and a `javascript:` link is no link.
    assert body["commentHtml"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))</p>\n"
    assert body["author"] == {"name": "ann", "fullname": "ann"}
    assert body["removed"] is False and body["parentId"] is None


def test_authors_edit_and_delete_their_own_comments(site):
    comment_id = site.comment("Frist!")

    edited = site.as_ann("PATCH", f"/api/papers/{PAPER}/comment/{comment_id}", json={"comment": "First!"})
    assert edited.status_code == 200
    assert edited.json()["comment"] == "First!"
    assert edited.json()["editedAt"] is not None
    assert site.as_bob("POST", f"/api/papers/{PAPER}/comment/{comment_id}/reply", json={"comment": "Hi"}).is_success

    deleted = site.as_ann("DELETE", f"/api/papers/{PAPER}/comment/{comment_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    [thread] = site.client.get(f"/api/papers/{PAPER}/comments").json()
    # It keeps its place for its reply, without its author or text.
    assert (thread["id"], thread["removed"], thread["author"], thread["comment"], thread["commentHtml"]) == (
        comment_id,
        True,
        None,
        None,
        None,
    )
    assert [reply["comment"] for reply in thread["replies"]] == ["Hi"]
    assert_error(site.as_ann("DELETE", f"/api/papers/{PAPER}/comment/{comment_id}"), 404, "no comment")


def test_another_user_s_comment_cannot_be_edited_or_deleted(site):
    comment_id = site.comment("Mine.")
    before = snapshot(site.database)

    path = f"/api/papers/{PAPER}/comment/{comment_id}"
    assert_error(site.as_bob("PATCH", path, json={"comment": "Yours."}), 403, "You can edit only your own comments.")
    assert_error(site.as_bob("DELETE", path), 403, "You can delete only your own comments.")

    assert snapshot(site.database) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"comment": ""}, "A comment cannot be empty."),
        ({"comment": " \n\t "}, "A comment cannot be empty."),
        ({"comment": "x" * (MAX_COMMENT_LENGTH + 1)}, "A comment may have at most 10,000 characters; this one has"),
        ({"comment": 42}, "comment"),
        ({"comment": None}, "comment"),
        ({"text": "Hello"}, "comment: Field required"),
        ("Hello", ""),
    ],
)
def test_bad_comment_bodies_are_400_and_change_nothing(site, body, message):
    comment_id = site.comment("Kept as it is.")
    before = snapshot(site.database)

    for method, path in [
        ("POST", f"/api/papers/{PAPER}/comment"),
        ("POST", f"/api/papers/{PAPER}/comment/{comment_id}/reply"),
        ("PATCH", f"/api/papers/{PAPER}/comment/{comment_id}"),
    ]:
        assert_error(site.as_ann(method, path, json=body), 400, message)

    assert snapshot(site.database) == before


def test_a_comment_must_be_on_the_paper_its_address_names(site):
    comment_id = site.comment("On the first paper.")
    before = snapshot(site.database)

    for method, body in [("PATCH", {"comment": "Moved?"}), ("DELETE", None)]:
        response = site.as_ann(method, f"/api/papers/{OTHER_PAPER}/comment/{comment_id}", json=body)
        assert_error(response, 404, f"There is no comment {comment_id} on {OTHER_PAPER}.")
    response = site.as_ann("POST", f"/api/papers/{OTHER_PAPER}/comment/{comment_id}/reply", json={"comment": "Hi"})
    assert_error(response, 404, f"There is no comment {comment_id} on {OTHER_PAPER}.")
    for comment in (999, 2**40):
        response = site.as_ann("PATCH", f"/api/papers/{PAPER}/comment/{comment}", json={"comment": "Hi"})
        assert_error(response, 404, f"There is no comment {comment}.")
    for comment in ("0", "-1", "first"):
        response = site.as_ann("PATCH", f"/api/papers/{PAPER}/comment/{comment}", json={"comment": "Hi"})
        assert_error(response, 400, "comment_id")
        assert_error(site.as_ann("DELETE", f"/api/papers/{PAPER}/comment/{comment}"), 400, "comment_id")

    assert snapshot(site.database) == before


def test_comments_on_a_paper_that_is_not_here_are_404(site):
    assert_error(site.client.get("/api/papers/2601.99999/comments"), 404, "There is no paper 2601.99999 here.")
    response = site.as_ann("POST", "/api/papers/2601.99999/comment", json={"comment": "Hello"})
    assert_error(response, 404, "There is no paper 2601.99999 here.")
    assert snapshot(site.database)["comments"] == []


def test_a_hidden_comment_can_no_longer_be_edited_nor_replied_to(site):
    comment_id = site.comment("Something rude.")
    with site.database.session() as session:
        session.get(Comment, comment_id).hidden_at = utcnow()
    before = snapshot(site.database)

    path = f"/api/papers/{PAPER}/comment/{comment_id}"
    assert_error(site.as_ann("PATCH", path, json={"comment": "Sorry."}), 403, "A moderator hid this comment")
    assert_error(site.as_bob("POST", f"{path}/reply", json={"comment": "Hm."}), 400, "takes no replies")
    assert site.client.get(f"/api/papers/{PAPER}/comments").json() == []

    assert snapshot(site.database) == before


@pytest.mark.parametrize("surrogate", [b"\\ud800", b"\xed\xa0\x80"], ids=["escaped", "utf-8 bytes"])
def test_a_lone_surrogate_in_a_comment_is_a_400_and_changes_nothing(site, surrogate):
    """It had made Markdown rendering raise UnicodeEncodeError, and the server dropped the connection."""
    comment_id = site.comment("Kept as it was.")
    before = snapshot(site.database)
    body = b'{"comment": "Half ' + surrogate + b' a pair"}'
    headers = bearer(site.ann_token) | {"Content-Type": "application/json"}

    for method, path in [
        ("POST", f"/api/papers/{PAPER}/comment"),
        ("POST", f"/api/papers/{PAPER}/comment/{comment_id}/reply"),
        ("PATCH", f"/api/papers/{PAPER}/comment/{comment_id}"),
    ]:
        response = site.client.request(method, path, content=body, headers=headers)
        assert_error(response, 400, "The field comment holds a lone surrogate (U+D800) at position 6")

    assert snapshot(site.database) == before


EDITORS = 6
RACE_TRIALS = 15


def _edits_racing_a_delete(client: httpx.Client, path: str) -> list[int]:
    """The statuses of `EDITORS` edits of the comment at `path`, sent at the same moment as its deletion."""
    start = threading.Barrier(EDITORS + 1)

    def send(method: str, body: dict[str, str] | None = None) -> int:
        start.wait()
        return client.request(method, path, json=body).status_code

    with ThreadPoolExecutor(max_workers=EDITORS + 1) as pool:
        edits = [pool.submit(send, "PATCH", {"comment": f"Edit {n}."}) for n in range(EDITORS)]
        deletion = pool.submit(send, "DELETE")
    assert deletion.result() == 204
    return [edit.result() for edit in edits]


def test_edits_racing_a_delete_never_put_text_back_into_the_deleted_comment(
    database_url, tmp_path, make_paper, create_user
):
    """Two server processes; in each trial six PATCH edits and a DELETE of one comment are released together. On
    PostgreSQL, before writers locked the comment, 8 of 15 such trials left it deleted with an edit's text."""
    # The API's rate limits off: this one client sends every request.
    limits_off = {"api_requests_per_minute": "0", "api_token_requests_per_minute": "0"}
    cli = Cli(cli_environment(tmp_path / "data", database_url, **limits_off))
    with serving(cli, tmp_path / "data", workers=2) as server:
        papers = write_lines(tmp_path / "paper.jsonl", [record_to_json(make_paper(1))])
        assert cli.run("import", str(papers)).returncode == 0
        database = Database(database_url)
        token = token_for(database, create_user(database, "ann"))
        limits = httpx.Limits(max_connections=EDITORS + 1)
        with httpx.Client(base_url=server.base_url, headers=bearer(token), timeout=60, limits=limits) as client:
            edit_statuses = []
            for _ in range(RACE_TRIALS):
                created = client.post(f"/api/papers/{PAPER}/comment", json={"comment": "Before the race."})
                assert created.status_code == 201, created.text
                edit_statuses += _edits_racing_a_delete(client, f"/api/papers/{PAPER}/comment/{created.json()['id']}")
        with database.read_session() as session:
            comments = session.execute(select(Comment.deleted_at, Comment.body, Comment.body_html)).all()
        database.dispose()
    assert len(comments) == RACE_TRIALS
    assert [
        tuple(comment) for comment in comments if comment.deleted_at is None or comment.body or comment.body_html
    ] == []
    # An edit either went first or, having waited for the delete, found no comment to edit.
    assert set(edit_statuses) <= {200, 404}
