"""Suspending and reinstating accounts, on each backend: who may act on whom, and sessions ended at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from paperboard.community.moderation import (
    ModerationForbidden,
    UserNotFound,
    can_moderate,
    reinstate_user,
    suspend_user,
)
from paperboard.community.sessions import start_session, user_for_token
from paperboard.db import Database
from paperboard.db.models import User, UserSession
from tests.community.factories import add_user


@pytest.fixture
def staff(database: Database) -> dict[str, User]:
    return {
        name: add_user(database, name, role=role)
        for name, role in (
            ("user", "user"),
            ("other", "user"),
            ("mod", "moderator"),
            ("mod2", "moderator"),
            ("admin", "admin"),
            ("admin2", "admin"),
        )
    }


def suspended(database: Database, username: str) -> bool:
    with database.read_session() as session:
        return session.scalars(select(User).where(User.username == username)).one().suspended_at is not None


def test_suspending_signs_the_user_out_everywhere_and_reinstating_lets_them_back(database, staff):
    with database.session() as session:
        tokens = [start_session(session, staff["user"], timedelta(days=1)) for _ in range(2)]
        other = start_session(session, staff["other"], timedelta(days=1))

    with database.session() as session:
        suspend_user(session, staff["mod"], "USER")  # names are matched whatever their case
    assert suspended(database, "user")
    with database.read_session() as session:
        assert all(user_for_token(session, token) is None for token in tokens)
        count = select(func.count()).select_from(UserSession).where(UserSession.user_id == staff["user"].id)
        assert session.scalar(count) == 0
        assert user_for_token(session, other).username == "other"

    with database.session() as session:
        reinstate_user(session, staff["mod"], "user")
    assert not suspended(database, "user")


@pytest.mark.parametrize(
    ("actor", "target", "reason"),
    [
        ("other", "user", "Only moderators"),
        ("mod", "mod", "your own account"),
        ("mod", "mod2", "mod2 is a moderator"),
        ("mod", "admin", "admin is an administrator"),
        ("admin", "admin2", "admin2 is an administrator"),
        ("admin", "admin", "your own account"),
    ],
)
def test_staff_act_only_on_accounts_of_a_lower_role(database, staff, actor, target, reason):
    for action in (suspend_user, reinstate_user):
        with pytest.raises(ModerationForbidden, match=reason), database.session() as session:
            action(session, staff[actor], target)
    assert not suspended(database, target)
    assert not can_moderate(staff[actor], staff[target])


def test_administrators_suspend_moderators(database, staff):
    assert can_moderate(staff["admin"], staff["mod"]) and can_moderate(staff["mod"], staff["user"])
    assert not can_moderate(None, staff["user"])
    with database.session() as session:
        suspend_user(session, staff["admin"], "mod")
    assert suspended(database, "mod")


def test_an_unknown_name_is_not_found(database, staff):
    with pytest.raises(UserNotFound, match="no user named nobody"), database.session() as session:
        suspend_user(session, staff["mod"], "nobody")
