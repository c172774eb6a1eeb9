"""HTTPS in production: Secure cookies whatever the proxy says, and Strict-Transport-Security, unless a plain-HTTP
test deployment turns them off; in development, Secure only on requests that came over HTTPS."""

from __future__ import annotations

import pytest

from paperboard.web.app import SECURITY_HEADERS
from paperboard.web.security import ANONYMOUS_CSRF_COOKIE, SESSION_COOKIE
from tests.web.conftest import DEFAULT_PASSWORD, csrf_from

PRODUCTION = {"env": "production", "secret_key": "a secret for the tests"}


def sign_in_cookies(client, username: str) -> dict[str, str]:
    """The Set-Cookie headers of a sign-in through the form, by cookie name: the CSRF cookie the form page set, then
    the session cookie. The cookie is sent by hand: a Secure cookie is never sent back over plain HTTP."""
    form = client.get("/login")
    anonymous = form.cookies[ANONYMOUS_CSRF_COOKIE]
    response = client.post(
        "/login",
        data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": csrf_from(form.text)},
        headers={"Cookie": f"{ANONYMOUS_CSRF_COOKIE}={anonymous}"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookies = form.headers.get_list("set-cookie") + response.headers.get_list("set-cookie")
    return {cookie.split("=", 1)[0]: cookie for cookie in cookies}


def is_secure(cookie: str) -> bool:
    return "secure" in [attribute.strip().lower() for attribute in cookie.split(";")]


def test_production_cookies_are_secure_even_when_the_proxy_says_http(sqlite_database, client_for, create_user):
    create_user(sqlite_database, "ann")
    cookies = sign_in_cookies(client_for(sqlite_database, **PRODUCTION), "ann")
    assert is_secure(cookies[ANONYMOUS_CSRF_COOKIE])
    assert is_secure(cookies[SESSION_COOKIE])


@pytest.mark.parametrize(
    "settings", [{}, PRODUCTION | {"https_only": False}], ids=["development", "production-over-plain-http"]
)
def test_otherwise_cookies_are_secure_only_over_https(sqlite_database, client_for, create_user, settings):
    create_user(sqlite_database, "ann")
    cookies = sign_in_cookies(client_for(sqlite_database, **settings), "ann")
    assert not is_secure(cookies[ANONYMOUS_CSRF_COOKIE])
    assert not is_secure(cookies[SESSION_COOKIE])

    over_https = client_for(sqlite_database, **settings)
    over_https.base_url = over_https.base_url.copy_with(scheme="https")
    assert is_secure(over_https.get("/login").headers["set-cookie"])


def test_production_pages_carry_strict_transport_security(sqlite_database, client_for):
    client = client_for(sqlite_database, **PRODUCTION)
    for path in ("/", "/login", "/api/daily_papers", "/no/such/page"):
        assert client.get(path).headers["strict-transport-security"] == "max-age=31536000", path


@pytest.mark.parametrize(
    "settings", [{}, PRODUCTION | {"https_only": False}], ids=["development", "production-over-plain-http"]
)
def test_no_strict_transport_security_otherwise(sqlite_database, client_for, settings):
    response = client_for(sqlite_database, **settings).get("/")
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers


def test_refusals_made_before_the_app_carry_the_same_security_headers(sqlite_database, client_for):
    """A 413 and a 429 are sent by middleware in front of the app; a browser shown them is still told to use HTTPS
    and to run no script."""
    client = client_for(sqlite_database, **PRODUCTION, max_body_bytes=1024, page_requests_per_minute=1)
    too_large = client.post("/api/papers/index/2506.00001", content=b"x" * 4096)
    assert too_large.status_code == 413
    assert client.get("/").status_code == 200
    too_many = client.get("/")
    assert too_many.status_code == 429
    for response in (too_large, too_many):
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
