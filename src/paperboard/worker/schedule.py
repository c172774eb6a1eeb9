"""What `paperboard worker` runs at set times of the day, in the digest time zone (`PAPERBOARD_DIGEST_TIME_ZONE`).

- `harvest`: arXiv's new papers, once a day after `harvest_hour` (none when it is empty); keyed by the local day.
- `digest:daily`: on weekdays after `digest_hour`; keyed by the period (the local day).
- `digest:weekly`: on `digest_weekly_day` after `digest_hour`; keyed by the period (the ISO week).
- `purge`: expired sign-in sessions, old sign-in attempts and finished rate-limit windows, once a day; keyed by the
  local day.

A run is recorded in `scheduled_runs` when it starts and marked finished when it completes; it is due while its row
is missing or unfinished, so a run interrupted by a crash or a failure is run again (every job is safe to repeat:
a harvest resumes from its checkpoint, composing skips digests already in the outbox). Only today's runs are due: a
worker that was stopped for days does not send the digests it missed when it starts again; `paperboard digest send
--period daily --date YYYY-MM-DD` sends one by hand.

Hours are compared on the local clock, which zoneinfo keeps right across changes of summer time: on a day when the
clocks go forward past the hour, the run is due from the first local time after it; on a day when an hour repeats,
the run key keeps it from running twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.config import Settings
from paperboard.db.models import ScheduledRun
from paperboard.digest.periods import DigestKind, DigestPeriod, NoDigestThatDay, digest_period

HARVEST = "harvest"
PURGE = "purge"
DAILY_DIGEST = "digest:daily"
WEEKLY_DIGEST = "digest:weekly"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """One run of a job: `job` names what to do, `run_key` the day or week it is done for."""

    job: str
    run_key: str
    # The digest period to compose; None for the other jobs.
    period: DigestPeriod | None = None


def local_time(settings: Settings, now: datetime) -> datetime:
    """`now` (naive UTC, as `paperboard.clock.utcnow()` gives it) on the clock of the digest time zone."""
    moment = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    return moment.astimezone(ZoneInfo(settings.digest_time_zone))


def scheduled_jobs(settings: Settings, now: datetime) -> list[ScheduledJob]:
    """The runs whose time has come on the current local day, finished or not, in the order they should run."""
    local = local_time(settings, now)
    today = local.date()
    jobs = [ScheduledJob(PURGE, today.isoformat())]
    if settings.harvest_hour is not None and local.hour >= settings.harvest_hour:
        jobs.append(ScheduledJob(HARVEST, today.isoformat()))
    if local.hour >= settings.digest_hour:
        daily_and_weekly: list[tuple[str, DigestKind]] = [(DAILY_DIGEST, "daily")]
        if today.weekday() == WEEKDAYS.index(settings.digest_weekly_day):
            daily_and_weekly.append((WEEKLY_DIGEST, "weekly"))
        for job, kind in daily_and_weekly:
            try:
                period = digest_period(kind, today)
            except NoDigestThatDay:
                continue
            jobs.append(ScheduledJob(job, period.key, period))
    return jobs


def due_jobs(session: Session, settings: Settings, now: datetime) -> list[ScheduledJob]:
    """The runs whose time has come today and that have not finished: never started, or interrupted."""
    jobs = scheduled_jobs(settings, now)
    finished = {
        (run.job, run.run_key)
        for run in session.scalars(
            select(ScheduledRun).where(
                ScheduledRun.job.in_({job.job for job in jobs}),
                ScheduledRun.run_key.in_({job.run_key for job in jobs}),
                ScheduledRun.finished_at.is_not(None),
            )
        )
    }
    return [job for job in jobs if (job.job, job.run_key) not in finished]


def is_finished(session: Session, job: ScheduledJob) -> bool:
    run = session.get(ScheduledRun, (job.job, job.run_key))
    return run is not None and run.finished_at is not None


def start_run(session: Session, job: ScheduledJob, now: datetime) -> None:
    """Record that the run starts (again, when an earlier start was interrupted)."""
    run = session.get(ScheduledRun, (job.job, job.run_key))
    if run is None:
        session.add(ScheduledRun(job=job.job, run_key=job.run_key, started_at=now))
    else:
        run.started_at = now
        run.finished_at = None


def finish_run(session: Session, job: ScheduledJob, now: datetime) -> None:
    session.get_one(ScheduledRun, (job.job, job.run_key)).finished_at = now
