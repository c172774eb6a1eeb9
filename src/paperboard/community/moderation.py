"""Moderating people: suspending an account and reinstating it.

Roles rank user < moderator < admin (`accounts.ROLES`, in that order), and staff act only on accounts ranked below
their own: a moderator suspends users, an administrator suspends users and moderators, and nobody suspends an
administrator or themselves on the site (`paperboard user suspend`, which answers to no role, suspends any account).

A suspended account keeps its name, comments and votes, but cannot sign in, comment or submit; suspending it ends
its sessions at once, so that a browser signed in before the suspension is signed out too.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from paperboard.community.accounts import ROLES, reinstate, suspend, user_by_name
from paperboard.community.sessions import end_other_sessions
from paperboard.db.models import User

_ROLE_NAMES = {"user": "a user", "moderator": "a moderator", "admin": "an administrator"}


class UserNotFound(LookupError):
    """No account has this name."""


class ModerationForbidden(PermissionError):
    """The acting user may not do this to this account; the message says why."""


def _refusal(actor: User, target: User, action: str) -> str | None:
    """Why `actor` may not `action` the account `target`, or None when they may."""
    if not actor.is_moderator:
        return f"Only moderators may {action} accounts."
    if actor.id == target.id:
        return f"You cannot {action} your own account."
    if ROLES.index(target.role) >= ROLES.index(actor.role):
        return f"{target.username} is {_ROLE_NAMES[target.role]}: you can {action} only accounts of a lower role."
    return None


def can_moderate(actor: User | None, target: User) -> bool:
    """Whether `actor` may suspend or reinstate `target`, so that pages offer only what will be allowed."""
    return actor is not None and _refusal(actor, target, "suspend") is None


def _target(session: Session, actor: User, username: str, action: str) -> User:
    target = user_by_name(session, username)
    if target is None:
        raise UserNotFound(f"There is no user named {username}.")
    refusal = _refusal(actor, target, action)
    if refusal:
        raise ModerationForbidden(refusal)
    return target


def suspend_user(session: Session, actor: User, username: str) -> User:
    """Suspend the account and sign it out everywhere; suspending it again keeps the first suspension's time."""
    target = _target(session, actor, username, "suspend")
    suspend_account(session, target)
    return target


def suspend_account(session: Session, user: User) -> None:
    """Suspend `user` and sign them out everywhere, whoever asks: the command line, which answers to no role, calls
    this directly."""
    suspend(user)
    end_other_sessions(session, user)


def reinstate_user(session: Session, actor: User, username: str) -> User:
    target = _target(session, actor, username, "reinstate")
    reinstate(target)
    return target
