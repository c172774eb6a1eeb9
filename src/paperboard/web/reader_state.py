"""What a signed-in reader's own buttons show on the page being made: which of its targets they follow, which of its
papers they marked "not interested". Read once per request, when a template first asks, and only for a signed-in
reader: a visitor's page holds nothing personal, so the page cache may keep it (web/middleware.py), and a
reader's page is never kept."""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.requests import Request

from paperboard.db import Database
from paperboard.personal.follows import followed_keys
from paperboard.personal.not_interested import not_interested_arxiv_ids


def _reader_id(request: Request) -> int | None:
    user = getattr(request.state, "user", None)
    return user.id if user is not None else None


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


@jinja2.pass_context
def is_following(context: dict[str, Any], kind: str, target_key: str) -> bool:
    request: Request = context["request"]
    if not hasattr(request.state, "followed_keys"):
        user_id = _reader_id(request)
        keys: set[tuple[str, str]] = set()
        if user_id is not None:
            with _database(request).read_session() as session:
                keys = followed_keys(session, user_id)
        request.state.followed_keys = keys
    return (kind, target_key) in request.state.followed_keys


@jinja2.pass_context
def is_not_interested(context: dict[str, Any], arxiv_id: str) -> bool:
    request: Request = context["request"]
    if not hasattr(request.state, "not_interested"):
        user_id = _reader_id(request)
        marked: set[str] = set()
        if user_id is not None:
            with _database(request).read_session() as session:
                marked = not_interested_arxiv_ids(session, user_id)
        request.state.not_interested = marked
    return arxiv_id in request.state.not_interested
