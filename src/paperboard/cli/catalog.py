"""Getting papers in and out: `import`, `export`, `stats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from paperboard.catalog.jsonl import BadLine, UnreadableFile, check_readable, export_file, import_file
from paperboard.catalog.queries import catalogue_stats
from paperboard.catalog.store import UpsertCounts
from paperboard.cli.console import Failure, err, open_database, out, progress_reporter, reported_failures, settings
from paperboard.cli.search import update_search_index


def counts_summary(counts: UpsertCounts) -> str:
    return f"{counts.inserted:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged" + (
        f", {counts.stale:,} older than what is stored" if counts.stale else ""
    )


def warn_bad_line(bad: BadLine) -> None:
    err.print(f"[yellow]skipped[/] {escape(str(bad))}", highlight=False, soft_wrap=True)


def import_(
    paths: Annotated[list[Path], typer.Argument(help="JSON Lines files, plain or .gz.", show_default=False)],
) -> None:
    """Import papers from JSON Lines files. Bad lines are named and skipped; the exit status is 1 if any were."""
    with reported_failures():
        # Every file is looked at before any is imported, so that a wrong name imports nothing.
        for path in paths:
            try:
                check_readable(path)
            except UnreadableFile as error:
                raise Failure(str(error)) from None
        configuration = settings()
        database = open_database(configuration)
        skipped = 0
        for path in paths:
            report = import_file(database, path, progress_reporter(), on_bad_line=warn_bad_line)
            skipped += len(report.bad_lines)
            out.print(
                f"{path}: {report.lines:,} lines; {counts_summary(report.counts)}; {len(report.bad_lines):,} skipped",
                highlight=False,
            )
        update_search_index(configuration, database)
        if skipped:
            raise Failure(f"{skipped:,} bad line(s) skipped; every good record was stored")


def export(
    path: Annotated[Path, typer.Argument(help="Where to write; .gz compresses; - writes to standard output.")] = Path(
        "-"
    ),
) -> None:
    """Export every paper as JSON Lines, in a form `paperboard import` reads back without loss."""
    with reported_failures():
        database = open_database(settings())
        to_stdout = str(path) == "-"
        written = export_file(database, None if to_stdout else path, None if to_stdout else progress_reporter())
        err.print(f"Exported {written:,} papers" + ("" if to_stdout else f" to {path}"), highlight=False)


def stats(
    months: Annotated[int, typer.Option(help="How many recent months to list.", min=1)] = 24,
    categories: Annotated[int, typer.Option(help="How many primary categories to list.", min=1)] = 20,
) -> None:
    """Count the papers in the catalogue: in total, by primary category and by month."""
    with reported_failures():
        database = open_database(settings())
        with database.read_session() as session:
            figures = catalogue_stats(session)
        out.print(
            f"[bold]{figures.papers:,}[/] papers" + (f" ({figures.withdrawn:,} withdrawn)" if figures.withdrawn else "")
        )
        if not figures.papers:
            return
        by_category = Table("primary category", "papers", title="By primary category")
        for category, count in figures.by_primary_category[:categories]:
            by_category.add_row(category, f"{count:,}")
        hidden = len(figures.by_primary_category) - categories
        if hidden > 0:
            by_category.add_row(f"… {hidden} more", "")
        out.print(by_category)
        by_month = Table("month", "papers", title="By month of first publication")
        for month, count in figures.by_month[-months:]:
            by_month.add_row(month, f"{count:,}")
        out.print(by_month)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command()(export)
    app.command()(stats)
