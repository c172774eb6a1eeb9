"""Fixtures for the web tests: the app on a test database driven over HTTP, and papers to put in it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from paperboard.catalog.record import PaperRecord, build_record
from paperboard.catalog.store import upsert_papers
from paperboard.community import accounts
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.web.app import create_app

FIRST_PUBLISHED = datetime(2025, 6, 1, 12, 0)

ClientFor = Callable[..., TestClient]
NO_RATE_LIMITS = {
    f"{name}_requests_per_minute": 0 for name in ("api", "api_token", "search", "export", "page", "static")
}
MakePaper = Callable[..., PaperRecord]
AddPapers = Callable[..., None]


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[ClientFor]:
    """Builds the app on a database, as `paperboard serve` would, with its lifespan running until the test ends.

    The page cache is off unless a test sets `page_cache_seconds`, and so is the kept trending order unless it sets
    `trending_scores_seconds`: tests change the database behind the app's back, which a running site never does.
    Rate limits are off unless a test sets them: tests make many requests from one address, which `address`
    changes. Other settings may be given too (`arxiv_api_url=...`)."""
    with ExitStack() as clients:

        def client_for(
            database: Database,
            *,
            raise_server_exceptions: bool = True,
            page_cache_seconds: float = 0,
            address: str = "testclient",
            **overrides: Any,
        ) -> TestClient:
            settings = Settings(
                database_url=database.url.render_as_string(hide_password=False),
                data_dir=tmp_path / "data",
                page_cache_seconds=page_cache_seconds,
                **({"trending_scores_seconds": 0} | NO_RATE_LIMITS | overrides),
            )
            client = TestClient(
                create_app(settings), raise_server_exceptions=raise_server_exceptions, client=(address, 50000)
            )
            return clients.enter_context(client)

        yield client_for


@pytest.fixture
def make_paper() -> MakePaper:
    """A valid record numbered `number`, published `number` hours after the first; fields can be overridden."""

    def make_paper(number: int, **fields: Any) -> PaperRecord:
        values: dict[str, Any] = {
            "arxiv_id": f"2506.{number:05d}",
            "title": f"Paper number {number}",
            "abstract": f"The abstract of paper number {number}.",
            "authors": [f"Author {number}"],
            "categories": ["cs.CL"],
            "published_at": FIRST_PUBLISHED + timedelta(hours=number),
            "code_url": None,
            "project_url": None,
        }
        return build_record(**(values | fields))

    return make_paper


@pytest.fixture
def add_papers() -> AddPapers:
    def add_papers(database: Database, *records: PaperRecord) -> None:
        with database.session() as session:
            upsert_papers(session, records)

    return add_papers


@pytest.fixture
def unmigrated_database(tmp_path: Path) -> Iterator[Database]:
    """A reachable SQLite database without any schema: `paperboard init` was never run."""
    database = Database(f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}")
    yield database
    database.dispose()


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
DEFAULT_PASSWORD = "a long enough password"

SignIn = Callable[..., TestClient]
CreateUser = Callable[..., User]


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@functools.cache
def _password_hash(password: str) -> accounts.PasswordHash:
    # Argon2 takes 0.2 s of CPU a hash, by design; the accounts made here mostly share one password, and a hash
    # made once serves them all (each sign-in still checks it through the real form).
    return accounts.hash_password(password)


@pytest.fixture
def create_user() -> CreateUser:
    """An account made through the accounts service (the sign-up form has tests of its own)."""

    def create(database: Database, username: str, *, role: str = "user", password: str = DEFAULT_PASSWORD) -> User:
        password_hash = _password_hash(password)
        with database.session() as session:
            return accounts.create_user(session, username, password_hash, role=role)  # type: ignore[arg-type]

    return create


@pytest.fixture
def sign_in(client_for: ClientFor, create_user: CreateUser) -> SignIn:
    """A client of the app signed in as a new user `username`, through the real sign-in form."""

    def sign_in(database: Database, username: str, *, role: str = "user") -> TestClient:
        create_user(database, username, role=role)
        client = client_for(database)
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    return sign_in
