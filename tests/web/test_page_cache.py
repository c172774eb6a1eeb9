"""The cache of public pages: who gets cached pages, what is never cached, and when the cache empties."""

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
