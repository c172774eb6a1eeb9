"""Rate limits over HTTP: 429 with Retry-After, the minute starting over, addresses and tokens counted
apart, each class of paths counted apart, nothing reaching the app once refused, and bounded memory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperboard.clock import utcnow
from paperboard.community.api_tokens import create_token
from paperboard.db import Database
from paperboard.db.models import Comment, Vote
from paperboard.web import rate_limits
from paperboard.web.rate_limits import FixedWindowCounter

PAPER = "2506.00001"
COMMENTS = f"/api/papers/{PAPER}/comments"


class Clock:
    """Stands in for the monotonic clock of the rate limits, so that a test moves time on instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(rate_limits, "monotonic", clock)
    return clock


@pytest.fixture
def paper(sqlite_database, make_paper, add_papers) -> Database:
    add_papers(sqlite_database, make_paper(1, published_at=utcnow() - timedelta(days=1)))
    return sqlite_database


def token_for(database: Database, create_user, username: str) -> dict[str, str]:
    user = create_user(database, username)
    with database.session() as session:
        return {"Authorization": f"Bearer {create_token(session, user, 'script').plaintext}"}


def assert_refused(response, retry_after: int) -> None:
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(retry_after)
    assert response.headers["content-type"] == "application/json"
    seconds = "second" if retry_after == 1 else "seconds"
    assert response.json() == {"error": f"Too many requests. Try again in {retry_after} {seconds}."}


def count(database: Database, table: type) -> int:
    with database.read_session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_an_address_over_its_limit_waits_for_its_minute_to_end(paper, client_for, clock):
    client = client_for(paper, api_requests_per_minute=3)
    for _ in range(3):
        assert client.get(COMMENTS).status_code == 200
        clock.now += 10

    assert_refused(client.get(COMMENTS), 30)
    clock.now += 29.5
    # Whole seconds, rounded up: a client that waits as told is never early.
    assert_refused(client.get(COMMENTS), 1)
    clock.now += 0.5
    assert client.get(COMMENTS).status_code == 200
    assert client.get(COMMENTS).status_code == 200


def test_only_the_api_is_limited(paper, client_for, clock):
    client = client_for(paper, api_requests_per_minute=1)
    assert client.get(COMMENTS).status_code == 200
    assert client.get(COMMENTS).status_code == 429
    assert client.get(f"/papers/{PAPER}").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_each_address_has_its_own_count(paper, client_for, clock):
    first = client_for(paper, api_requests_per_minute=2)
    second = TestClient(first.app, client=("192.0.2.7", 40000))
    for _ in range(2):
        assert first.get(COMMENTS).status_code == 200
    assert first.get(COMMENTS).status_code == 429
    assert second.get(COMMENTS).status_code == 200


def test_each_token_has_its_own_count_wherever_it_is_used(paper, client_for, create_user, clock):
    first = client_for(paper, api_token_requests_per_minute=2)
    second = TestClient(first.app, client=("192.0.2.7", 40000))
    ann, bob = token_for(paper, create_user, "ann"), token_for(paper, create_user, "bob")

    assert first.get(COMMENTS, headers=ann).status_code == 200
    assert second.get(COMMENTS, headers=ann).status_code == 200
    assert_refused(first.get(COMMENTS, headers=ann), 60)
    assert_refused(second.get(COMMENTS, headers=ann), 60)
    # Another token, or none, is not held back: the address itself has no limit here.
    assert first.get(COMMENTS, headers=bob).status_code == 200
    for _ in range(5):
        assert first.get(COMMENTS).status_code == 200
    clock.now += 60
    assert first.get(COMMENTS, headers=ann).status_code == 200


def test_made_up_tokens_do_not_buy_an_address_more_requests(paper, client_for, clock):
    client = client_for(paper, api_requests_per_minute=3, api_token_requests_per_minute=3)
    for number in range(3):
        response = client.get(COMMENTS, headers={"Authorization": f"Bearer pb_made-up-{number}"})
        assert response.status_code == 200
    assert_refused(client.get(COMMENTS, headers={"Authorization": "Bearer pb_made-up-4"}), 60)


