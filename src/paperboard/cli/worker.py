"""`paperboard worker`: the background work of a site, run beside `paperboard serve`."""

from __future__ import annotations

import logging
import signal
import time
from functools import partial
from typing import Annotated

import typer
from rich.logging import RichHandler

from paperboard.catalog.arxiv.api import ArxivApiClient
from paperboard.catalog.arxiv.http import PoliteClient
from paperboard.cli.console import RichProgress, err, open_database, reported_failures, settings
from paperboard.community.submission_fetches import arxiv_client, fetch_submitted_papers
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.digest.delivery import SenderBusy, send_pending
from paperboard.github.refresh import StarsRefresh, github_client
from paperboard.personal.reader_models import retrain_stale_models
from paperboard.progress import LoggingProgress
from paperboard.search.indexing import IndexingDuty, indexing_embedder
from paperboard.search.paper_keywords import KeywordDuty
from paperboard.thumbnails.jobs import make_thumbnails, pdf_client
from paperboard.worker.jobs import Scheduler, logged_failures, logger, unless_busy


def send_mail(database: Database, configuration: Settings) -> None:
    try:
        summary = send_pending(database, configuration, LoggingProgress(logger))
    except SenderBusy:
        logger.info("mail: another sender (`paperboard digest send`?) is delivering the outbox; next round")
        return
    if summary.sent or summary.retried or summary.failed or summary.cancelled or summary.paused:
        logger.info(
            "mail: %d sent, %d to retry, %d failed, %d cancelled, %d addresses paused",
            summary.sent,
            summary.retried,
            summary.failed,
            summary.cancelled,
            summary.paused,
        )
    if summary.problem:
        logger.warning("mail: stopped before the outbox was empty: %s", summary.problem)


def fetch_submissions(database: Database, configuration: Settings, client: ArxivApiClient) -> bool:
    """Fetch and list the submitted papers the catalogue lacked; whether any was done with."""
    outcome = fetch_submitted_papers(database, configuration, client)
    if outcome.listed or outcome.refused or outcome.retried:
        logger.info(
            "submissions from arXiv: %d listed, %d refused, %d to try again",
            outcome.listed,
            outcome.refused,
            outcome.retried,
        )
    return bool(outcome.listed or outcome.refused)


def make_due_thumbnails(database: Database, configuration: Settings, client: PoliteClient) -> bool:
    """Make a round's share of the queued thumbnails; whether any was done with."""
    outcome = make_thumbnails(database, configuration, client)
    if outcome.made or outcome.refused or outcome.retried:
        logger.info("thumbnails: %d made, %d refused, %d to try again", outcome.made, outcome.refused, outcome.retried)
    return bool(outcome.made or outcome.refused)


def _stop(signum: int, frame: object) -> None:
    # Only the first signal stops the worker: one more (a terminal's Ctrl-C reaches it, then `./dev up` sends
    # SIGTERM as it exits) would cut short the stopping of the embedding processes, and their semaphores would be
    # left behind ("leaked semaphore objects").
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def worker(
    once: Annotated[
        bool, typer.Option(help="Do one round of work and exit, instead of running until stopped.")
    ] = False,
) -> None:
    """Keep the site's background work done, until stopped: fetch from arXiv the submitted papers the catalogue
    lacks, and list them; make the first-page thumbnails of listed papers from their PDFs; embed new and changed
    papers and keep the search index caught up; once they have vectors, extract keywords for papers without the
    archive's (PAPERBOARD_EXTRACT_KEYWORDS); retrain the "for you" models of readers who acted;
    at the configured hours (in PAPERBOARD_DIGEST_TIME_ZONE) harvest arXiv
    and compose the day's digests; send the mail waiting in the outbox when PAPERBOARD_SMTP_URL is set; refresh the
    stars of papers' GitHub repositories, within GitHub's rate limits. Stopping it at any moment loses nothing: an
    interrupted job is resumed by the next worker the same day. Only the current day's runs are made: after days
    stopped, send a missed digest with `paperboard digest send --period daily --date YYYY-MM-DD`."""
    with reported_failures():
        configuration = settings()
        # Interactive: a terminal of its own (`./dev up` says TTY_INTERACTIVE=0: it shares one with the server, whose
        # lines a redrawn bar would overwrite).
        if err.is_interactive:
            # Through the console of the progress bar, so that log lines print above it rather than through it.
            logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s", handlers=[RichHandler(console=err)])
        else:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        # httpx logs every request at INFO; a harvest's own progress lines say enough.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        database = open_database(configuration)
        scheduler = Scheduler(database, configuration)
        # SIGTERM (a service manager, `./dev up` stopping) stops it as Ctrl-C does, through the with-block below.
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        # Left by `with`, the embedding processes are stopped before the interpreter exits: left running then,
        # concurrent.futures' own exit hook could print a traceback (a closed pipe) as it stopped them.
        with (
            indexing_embedder(configuration) as embedder,
            arxiv_client(database, configuration) as client,
            pdf_client(database, configuration) as pdfs,
            github_client(configuration) as github,
        ):
            # The embedding's progress: a bar on a terminal, a line every half minute in a log.
            backlog = RichProgress(err) if err.is_interactive else LoggingProgress(logger)
            indexing = IndexingDuty(database, configuration, embedder, LoggingProgress(logger), backlog)
            stars = StarsRefresh(database, configuration, github)
            # Its own lines in the log: a second bar on the terminal would fight the embedding's for the screen.
            keywords = (
                KeywordDuty(database, embedder, LoggingProgress(logger)) if configuration.extract_keywords else None
            )
            # A duty that two workers of one database must not do at once (the others' rows are claimed).
            alone = partial(unless_busy, database, configuration)
            logger.info("worker started")
            try:
                while True:
                    # First: someone is waiting for these.
                    fetched = logged_failures(
                        "submissions", partial(fetch_submissions, database, configuration, client)
                    )
                    thumbnails = logged_failures(
                        "thumbnails", partial(make_due_thumbnails, database, configuration, pdfs)
                    )
                    # One worker of the database at a time embeds and builds: another would embed the same papers.
                    embedded = logged_failures("search indexing", partial(alone, "indexing", indexing.run_once, 0))
                    # Keywords need vectors, and search by meaning matters more: only once the embedding caught up.
                    extracted = (
                        logged_failures("keywords", partial(alone, "keywords", keywords.run_once, 0))
                        if keywords is not None and not embedded
                        else 0
                    )
                    retrained = logged_failures(
                        "reader models", partial(retrain_stale_models, database, configuration.data_dir)
                    )
                    logged_failures("scheduled jobs", scheduler.run_due)
                    # Two workers would ask GitHub for the same repositories, and spend its rate limit twice.
                    logged_failures("GitHub stars", partial(alone, "github-stars", stars.run_once, None))
                    if configuration.smtp_url:
                        logged_failures("sending mail", partial(send_mail, database, configuration))
                    if once:
                        return
                    if not embedded and not fetched and not thumbnails and not extracted and not retrained:
                        time.sleep(configuration.worker_poll_seconds)
            finally:
                indexing.close()
                if keywords is not None:
                    keywords.close()


def register(app: typer.Typer) -> None:
    app.command()(worker)
