"""HEAD over HTTP: every address that answers GET answers HEAD with the same status and headers and no body, as
feed readers, link checkers and uptime monitors expect (RFC 9110, 9.3.2); other methods are unchanged."""

from __future__ import annotations

import pytest

# Headers that differ between two answers of the same address (a fresh CSRF cookie, the time of the answer).
VARYING = {"set-cookie", "date"}


@pytest.fixture
def client(sqlite_database, client_for, make_paper, add_papers):
    # The middleware is the same on either backend.
    add_papers(sqlite_database, make_paper(1, title="Sparse attention for long documents"))
    return client_for(sqlite_database)


@pytest.mark.parametrize(
    "path",
    ["/", "/papers/2506.00001", "/feeds/recent.atom", "/api/papers/2506.00001", "/search?q=attention", "/healthz"],
)
def test_head_answers_as_get_without_a_body(client, path):
    got = client.get(path)
    head = client.head(path)

    assert got.status_code == head.status_code == 200
    assert got.content
    assert head.content == b""
    assert {name: value for name, value in head.headers.items() if name not in VARYING} == {
        name: value for name, value in got.headers.items() if name not in VARYING
    }
    assert int(head.headers["content-length"]) == len(got.content)


def test_head_of_a_missing_paper_is_a_404_without_a_body(client):
    head = client.head("/papers/2506.09999")

    assert head.status_code == 404
    assert head.content == b""


def test_head_does_not_open_addresses_that_only_take_post(client):
    # (`/subscribe/start` was this test's address until a GET of it, a reload, came to redirect to the form.)
    assert client.head("/logout").status_code == client.get("/logout").status_code == 405
