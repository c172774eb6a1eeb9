"""`paperboard harvest`: bring papers in from arXiv's OAI-PMH interface."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated

import typer
from rich.markup import escape

from paperboard.catalog.arxiv.http import PoliteClient, RetryPolicy
from paperboard.catalog.arxiv.oai_pmh import FORMATS, BadRecord, set_for_category
from paperboard.catalog.harvest import HarvestError, HarvestRequest, default_from_date, harvest
from paperboard.cli.catalog import counts_summary
from paperboard.cli.console import Failure, err, open_database, out, progress_reporter, reported_failures, settings
from paperboard.cli.search import update_search_index


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD", param_hint=option) from None


def _warn_bad_record(bad: BadRecord) -> None:
    err.print(f"[yellow]skipped[/] {escape(str(bad))}", highlight=False, soft_wrap=True)


def _warn_wait(seconds: float, reason: str) -> None:
    err.print(f"[yellow]waiting {seconds:g} s[/]: {escape(reason)}", highlight=False)


def harvest_command(
    category: Annotated[
        str | None, typer.Option(help="An arXiv category or archive, e.g. cs.CL or hep-th.", show_default=False)
    ] = None,
    set_spec: Annotated[
        str | None, typer.Option("--set", help="A raw OAI set, e.g. cs or physics:hep-th.", show_default=False)
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="First datestamp (YYYY-MM-DD). Default: where the last complete harvest of the set ended, "
            "or yesterday.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last datestamp (YYYY-MM-DD).", show_default=False)] = None,
    metadata_format: Annotated[
        str, typer.Option("--format", help=f"Metadata format: {' or '.join(FORMATS)}.")
    ] = "arXiv",
    endpoint: Annotated[
        str | None, typer.Option(help="OAI-PMH base URL (default: PAPERBOARD_OAI_PMH_URL).", show_default=False)
    ] = None,
    restart: Annotated[bool, typer.Option(help="Start again from the first page instead of resuming.")] = False,
) -> None:
    """Harvest papers from arXiv over OAI-PMH. An interrupted harvest resumes where it stopped when run again."""
    if category and set_spec:
        raise typer.BadParameter("give --category or --set, not both", param_hint="--category")
    if metadata_format not in FORMATS:
        raise typer.BadParameter(f"use one of: {', '.join(FORMATS)}", param_hint="--format")
    from_date, until_date = _day(from_, "--from"), _day(until, "--until")
    if from_date and until_date and from_date > until_date:
        raise typer.BadParameter("--from is after --until", param_hint="--from")
    with reported_failures():
        config = settings()
        database = open_database(config)
        request = HarvestRequest(
            endpoint=endpoint or config.oai_pmh_url,
            metadata_prefix=metadata_format,
            set_spec=set_for_category(category) if category else set_spec,
            until_date=until_date,
        )
        request = replace(request, from_date=from_date or default_from_date(database, request))
        started = datetime.now()
        client = PoliteClient(RetryPolicy.from_settings(config), config.user_agent, on_wait=_warn_wait)
        try:
            with client:
                report = harvest(
                    database,
                    client,
                    request,
                    restart=restart,
                    progress=progress_reporter(),
                    on_bad_record=_warn_bad_record,
                )
        except HarvestError as error:
            raise Failure(
                f"harvest stopped: {error}. What was stored is kept; run the same command to resume."
            ) from None
        except KeyboardInterrupt:
            raise Failure(
                "harvest interrupted. What was stored is kept; run the same command to resume.", 130
            ) from None
        resumed = f", resumed at page {report.resumed_at_page + 1}" if report.resumed_at_page else ""
        out.print(
            f"Harvested {report.pages} page(s) of {request.set_spec or 'all sets'} from {request.from_date}"
            f"{resumed} in {(datetime.now() - started).total_seconds():.0f} s: {counts_summary(report.counts)}; "
            f"{report.deleted} withdrawn; {len(report.bad)} skipped",
            highlight=False,
        )
        update_search_index(config, database)
        if report.bad:
            raise Failure(f"{len(report.bad)} record(s) skipped; every good record was stored")


def register(app: typer.Typer) -> None:
    app.command("harvest")(harvest_command)
