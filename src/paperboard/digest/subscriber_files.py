"""Subscribers in and out as CSV, for people moving a list from elsewhere (`paperboard subscribers import|export`).

The columns are `email,frequency,categories,keywords`, with a header line naming them in any order (`email` is the
only one required); an export adds `status`, which an import reads back. The cells follow the subscription form's
rules (`subscriptions.parse_preferences`): `frequency` is `daily` (when empty) or `weekly`; `categories` are arXiv
categories or archives separated by spaces or commas (`cs.CL cs.LG`); `keywords` are separated by commas (so the
cell is quoted when it holds several: `"graph neural networks, retrieval"`).

Imported addresses count as confirmed: they become `active` without a confirmation mail, since whoever runs the site
vouches for the list. An address already subscribed is updated (preferences, and the spelling of the address), never
added twice, even when someone subscribes with it on the site while its batch is being stored. An import never makes
someone who unsubscribed (or whose mail bounced until they were paused) active again: only they can, by subscribing
again. A `status` column of `unsubscribed` or `paused` is applied; `pending` leaves an existing subscriber as it is.

A malformed row is named by its line number and skipped; the good rows are stored, a few hundred per transaction,
so an import that was interrupted can simply be run again.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, and subscribers choose their own keywords
(and, within limits, their addresses): an export puts an apostrophe before such a cell, so that a spreadsheet shows
it as text (CSV injection), and an import takes it off again.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperboard.characters import forbidden_character
from paperboard.db import Database
from paperboard.db.models import Subscriber
from paperboard.digest.addresses import Address, InvalidAddress, parse_address
from paperboard.digest.statuses import SubscriberStatus
from paperboard.digest.subscriptions import (
    InvalidPreferences,
    Preferences,
    parse_preferences,
)

COLUMNS = ("email", "frequency", "categories", "keywords")
EXPORT_COLUMNS = (*COLUMNS, "status")
# Rows stored per transaction.
_BATCH = 500
# Tries of a batch that collided with subscriptions added at the same moment (each try sees those made before it).
_STORE_ATTEMPTS = 3
# What a spreadsheet reads as the start of a formula, and what an export puts before a cell starting so.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_MARK = "'"


class BadFile(ValueError):
    """The file cannot be read as a list of subscribers at all (no header, unknown columns); nothing was stored."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[RowProblem] = field(default_factory=list)
    # Rows that asked for an active subscription of an address that unsubscribed or was paused: left as they are.
    kept_inactive: list[RowProblem] = field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped.extend(other.skipped)
        self.kept_inactive.extend(other.kept_inactive)


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    address: Address
    preferences: Preferences
    status: str


def import_subscribers(
    database: Database,
    source: Iterable[str],
    *,
    now: datetime,
    on_problem: Callable[[RowProblem], None] | None = None,
) -> ImportReport:
    """Import the CSV lines of `source` (a text file opened with `newline=""`); `on_problem` hears of each skipped
    row as it is found. Raises `BadFile` when the header is wrong."""
    report = ImportReport()
    batch: list[_Row] = []
    for row in _parsed_rows(source, report, on_problem):
        batch.append(row)
        if len(batch) == _BATCH:
            _store(database, batch, report, now)
            batch = []
    _store(database, batch, report, now)
    return report


def _parsed_rows(
    source: Iterable[str], report: ImportReport, on_problem: Callable[[RowProblem], None] | None
) -> Iterator[_Row]:
    reader = csv.reader(source)
    columns = _header(reader)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader, None)
            if cells is None:
                return
            row = _row(line, columns, cells) if any(cell.strip() for cell in cells) else None
        except (csv.Error, _BadRow) as error:
            problem = RowProblem(line, f"not readable as CSV ({error})" if isinstance(error, csv.Error) else str(error))
            report.skipped.append(problem)
            if on_problem is not None:
                on_problem(problem)
            continue
        if row is not None:
            yield row


def _header(reader: Iterator[list[str]]) -> list[str]:
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        columns = [cell.strip().lower() for cell in cells]
        unknown = [column for column in columns if column not in EXPORT_COLUMNS]
        if unknown or "email" not in columns or len(set(columns)) != len(columns):
            raise BadFile(
                f"the first line must name the columns, among {', '.join(EXPORT_COLUMNS)} (email is required), "
                f"each once; it reads {','.join(cells)[:200]!r}"
            )
        return columns
    raise BadFile(f"the file is empty: its first line must name the columns ({','.join(COLUMNS)})")


class _BadRow(ValueError):
    """Why a row was skipped, naming its address when it has one."""