def test_a_refused_write_reaches_nothing(paper, client_for, create_user, clock):
    client = client_for(paper, api_token_requests_per_minute=2)
    ann = token_for(paper, create_user, "ann")
    assert client.post(f"/api/papers/{PAPER}/upvote", headers=ann).json() == {"upvotes": 1, "upvoted": True}
    assert client.post(f"/api/papers/{PAPER}/comment", headers=ann, json={"comment": "One."}).status_code == 201

    assert_refused(client.delete(f"/api/papers/{PAPER}/upvote", headers=ann), 60)
    assert_refused(client.post(f"/api/papers/{PAPER}/comment", headers=ann, json={"comment": "Two."}), 60)
    assert_refused(client.post("/api/papers/index", headers=ann, json={"arxivId": PAPER}), 60)

    assert count(paper, Vote) == 1
    with paper.read_session() as session:
        assert list(session.scalars(select(Comment.body))) == ["One."]


def test_zero_is_no_limit(paper, client_for, create_user):
    client = client_for(paper, api_requests_per_minute=0, api_token_requests_per_minute=0)
    ann = token_for(paper, create_user, "ann")
    for _ in range(200):
        assert client.get(COMMENTS, headers=ann).status_code == 200


def test_the_schema_says_every_api_route_may_answer_429(paper, client_for):
    schema = client_for(paper).get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        if path.startswith("/api/"):
            for operation in operations.values():
                refusal = operation["responses"]["429"]
                assert refusal["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
                assert refusal["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def test_memory_is_bounded_and_finished_windows_are_forgotten():
    counter = FixedWindowCounter(5, window=60, max_keys=100)
    for number in range(1000):
        counter.count(f"192.0.2.{number}", now=float(number) / 100)
    assert len(counter) == 100
    # The oldest keys made room: the newest are still counted.
    assert counter.wait("192.0.2.999", now=10.0) == 0
    for _ in range(4):
        counter.count("192.0.2.999", now=10.0)
    assert counter.wait("192.0.2.999", now=10.0) == pytest.approx(59.99)

    counter.count("late", now=100.0)
    assert len(counter) == 1


# Every class of paths, with the paths that share its count and one of another class that does not.
CLASSES = [
    ("search_requests_per_minute", ["/search?q=paper", "/search.bib?q=paper", "/feeds/search.rss?q=paper"]),
    ("export_requests_per_minute", ["/feeds/recent.atom", f"/papers/{PAPER}.bib", f"/papers/{PAPER}.md"]),
    ("page_requests_per_minute", ["/", f"/papers/{PAPER}", "/login", "/healthz"]),
    ("static_requests_per_minute", ["/static/style.css", "/static/paperboard.js"]),
    ("api_requests_per_minute", [COMMENTS, "/api/daily_papers"]),
]


@pytest.mark.parametrize(("setting", "paths"), CLASSES, ids=[setting for setting, _ in CLASSES])
def test_each_class_of_paths_has_its_own_count(paper, client_for, clock, setting, paths):
    client = client_for(paper, **{setting: len(paths)})
    for path in paths:
        assert client.get(path).status_code == 200, path
    for path in paths:
        assert client.get(path).status_code == 429, path
    # The other classes keep their own counts (none here).
    for other_setting, other_paths in CLASSES:
        if other_setting != setting:
            assert client.get(other_paths[0]).status_code == 200, other_paths[0]
    clock.now += 60
    assert client.get(paths[0]).status_code == 200


def test_pages_are_refused_in_plain_text(paper, client_for, clock):
    client = client_for(paper, search_requests_per_minute=1)
    assert client.get("/search?q=paper").status_code == 200
    clock.now += 15
    response = client.get("/search?q=paper")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "45"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Too many requests. Try again in 45 seconds."


def test_an_address_refused_by_the_api_is_still_counted_by_search(paper, client_for, clock):
    client = client_for(paper, api_requests_per_minute=1, search_requests_per_minute=3)
    assert client.get(COMMENTS).status_code == 200
    assert client.get(COMMENTS).status_code == 429
    statuses = [client.get("/search", params={"q": f"paper {number}"}).status_code for number in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
