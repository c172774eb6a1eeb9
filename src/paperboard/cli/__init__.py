"""The `paperboard` command. Each module holds one group of commands; they parse, call services and report."""

from __future__ import annotations

import typer

from paperboard.cli import (
    catalog,
    database,
    digest,
    fetch,
    harvest,
    listings,
    search,
    serve,
    subscribers,
    thumbnails,
    tokens,
    users,
    worker,
)

app = typer.Typer(
    name="paperboard",
    help="Paperboard: a self-hostable daily papers hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
database.register(app)
catalog.register(app)
digest.register(app)
fetch.register(app)
harvest.register(app)
listings.register(app)
search.register(app)
serve.register(app)
subscribers.register(app)
tokens.register(app)
thumbnails.register(app)
users.register(app)
worker.register(app)


def main() -> None:
    app()
