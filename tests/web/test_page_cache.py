"""The cache of public pages: who gets cached pages, what is never cached, when the cache empties, what its key
is made of (no request can poison it for the visitors after it), and its bound in bytes."""

import gc
import tracemalloc
from collections.abc import Callable
from datetime import date

import pytest

from tests.community.factories import add_listing
from tests.web.conftest import csrf_from


def first_title(client, path="/papers/recent"):
    return client.get(path).text.split('class="paper-title"')[1].split("</a>")[0].rsplit(">", 1)[1]


def test_visitors_get_the_cached_page_until_it_expires(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1, title="First title"))
    client = client_for(sqlite_database, page_cache_seconds=60)
    assert first_title(client) == "First title"
    add_papers(sqlite_database, make_paper(1, title="Changed behind the cache"))
    assert first_title(client) == "First title"
    assert first_title(client_for(sqlite_database)) == "Changed behind the cache"


def test_signed_in_readers_always_get_a_fresh_page(sqlite_database, client_for, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1, title="First title"))
    visitor = client_for(sqlite_database, page_cache_seconds=60)
    assert first_title(visitor) == "First title"
    reader = sign_in(sqlite_database, "reader")
    add_papers(sqlite_database, make_paper(1, title="Newer title"))
    assert first_title(reader) == "Newer title"


def test_a_write_empties_the_cache(sqlite_database, client_for, create_user, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1, title="First title"))
    client = client_for(sqlite_database, page_cache_seconds=60)
    assert first_title(client) == "First title"
    add_papers(sqlite_database, make_paper(1, title="Newer title"))
    create_user(sqlite_database, "writer")
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": "writer", "password": "wrong password", "csrf_token": token})
    client.cookies.clear()
    assert first_title(client) == "Newer title"


def test_cached_pages_keep_their_security_headers_and_set_no_cookies(
    sqlite_database, client_for, make_paper, add_papers
):
    add_papers(sqlite_database, make_paper(1))
    client = client_for(sqlite_database, page_cache_seconds=60)
    first, second = client.get("/papers/recent"), client.get("/papers/recent")
    assert first.text == second.text
    assert second.headers["content-security-policy"].startswith("default-src 'self'")
    assert "set-cookie" not in second.headers


def test_pages_with_a_form_for_visitors_are_not_shared(sqlite_database, client_for):
    client = client_for(sqlite_database, page_cache_seconds=60)
    first = csrf_from(client.get("/login").text)
    other = client_for(sqlite_database, page_cache_seconds=60)
    assert csrf_from(other.get("/login").text) != first


# Poisoning: what one visitor sends must not decide what the next one is served.

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    "accept", ["text/*, text/html;q=0", "TEXT/MARKDOWN", "text/markdown", "text/html;q=0.1, text/markdown;q=0.2"]
)
def test_a_request_for_markdown_does_not_give_the_next_visitors_markdown(
    sqlite_database, client_for, make_paper, add_papers, accept
):
    add_papers(sqlite_database, make_paper(1, title="Sparse attention"))
    client = client_for(sqlite_database, page_cache_seconds=60)

    poisoning = client.get("/papers/2506.00001", headers={"Accept": accept})
    browser = client.get("/papers/2506.00001", headers={"Accept": BROWSER_ACCEPT})
    without_accept = client.get("/papers/2506.00001", headers={"Accept": ""})
    markdown_again = client.get("/papers/2506.00001", headers={"Accept": accept})

    assert poisoning.headers["content-type"] == "text/markdown; charset=utf-8"
    assert poisoning.text.startswith("# Sparse attention")
    for page in (browser, without_accept):
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<!doctype html>" in page.text.lower()
    assert markdown_again.text == poisoning.text
    assert {response.headers["vary"] for response in (poisoning, browser, without_accept, markdown_again)} == {"Accept"}


