"""`paperboard digest send`: one period's digests composed and sent, for sites that prefer cron to the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from paperboard.cli.console import Failure, err, open_database, out, progress_reporter, reported_failures, settings
from paperboard.clock import utcnow
from paperboard.digest.compose import compose_digests
from paperboard.digest.delivery import SenderBusy, send_pending, smtp_endpoint
from paperboard.digest.outbox import count_due
from paperboard.digest.periods import DigestKind, NoDigestThatDay, digest_period
from paperboard.digest.smtp import InvalidSmtpUrl
from paperboard.worker.schedule import local_time

digest_app = typer.Typer(help="Email digests.", no_args_is_help=True)


@digest_app.command("send")
def send(
    period: Annotated[DigestKind, typer.Option(help="Which digests: daily (weekdays) or weekly.", show_default=False)],
    day: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="The day the digests are sent, which sets the days they cover (YYYY-MM-DD); "
            "today in PAPERBOARD_DIGEST_TIME_ZONE by default.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Compose the period's digests for every active subscriber, then send the mail waiting in the outbox. Running
    it again, or after it was stopped, composes no second digest and sends none twice. Exits with 1 when mail is
    left waiting because the SMTP server could not be used, and with 2 for a daily digest on a weekend."""
    with reported_failures():
        configuration = settings()
        database = open_database(configuration)
        sent_on = day.date() if day else local_time(configuration, utcnow()).date()
        try:
            digests = digest_period(period, sent_on)
        except NoDigestThatDay as error:
            raise Failure(str(error), code=2) from None
        if configuration.smtp_url:
            try:
                smtp_endpoint(configuration)
            except InvalidSmtpUrl as error:
                raise Failure(f"PAPERBOARD_SMTP_URL: {error}", code=2) from None

        composed = compose_digests(database, configuration, digests, progress_reporter())
        out.print(
            f"{period} digests of {digests.key}: {composed.composed:,} composed for {composed.subscribers:,} "
            f"subscribers, {composed.empty:,} with nothing new, {composed.already_composed:,} composed before",
            highlight=False,
            soft_wrap=True,
        )
        if not configuration.smtp_url:
            with database.read_session() as session:
                waiting = count_due(session, utcnow())
            raise Failure(
                f"PAPERBOARD_SMTP_URL is not set: {waiting:,} mails wait in the outbox; set it and run this again, "
                "or let `paperboard worker` send them"
            )

        try:
            delivery = send_pending(database, configuration, progress_reporter())
        except SenderBusy:
            err.print("Another sender (`paperboard worker`?) is sending mail; waiting for it to finish…")
            delivery = send_pending(database, configuration, progress_reporter(), lock_wait=None)
        out.print(
            f"mail: {delivery.sent:,} sent, {delivery.retried:,} to retry later, {delivery.failed:,} failed, "
            f"{delivery.cancelled:,} cancelled, {delivery.paused:,} addresses paused",
            highlight=False,
            soft_wrap=True,
        )
        if delivery.problem:
            raise Failure(f"sending stopped: {delivery.problem}; the rest waits in the outbox")


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest")
