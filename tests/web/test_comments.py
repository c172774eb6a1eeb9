"""Comments over HTTP: writing, replying, editing, deleting, hostile Markdown, limits, CSRF and other people's ids."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from paperboard.db.models import Comment
from tests.markup import elements
from tests.web.conftest import csrf_from

PAPER = "2506.00001"


@pytest.fixture
def ann(sqlite_database, sign_in, make_paper, add_papers):
    """A signed-in client of `ann`, with one paper in the catalogue."""
    add_papers(sqlite_database, make_paper(1))
    return sign_in(sqlite_database, "ann")


def post_comment(client, body, *, arxiv_id=PAPER, parent_id=None, token=None):
    data = {"body": body, "csrf_token": token or csrf_from(client.get(f"/papers/{arxiv_id}").text)}
    if parent_id is not None:
        data["parent_id"] = str(parent_id)
    return client.post(f"/papers/{arxiv_id}/comments", data=data, follow_redirects=False)


def post_to(client, path, **data):
    token = csrf_from(client.get(f"/papers/{PAPER}").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def new_comment_id(response) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/papers/[^#]+#comment-(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def stored_comments(database) -> list[tuple[int, str, int | None]]:
    with database.read_session() as session:
        return [tuple(row) for row in session.execute(select(Comment.id, Comment.body, Comment.parent_id))]


def comment_markup(page: str, comment_id: int) -> str:
    start = page.index(f'id="comment-{comment_id}"')
    return page[start : page.index("</article>", start)]


def test_a_comment_and_its_replies_appear_in_their_thread(sqlite_database, ann, sign_in):
    response = post_comment(ann, "Does it **scale**?")
    assert response.headers["location"] == f"/papers/{PAPER}#comment-1"
    first = new_comment_id(response)
    bob = sign_in(sqlite_database, "bob")
    reply = new_comment_id(post_comment(bob, "It does.", parent_id=first))
    # A reply to a reply lands in the same thread.
    answer = new_comment_id(post_comment(ann, "Thanks.", parent_id=reply))

    page = ann.get(f"/papers/{PAPER}").text
    assert "<p>Does it <strong>scale</strong>?</p>" in comment_markup(page, first)
    replies = page[page.index('<ol class="comment-replies"') : page.index("</ol>", page.index("comment-replies"))]
    assert f'id="comment-{reply}"' in replies and f'id="comment-{answer}"' in replies
    assert 'href="/users/bob">bob</a>' in comment_markup(page, reply)
    assert 'Comments <span class="count">(3)</span>' in page
    assert stored_comments(sqlite_database) == [
        (first, "Does it **scale**?", None),
        (reply, "It does.", first),
        (answer, "Thanks.", first),
    ]


def test_comments_on_old_style_ids(sqlite_database, ann, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(2, arxiv_id="hep-th/9901001"))
    response = post_comment(ann, "A classic.", arxiv_id="hep-th/9901001")
    assert response.headers["location"].startswith("/papers/hep-th/9901001#comment-")
    assert "<p>A classic.</p>" in ann.get("/papers/hep-th/9901001").text


def test_authors_edit_their_comment_through_its_form(sqlite_database, ann):
    comment_id = new_comment_id(post_comment(ann, "Frist"))
    form = ann.get(f"/comments/{comment_id}/edit")
    assert form.status_code == 200
    assert re.search(r'<textarea id="body" name="body"[^>]*>Frist</textarea>', form.text)
    assert '<label for="body">Your comment</label>' in form.text

    response = ann.post(
        f"/comments/{comment_id}/edit",
        data={"body": "First, *really*.", "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == f"/papers/{PAPER}#comment-{comment_id}"
    markup = comment_markup(ann.get(f"/papers/{PAPER}").text, comment_id)
    assert "<p>First, <em>really</em>.</p>" in markup and "(edited)" in markup

    refused = ann.post(f"/comments/{comment_id}/edit", data={"body": "   ", "csrf_token": csrf_from(form.text)})
    assert refused.status_code == 400
    assert "A comment cannot be empty." in refused.text
    assert stored_comments(sqlite_database) == [(comment_id, "First, *really*.", None)]


def test_authors_delete_their_comment_and_its_replies_keep_their_place(sqlite_database, ann, sign_in):
    with_reply = new_comment_id(post_comment(ann, "Regrettable."))
    alone = new_comment_id(post_comment(ann, "Also regrettable."))
    bob = sign_in(sqlite_database, "bob")
    reply = new_comment_id(post_comment(bob, "Quite.", parent_id=with_reply))

    for comment_id in (with_reply, alone):
        response = post_to(ann, f"/comments/{comment_id}/delete")
        assert response.status_code == 303
        assert response.headers["location"] == f"/papers/{PAPER}#comments"

    page = bob.get(f"/papers/{PAPER}").text
    assert "[deleted]" in comment_markup(page, with_reply) and "Regrettable" not in page
    assert f'id="comment-{alone}"' not in page and "Also regrettable" not in page
    assert "<p>Quite.</p>" in comment_markup(page, reply)
    # The place holder takes no replies, and deleting twice finds nothing.
    assert f'name="parent_id" value="{with_reply}"' not in page
    assert post_to(ann, f"/comments/{with_reply}/delete").status_code == 404


def test_another_users_comment_is_forbidden_and_unchanged(sqlite_database, ann, sign_in):
    comment_id = new_comment_id(post_comment(ann, "Mine."))
    mallory = sign_in(sqlite_database, "mallory")
    page = mallory.get(f"/papers/{PAPER}").text
    assert f"/comments/{comment_id}/edit" not in page and f"/comments/{comment_id}/delete" not in page

    assert mallory.get(f"/comments/{comment_id}/edit").status_code == 403
    for path, data in ((f"/comments/{comment_id}/edit", {"body": "Hijacked."}), (f"/comments/{comment_id}/delete", {})):
        response = post_to(mallory, path, **data)
        assert response.status_code == 403
        assert "only your own comments" in response.text
    assert post_to(mallory, f"/comments/{comment_id}/hide").status_code == 403  # moderators only
    assert stored_comments(sqlite_database) == [(comment_id, "Mine.", None)]
    with sqlite_database.read_session() as session:
        stored = session.get(Comment, comment_id)
        assert (stored.deleted_at, stored.hidden_at, stored.edited_at) == (None, None, None)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/comments/999/edit"),
        ("post", "/comments/999/edit"),
        ("post", "/comments/999/delete"),
        ("post", "/comments/99999999999999999999/delete"),
        ("get", "/comments/abc/edit"),
        ("post", "/papers/2506.99999/comments"),
        ("post", "/papers/not-an-id/comments"),
    ],
)
def test_unknown_ids_are_not_found(sqlite_database, ann, method, path):
    response = ann.get(path) if method == "get" else post_to(ann, path, body="Hello.")
    assert response.status_code == 404
    assert stored_comments(sqlite_database) == []


def test_a_reply_to_a_comment_on_another_paper_is_not_found(sqlite_database, ann, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(2))
    elsewhere = new_comment_id(post_comment(ann, "On paper two.", arxiv_id="2506.00002"))
    assert post_comment(ann, "Crossed wires.", parent_id=elsewhere).status_code == 404
    assert len(stored_comments(sqlite_database)) == 1


HOSTILE = (
    "<script>alert('xss')</script>\n\n"
    "<img src=x onerror=alert(1)>\n\n"
    '<a href="https://evil.example" onmouseover="alert(1)">raw</a>\n\n'
    '<span style="position:fixed;inset:0">cover</span>\n\n'
    "[js](javascript:alert(1)) [ok](https://example.org/paper) [mail](mailto:me@example.org)"
)


def test_hostile_markdown_is_rendered_inert(sqlite_database, ann):
    comment_id = new_comment_id(post_comment(ann, HOSTILE))
    page = ann.get(f"/papers/{PAPER}").text
    body = comment_markup(page, comment_id)
    body = body[body.index('<div class="comment-body">') : body.index("</div>", body.index("comment-body"))]

    found = elements(body)
    assert found.tags <= {"div", "p", "a"}
    assert found.attribute_names <= {"class", "href", "rel"}
    assert found.values_of("href") == ["https://example.org/paper", "mailto:me@example.org"]
    assert found.values_of("rel") == ["nofollow ugc"] * 2
    assert "[js](javascript:alert(1))" in body  # not a link at all
    assert "<p>&lt;script&gt;alert('xss')&lt;/script&gt;</p>" in body
    # The only scripts on the page are the site's own files.
    assert all('src="/static/' in tag for tag in re.findall(r"<script[^>]*>", page))


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "A comment cannot be empty."), (" \r\n ", "A comment cannot be empty."), ("y" * 10_001, "at most 10,000")],
)
def test_empty_and_over_long_bodies_are_refused_with_the_draft_kept(sqlite_database, ann, body, message):
    response = post_comment(ann, body)
    assert response.status_code == 400
    assert message in response.text
    assert re.search(r'<textarea id="new-comment" name="body"[^>]*aria-invalid="true">', response.text)
    if body.strip():
        assert f">{body}</textarea>" in response.text
    assert stored_comments(sqlite_database) == []


def test_a_refused_reply_comes_back_in_its_thread(sqlite_database, ann):
    parent = new_comment_id(post_comment(ann, "Parent."))
    response = post_comment(ann, "z" * 10_001, parent_id=parent)
    assert response.status_code == 400
    reply_form = response.text[response.text.index('<details class="reply" open>') :]
    assert f'name="parent_id" value="{parent}"' in reply_form.split("</details>")[0]
    assert "at most 10,000 characters" in reply_form.split("</details>")[0]
    assert len(stored_comments(sqlite_database)) == 1


def test_posts_without_a_valid_csrf_token_change_nothing(sqlite_database, ann):
    comment_id = new_comment_id(post_comment(ann, "Original."))
    for token in ("", "forged"):
        attempts = [
            (f"/papers/{PAPER}/comments", {"body": "Forged."}),
            (f"/comments/{comment_id}/edit", {"body": "Forged."}),
            (f"/comments/{comment_id}/delete", {}),
        ]
        for path, data in attempts:
            response = ann.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
            assert response.status_code == 403, path
            assert "did not come from this site" in response.text
    assert stored_comments(sqlite_database) == [(comment_id, "Original.", None)]


def test_visitors_are_sent_to_sign_in_and_nothing_is_stored(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    visitor = client_for(sqlite_database)
    page = visitor.get(f"/papers/{PAPER}").text
    assert 'name="body"' not in page
    assert f'<a href="/login?next=/papers/{PAPER}">Sign in to comment</a>' in page
    response = visitor.post(
        f"/papers/{PAPER}/comments",
        data={"body": "Anonymous.", "csrf_token": csrf_from(visitor.get("/login").text)},
        headers={"Referer": f"http://testserver/papers/{PAPER}"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/papers/{PAPER}"
    assert stored_comments(sqlite_database) == []
