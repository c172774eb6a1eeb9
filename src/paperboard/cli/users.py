"""`paperboard user ...`: accounts from the command line, such as the first administrator."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from paperboard.characters import forbidden_character
from paperboard.cli.console import Failure, open_database, out, reported_failures, settings
from paperboard.community.accounts import (
    ROLES,
    AccountError,
    create_user,
    hash_password,
    reinstate,
    set_role,
    user_by_name,
)
from paperboard.community.moderation import suspend_account
from paperboard.db.models import User

users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The new user's name.", show_default=False)],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator.")] = False,
    moderator: Annotated[bool, typer.Option("--moderator", help="Make the user a moderator.")] = False,
    display_name: Annotated[str | None, typer.Option(help="Name shown on the site.", show_default=False)] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input instead of asking.")
    ] = False,
) -> None:
    """Create an account; asks for its password."""
    if admin and moderator:
        raise typer.BadParameter("give --admin or --moderator, not both", param_hint="--admin")
    role = "admin" if admin else "moderator" if moderator else "user"
    if display_name is not None and (problem := forbidden_character(display_name)) is not None:
        raise typer.BadParameter(problem, param_hint="--display-name")
    with reported_failures():
        database = open_database(settings())
        password = _password(password_stdin)
        try:
            # Hashed before the transaction: on SQLite it holds the write lock, which the site's requests need.
            password_hash = hash_password(password)
            with database.session() as session:
                user = create_user(session, username, password_hash, display_name=display_name, role=role)
        except AccountError as error:
            raise Failure(str(error)) from None
        out.print(f"Created {user.role} {user.username}.", highlight=False)


@users_app.command("role")
def change_role(
    username: Annotated[str, typer.Argument(help="An existing user's name.", show_default=False)],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.", show_default=False)],
) -> None:
    """Give a user another role."""
    with reported_failures():
        database = open_database(settings())
        try:
            with database.session() as session:
                user = existing_user(session, username)
                set_role(user, role)
        except AccountError as error:
            raise Failure(str(error)) from None
        out.print(f"{user.username} is now {user.role}.", highlight=False)


@users_app.command("suspend")
def suspend_command(
    username: Annotated[str, typer.Argument(help="An existing user's name.", show_default=False)],
) -> None:
    """Suspend an account, whatever its role, and sign it out everywhere; it keeps its name, comments and votes."""
    with reported_failures():
        with open_database(settings()).session() as session:
            user = existing_user(session, username)
            suspend_account(session, user)
        out.print(f"{user.username} is suspended and signed out everywhere.", highlight=False)


@users_app.command("reinstate")
def reinstate_command(
    username: Annotated[str, typer.Argument(help="An existing user's name.", show_default=False)],
) -> None:
    """Lift an account's suspension."""
    with reported_failures():
        with open_database(settings()).session() as session:
            user = existing_user(session, username)
            reinstate(user)
        out.print(f"{user.username} may sign in again.", highlight=False)


def existing_user(session: Session, username: str) -> User:
    """The account named `username`, or a Failure naming the missing one (`token` commands use it too)."""
    user = user_by_name(session, username)
    if user is None:
        raise Failure(f"there is no user named {username}")
    return user


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="user")
