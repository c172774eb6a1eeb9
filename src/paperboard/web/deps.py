"""Typed dependencies that routes declare to receive the settings, the database, a session, the searcher and the
trending scores.

`create_app` keeps the settings, the one `Database`, the one `Searcher` and the one `TrendingScores` of the process
on `app.state`; these read them back with their types, so that routes never touch `app.state` themselves.

The ones that only read `app.state` are coroutines, though they never wait: FastAPI runs a plain function
dependency in its thread pool, and each trip there and back took about 0.45 ms on the 2-core machine of
docs/benchmarks.md (two thread wake-ups), a tenth of a search's time in the web worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from paperboard.community.trending import TrendingScores
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.search.service import Searcher


def app_settings(request: Request) -> Settings:
    """The settings of the app answering `request`, for code that has the request but is not a route."""
    settings: Settings = request.app.state.settings
    return settings


async def get_settings(request: Request) -> Settings:
    return app_settings(request)


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_searcher(request: Request) -> Searcher:
    searcher: Searcher = request.app.state.searcher
    return searcher


async def get_trending_scores(request: Request) -> TrendingScores:
    scores: TrendingScores = request.app.state.trending_scores
    return scores


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
TrendingScoresDep = Annotated[TrendingScores, Depends(get_trending_scores)]


def get_read_session(database: DatabaseDep) -> Iterator[Session]:
    with database.read_session() as session:
        yield session


# Scoped to the route function rather than the whole request: the connection goes back to the pool before the
# response is sent, and a failure when the session closes still reaches the error handlers instead of only the log.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
