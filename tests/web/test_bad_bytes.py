"""Every way into the site refuses NUL, control characters and lone surrogates (`paperboard.characters`) with a 400
that says so, and changes nothing, on SQLite and PostgreSQL.

The routes are read from the app itself, so a route added later is swept too: a NUL in each of its path parameters,
query parameters and form or JSON fields, sent signed in (session, CSRF token, API token) so that, without the rule,
the text would reach its service. On PostgreSQL a NUL in a user name, a query or a comment had been a 500."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import BaseModel
from sqlalchemy import func, select

from paperboard.catalog.record import build_record
from paperboard.catalog.store import upsert_papers
from paperboard.community.accounts import create_user, hash_password
from paperboard.community.api_tokens import create_token
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Base, Comment
from paperboard.db.schema import upgrade
from paperboard.web.app import create_app
from paperboard.web.security import CSRF_HEADER
from tests.conftest import _postgres_database
from tests.web.conftest import DEFAULT_PASSWORD, FIRST_PUBLISHED, csrf_from

PAPER = "2506.00001"
USER = "ann"
REFUSAL = "which no text here may contain"
# What the sweep puts into each text: a NUL everywhere; JSON can also carry a lone surrogate.
NUL = "a\x00b"
SURROGATE = "a\ud800b"
_PATH_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")
# Request methods that carry a body.
_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


def _app_routes() -> list[Any]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{folder}/unused.sqlite3", data_dir=Path(folder)))
    return [
        (method, route)
        for route in iter_route_contexts(app.routes)
        for method in sorted(route.methods or {"GET"})
        if method != "HEAD"
    ]


ROUTES = _app_routes()


@dataclass
class Site:
    database: Database
    client: TestClient
    csrf: str
    token: str
    valid: dict[str, str]

    def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> Response:
        headers = {CSRF_HEADER: self.csrf, **(headers or {})}
        if path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.token}"
        if query:
            path += "?" + urlencode(query)
        return self.client.request(method, path, headers=headers, **body)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One signed-in administrator with an API token, a paper and a comment, on each backend, for the whole sweep."""
    folder = tmp_path_factory.mktemp(request.param)
    postgres = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'paperboard.sqlite3'}"
    else:
        postgres = _postgres_database()
        url = next(postgres)
    database = Database(url)
    try:
        upgrade(database)
        with database.session() as session:
            record = build_record(
                arxiv_id=PAPER,
                title="A paper",
                abstract="Its abstract.",
                authors=["Ann Author"],
                categories=["cs.CL"],
                published_at=FIRST_PUBLISHED,
            )
            upsert_papers(session, [record])
            user = create_user(session, USER, hash_password(DEFAULT_PASSWORD), role="admin")
            token = create_token(session, user, "script")
            session.flush()
            token_id = token.token.id
        settings = Settings(
            database_url=url,
            data_dir=folder / "data",
            page_cache_seconds=0,
            api_requests_per_minute=0,
            api_token_requests_per_minute=0,
        )
        with TestClient(create_app(settings)) as client:
            signed_in = client.post(
                "/login",
                data={
                    "username": USER,
                    "password": DEFAULT_PASSWORD,
                    "csrf_token": csrf_from(client.get("/login").text),
                },
                follow_redirects=False,
            )
            assert signed_in.status_code == 303, signed_in.text
            csrf = csrf_from(client.get("/account").text)
            comment = client.post(
                f"/api/papers/{PAPER}/comment",
                json={"comment": "A first comment."},
                headers={"Authorization": f"Bearer {token.plaintext}"},
            )
            assert comment.status_code == 201, comment.text
            valid = {
                "arxiv_id": PAPER,
                "comment_id": str(comment.json()["id"]),
                "token_id": str(token_id),
                "username": USER,
                "day": "2025-06-01",
                "week": "2025-W23",
                "month": "2025-06",
                "category": "cs",
                "feed_format": "rss",
                # No claim exists: the forbidden characters are refused before any route looks for one.
                "claim_id": "1",
            }
            yield Site(database, client, csrf, token.plaintext, valid)
    finally:
        database.dispose()
        if postgres is not None:
            postgres.close()


def _path(route: Any, site: Site, hostile: str | None = None) -> str:
    """The route's path with a valid value for each parameter, and `hostile` appended to the one named so."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        text = site.valid.get(name, "x") + (NUL if name == hostile else "")
        return quote(text, safe="/")

    return _PATH_PARAMETER.sub(value, route.path)


def _fields(route: Any, kind: str) -> list[Any]:
    """The route's parameters of one kind ("query_params", "body_params"), its dependencies' included."""
    found = []
    dependants = [route.dependant]
    while dependants:
        dependant = dependants.pop()
        found += getattr(dependant, kind)
        dependants += dependant.dependencies
    return found


def _variants(method: str, route: Any, site: Site) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what is hostile, the request's arguments) for each place the route takes text."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        # Not a route of ours (static files, the schema): only its address takes text.
        yield "path", {"path": route.path.rstrip("/") + "/" + quote(NUL)}
        return
    path = _path(route, site)
    for name in _PATH_PARAMETER.findall(route.path):
        yield f"path parameter {name}", {"path": _path(route, site, name)}
    for name in [field.alias for field in _fields(route, "query_params")] + ["utm_source"]:
        yield f"query parameter {name}", {"path": path, "query": {name: NUL}}
    if method not in _WITH_BODY:
        return
    body_fields = _fields(route, "body_params")
    models = [field.field_info.annotation for field in body_fields]
    if models and all(isinstance(model, type) and issubclass(model, BaseModel) for model in models):
        names = [name for model in models for name in model.model_fields]
        for name in names:
            for bad in (NUL, SURROGATE):
                text = json.dumps({other: (bad if other == name else "2506.00001") for other in names})
                yield (
                    f"JSON field {name} ({bad!r})",
                    {
                        "path": path,
                        "content": text.encode(),
                        "headers": {"content-type": "application/json"},
                    },
                )
        return
    names = [field.alias for field in body_fields] or ["note"]
    for name in names:
        form = {other: (NUL if other == name else "x") for other in names} | {"csrf_token": site.csrf}
        yield f"form field {name}", {"path": path, "data": form}


def _fingerprint(database: Database) -> dict[str, Any]:
    """The number of rows of every table, and the comments' texts: what a refused request must leave alone. Rate
    limits' windows (`rate_windows`, where PostgreSQL sites count requests) are left out: a refused request still
    counts against its sender's limit, as it should."""
    with database.read_session() as session:
        counts = {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.tables.values()
            if table.name != "rate_windows"
        }
        comments = session.execute(select(Comment.id, Comment.body, Comment.deleted_at)).all()
    return {"counts": counts, "comments": [tuple(row) for row in comments]}


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{method} {route.path}" for method, route in ROUTES])
def test_every_entry_point_refuses_forbidden_characters_with_400_and_changes_nothing(
    site: Site, method: str, route: Any
) -> None:
    before = _fingerprint(site.database)
    failures = []
    for where, arguments in _variants(method, route, site):
        response = site.send(method, **arguments)
        # A NUL in a path parameter may leave a typed route unmatched (`{comment_id:int}`): a 404 is as good.
        expected = {400, 404} if where.startswith("path") else {400}
        if response.status_code not in expected or (response.status_code == 400 and REFUSAL not in response.text):
            failures.append(f"{where}: {response.status_code} {response.text[:200]!r}")
    assert failures == []
    assert _fingerprint(site.database) == before
