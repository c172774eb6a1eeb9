"""The administrators' page over HTTP: the search index's figures against what was stored and built, and who may
see it."""

from __future__ import annotations

import re
from datetime import datetime

from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending
from paperboard.search.indexing import build_index
from tests.markup import elements


def figure(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


def test_an_administrator_sees_how_far_search_has_caught_up(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, *(make_paper(number) for number in range(1, 4)))
    embedder = Embedder(threads=1)
    assert embed_pending(sqlite_database, embedder, limit=2) == 2
    client = sign_in(sqlite_database, "root", role="admin")
    manifest = build_index(sqlite_database, client.app.state.settings, embedder)
    # Two papers arrive after the build: the catalogue has them, the index does not yet.
    add_papers(sqlite_database, make_paper(4), make_paper(5))

    response = client.get("/admin")

    assert response.status_code == 200
    page = response.text
    assert figure(page, "papers-count") == "5"
    assert figure(page, "embedded-count") == "2"
    assert figure(page, "embedded-share") == "40.0%"
    progress = {name: value for tag, name, value in elements(page).attributes if tag == "progress"}
    assert progress["value"] == "2" and progress["max"] == "5"
    assert figure(page, "indexed-papers") == "3"
    assert figure(page, "indexed-vectors") == "2"
    built_at = datetime.fromisoformat(manifest.built_at)
    assert f'datetime="{built_at.isoformat(timespec="seconds")}Z"' in page
    assert f"{built_at:%H:%M} UTC" in page
    assert "<code>paperboard index</code> catches up" in page and "<code>paperboard worker</code>" in page
    assert '<h2 id="search-index-title">Search index</h2>' in page
    assert "<title>Administration · Paperboard</title>" in page


def test_before_any_index_the_page_says_so(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    client = sign_in(sqlite_database, "root", role="admin")

    page = client.get("/admin").text

    assert figure(page, "papers-count") == "1"
    assert figure(page, "embedded-count") == "0"
    assert figure(page, "embedded-share") == "0.0%"
    assert figure(page, "indexed-papers") == "No index has been built yet"
    assert "never" in page


def test_an_empty_catalogue_shows_no_progress_bar(sqlite_database, sign_in):
    page = sign_in(sqlite_database, "root", role="admin").get("/admin").text

    assert figure(page, "papers-count") == "0"
    assert "<progress" not in page


def test_the_header_links_the_page_for_administrators_only(sqlite_database, sign_in, client_for):
    admin = sign_in(sqlite_database, "root", role="admin")
    moderator = sign_in(sqlite_database, "mod", role="moderator")

    assert '<a href="/admin">Admin</a>' in admin.get("/").text
    assert '<a href="/admin" aria-current="page">Admin</a>' in admin.get("/admin").text
    assert 'href="/admin"' not in moderator.get("/").text
    assert 'href="/admin"' not in client_for(sqlite_database).get("/").text


def test_others_may_not_see_it(sqlite_database, sign_in, client_for):
    for role in ("user", "moderator"):
        response = sign_in(sqlite_database, f"a-{role}", role=role).get("/admin")

        assert response.status_code == 403, role
        assert "Only administrators may see this page." in response.text
        assert "Search index" not in response.text


def test_a_visitor_is_sent_to_sign_in_first(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/admin", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin"
