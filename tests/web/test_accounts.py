"""Accounts over HTTP: sign up, sign in and out, password changes, CSRF, rate limits, sessions."""

import pytest

from paperboard.community.accounts import password_matches, user_by_name
from paperboard.web.security import SESSION_COOKIE
from tests.web.conftest import DEFAULT_PASSWORD, csrf_from


def password_is(database, username, password):
    with database.read_session() as session:
        user = user_by_name(session, username)
    return user is not None and password_matches(user.password_hash, password)


def signup(client, username="alice", password="correct horse battery", again=None, **extra):
    token = csrf_from(client.get("/signup").text)
    data = {"username": username, "password": password, "password_again": again or password, "csrf_token": token}
    return client.post("/signup", data={**data, **extra}, follow_redirects=False)


def test_sign_up_signs_in_and_the_header_shows_the_user(sqlite_database, client_for):
    client = client_for(sqlite_database)
    response = signup(client, display_name="Alice Liddell", next="/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the cookie is Secure
    page = client.get("/account").text
    assert "Alice Liddell" in page and ">alice<" in page and "Sign out" in page
    assert password_is(sqlite_database, "ALICE", "correct horse battery")
    with sqlite_database.read_session() as session:
        assert user_by_name(session, "alice").password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "a"}, "3 to 40 letters"),
        ({"username": "<script>x</script>"}, "3 to 40 letters"),
        ({"password": "short", "again": "short"}, "at least 10 characters"),
        ({"again": "a different password"}, "The two passwords differ"),
    ],
)
def test_bad_sign_ups_are_refused_with_a_reason(sqlite_database, client_for, fields, message):
    client = client_for(sqlite_database)
    response = signup(client, **fields)
    assert response.status_code == 400
    assert message in response.text
    assert "<script>x</script>" not in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_a_taken_name_is_refused_whatever_its_case(sqlite_database, client_for, create_user):
    create_user(sqlite_database, "alice")
    response = signup(client_for(sqlite_database), username="Alice")
    assert response.status_code == 400
    assert "The name Alice is taken" in response.text


def test_sign_in_and_sign_out(sqlite_database, sign_in):
    client = sign_in(sqlite_database, "bob")
    assert "Sign out" in client.get("/").text
    token = csrf_from(client.get("/account").text)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/account", follow_redirects=False).headers["location"] == "/login?next=/account"


def test_a_wrong_password_or_unknown_name_says_the_same(sqlite_database, client_for, create_user):
    create_user(sqlite_database, "carol")
    client = client_for(sqlite_database)
    for username, password in (("carol", "not the password"), ("nobody", DEFAULT_PASSWORD)):
        token = csrf_from(client.get("/login").text)
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 400
        assert "That name and password do not match an account." in response.text


def test_sign_in_redirects_only_within_the_site(sqlite_database, client_for, create_user):
    create_user(sqlite_database, "dave")
    for next_path, expected in (
        ("/account", "/account"),
        ("//evil.example/", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\/evil.example", "/"),
        ("/\t/evil.example", "/"),
    ):
        client = client_for(sqlite_database)
        token = csrf_from(client.get("/login").text)
        data = {"username": "dave", "password": DEFAULT_PASSWORD, "csrf_token": token, "next": next_path}
        assert client.post("/login", data=data, follow_redirects=False).headers["location"] == expected


def test_forms_without_a_valid_csrf_token_change_nothing(sqlite_database, client_for, sign_in):
    client = client_for(sqlite_database)
    client.get("/signup")
    for token in ("", "forged", "0" * 64):
        data = {"username": "mallory", "password": "correct horse battery", "password_again": "correct horse battery"}
        response = client.post("/signup", data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403
        assert "did not come from this site" in response.text
    with sqlite_database.read_session() as session:
        assert user_by_name(session, "mallory") is None
    # A token from another visitor's page does not work either.
    victim = sign_in(sqlite_database, "victim")
    other_token = csrf_from(client_for(sqlite_database).get("/login").text)
    response = victim.post("/logout", data={"csrf_token": other_token}, follow_redirects=False)
    assert response.status_code == 403
    assert "Sign out" in victim.get("/").text


def test_repeated_failures_are_rate_limited_per_account_and_address(sqlite_database, client_for, create_user):
    create_user(sqlite_database, "erin")
    client = client_for(sqlite_database)
    for _ in range(5):
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"username": "erin", "password": "wrong guess", "csrf_token": token})
    token = csrf_from(client.get("/login").text)
    data = {"username": "erin", "password": DEFAULT_PASSWORD, "csrf_token": token}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Too many attempts from your address" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_changing_the_password_signs_out_other_browsers(sqlite_database, client_for, sign_in):
    first = sign_in(sqlite_database, "frank")
    second = client_for(sqlite_database)
    token = csrf_from(second.get("/login").text)
    second.post("/login", data={"username": "frank", "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert "Sign out" in second.get("/").text

    token = csrf_from(first.get("/account").text)
    wrong = {"current_password": "not it", "new_password": "a new password!", "new_password_again": "a new password!"}
    assert first.post("/account/password", data={**wrong, "csrf_token": token}).status_code == 400
    right = {**wrong, "current_password": DEFAULT_PASSWORD}
    response = first.post("/account/password", data={**right, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert "Your password was changed" in first.get("/account?changed=true").text
    assert "Sign out" not in second.get("/").text
    assert password_is(sqlite_database, "frank", "a new password!")
    assert not password_is(sqlite_database, "frank", DEFAULT_PASSWORD)


def test_a_forged_session_cookie_is_nobody(sqlite_database, client_for):
    client = client_for(sqlite_database)
    client.cookies.set(SESSION_COOKIE, "made-up")
    assert "Sign in" in client.get("/").text
