"""What a signed-in reader's own buttons show on the page being made: which of its papers they upvoted, saved, marked
"not interested", which of its targets they follow. The one way templates ask for a reader's state.

A page is made in one of two ways:
- for one reader (or a visitor, who has no state): each button shows the reader's state, read once per request and
  kind, when a template first asks;
- once for every signed-in reader (`SHARED_READER`, web/reader_pages.py): each button is written in both of its
  states between markers, and the reader's name and CSRF token as markers; the page is kept, and for each request
  the markers are resolved with that reader's marks on the page's papers, read in one query. Whatever a template
  cannot write that way (a follow button) makes the page unfit to share, and it is made for the reader alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request

from paperboard.db import Database
from paperboard.db.models import User
from paperboard.personal.follows import followed_keys
from paperboard.personal.marks import MarkKind, marks_of

# The markers of a shared page. Text from the database is escaped (`<` becomes `&lt;`) or sanitised without comments,
# so a marker can only come from a template.
NAME_MARKER = "<!--pb:reader-name-->"
CSRF_MARKER = "<!--pb:csrf-->"
MARK_START = "<!--pb:mark {kind} {arxiv_id}-->"
MARK_OR = "<!--pb:or-->"
MARK_END = "<!--pb:end-->"
GUARD = "<!--pb:guard {kind} {arxiv_id}-->"

# The reader a shared page is made for: signed in, no moderator, no id of a real account.
SHARED_READER = User(id=0, username=Markup(NAME_MARKER), display_name=Markup(NAME_MARKER), role="user")


def is_shared_render(request: Request) -> bool:
    return getattr(request.state, "user", None) is SHARED_READER


def _reader(request: Request) -> User | None:
    user: User | None = getattr(request.state, "user", None)
    return user


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _reader_marks(request: Request, kind: MarkKind) -> set[str]:
    marks: dict[str, set[str]] | None = getattr(request.state, "reader_marks", None)
    if marks is None:
        marks = request.state.reader_marks = {}
    if kind not in marks:
        user = _reader(request)
        marks[kind] = set()
        if user is not None:
            with _database(request).read_session() as session:
                marks[kind] = marks_of(session, user.id, kind)
    return marks[kind]


@jinja2.pass_context
def reader_mark(
    context: dict[str, Any], kind: MarkKind, arxiv_id: str, known: bool | None = None, *, caller: Callable[[bool], str]
) -> Markup:
    """A button in the state the reader's mark of this kind on the paper gives it: the body of
    `{% call(marked) reader_mark("save", arxiv_id) %}`, with `marked` True or False. `known` is the state when the
    page's data carries it already (a card's upvote). On a shared page, both states between markers."""
    request: Request = context["request"]
    if is_shared_render(request):
        start = Markup(MARK_START.format(kind=kind, arxiv_id=escape(arxiv_id)))
        return start + caller(False) + Markup(MARK_OR) + caller(True) + Markup(MARK_END)
    marked = known if known is not None else arxiv_id in _reader_marks(request, kind)
    return Markup(caller(marked))


@jinja2.pass_context
def reader_guard(context: dict[str, Any], kind: MarkKind, arxiv_id: str) -> Markup:
    """On a shared page, a note that a reader with a mark of this kind on the paper needs the page made for them
    alone: the comments of a paper show their author their hidden comments and their own buttons."""
    if is_shared_render(context["request"]):
        return Markup(GUARD.format(kind=kind, arxiv_id=escape(arxiv_id)))
    return Markup()


@jinja2.pass_context
def is_following(context: dict[str, Any], kind: str, target_key: str) -> bool:
    request: Request = context["request"]
    if is_shared_render(request):
        # The state of a follow button is not written in both forms: this page is made for each reader.
        request.state.unshareable = True
        return False
    if not hasattr(request.state, "followed_keys"):
        user = _reader(request)
        keys: set[tuple[str, str]] = set()
        if user is not None:
            with _database(request).read_session() as session:
                keys = followed_keys(session, user.id)
        request.state.followed_keys = keys
    return (kind, target_key) in request.state.followed_keys
