"""`paperboard token ...`: personal API tokens from the command line, for operators and scripts that need one
without a browser (community/api_tokens.py makes them, as the account page does). The command line answers to no
role: it acts for whichever account it names."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from paperboard.cli.console import Failure, err, open_database, out, reported_failures, settings
from paperboard.cli.users import existing_user
from paperboard.community.api_tokens import TokenNotFound, TokenRefused, create_token, list_tokens, revoke_token
from paperboard.db.models import User

tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)

DEFAULT_NAME = "command line"

Username = Annotated[str, typer.Argument(help="An existing user's name.", show_default=False)]


def _unused_name(session: Session, user: User) -> str:
    """ "command line", or "command line (N)" with the first N free: each token of an account needs its own name."""
    taken = {token.name for token in list_tokens(session, user)}
    return next(name for name in _default_names() if name not in taken)


def _default_names() -> Iterator[str]:
    yield DEFAULT_NAME
    yield from (f"{DEFAULT_NAME} ({number})" for number in itertools.count(2))


@tokens_app.command("create")
def create(
    username: Username,
    name: Annotated[
        str | None,
        typer.Option(
            help="What the token is for, as the account page lists it.",
            show_default='"command line", then "command line (2)" …',
        ),
    ] = None,
) -> None:
    """Create an API token for a user and print it, alone on standard output: `TOKEN=$(paperboard token create ada)`.
    It is shown only this once."""
    with reported_failures():
        database = open_database(settings())
        try:
            with database.session() as session:
                user = existing_user(session, username)
                new_token = create_token(session, user, name if name is not None else _unused_name(session, user))
        except TokenRefused as error:
            raise Failure(str(error)) from None
        err.print(
            f"Created the API token {new_token.token.name!r} (id {new_token.token.id}) for {username}; "
            "it is shown only this once.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        out.print(new_token.plaintext, highlight=False, markup=False, soft_wrap=True)


@tokens_app.command("list")
def list_command(username: Username) -> None:
    """List a user's API tokens, newest first (their names and ids, never the tokens themselves)."""
    with reported_failures():
        with open_database(settings()).read_session() as session:
            tokens = list_tokens(session, existing_user(session, username))
        if not tokens:
            out.print(f"{username} has no API tokens.", highlight=False, markup=False)
            return
        table = Table("id", "name", "created (UTC)", "last used (UTC)")
        for token in tokens:
            last_used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            table.add_row(str(token.id), token.name, f"{token.created_at:%Y-%m-%d %H:%M}", last_used)
        out.print(table)


@tokens_app.command("revoke")
def revoke(
    username: Username,
    token_id: Annotated[int, typer.Argument(help="The token's id, as `token list` shows it.", show_default=False)],
) -> None:
    """Revoke one of a user's API tokens: requests that send it are refused from now on."""
    with reported_failures():
        try:
            with open_database(settings()).session() as session:
                token = revoke_token(session, existing_user(session, username), token_id)
        except TokenNotFound:
            listing = f"paperboard token list {username}"
            raise Failure(f"{username} has no API token {token_id}; `{listing}` shows their tokens") from None
        out.print(f"Revoked the API token {token.name!r} of {username}.", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="token")