def _row(line: int, columns: list[str], cells: list[str]) -> _Row:
    if len(cells) != len(columns):
        raise _BadRow(f"{len(cells)} cells where the header names {len(columns)}")
    values = dict(zip(columns, map(_without_text_mark, cells), strict=True))
    for column, cell in values.items():
        problem = forbidden_character(cell)
        if problem is not None:
            raise _BadRow(f"{column} {problem}")
    email = values["email"].strip()
    try:
        address = parse_address(email)
        preferences = parse_preferences(
            values.get("frequency", "").strip().lower() or "daily",
            values.get("categories", ""),
            values.get("keywords", ""),
        )
    except (InvalidAddress, InvalidPreferences) as error:
        raise _BadRow(f"{email[:60]}: {error}" if email else str(error)) from None
    status = values.get("status", "").strip().lower() or SubscriberStatus.ACTIVE
    if status not in tuple(SubscriberStatus):
        raise _BadRow(f"{email[:60]}: status {status[:20]!r} is not one of {', '.join(SubscriberStatus)}")
    return _Row(line, address, preferences, status)


def _store(database: Database, rows: list[_Row], report: ImportReport, now: datetime) -> None:
    if not rows:
        return
    for attempt in range(1, _STORE_ATTEMPTS + 1):
        stored = ImportReport()
        try:
            _store_once(database, rows, stored, now)
        except IntegrityError:
            # On PostgreSQL someone may subscribe with one of the batch's addresses between the batch's look-up of
            # the addresses it knows and its insert; the batch was rolled back whole, and is read again, finding it.
            if attempt == _STORE_ATTEMPTS:
                raise
            continue
        report.add(stored)
        return


def _store_once(database: Database, rows: list[_Row], report: ImportReport, now: datetime) -> None:
    with database.session() as session:
        keys = {row.address.key for row in rows}
        known = {
            subscriber.email_key: subscriber
            for subscriber in session.scalars(select(Subscriber).where(Subscriber.email_key.in_(keys)))
        }
        for row in rows:
            subscriber = known.get(row.address.key)
            if subscriber is None:
                known[row.address.key] = _new_subscriber(session, row, now)
                report.imported += 1
                continue
            before = _state(subscriber)
            _update(subscriber, row, now)
            if subscriber.status != row.status and row.status == SubscriberStatus.ACTIVE:
                report.kept_inactive.append(
                    RowProblem(row.line, f"{subscriber.email} is {subscriber.status}; it stays so")
                )
            if _state(subscriber) == before:
                report.unchanged += 1
            else:
                report.updated += 1


def _new_subscriber(session: Session, row: _Row, now: datetime) -> Subscriber:
    subscriber = Subscriber(
        email=row.address.email,
        email_key=row.address.key,
        frequency=row.preferences.frequency,
        categories=list(row.preferences.categories),
        keywords=list(row.preferences.keywords),
        similar_to_upvoted=False,
        status=row.status,
        created_at=now,
        confirmed_at=now if row.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED) else None,
        paused_at=now if row.status == SubscriberStatus.PAUSED else None,
        unsubscribed_at=now if row.status == SubscriberStatus.UNSUBSCRIBED else None,
        consecutive_failures=0,
    )
    session.add(subscriber)
    return subscriber


def _update(subscriber: Subscriber, row: _Row, now: datetime) -> None:
    subscriber.email = row.address.email
    subscriber.frequency = row.preferences.frequency
    subscriber.categories = list(row.preferences.categories)
    subscriber.keywords = list(row.preferences.keywords)
    if row.status == SubscriberStatus.ACTIVE and subscriber.status == SubscriberStatus.PENDING:
        subscriber.status = SubscriberStatus.ACTIVE
        subscriber.confirmed_at = now
    elif row.status == SubscriberStatus.PAUSED and subscriber.status in (
        SubscriberStatus.PENDING,
        SubscriberStatus.ACTIVE,
    ):
        subscriber.status = SubscriberStatus.PAUSED
        subscriber.paused_at = now
    elif row.status == SubscriberStatus.UNSUBSCRIBED and subscriber.status != SubscriberStatus.UNSUBSCRIBED:
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
        subscriber.unsubscribed_at = now


def _state(subscriber: Subscriber) -> tuple[object, ...]:
    return (subscriber.email, subscriber.frequency, subscriber.categories, subscriber.keywords, subscriber.status)


def export_subscribers(session: Session, destination: TextIO) -> int:
    """Write every subscriber, whatever its status, as CSV that `import_subscribers` reads back; returns how many."""
    writer = csv.writer(destination, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    written = 0
    for subscriber in session.scalars(select(Subscriber).order_by(Subscriber.id).execution_options(yield_per=1000)):
        cells = (
            subscriber.email,
            subscriber.frequency,
            " ".join(subscriber.categories),
            ", ".join(subscriber.keywords),
            subscriber.status,
        )
        writer.writerow([_with_text_mark(cell) for cell in cells])
        written += 1
    return written


def _with_text_mark(cell: str) -> str:
    return _TEXT_MARK + cell if cell.startswith(_FORMULA_STARTS) else cell


def _without_text_mark(cell: str) -> str:
    return cell[1:] if cell.startswith(_TEXT_MARK) and cell[1:].startswith(_FORMULA_STARTS) else cell
