"""API tokens as a service: created once in plaintext and stored hashed, limits, revoking, finding their owner,
suspension and password changes, and how often `last_used_at` moves."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from paperboard.clock import utcnow
from paperboard.community.accounts import reinstate, suspend
from paperboard.community.api_tokens import (
    MAX_TOKENS_PER_USER,
    AccountSuspended,
    NewToken,
    TokenNotFound,
    TokenRefused,
    create_token,
    list_tokens,
    revoke_token,
    user_for_api_token,
)
from paperboard.community.login_limits import LoginLimits
from paperboard.community.passwords import change_password
from paperboard.db import Database
from paperboard.db.models import ApiToken, User
from tests.community.factories import PASSWORD, add_user


def new_token(database: Database, user: User, name: str = "script") -> NewToken:
    with database.session() as session:
        return create_token(session, user, name)


def stored_tokens(database: Database) -> list[tuple[int, str, str]]:
    with database.read_session() as session:
        return [tuple(row) for row in session.execute(select(ApiToken.user_id, ApiToken.name, ApiToken.token_hash))]


def last_used(database: Database, token: NewToken) -> object:
    with database.read_session() as session:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token.token.id))


def test_a_token_is_shown_once_and_only_its_hash_is_stored(database):
    ann = add_user(database, "ann")

    created = new_token(database, ann, "  paper   bot ")

    assert created.plaintext.startswith("pb_") and len(created.plaintext) == 46
    assert stored_tokens(database) == [(ann.id, "paper bot", hashlib.sha256(created.plaintext.encode()).hexdigest())]
    assert user_for_api_token(database, created.plaintext).id == ann.id
    assert new_token(database, ann, "another").plaintext != created.plaintext


def test_unknown_malformed_and_revoked_tokens_have_no_owner(database):
    ann = add_user(database, "ann")
    created = new_token(database, ann)

    assert user_for_api_token(database, "pb_" + "x" * 43) is None
    assert user_for_api_token(database, created.plaintext[3:]) is None  # without its prefix
    assert user_for_api_token(database, created.plaintext + "x" * 100) is None
    assert user_for_api_token(database, "") is None
    with database.session() as session:
        assert revoke_token(session, ann, created.token.id).name == "script"
    assert user_for_api_token(database, created.plaintext) is None
    assert stored_tokens(database) == []


def test_only_the_owner_revokes_a_token(database):
    ann, bob = add_user(database, "ann"), add_user(database, "bob")
    anns = new_token(database, ann)

    for token_id in (anns.token.id, 2**40, 0):
        with database.session() as session, pytest.raises(TokenNotFound, match="You have no API token"):
            revoke_token(session, bob, token_id)

    assert user_for_api_token(database, anns.plaintext).id == ann.id


def test_names_are_required_distinct_and_short(sqlite_database):
    ann = add_user(sqlite_database, "ann")
    new_token(sqlite_database, ann, "laptop")
    refusals = {
        "   ": "Give the token a name",
        "x" * 101: "at most 100 characters",
        "laptop": "You already have a token named laptop",
    }
    for name, message in refusals.items():
        with pytest.raises(TokenRefused, match=message):
            new_token(sqlite_database, ann, name)
    # Names are per user: another user may reuse one.
    new_token(sqlite_database, add_user(sqlite_database, "bob"), "laptop")
    assert [name for _, name, _ in stored_tokens(sqlite_database)] == ["laptop", "laptop"]


def test_an_account_holds_at_most_twenty_tokens(database):
    ann = add_user(database, "ann")
    for number in range(MAX_TOKENS_PER_USER):
        new_token(database, ann, f"token {number}")

    with pytest.raises(TokenRefused, match="You have 20 tokens, the most an account may hold; revoke one"):
        new_token(database, ann, "one more")

    assert len(stored_tokens(database)) == MAX_TOKENS_PER_USER
    with database.session() as session:
        revoke_token(session, ann, list_tokens(session, ann)[0].id)
    new_token(database, ann, "one more")


def test_tokens_are_listed_newest_first_for_their_owner_only(sqlite_database):
    ann, bob = add_user(sqlite_database, "ann"), add_user(sqlite_database, "bob")
    for name in ("first", "second"):
        new_token(sqlite_database, ann, name)
    new_token(sqlite_database, bob, "bob's")

    with sqlite_database.read_session() as session:
        assert [token.name for token in list_tokens(session, ann)] == ["second", "first"]


def test_a_suspended_account_s_tokens_are_refused_until_it_is_reinstated(database):
    ann = add_user(database, "ann")
    created = new_token(database, ann)
    with database.session() as session:
        suspend(session.get(User, ann.id))

    with pytest.raises(AccountSuspended, match="The account ann is suspended; its API tokens are refused"):
        user_for_api_token(database, created.plaintext)
    with pytest.raises(TokenRefused, match="suspended"):
        new_token(database, ann, "another")
    assert last_used(database, created) is None

    with database.session() as session:
        reinstate(session.get(User, ann.id))
    assert user_for_api_token(database, created.plaintext).id == ann.id


def test_tokens_survive_a_password_change(sqlite_database):
    ann = add_user(sqlite_database, "ann")
    created = new_token(sqlite_database, ann)
    limits = LoginLimits(5, 50, 20, 10, timedelta(minutes=15))
    change_password(
        sqlite_database, limits, ann, PASSWORD, "a new long password", address="192.0.2.1", keep_session=None
    )

    assert user_for_api_token(sqlite_database, created.plaintext).id == ann.id


def test_last_used_moves_at_most_once_a_minute(database):
    ann = add_user(database, "ann")
    created = new_token(database, ann)
    assert last_used(database, created) is None

    before = utcnow()
    user_for_api_token(database, created.plaintext)
    first_use = last_used(database, created)
    assert first_use is not None and first_use >= before - timedelta(seconds=1)
    user_for_api_token(database, created.plaintext)
    assert last_used(database, created) == first_use

    long_ago = utcnow() - timedelta(minutes=5)
    with database.session() as session:
        session.execute(update(ApiToken).values(last_used_at=long_ago))
    user_for_api_token(database, created.plaintext)
    assert last_used(database, created) > long_ago + timedelta(minutes=4)