def test_the_host_header_does_not_reach_the_addresses_the_cache_serves_others(
    sqlite_database, client_for, make_paper, add_papers
):
    add_papers(sqlite_database, make_paper(1))
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4), imported_submitter="akhaliq")
    client = client_for(sqlite_database, page_cache_seconds=60, base_url="https://papers.example.org")
    avatar = "https://papers.example.org/static/avatar.svg"

    daily = [client.get("/api/daily_papers", headers={"Host": "evil.example"}), client.get("/api/daily_papers")]
    paper = [
        client.get("/api/papers/2506.00001", headers={"Host": "evil.example"}),
        client.get("/api/papers/2506.00001"),
    ]

    for response in (*daily, *paper):
        assert response.status_code == 200
        assert "evil.example" not in response.text
    assert daily[1].json()[0]["submittedBy"]["avatarUrl"] == avatar
    assert paper[1].json()["submittedOnDailyBy"]["avatarUrl"] == avatar


def test_query_parameters_in_any_order_share_a_page_and_stray_ones_are_never_kept(
    sqlite_database, client_for, make_paper, add_papers
):
    add_papers(sqlite_database, make_paper(1, title="First title"))
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4))
    client = client_for(sqlite_database, page_cache_seconds=60)

    def listed_title(query: str) -> str:
        return client.get(f"/api/daily_papers?{query}").json()[0]["title"]

    assert listed_title("date=2025-06-04&limit=5") == "First title"
    add_papers(sqlite_database, make_paper(1, title="Second title"))
    # The parameters the route reads, in another order: the page kept.
    assert listed_title("limit=5&date=2025-06-04") == "First title"
    # A parameter it does not read: answered afresh, and not kept either.
    assert listed_title("limit=5&date=2025-06-04&utm_source=mail") == "Second title"
    add_papers(sqlite_database, make_paper(1, title="Third title"))
    assert listed_title("limit=5&date=2025-06-04&utm_source=mail") == "Third title"


def retained_bytes_after(requests: Callable[[], object]) -> int:
    """How much more memory the process holds after `requests` ran than before (every allocation, traced)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        requests()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(difference.size_diff for difference in after.compare_to(before, "filename"))


CACHE_BOUND = 128 * 1024
# What the process keeps besides the cache's pages over a run of requests to new addresses: the bounded caches of
# parsed URLs in urllib, httpx and Starlette, and SQLAlchemy's pool (measured: about 180 KiB for 400 addresses).
UNRELATED_GROWTH = 256 * 1024


def test_junk_parameters_and_many_pages_keep_the_cache_within_its_bound_in_bytes(
    sqlite_database, client_for, make_paper, add_papers
):
    add_papers(sqlite_database, *(make_paper(number, abstract="Words. " * 400) for number in range(1, 121)))
    client = client_for(sqlite_database, page_cache_seconds=60, page_cache_max_bytes=CACHE_BOUND)
    page_size = len(client.get("/papers/2506.00001").content)
    # The routes' own caches (templates, compiled SQL, the searcher) are filled first, by requests like the measured.
    for number in range(2, 6):
        client.get(f"/papers/2506.{number:05d}?warm=up")

    junk = retained_bytes_after(lambda: [client.get(f"/papers/2506.00001?junk={index}") for index in range(400)])
    many = retained_bytes_after(lambda: [client.get(f"/papers/2506.{number:05d}") for number in range(6, 121)])

    # Unbounded, the 400 junk addresses would each keep a copy of the page, and the 115 pages all of theirs.
    assert 400 * page_size > 115 * page_size > 4 * CACHE_BOUND
    assert junk < UNRELATED_GROWTH, junk
    assert many < CACHE_BOUND + UNRELATED_GROWTH, many


def test_the_least_recently_used_pages_leave_the_cache_first(sqlite_database, client_for, make_paper, add_papers):
    add_papers(sqlite_database, *(make_paper(number, title=f"Title {number}") for number in range(1, 41)))
    client = client_for(sqlite_database, page_cache_seconds=60, page_cache_max_bytes=32 * 1024)
    paper_title = lambda number: client.get(f"/api/papers/2506.{number:05d}").json()["title"]  # noqa: E731

    assert [paper_title(number) for number in range(1, 41)] == [f"Title {number}" for number in range(1, 41)]
    add_papers(sqlite_database, *(make_paper(number, title=f"New {number}") for number in (1, 40)))

    # 40 answers do not fit in 32 KiB: the first was evicted, the latest is still served from memory.
    assert paper_title(40) == "Title 40"
    assert paper_title(1) == "New 1"
