"""The limits on signing in and signing up, over HTTP: a guesser is stopped without locking the owner out, guesses
sent at once are checked no more often than the limit allows, and successes and sign-ups are limited per address."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from paperboard.db import Database
from paperboard.db.models import LoginAttempt, User
from paperboard.web.security import DEVICE_COOKIE, SESSION_COOKIE
from tests.conftest import Cli, cli_environment, serving
from tests.web.conftest import DEFAULT_PASSWORD, csrf_from

OWNER = "198.51.100.7"


def sign_in_from(client, username, password):
    token = csrf_from(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False)


def sign_up_from(client, username):
    token = csrf_from(client.get("/signup").text)
    data = {"username": username, "password": DEFAULT_PASSWORD, "password_again": DEFAULT_PASSWORD}
    return client.post("/signup", data={**data, "csrf_token": token}, follow_redirects=False)


def failures_of(database, username):
    with database.read_session() as session:
        return session.scalar(
            select(func.count()).where(LoginAttempt.username_key == username, LoginAttempt.succeeded.is_(False))
        )


def test_wrong_passwords_from_one_address_do_not_lock_the_owner_out(sqlite_database, client_for, create_user):
    create_user(sqlite_database, "erin")
    guesser = client_for(sqlite_database, address="203.0.113.9")
    for _ in range(5):
        assert sign_in_from(guesser, "erin", "wrong guess").status_code == 400

    owner = client_for(sqlite_database, address=OWNER)
    assert sign_in_from(owner, "erin", DEFAULT_PASSWORD).status_code == 303
    assert "Sign out" in owner.get("/").text
    # The guesser stays stopped, right password or not.
    refused = sign_in_from(guesser, "erin", DEFAULT_PASSWORD)
    assert refused.status_code == 429 and "Too many attempts from your address" in refused.text


def test_guesses_from_many_addresses_stop_at_the_account_limit_but_not_the_owners_browser(
    sqlite_database, client_for, create_user
):
    create_user(sqlite_database, "erin")
    create_user(sqlite_database, "mallory")
    limits = {"login_failures_per_account": 6}
    owner = client_for(sqlite_database, address=OWNER, **limits)
    assert sign_in_from(owner, "erin", DEFAULT_PASSWORD).status_code == 303
    owner.cookies.delete(SESSION_COOKIE)
    # The guesser owns an account too: the browser it signed in with is known to that account, not to erin's.
    guesser = client_for(sqlite_database, address="203.0.113.200", **limits)
    assert sign_in_from(guesser, "mallory", DEFAULT_PASSWORD).status_code == 303
    assert guesser.cookies.get(DEVICE_COOKIE)

    for number in range(6):
        rotating = client_for(sqlite_database, address=f"203.0.113.{number}", **limits)
        assert sign_in_from(rotating, "erin", f"guess number {number}").status_code == 400
    for stranger in (guesser, client_for(sqlite_database, address=OWNER, **limits)):
        # Refused before the password is checked, right or wrong, even from the owner's own address.
        refused = sign_in_from(stranger, "erin", DEFAULT_PASSWORD)
        assert refused.status_code == 429
        assert "only from a browser that signed in to it before" in refused.text
        assert int(refused.headers["retry-after"]) > 0
    assert failures_of(sqlite_database, "erin") == 6

    assert sign_in_from(owner, "erin", DEFAULT_PASSWORD).status_code == 303
    assert "Sign out" in owner.get("/").text


def test_thirty_guesses_at_once_are_checked_no_more_than_the_limit(database_url, tmp_path):
    """Two server processes on each backend: the per-(account, address) limit of 5 holds however the 30 requests
    interleave, because each attempt is counted before its password is checked, one transaction at a time."""
    cli = Cli(cli_environment(tmp_path / "data", database_url))
    with serving(cli, tmp_path / "data", workers=2) as server:
        server.create_user("erin")
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            token = csrf_from(client.get("/login").text)
            data = {"username": "erin", "password": "wrong guess", "csrf_token": token}
            with ThreadPoolExecutor(max_workers=30) as pool:
                answers = list(pool.map(lambda _: client.post("/login", data=data).status_code, range(30)))
    assert Counter(answers) == {400: 5, 429: 25}
    database = Database(database_url)
    try:
        assert failures_of(database, "erin") == 5
    finally:
        database.dispose()


def test_successful_sign_ins_are_limited_per_address(sqlite_database, client_for, create_user):
    create_user(sqlite_database, "erin")
    client = client_for(sqlite_database, sign_ins_per_address_per_minute=3)
    for _ in range(3):
        assert sign_in_from(client, "erin", DEFAULT_PASSWORD).status_code == 303
        client.cookies.delete(SESSION_COOKIE)
    refused = sign_in_from(client, "erin", DEFAULT_PASSWORD)
    assert refused.status_code == 429 and "Too many attempts from your address" in refused.text
    elsewhere = client_for(sqlite_database, address=OWNER, sign_ins_per_address_per_minute=3)
    assert sign_in_from(elsewhere, "erin", DEFAULT_PASSWORD).status_code == 303


def test_sign_ups_are_limited_per_address(sqlite_database, client_for):
    client = client_for(sqlite_database, sign_ups_per_address_per_hour=2)
    for name in ("first", "second"):
        assert sign_up_from(client, name).status_code == 303
        client.cookies.delete(SESSION_COOKIE)
    # A name that is taken is refused for that reason, and costs no sign-up.
    assert sign_up_from(client, "first").status_code == 400
    refused = sign_up_from(client, "third")
    assert refused.status_code == 429 and "Too many attempts from your address" in refused.text
    assert int(refused.headers["retry-after"]) > 3000
    elsewhere = client_for(sqlite_database, address=OWNER, sign_ups_per_address_per_hour=2)
    assert sign_up_from(elsewhere, "fourth").status_code == 303
    with sqlite_database.read_session() as session:
        assert set(session.scalars(select(User.username))) == {"first", "second", "fourth"}


def test_guessing_the_current_password_on_the_account_page_is_limited(sqlite_database, sign_in):
    client = sign_in(sqlite_database, "erin")
    token = csrf_from(client.get("/account").text)
    wrong = {"current_password": "not it", "new_password": "a new password!", "new_password_again": "a new password!"}
    for _ in range(5):
        assert client.post("/account/password", data={**wrong, "csrf_token": token}).status_code == 400
    right = {**wrong, "current_password": DEFAULT_PASSWORD, "csrf_token": token}
    refused = client.post("/account/password", data=right)
    assert refused.status_code == 429 and "Too many attempts from your address" in refused.text
    assert failures_of(sqlite_database, "erin") == 5
