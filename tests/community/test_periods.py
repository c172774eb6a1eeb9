"""Days, ISO weeks and months as addresses spell them: parsing, boundaries, and what is said about bad ones."""

from datetime import date

import pytest

from paperboard.community.periods import InvalidPeriod, Period, parse_period, period_of, weeks_in


@pytest.mark.parametrize(
    ("kind", "text", "start", "end"),
    [
        ("day", "2025-06-04", date(2025, 6, 4), date(2025, 6, 5)),
        ("day", "2024-02-29", date(2024, 2, 29), date(2024, 3, 1)),
        ("day", "2025-12-31", date(2025, 12, 31), date(2026, 1, 1)),
        # ISO week 1 holds the year's first Thursday, so it may start in December of the year before...
        ("week", "2025-W01", date(2024, 12, 30), date(2025, 1, 6)),
        ("week", "2025-W23", date(2025, 6, 2), date(2025, 6, 9)),
        # ...and some years have a 53rd week that ends in January of the next.
        ("week", "2026-W53", date(2026, 12, 28), date(2027, 1, 4)),
        ("month", "2024-02", date(2024, 2, 1), date(2024, 3, 1)),
        ("month", "2025-12", date(2025, 12, 1), date(2026, 1, 1)),
    ],
)
def test_periods_cover_the_right_days_and_spell_themselves_back(kind, text, start, end):
    period = parse_period(kind, text)

    assert period == Period(kind, start, end)
    assert period.key == text
    assert period_of(kind, period.last_day) == period == period_of(kind, start)


def test_a_week_belongs_to_the_year_of_its_thursday():
    assert period_of("week", date(2025, 1, 1)).key == "2025-W01"
    assert period_of("week", date(2024, 12, 29)).key == "2024-W52"
    assert period_of("week", date(2027, 1, 3)).key == "2026-W53"
    assert (weeks_in(2025), weeks_in(2026), weeks_in(2020)) == (52, 53, 53)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("day", "2025-02-30", "There is no day 2025-02-30: February 2025 has 28 days."),
        ("day", "2024-02-30", "There is no day 2024-02-30: February 2024 has 29 days."),
        ("day", "2025-13-01", "There is no day 2025-13-01: months run from 01 to 12."),
        ("day", "2025-06-00", "There is no day 2025-06-00: June 2025 has 30 days."),
        ("day", "0000-01-01", "There is no day 0000-01-01: years run from 0001 to 9998 here."),
        ("day", "garbage", "'garbage' is not a day: write it as YYYY-MM-DD, as in 2025-06-04."),
        ("day", "2025-6-4", "'2025-6-4' is not a day: write it as YYYY-MM-DD, as in 2025-06-04."),
        ("day", "2025-06-04T00:00", "'2025-06-04T00:00' is not a day"),
        ("week", "2025-W60", "There is no week 2025-W60: 2025 has ISO weeks 01 to 52."),
        ("week", "2025-W53", "There is no week 2025-W53: 2025 has ISO weeks 01 to 52."),
        ("week", "2025-W00", "There is no week 2025-W00"),
        ("week", "2025-w05", "'2025-w05' is not a week: write it as YYYY-Www, as in 2025-W23."),
        ("week", "9999-W52", "There is no week 9999-W52: years run from 0001 to 9998 here."),
        ("month", "2025-13", "There is no month 2025-13: months run from 01 to 12."),
        ("month", "2025-00", "There is no month 2025-00: months run from 01 to 12."),
        ("month", "2025-06-01", "'2025-06-01' is not a month: write it as YYYY-MM, as in 2025-06."),
        ("month", "x" * 500, "'" + "x" * 40 + "…' is not a month"),
    ],
)
def test_impossible_or_malformed_periods_are_refused_with_the_reason(kind, text, message):
    with pytest.raises(InvalidPeriod) as raised:
        parse_period(kind, text)

    assert str(raised.value).startswith(message)
