"""Comments on papers and replies to them, one level deep, written in Markdown.

Rules (a refusal raises, changing nothing; its message is fit for the person who asked):
- A body has 1 to `MAX_COMMENT_LENGTH` characters once surrounding blank space is trimmed; the Markdown source is
  stored with its sanitised HTML (`community.markdown`), so pages never render Markdown per view.
- Replies are one level deep. A reply to a reply is attached to the top-level comment of its thread, where it
  appears after the reply it answers, instead of being refused: readers reply to whatever they are reading.
  A deleted or hidden comment takes no new replies.
- Suspended users cannot comment, reply or edit; a withdrawn paper takes no new comments.
- Authors edit and delete their own comments only (`CommentForbidden` otherwise). Deleting erases the text; a
  deleted comment that still has replies keeps its place in the thread as "[deleted]".
- Moderators hide and unhide any comment. The text of a hidden comment is kept, shown to moderators and to its
  author; others see "[hidden by a moderator]" in its place when it has replies, and nothing otherwise. Its
  author can no longer edit it, only delete it.
- A comment is *visible* when it is neither deleted nor hidden: `VISIBLE`, which the counts shown count
  (`counts.activity_counts`, `paper_details`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.community.markdown import render_markdown
from paperboard.db.models import Comment, Paper, User

MAX_COMMENT_LENGTH = 10_000
# The largest id an INTEGER column holds on PostgreSQL: a bigger number in an address names no comment, and
# asking for it would fail there rather than find nothing.
_MAX_ID = 2**31 - 1

# The comments every reader sees and every count includes.
VISIBLE = and_(Comment.deleted_at.is_(None), Comment.hidden_at.is_(None))


class CommentRefused(ValueError):
    """The comment cannot be written or changed as asked; the message says why."""


class CommentNotFound(LookupError):
    """No such comment, or not one that can be acted on (it was deleted)."""


class CommentForbidden(PermissionError):
    """The comment belongs to someone else or was hidden by a moderator, or the action is for moderators."""


@dataclass(frozen=True, slots=True)
class ThreadComment:
    """A comment as one reader sees it in a paper's thread. `text_shown` is False where a deleted comment, or a
    hidden one this reader may not read, only holds the place of its replies."""

    comment: Comment
    author: User
    text_shown: bool
    replies: tuple[ThreadComment, ...] = ()


@dataclass(frozen=True, slots=True)
class CommentOnPaper:
    """A comment listed away from its paper, as on its author's profile."""

    comment: Comment
    arxiv_id: str
    paper_title: str


def check_body(body: str) -> str:
    """The body as stored: line breaks as browsers count them (forms send CRLF), surrounding space trimmed."""
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise CommentRefused("A comment cannot be empty.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise CommentRefused(
            f"A comment may have at most {MAX_COMMENT_LENGTH:,} characters; this one has {len(text):,}."
        )
    return text


def _check_author(session: Session, user: User) -> None:
    # Read again: the caller's copy of the user may predate a suspension.
    stored = session.get(User, user.id)
    if stored is None or stored.suspended_at is not None:
        raise CommentRefused("A suspended account cannot comment.")


def _comment(session: Session, comment_id: int, *, lock: bool = False) -> Comment | None:
    """The comment; with `lock`, read afresh and locked until the transaction ends (SELECT … FOR UPDATE).

    Writers lock it so that they act one after the other: on PostgreSQL an edit that read the comment before a
    delete committed would otherwise write its text into the deleted comment after it. A writer that waited reads
    the comment as the other one left it. (SQLite needs no lock: its writing transactions already queue.)"""
    if not 0 < comment_id <= _MAX_ID:
        return None
    return session.get(Comment, comment_id, with_for_update=lock, populate_existing=lock)


def _live_comment(session: Session, comment_id: int, *, lock: bool = False) -> Comment:
    comment = _comment(session, comment_id, lock=lock)
    if comment is None or comment.deleted_at is not None:
        raise CommentNotFound(f"There is no comment {comment_id}.")
    return comment


def _own_comment(session: Session, user: User, comment_id: int, action: str, *, lock: bool = False) -> Comment:
    comment = _live_comment(session, comment_id, lock=lock)
    if comment.author_id != user.id:
        raise CommentForbidden(f"You can {action} only your own comments.")
    return comment


def comment_on(session: Session, paper: Paper, comment_id: int) -> Comment:
    """Comment `comment_id`, which must be on `paper`: for addresses that name both, where another paper's comment
    is as unknown as a comment that never existed."""
    comment = _live_comment(session, comment_id)
    if comment.paper_id != paper.id:
        raise CommentNotFound(f"There is no comment {comment_id} on {paper.arxiv_id}.")
    return comment


