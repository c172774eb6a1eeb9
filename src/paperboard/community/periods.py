"""The periods daily lists cover: a day (`2025-06-04`), an ISO week (`2025-W23`) or a month (`2025-06`).

Weeks are ISO 8601 weeks, as calendars in most of Europe number them: they start on Monday, and week 1 is the one
holding the year's first Thursday, so 2025-W01 starts on 30 December 2024 and some years have a week 53.
Addresses spell a period in exactly one way; anything else is an `InvalidPeriod` whose message says what is wrong.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["day", "week", "month"]

# The last year whose weeks and months end inside Python's calendar (9999-W52 would end in the year 10000).
MAX_YEAR = 9998
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_EXAMPLES: dict[PeriodKind, str] = {
    "day": "YYYY-MM-DD, as in 2025-06-04",
    "week": "YYYY-Www, as in 2025-W23",
    "month": "YYYY-MM, as in 2025-06",
}
# Long enough to recognise what was typed, short enough that a pasted essay does not fill the error page.
_QUOTED_LENGTH = 40


class InvalidPeriod(ValueError):
    """The text names no day, week or month; the message says why, in words fit for the reader."""


@dataclass(frozen=True, slots=True)
class Period:
    """The days from `start` up to, not including, `end`."""

    kind: PeriodKind
    start: date
    end: date

    @property
    def key(self) -> str:
        """The period as addresses spell it."""
        if self.kind == "week":
            return f"{self.week_year:04d}-W{self.week_number:02d}"
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        return self.start.isoformat()

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def week_year(self) -> int:
        """The year an ISO week belongs to: that of its Thursday, which its Monday may precede."""
        return self.start.isocalendar().year

    @property
    def week_number(self) -> int:
        return self.start.isocalendar().week


def period_of(kind: PeriodKind, day: date) -> Period:
    """The day, ISO week or month that holds `day`."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period("week", start, start + timedelta(days=7))
    if kind == "month":
        start = day.replace(day=1)
        return Period("month", start, (start + timedelta(days=31)).replace(day=1))
    return Period("day", day, day + timedelta(days=1))


def weeks_in(year: int) -> int:
    """52 or 53: 28 December always falls in the last ISO week of its year."""
    return date(year, 12, 28).isocalendar().week


def _quoted(text: str) -> str:
    return repr(text if len(text) <= _QUOTED_LENGTH else text[:_QUOTED_LENGTH] + "…")


def _check_year(kind: PeriodKind, text: str, year: int) -> None:
    if not 1 <= year <= MAX_YEAR:
        raise InvalidPeriod(f"There is no {kind} {text}: years run from 0001 to {MAX_YEAR} here.")


def _check_month(kind: PeriodKind, text: str, month: int) -> None:
    if not 1 <= month <= 12:
        raise InvalidPeriod(f"There is no {kind} {text}: months run from 01 to 12.")


def parse_period(kind: PeriodKind, text: str) -> Period:
    """The period `text` spells; InvalidPeriod when it is malformed (`garbage`) or impossible (`2025-02-30`)."""
    pattern = {"day": _DAY, "week": _WEEK, "month": _MONTH}[kind]
    match = pattern.fullmatch(text)
    if match is None:
        raise InvalidPeriod(f"{_quoted(text)} is not a {kind}: write it as {_EXAMPLES[kind]}.")
    year, number = int(match[1]), int(match[2])
    _check_year(kind, text, year)
    if kind == "week":
        if not 1 <= number <= weeks_in(year):
            raise InvalidPeriod(f"There is no week {text}: {year:04d} has ISO weeks 01 to {weeks_in(year)}.")
        return period_of("week", date.fromisocalendar(year, number, 1))
    _check_month(kind, text, number)
    if kind == "month":
        return period_of("month", date(year, number, 1))
    day, days_in_month = int(match[3]), calendar.monthrange(year, number)[1]
    if not 1 <= day <= days_in_month:
        month_name = date(year, number, 1).strftime("%B")
        raise InvalidPeriod(f"There is no day {text}: {month_name} {year:04d} has {days_in_month} days.")
    return period_of("day", date(year, number, day))


def requested_period(day: str | None, week: str | None, month: str | None) -> Period | None:
    """The period named by at most one of a day, a week and a month, as query parameters give them (`date=`,
    `week=`, `month=`); None when none is given. InvalidPeriod for a malformed one, or for more than one."""
    named: list[tuple[PeriodKind, str]] = [
        (kind, text) for kind, text in (("day", day), ("week", week), ("month", month)) if text is not None
    ]
    if len(named) > 1:
        raise InvalidPeriod("Ask for one period at a time: a date, a week or a month.")
    return parse_period(*named[0]) if named else None
