"""`paperboard import-hf-daily`: the Hugging Face Daily Papers archive as the history of the daily lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paperboard.cli.catalog import counts_summary, warn_bad_line
from paperboard.cli.console import Failure, open_database, out, progress_reporter, reported_failures, settings
from paperboard.community.hf_daily import import_hf_daily


def import_hf_daily_command(
    path: Annotated[
        Path, typer.Argument(help="The archive, JSON Lines, plain or .gz (hf_daily.jsonl.gz).", show_default=False)
    ],
) -> None:
    """Import daily listings with their upvote and comment counts. The papers must be imported first
    (`paperboard import`); lines about other papers and bad lines are named and skipped, and the exit status is
    then 1. Running it again changes nothing."""
    with reported_failures():
        if not path.is_file():
            raise Failure(f"{path}: no such file")
        database = open_database(settings())
        report = import_hf_daily(database, path, progress_reporter(), on_bad_line=warn_bad_line)
        out.print(
            f"{path}: {report.lines:,} lines; listings: {counts_summary(report.listings)}; "
            f"{report.papers_given_links:,} papers given code or project links, "
            f"{report.papers_given_keywords:,} the archive's keywords; {len(report.bad_lines):,} skipped",
            highlight=False,
            soft_wrap=True,
        )
        if report.bad_lines:
            raise Failure(f"{len(report.bad_lines):,} line(s) skipped; every good line was stored")


def register(app: typer.Typer) -> None:
    app.command("import-hf-daily")(import_hf_daily_command)
