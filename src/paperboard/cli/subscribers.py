"""`paperboard subscribers import|export`: the digests' subscribers in and out as CSV."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from paperboard.cli.console import Failure, err, open_database, out, reported_failures, settings
from paperboard.clock import utcnow
from paperboard.digest.subscriber_files import BadFile, RowProblem, export_subscribers, import_subscribers

subscribers_app = typer.Typer(help="Move the digests' subscribers in and out as CSV.", no_args_is_help=True)


def _warn_skipped(problem: RowProblem) -> None:
    err.print(f"[yellow]skipped[/] {escape(str(problem))}", highlight=False, soft_wrap=True)


def _read_text(path: Path) -> str:
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except FileNotFoundError:
        raise Failure(f"{path}: no such file") from None
    except OSError as error:
        raise Failure(f"{path}: {error.strerror}") from None
    try:
        # utf-8-sig: spreadsheets often start their CSV files with a byte order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise Failure(f"{path}:{line}: not UTF-8 text; save the file as CSV in UTF-8 (nothing was imported)") from None


@subscribers_app.command("import")
def import_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A CSV file (- reads standard input) whose first line names its columns: email,frequency,categories,"
            "keywords (and status, as exported); only email is required.",
            show_default=False,
        ),
    ],
) -> None:
    """Import subscribers from CSV. Their addresses count as confirmed: they get digests without a confirmation
    mail. Frequency is daily or weekly (empty: daily); categories are separated by spaces or commas (cs.CL cs.LG),
    keywords by commas ("graph neural networks, retrieval", quoted). An address already subscribed is updated, not
    added twice; one that unsubscribed stays unsubscribed. Bad rows are named and skipped; the exit status is 1 if
    any were."""
    with reported_failures():
        text = _read_text(path)
        database = open_database(settings())
        try:
            report = import_subscribers(database, io.StringIO(text, newline=""), now=utcnow(), on_problem=_warn_skipped)
        except BadFile as error:
            raise Failure(f"{path}: {error}") from None
        for kept in report.kept_inactive:
            err.print(f"[yellow]note[/] {escape(str(kept))}", highlight=False, soft_wrap=True)
        out.print(
            f"{path}: {report.imported:,} imported, {report.updated:,} updated, {report.unchanged:,} unchanged; "
            f"{len(report.skipped):,} skipped",
            highlight=False,
        )
        if report.skipped:
            raise Failure(f"{len(report.skipped):,} bad row(s) skipped; every good row was stored")


@subscribers_app.command("export")
def export_command(
    path: Annotated[
        Path, typer.Argument(help="Where to write the CSV; - (the default) writes to standard output.")
    ] = Path("-"),
) -> None:
    """Export every subscriber, whatever its status, as CSV (email,frequency,categories,keywords,status) that
    `paperboard subscribers import` reads back."""
    with reported_failures():
        database = open_database(settings())
        with database.read_session() as session:
            if str(path) == "-":
                written = export_subscribers(session, sys.stdout)
            else:
                try:
                    with path.open("w", encoding="utf-8", newline="") as destination:
                        written = export_subscribers(session, destination)
                except OSError as error:
                    raise Failure(f"{path}: {error.strerror}") from None
        err.print(f"Exported {written:,} subscribers" + ("" if str(path) == "-" else f" to {path}"), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(subscribers_app, name="subscribers")
