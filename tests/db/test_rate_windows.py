"""Fixed-window counts in the database: the limit holds for takes at once from many connections, on each backend,
and a window that is over starts afresh."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from paperboard.db.rate_windows import LONGEST_WINDOW, Taken, take, take_up_to

NOW = datetime(2026, 12, 7, 9, 0)
HOUR = timedelta(hours=1)


def take_at(database, key, when, limit=5):
    with database.session() as session:
        return take(session, key, limit=limit, window=HOUR, now=when)


def test_thirty_takes_at_once_get_exactly_the_limit(database):
    with ThreadPoolExecutor(max_workers=30) as pool:
        waits = list(pool.map(lambda _: take_at(database, "sign-up:192.0.2.1", NOW), range(30)))
    assert waits.count(0.0) == 5
    assert all(wait == HOUR.total_seconds() for wait in waits if wait)


def test_a_window_that_is_over_starts_afresh_and_keys_are_apart(database):
    for _ in range(5):
        assert take_at(database, "a", NOW) == 0.0
    assert take_at(database, "a", NOW + timedelta(minutes=45)) == 15 * 60
    assert take_at(database, "b", NOW + timedelta(minutes=45)) == 0.0
    assert take_at(database, "a", NOW + HOUR) == 0.0
    assert [take_at(database, "a", NOW + HOUR) for _ in range(5)] == [0.0] * 4 + [HOUR.total_seconds()]


def test_windows_longer_than_the_housekeeping_keeps_are_refused(sqlite_database):
    with sqlite_database.session() as session, pytest.raises(ValueError):
        take(session, "a", limit=1, window=LONGEST_WINDOW * 2, now=NOW)


def take_some(database, events, when=NOW, limit=5):
    with database.session() as session:
        return take_up_to(session, "api:192.0.2.1", limit=limit, window=HOUR, now=when, events=events)


def test_several_at_once_then_the_places_left_one_by_one(database):
    assert take_some(database, 2) == Taken(2, HOUR.total_seconds())
    assert take_some(database, 2, NOW + timedelta(minutes=10)) == Taken(2, 50 * 60)
    # One place is left: it is taken alone, and then none.
    assert take_some(database, 2, NOW + timedelta(minutes=20)) == Taken(1, 40 * 60)
    assert take_some(database, 2, NOW + timedelta(minutes=30)) == Taken(0, 30 * 60)
    assert take_some(database, 2, NOW + HOUR) == Taken(2, HOUR.total_seconds())


def test_shares_taken_at_once_from_many_connections_never_pass_the_limit(database):
    with ThreadPoolExecutor(max_workers=30) as pool:
        taken = list(pool.map(lambda _: take_some(database, 2, limit=15), range(30)))
    assert sum(each.events for each in taken) == 15
    assert all(each.events in (0, 1, 2) for each in taken)


def test_a_take_counts_between_one_event_and_the_limit(sqlite_database):
    for events in (0, 6):
        with pytest.raises(ValueError):
            take_some(sqlite_database, events)