def _thread_of(session: Session, paper: Paper, parent_id: int) -> int:
    """The top-level comment a reply to `parent_id` belongs under. The parent is read afresh under a shared lock,
    so that a reply and a deletion or hiding of its parent (which lock it for update) act one after the other."""
    if not 0 < parent_id <= _MAX_ID:
        raise CommentNotFound(f"There is no comment {parent_id} on {paper.arxiv_id}.")
    parent = session.get(Comment, parent_id, with_for_update={"read": True}, populate_existing=True)
    if parent is None or parent.paper_id != paper.id:
        raise CommentNotFound(f"There is no comment {parent_id} on {paper.arxiv_id}.")
    if parent.deleted_at is not None or parent.hidden_at is not None:
        raise CommentRefused("That comment was deleted or hidden, so it takes no replies.")
    return parent.parent_id or parent.id


def paper_of(session: Session, comment: Comment) -> Paper:
    paper = session.get(Paper, comment.paper_id)
    assert paper is not None, "comments.paper_id is a foreign key"
    return paper


def add_comment(session: Session, author: User, paper: Paper, body: str, *, parent_id: int | None = None) -> Comment:
    """A new comment on `paper`, or a reply in the thread of comment `parent_id`."""
    _check_author(session, author)
    if paper.deleted_at is not None:
        raise CommentRefused(f"{paper.arxiv_id} was withdrawn from arXiv, so it takes no new comments.")
    text = check_body(body)
    thread_id = None if parent_id is None else _thread_of(session, paper, parent_id)
    comment = Comment(
        paper_id=paper.id,
        author_id=author.id,
        parent_id=thread_id,
        body=text,
        body_html=render_markdown(text),
        created_at=utcnow(),
    )
    session.add(comment)
    session.flush()
    return comment


def comment_to_edit(session: Session, user: User, comment_id: int, *, lock: bool = False) -> Comment:
    """The user's own comment, for the form that edits it (locked for the edit itself: `_comment`)."""
    comment = _own_comment(session, user, comment_id, "edit", lock=lock)
    if comment.hidden_at is not None:
        raise CommentForbidden("A moderator hid this comment, so it can no longer be edited.")
    return comment


def edit_comment(session: Session, user: User, comment_id: int, body: str) -> Comment:
    """Replace the text of the user's own comment; the same text again changes nothing."""
    comment = comment_to_edit(session, user, comment_id, lock=True)
    _check_author(session, user)
    text = check_body(body)
    if text != comment.body:
        comment.body = text
        comment.body_html = render_markdown(text)
        comment.edited_at = utcnow()
    return comment


def delete_comment(session: Session, user: User, comment_id: int) -> Comment:
    """Erase the user's own comment; its row stays, so that its replies keep their thread."""
    comment = _own_comment(session, user, comment_id, "delete", lock=True)
    comment.deleted_at = utcnow()
    comment.body = ""
    comment.body_html = ""
    return comment


def set_comment_hidden(session: Session, moderator: User, comment_id: int, *, hidden: bool) -> Comment:
    """Hide a comment from readers, or show it again; hiding it twice keeps the first hiding's time and moderator."""
    if not moderator.is_moderator:
        raise CommentForbidden("Only moderators may hide comments or show them again.")
    comment = _live_comment(session, comment_id, lock=True)
    if not hidden:
        comment.hidden_at = None
        comment.hidden_by_id = None
    elif comment.hidden_at is None:
        comment.hidden_at = utcnow()
        comment.hidden_by_id = moderator.id
    return comment


def paper_thread(session: Session, paper_id: int, reader: User | None) -> list[ThreadComment]:
    """The comments of a paper as `reader` sees them: threads oldest first, each with its replies oldest first."""

    def readable(comment: Comment) -> bool:
        if comment.deleted_at is not None:
            return False
        return comment.hidden_at is None or (
            reader is not None and (reader.is_moderator or reader.id == comment.author_id)
        )

    rows = session.execute(
        select(Comment, User)
        .join(User, User.id == Comment.author_id)
        .where(Comment.paper_id == paper_id)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    replies: defaultdict[int, list[ThreadComment]] = defaultdict(list)
    for comment, author in rows:
        if comment.parent_id is not None and readable(comment):
            replies[comment.parent_id].append(ThreadComment(comment, author, text_shown=True))
    threads = []
    for comment, author in rows:
        if comment.parent_id is None and (readable(comment) or replies[comment.id]):
            threads.append(ThreadComment(comment, author, readable(comment), tuple(replies[comment.id])))
    return threads


def count_comments_by(session: Session, author: User) -> int:
    return session.scalar(select(func.count()).select_from(Comment).where(Comment.author_id == author.id, VISIBLE)) or 0


def comments_by(session: Session, author: User, *, limit: int, offset: int = 0) -> list[CommentOnPaper]:
    """The author's visible comments, newest first, with the papers they are on."""
    rows = session.execute(
        select(Comment, Paper.arxiv_id, Paper.title)
        .join(Paper, Paper.id == Comment.paper_id)
        .where(Comment.author_id == author.id, VISIBLE)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [CommentOnPaper(comment, arxiv_id, title) for comment, arxiv_id, title in rows]
