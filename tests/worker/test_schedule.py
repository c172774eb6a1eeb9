"""The worker's timetable: which runs are due at a given moment, in the digest time zone, across changes of summer
time and far from UTC, and how recorded runs stop a second run or let an interrupted one resume."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import ScheduledRun
from paperboard.digest.periods import digest_period
from paperboard.worker.schedule import (
    DAILY_DIGEST,
    HARVEST,
    PURGE,
    WEEKLY_DIGEST,
    ScheduledJob,
    due_jobs,
    finish_run,
    local_time,
    scheduled_jobs,
    start_run,
)


@pytest.fixture
def schedule(tmp_path: Path):
    def schedule(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "digest_hour": 7,
            "digest_time_zone": "Europe/Paris",
            "digest_weekly_day": "monday",
            "harvest_hour": 3,
        }
        return Settings(**(values | overrides))

    return schedule


def runs(settings: Settings, utc: str) -> dict[str, str]:
    return {job.job: job.run_key for job in scheduled_jobs(settings, datetime.fromisoformat(utc))}


def test_a_monday_in_winter_in_paris(schedule):
    settings = schedule()

    # 06:59 in Paris (UTC+1): the harvest hour has passed, the digest hour has not.
    assert runs(settings, "2026-11-30T05:59") == {PURGE: "2026-11-30", HARVEST: "2026-11-30"}
    # 07:00 in Paris: Monday's daily digest (covering Friday to Sunday) and the weekly one, of week 49.
    at_seven = scheduled_jobs(settings, datetime(2026, 11, 30, 6, 0))
    assert [(job.job, job.run_key) for job in at_seven] == [
        (PURGE, "2026-11-30"),
        (HARVEST, "2026-11-30"),
        (DAILY_DIGEST, "2026-11-30"),
        (WEEKLY_DIGEST, "2026-W49"),
    ]
    assert at_seven[2].period == digest_period("daily", date(2026, 11, 30))
    assert at_seven[2].period.start == date(2026, 11, 27)
    assert at_seven[3].period == digest_period("weekly", date(2026, 11, 30))
    # Still due late in the evening, and the local day is still Monday at 23:30 in Paris though it is 22:30 UTC.
    assert runs(settings, "2026-11-30T22:59")[DAILY_DIGEST] == "2026-11-30"
    # Just after midnight in Paris it is Tuesday, and its runs wait for their hours.
    assert runs(settings, "2026-11-30T23:00") == {PURGE: "2026-12-01"}


def test_a_tuesday_has_a_daily_digest_only_and_a_weekend_none(schedule):
    settings = schedule()

    assert runs(settings, "2026-12-01T12:00") == {
        PURGE: "2026-12-01",
        HARVEST: "2026-12-01",
        DAILY_DIGEST: "2026-12-01",
    }
    assert runs(settings, "2026-12-05T12:00") == {PURGE: "2026-12-05", HARVEST: "2026-12-05"}
    assert runs(schedule(digest_weekly_day="saturday"), "2026-12-05T12:00") == {
        PURGE: "2026-12-05",
        HARVEST: "2026-12-05",
        WEEKLY_DIGEST: "2026-W49",
    }


def test_an_empty_harvest_hour_turns_the_harvest_off(schedule):
    assert HARVEST not in runs(schedule(harvest_hour=None), "2026-12-01T12:00")


def test_the_spring_change_in_paris_skips_an_hour_without_skipping_the_runs(schedule):
    # On Sunday 29 March 2026 Paris goes from 02:00 CET straight to 03:00 CEST: 02:xx never happens.
    settings = schedule(digest_hour=2, harvest_hour=2, digest_weekly_day="sunday")

    assert local_time(settings, datetime(2026, 3, 29, 0, 59)).strftime("%H:%M %Z") == "01:59 CET"
    assert runs(settings, "2026-03-29T00:59") == {PURGE: "2026-03-29"}
    assert local_time(settings, datetime(2026, 3, 29, 1, 0)).strftime("%H:%M %Z") == "03:00 CEST"
    assert runs(settings, "2026-03-29T01:00") == {PURGE: "2026-03-29", HARVEST: "2026-03-29", WEEKLY_DIGEST: "2026-W13"}

    # After the change, 07:00 in Paris is 05:00 UTC, no longer 06:00.
    settings = schedule(digest_weekly_day="sunday")
    assert WEEKLY_DIGEST not in runs(settings, "2026-03-29T04:59")
    assert runs(settings, "2026-03-29T05:00")[WEEKLY_DIGEST] == "2026-W13"


def test_the_autumn_change_in_paris_repeats_an_hour_without_repeating_a_run(schedule, sqlite_database):
    # On Sunday 25 October 2026 Paris goes back from 03:00 CEST to 02:00 CET: 02:xx happens twice.
    settings = schedule(digest_hour=2, digest_weekly_day="sunday")
    first_two_o_clock = datetime(2026, 10, 25, 0, 0)
    second_two_o_clock = datetime(2026, 10, 25, 1, 0)
    assert local_time(settings, first_two_o_clock).strftime("%H:%M %Z") == "02:00 CEST"
    assert local_time(settings, second_two_o_clock).strftime("%H:%M %Z") == "02:00 CET"
    weekly = ScheduledJob(WEEKLY_DIGEST, "2026-W43", digest_period("weekly", date(2026, 10, 25)))
    with sqlite_database.read_session() as session:
        assert weekly in due_jobs(session, settings, first_two_o_clock)
    with sqlite_database.session() as session:
        start_run(session, weekly, first_two_o_clock)
    with sqlite_database.session() as session:
        finish_run(session, weekly, datetime(2026, 10, 25, 0, 5))

    with sqlite_database.read_session() as session:
        assert weekly not in due_jobs(session, settings, second_two_o_clock)

    # After the change, 07:00 in Paris is 06:00 UTC again.
    settings = schedule(digest_weekly_day="sunday")
    assert WEEKLY_DIGEST not in runs(settings, "2026-10-25T05:59")
    assert runs(settings, "2026-10-25T06:00")[WEEKLY_DIGEST] == "2026-W43"


def test_auckland_is_a_day_ahead_of_utc(schedule):
    # Auckland is on summer time (UTC+13) in November: Sunday 18:00 UTC is Monday 07:00 there.
    settings = schedule(digest_time_zone="Pacific/Auckland")

    assert runs(settings, "2026-11-29T17:59") == {PURGE: "2026-11-30", HARVEST: "2026-11-30"}
    assert runs(settings, "2026-11-29T18:00") == {
        PURGE: "2026-11-30",
        HARVEST: "2026-11-30",
        DAILY_DIGEST: "2026-11-30",
        WEEKLY_DIGEST: "2026-W49",
    }
    # In June (winter, UTC+12) the same local hour is an hour later in UTC.
    assert DAILY_DIGEST not in runs(settings, "2026-06-14T18:59")
    assert runs(settings, "2026-06-14T19:00")[DAILY_DIGEST] == "2026-06-15"


def recorded(database: Database) -> dict[tuple[str, str], tuple[datetime, datetime | None]]:
    with database.read_session() as session:
        return {
            (run.job, run.run_key): (run.started_at, run.finished_at) for run in session.scalars(select(ScheduledRun))
        }


def test_a_run_is_due_until_it_finishes_and_an_interrupted_one_resumes(schedule, sqlite_database):
    settings = schedule()
    morning = datetime(2026, 12, 1, 8, 0)
    harvest = ScheduledJob(HARVEST, "2026-12-01")
    with sqlite_database.session() as session:
        start_run(session, harvest, morning)

    # Started and never finished (the worker was killed): still due, and a new start is recorded.
    with sqlite_database.read_session() as session:
        assert harvest in due_jobs(session, settings, datetime(2026, 12, 1, 8, 30))
    with sqlite_database.session() as session:
        start_run(session, harvest, datetime(2026, 12, 1, 8, 30))
    assert recorded(sqlite_database) == {(HARVEST, "2026-12-01"): (datetime(2026, 12, 1, 8, 30), None)}
    with sqlite_database.session() as session:
        finish_run(session, harvest, datetime(2026, 12, 1, 8, 40))

    with sqlite_database.read_session() as session:
        due = due_jobs(session, settings, datetime(2026, 12, 1, 9, 0))
    assert [job.job for job in due] == [PURGE, DAILY_DIGEST]
    assert recorded(sqlite_database) == {
        (HARVEST, "2026-12-01"): (datetime(2026, 12, 1, 8, 30), datetime(2026, 12, 1, 8, 40))
    }


def test_only_the_current_days_runs_are_due(schedule, sqlite_database):
    settings = schedule()
    # Monday's runs started and were never finished; the worker then stayed down until Wednesday.
    monday = scheduled_jobs(settings, datetime(2026, 11, 30, 12, 0))
    with sqlite_database.session() as session:
        for job in monday:
            start_run(session, job, datetime(2026, 11, 30, 12, 0))

    with sqlite_database.read_session() as session:
        due = due_jobs(session, settings, datetime(2026, 12, 2, 12, 0))

    assert [(job.job, job.run_key) for job in due] == [
        (PURGE, "2026-12-02"),
        (HARVEST, "2026-12-02"),
        (DAILY_DIGEST, "2026-12-02"),
    ]
    assert due[2].period == digest_period("daily", date(2026, 12, 2))
