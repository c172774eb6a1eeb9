"""The periods digests cover, named by the day they are sent (in the digest time zone).

- A daily digest is sent on weekdays and covers the days since the previous weekday: Tuesday's covers Monday,
  Monday's covers Friday, Saturday and Sunday, so that nothing listed at a weekend is missed. Its key is the day it
  is sent (`2026-11-30`).
- A weekly digest covers the seven days before the day it is sent. Its key is the ISO week it is sent in
  (`2026-W49`): one weekly digest per week, whatever day it is sent on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

DigestKind = Literal["daily", "weekly"]
DIGEST_KINDS: tuple[DigestKind, ...] = ("daily", "weekly")
_SATURDAY = 5


class NoDigestThatDay(ValueError):
    """Daily digests are not sent at weekends."""


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    kind: DigestKind
    # The day the digest is sent; the days it covers run from `start` up to, not including, `end` (== sent_on).
    sent_on: date
    start: date

    @property
    def end(self) -> date:
        return self.sent_on

    @property
    def key(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.sent_on.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return self.sent_on.isoformat()


def digest_period(kind: DigestKind, sent_on: date) -> DigestPeriod:
    if kind == "weekly":
        return DigestPeriod(kind, sent_on, sent_on - timedelta(days=7))
    if sent_on.weekday() >= _SATURDAY:
        raise NoDigestThatDay(f"{sent_on.isoformat()} is a {sent_on.strftime('%A')}: daily digests go out on weekdays")
    # Monday looks back to Friday; every other weekday to the day before.
    days_back = 3 if sent_on.weekday() == 0 else 1
    return DigestPeriod(kind, sent_on, sent_on - timedelta(days=days_back))
