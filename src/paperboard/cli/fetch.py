"""`paperboard fetch`: papers by id from the arXiv API into the catalogue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from paperboard.catalog.arxiv.api import ArxivApiClient
from paperboard.catalog.arxiv.pacing import arxiv_api_pacer
from paperboard.catalog.fetch import FetchInterrupted, FetchReport, fetch_papers
from paperboard.cli.catalog import counts_summary
from paperboard.cli.console import Failure, err, open_database, out, progress_reporter, reported_failures, settings


def _announce_wait(seconds: float, reason: str) -> None:
    err.print(f"[yellow]waiting[/] {seconds:g} s before asking arXiv again ({escape(reason)})", highlight=False)


def _warn(label: str, message: str) -> None:
    err.print(f"[yellow]{label}[/] {escape(message)}", highlight=False, soft_wrap=True)


def _report_problems(report: FetchReport) -> None:
    for invalid in report.invalid:
        _warn("invalid", invalid.reason)
    for arxiv_id in report.not_found:
        _warn("not on arXiv", arxiv_id)
    for rejected in report.rejected:
        _warn("rejected by arXiv", f"{rejected.arxiv_id}: {rejected.message}")
    for bad in report.bad_entries:
        _warn("skipped", str(bad))


def fetch(
    ids: Annotated[
        list[str],
        typer.Argument(
            help="arXiv ids in any form: 2506.03781, arXiv:2506.03781v2, hep-th/9901001, abs or pdf URLs.",
            show_default=False,
        ),
    ],
) -> None:
    """Fetch papers from the arXiv API and store them, spaced by PAPERBOARD_ARXIV_API_DELAY from every other request
    of the site's processes (the worker's too). The exit status is 1 if any id was not stored."""
    with reported_failures():
        config = settings()
        database = open_database(config)
        pacer = arxiv_api_pacer(database, config)
        with ArxivApiClient.from_settings(config, on_wait=_announce_wait, pacer=pacer) as client:
            try:
                report = fetch_papers(database, client, ids, progress_reporter())
            except FetchInterrupted as interrupted:
                _report_problems(interrupted.report)
                raise Failure(str(interrupted)) from None
        _report_problems(report)
        out.print(
            f"Asked arXiv for {len(report.requested):,} ids: {counts_summary(report.counts)}; "
            f"{len(report.not_found):,} not on arXiv, {len(report.invalid):,} invalid, "
            f"{len(report.rejected) + len(report.bad_entries):,} skipped",
            highlight=False,
            soft_wrap=True,
        )
        if report.problems:
            raise Failure(f"{report.problems:,} id(s) not stored; every paper arXiv returned intact was stored")


def register(app: typer.Typer) -> None:
    app.command()(fetch)
