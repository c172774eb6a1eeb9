"""Running the scheduled jobs that are due (`worker.schedule`): each recorded as started, then finished, so that an
interrupted or failed run is run again; a failure is logged and the other jobs still run.

Several workers may run against one database (on several machines): a scheduled run, and each duty that is not a
queue of claimed rows (embedding and index builds, keywords, GitHub stars), is done by one worker at a time under a
lock of the database (`db.locks`: an advisory lock on PostgreSQL, released by the server when the worker's
connection dies); the others skip it that round. Queues (submissions, thumbnails, the outbox) are claimed row by
row (`db.job_queue`, the mail sender's lock)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from typing import TypeVar

from paperboard.catalog.arxiv.http import PoliteClient, RetryPolicy
from paperboard.catalog.arxiv.oai_pmh import set_for_category
from paperboard.catalog.harvest import HarvestError, HarvestRequest, default_from_date, harvest
from paperboard.clock import utcnow
from paperboard.community.housekeeping import purge_expired
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.locks import LockBusy, exclusive_lock
from paperboard.digest.compose import compose_digests
from paperboard.progress import LoggingProgress
from paperboard.worker.schedule import HARVEST, PURGE, ScheduledJob, due_jobs, finish_run, is_finished, start_run

logger = logging.getLogger("paperboard.worker")

# A scheduled run that failed is tried again after this pause (or at once by a restarted worker), so that a site
# whose arXiv or database is down is not hammered every round.
RETRY_FAILED_RUN_SECONDS = 600.0

Result = TypeVar("Result")


def logged_failures(duty: str, work: Callable[[], Result]) -> Result | None:
    """Run one duty; a failure is logged with its traceback and the worker goes on with the others."""
    try:
        return work()
    except HarvestError as error:
        # A known failure (arXiv down, a bad answer) says what it needs to in one line.
        logger.error("%s failed: %s", duty, error)
    except Exception:
        logger.exception("%s failed", duty)
    return None


def unless_busy(
    database: Database, configuration: Settings, duty: str, work: Callable[[], Result], idle: Result
) -> Result:
    """`work()`, unless another worker of this database is doing `duty` now: then `idle`, at once."""
    with ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(database, f"worker:{duty}", fallback_dir=configuration.data_dir))
        except LockBusy:
            return idle
        return work()


def harvest_categories(database: Database, configuration: Settings) -> str:
    """Harvest each of `harvest_categories` from where its last complete harvest ended (or yesterday), resuming an
    interrupted one; raises when one of them failed, after trying the others."""
    categories = [name.strip() for name in configuration.harvest_categories.split(",") if name.strip()]
    client = PoliteClient(RetryPolicy.from_settings(configuration), configuration.user_agent)
    summaries, failures = [], []
    with client:
        for category in categories:
            request = HarvestRequest(endpoint=configuration.oai_pmh_url, set_spec=set_for_category(category))
            request = replace(request, from_date=default_from_date(database, request))
            try:
                report = harvest(database, client, request, progress=LoggingProgress(logger))
            except HarvestError as error:
                failures.append(f"{category}: {error}")
                continue
            summaries.append(
                f"{category} from {request.from_date}: {report.counts.inserted} new, {report.counts.updated} updated, "
                f"{len(report.bad)} skipped"
            )
    if failures:
        raise HarvestError("; ".join(failures))
    return "; ".join(summaries)


@dataclass
class Scheduler:
    """Runs the scheduled jobs that are due (`worker.schedule`), each recorded as started, then finished."""

    database: Database
    settings: Settings
    # When each failed run may be tried again, on the monotonic clock.
    retry_at: dict[tuple[str, str], float] = field(default_factory=dict)

    def run_due(self) -> None:
        with self.database.read_session() as session:
            jobs = due_jobs(session, self.settings, utcnow())
        for job in jobs:
            if self.retry_at.get((job.job, job.run_key), 0.0) > time.monotonic():
                continue
            unless_busy(self.database, self.settings, f"{job.job}:{job.run_key}", partial(self._run_due, job), None)

    def _run_due(self, job: ScheduledJob) -> None:
        """Run `job` unless another worker finished it since it was found due (this one holds its lock now)."""
        with self.database.read_session() as session:
            if is_finished(session, job):
                return
        with self.database.session() as session:
            start_run(session, job, utcnow())
        summary = logged_failures(f"{job.job} {job.run_key}", partial(self._run, job))
        if summary is None:
            self.retry_at[job.job, job.run_key] = time.monotonic() + RETRY_FAILED_RUN_SECONDS
            logger.info(
                "%s %s is tried again in %.0f minutes, or by the next worker started",
                job.job,
                job.run_key,
                RETRY_FAILED_RUN_SECONDS / 60,
            )
            return
        with self.database.session() as session:
            finish_run(session, job, utcnow())
        logger.info("%s %s finished: %s", job.job, job.run_key, summary)

    def _run(self, job: ScheduledJob) -> str:
        if job.job == PURGE:
            with self.database.session() as session:
                purged = purge_expired(session, utcnow(), timedelta(minutes=self.settings.login_window_minutes))
            return (
                f"{purged.sessions} expired sessions, {purged.login_attempts} old sign-in attempts and "
                f"{purged.rate_windows} finished rate-limit windows deleted"
            )
        if job.job == HARVEST:
            return harvest_categories(self.database, self.settings)
        assert job.period is not None, job
        summary = compose_digests(self.database, self.settings, job.period, LoggingProgress(logger))
        return (
            f"{summary.composed} digests composed for {summary.subscribers} subscribers "
            f"({summary.empty} with nothing new, {summary.already_composed} composed before)"
        )
