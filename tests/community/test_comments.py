"""Comments as a service, on each backend: threads, replies, edits, deletion, hiding, limits, counts, profiles."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import select

from paperboard.catalog.queries import get_paper
from paperboard.community import comments
from paperboard.community.accounts import suspend
from paperboard.community.comments import (
    MAX_COMMENT_LENGTH,
    CommentForbidden,
    CommentNotFound,
    CommentRefused,
)
from paperboard.community.paper_details import paper_details
from paperboard.db import Database
from paperboard.db.models import Comment, User
from tests.community.factories import add_paper, add_user

PAPER = "2506.00001"


@pytest.fixture
def people(database: Database) -> dict[str, User]:
    add_paper(database, PAPER)
    add_paper(database, "2506.00002")
    return {
        name: add_user(database, name, role=role)
        for name, role in (("ann", "user"), ("bob", "user"), ("mod", "moderator"))
    }


def write(database: Database, author: User, body: str, *, parent_id: int | None = None, arxiv_id: str = PAPER) -> int:
    with database.session() as session:
        paper = get_paper(session, arxiv_id)
        return comments.add_comment(session, author, paper, body, parent_id=parent_id).id


def stored(database: Database, comment_id: int) -> Comment:
    with database.read_session() as session:
        return session.get(Comment, comment_id)


def thread(database: Database, reader: User | None, arxiv_id: str = PAPER) -> list[comments.ThreadComment]:
    with database.read_session() as session:
        return comments.paper_thread(session, get_paper(session, arxiv_id).id, reader)


def shape(threads: list[comments.ThreadComment]) -> list[tuple[int, bool, list[int]]]:
    """(id, text shown, reply ids) of each thread, for comparing whole threads at once."""
    return [(item.comment.id, item.text_shown, [reply.comment.id for reply in item.replies]) for item in threads]


def test_comments_and_replies_form_threads_one_level_deep(database, people):
    first = write(database, people["ann"], "Nice **result**.")
    reply = write(database, people["bob"], "Agreed.", parent_id=first)
    # A reply to a reply joins the same thread rather than nesting deeper.
    reply_to_reply = write(database, people["ann"], "Thanks!", parent_id=reply)
    second = write(database, people["bob"], "Where is the code?")

    assert shape(thread(database, None)) == [(first, True, [reply, reply_to_reply]), (second, True, [])]
    assert stored(database, reply_to_reply).parent_id == first
    comment = stored(database, first)
    assert comment.body == "Nice **result**." and comment.body_html == "<p>Nice <strong>result</strong>.</p>\n"
    assert thread(database, None)[0].author.username == "ann"


def test_replies_must_answer_a_live_comment_on_the_same_paper(database, people):
    elsewhere = write(database, people["ann"], "On the other paper.", arxiv_id="2506.00002")
    with pytest.raises(CommentNotFound):
        write(database, people["bob"], "Reply.", parent_id=elsewhere)
    with pytest.raises(CommentNotFound):
        write(database, people["bob"], "Reply.", parent_id=2**40)
    gone = write(database, people["ann"], "To be deleted.")
    with database.session() as session:
        comments.delete_comment(session, people["ann"], gone)
    with pytest.raises(CommentRefused, match="takes no replies"):
        write(database, people["bob"], "Reply.", parent_id=gone)
    assert shape(thread(database, None)) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "cannot be empty"),
        ("  \r\n\t ", "cannot be empty"),
        ("x" * (MAX_COMMENT_LENGTH + 1), "at most 10,000 characters; this one has 10,001"),
    ],
)
def test_bodies_outside_the_limits_are_refused(database, people, body, message):
    with pytest.raises(CommentRefused, match=message):
        write(database, people["ann"], body)
    assert thread(database, None) == []


def test_the_limit_counts_line_breaks_as_browsers_do_and_trims_surrounding_space(database, people):
    # 5,000 lines of "x\r\n" from a form are 10,000 characters once CRLF is read as one line break.
    body = "x\r\n" * (MAX_COMMENT_LENGTH // 2)
    comment_id = write(database, people["ann"], f"  {body}  ")
    assert stored(database, comment_id).body == ("x\n" * (MAX_COMMENT_LENGTH // 2)).strip()


def test_authors_edit_their_own_comments_only(database, people):
    comment_id = write(database, people["ann"], "Frist!")
    with database.session() as session:
        comments.edit_comment(session, people["ann"], comment_id, "Frist!")
    assert stored(database, comment_id).edited_at is None  # the same text again is no edit

    with database.session() as session:
        comments.edit_comment(session, people["ann"], comment_id, "*First*, in fact.")
    edited = stored(database, comment_id)
    assert edited.body_html == "<p><em>First</em>, in fact.</p>\n" and edited.edited_at is not None

    for action in (
        lambda session: comments.edit_comment(session, people["bob"], comment_id, "Hijacked."),
        lambda session: comments.delete_comment(session, people["bob"], comment_id),
        lambda session: comments.comment_to_edit(session, people["mod"], comment_id),
    ):
        with pytest.raises(CommentForbidden, match="only your own comments"), database.session() as session:
            action(session)
    after = stored(database, comment_id)
    assert (after.body, after.deleted_at) == ("*First*, in fact.", None)


def test_deleting_erases_the_text_and_keeps_the_place_of_a_comment_with_replies(database, people):
    with_replies = write(database, people["ann"], "Something regrettable.")
    reply = write(database, people["bob"], "Indeed.", parent_id=with_replies)
    alone = write(database, people["ann"], "Something else.")
    with database.session() as session:
        comments.delete_comment(session, people["ann"], with_replies)
        comments.delete_comment(session, people["ann"], alone)

    assert shape(thread(database, people["ann"])) == [(with_replies, False, [reply])]
    deleted = stored(database, with_replies)
    assert (deleted.body, deleted.body_html) == ("", "") and deleted.deleted_at is not None
    with pytest.raises(CommentNotFound), database.session() as session:
        comments.delete_comment(session, people["ann"], with_replies)
    with pytest.raises(CommentNotFound), database.session() as session:
        comments.edit_comment(session, people["ann"], alone, "Back from the dead.")

    # Once its last reply goes too, the deleted comment leaves no trace in the thread.
    with database.session() as session:
        comments.delete_comment(session, people["bob"], reply)
    assert thread(database, None) == []


def test_moderators_hide_and_unhide_and_only_they_may(database, people):
    hidden = write(database, people["ann"], "Spam, spam, spam.")
    reply = write(database, people["bob"], "Please stop.", parent_id=hidden)
    with pytest.raises(CommentForbidden, match="Only moderators"), database.session() as session:
        comments.set_comment_hidden(session, people["bob"], hidden, hidden=True)
    assert stored(database, hidden).hidden_at is None

    with database.session() as session:
        comments.set_comment_hidden(session, people["mod"], hidden, hidden=True)
    assert stored(database, hidden).hidden_by_id == people["mod"].id
    # Readers see the reply under a placeholder; the moderator and the author still read the text.
    assert shape(thread(database, None)) == [(hidden, False, [reply])]
    assert shape(thread(database, people["bob"])) == [(hidden, False, [reply])]
    assert shape(thread(database, people["mod"])) == [(hidden, True, [reply])]
    assert shape(thread(database, people["ann"])) == [(hidden, True, [reply])]
    # Its author may no longer change its text, and nobody may reply to it.
    with pytest.raises(CommentForbidden, match="hid this comment"), database.session() as session:
        comments.edit_comment(session, people["ann"], hidden, "Not spam at all.")
    with pytest.raises(CommentRefused, match="takes no replies"):
        write(database, people["bob"], "Reply.", parent_id=hidden)

    with database.session() as session:
        comments.set_comment_hidden(session, people["mod"], hidden, hidden=False)
    restored = stored(database, hidden)
    assert (restored.hidden_at, restored.hidden_by_id, restored.body) == (None, None, "Spam, spam, spam.")
    assert shape(thread(database, None)) == [(hidden, True, [reply])]


def test_comment_counts_count_what_every_reader_sees(database, people):
    kept = write(database, people["ann"], "Kept.")
    write(database, people["bob"], "A reply that stays.", parent_id=kept)
    deleted = write(database, people["ann"], "Deleted.")
    write(database, people["bob"], "A reply under a deleted comment.", parent_id=deleted)
    hidden = write(database, people["ann"], "Hidden.")
    hidden_reply = write(database, people["bob"], "A hidden reply.", parent_id=kept)
    with database.session() as session:
        comments.delete_comment(session, people["ann"], deleted)
        comments.set_comment_hidden(session, people["mod"], hidden, hidden=True)
        comments.set_comment_hidden(session, people["mod"], hidden_reply, hidden=True)

    readable = [item for top in thread(database, None) for item in (top, *top.replies) if item.text_shown]
    with database.read_session() as session:
        paper_id = get_paper(session, PAPER).id
        assert paper_details(session, [paper_id])[paper_id].comments == len(readable) == 3


def test_suspended_users_and_withdrawn_papers_take_no_comments(database, people):
    comment_id = write(database, people["ann"], "Before.")
    with database.session() as session:
        suspend(session.get(User, people["ann"].id))
    # The caller's copy of the user predates the suspension: the service reads it again.
    with pytest.raises(CommentRefused, match="suspended"):
        write(database, people["ann"], "After.")
    with pytest.raises(CommentRefused, match="suspended"), database.session() as session:
        comments.edit_comment(session, people["ann"], comment_id, "Changed after.")

    add_paper(database, "2506.00003", deleted_at=datetime(2025, 6, 9))
    with pytest.raises(CommentRefused, match="withdrawn"):
        write(database, people["bob"], "Hello?", arxiv_id="2506.00003")
    with database.read_session() as session:
        assert session.scalars(select(Comment.body)).all() == ["Before."]


def test_a_profile_lists_the_visible_comments_newest_first(database, people):
    older = write(database, people["ann"], "Older.")
    newer = write(database, people["ann"], "Newer.", arxiv_id="2506.00002")
    hidden = write(database, people["ann"], "Hidden.")
    write(database, people["bob"], "Someone else's.")
    with database.session() as session:
        comments.set_comment_hidden(session, people["mod"], hidden, hidden=True)

    with database.read_session() as session:
        ann = session.get(User, people["ann"].id)
        assert comments.count_comments_by(session, ann) == 2
        listed = comments.comments_by(session, ann, limit=10)
        assert [(item.comment.id, item.arxiv_id) for item in listed] == [(newer, "2506.00002"), (older, PAPER)]
        assert listed[0].paper_title == "A paper numbered 2506.00002"
        assert [item.comment.id for item in comments.comments_by(session, ann, limit=1, offset=1)] == [older]


def test_a_reply_racing_the_deletion_of_its_parent_is_refused(database, people):
    """On PostgreSQL a reply could read its parent before a deletion committed and attach to the deleted comment;
    the reply now locks its parent, waits for the deletion and sees it. (SQLite's writers already queue.)"""
    parent = write(database, people["ann"], "Soon gone.")
    deleting = database.session()
    session = deleting.__enter__()
    comments.delete_comment(session, people["ann"], parent)
    outcome: list[BaseException | int] = []
    replying = threading.Thread(
        target=lambda: outcome.append(_attempt(lambda: write(database, people["bob"], "Late.", parent_id=parent)))
    )
    replying.start()
    # On SQLite the reply waits for the deleting transaction to end before it starts at all.
    replying.join(timeout=0.5)
    deleting.__exit__(None, None, None)
    replying.join(timeout=30)
    [result] = outcome
    assert isinstance(result, CommentRefused), result
    assert shape(thread(database, people["mod"])) == []


def _attempt(action: Callable[[], int]) -> BaseException | int:
    try:
        return action()
    except CommentRefused as refused:
        return refused
