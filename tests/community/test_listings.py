"""Daily lists as a service: submission rules, fetching from a local arXiv, ranking, periods, moderation, trending."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from paperboard.clock import utcnow
from paperboard.community.accounts import suspend
from paperboard.community.listings import (
    AlreadyListed,
    FetchState,
    ListingNotFound,
    MalformedId,
    PaperTooOld,
    PaperWithdrawn,
    Submission,
    SubmissionRefused,
    SubmitterSuspended,
    fetch_state,
    hidden_listings,
    hide_listing,
    latest_listed_day,
    neighbouring_periods,
    paper_cards,
    ranked_listings,
    submit_paper,
    today,
    unhide_listing,
)
from paperboard.community.periods import parse_period, period_of
from paperboard.community.trending import FORMULA, trending_listings
from paperboard.db import Database
from paperboard.db.models import Listing, Paper, SubmissionFetch, User
from tests.community.factories import add_comment, add_listing, add_paper, add_user, add_votes

MAX_AGE = 14


def listings(database: Database) -> list[tuple[str, date, int | None]]:
    with database.read_session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(Paper.arxiv_id, Listing.day, Listing.submitter_id)
                .join(Paper, Paper.id == Listing.paper_id)
                .order_by(Paper.arxiv_id)
            )
        ]


def submit(database: Database, user: User, text: str) -> Submission | FetchState:
    return submit_paper(database, user, text, max_age_days=MAX_AGE)


def refusal(database: Database, user: User, text: str) -> SubmissionRefused:
    with pytest.raises(SubmissionRefused) as raised:
        submit(database, user, text)
    return raised.value


# Submitting


def test_a_catalogued_paper_is_listed_today_whatever_form_its_id_takes(database):
    add_paper(database, "2506.00001")
    ann = add_user(database, "ann")
    before = utcnow()

    submission = submit(database, ann, " https://arxiv.org/abs/2506.00001v2 ")

    assert (submission.arxiv_id, submission.day) == ("2506.00001", today())
    assert listings(database) == [("2506.00001", today(), ann.id)]
    with database.read_session() as session:
        listing = session.scalars(select(Listing)).one()
    assert before <= listing.submitted_at <= utcnow()
    assert (listing.imported_upvotes, listing.imported_comments, listing.hidden_at) == (0, 0, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not an id", "'not an id' is not an arXiv id (expected e.g. 2506.03781 or hep-th/9901001)."),
        ("", "The arXiv id is empty."),
        ("2513.00001", "'2513.00001' is not an arXiv id: month 13 does not exist."),
        ("https://arxiv.org/list/cs.CL/new", "is an arXiv address but not one of a paper."),
    ],
)
def test_a_malformed_id_is_refused_with_the_reason(sqlite_database, text, message):
    ann = add_user(sqlite_database, "ann")

    refused = refusal(sqlite_database, ann, text)

    assert isinstance(refused, MalformedId)
    assert str(refused).endswith(message)
    assert listings(sqlite_database) == []


def test_a_paper_first_published_too_long_ago_is_refused_with_its_date(database):
    add_paper(database, "2506.00001", days_old=MAX_AGE)
    add_paper(database, "2506.00002", days_old=MAX_AGE + 1)
    ann = add_user(database, "ann")

    submit(database, ann, "2506.00001")
    refused = refusal(database, ann, "2506.00002")

    published = (utcnow() - timedelta(days=MAX_AGE + 1)).date()
    assert isinstance(refused, PaperTooOld)
    assert str(refused) == (
        f"2506.00002 was first published on {published.isoformat()}, {MAX_AGE + 1} days ago; "
        f"only papers first published in the last {MAX_AGE} days may be submitted."
    )
    assert [arxiv_id for arxiv_id, _, _ in listings(database)] == ["2506.00001"]


def test_a_paper_is_listed_once_even_when_hidden(database):
    add_paper(database, "2506.00001")
    add_paper(database, "2506.00002")
    ann, ben = add_user(database, "ann"), add_user(database, "ben")
    moderator = add_user(database, "mod", role="moderator")
    submit(database, ann, "2506.00001")
    add_listing(database, "2506.00002", date(2025, 6, 4), hidden_by=moderator)

    again = refusal(database, ben, "arXiv:2506.00001")
    hidden = refusal(database, ben, "2506.00002")

    assert isinstance(again, AlreadyListed)
    assert str(again) == f"2506.00001 is already listed on {today().isoformat()}."
    assert isinstance(hidden, AlreadyListed)
    assert str(hidden) == "2506.00002 was listed on 2025-06-04 and removed by a moderator; it cannot be listed again."
    assert listings(database)[0] == ("2506.00001", today(), ann.id)


def test_a_withdrawn_paper_is_refused(sqlite_database):
    add_paper(sqlite_database, "2506.00001", deleted_at=utcnow())
    ann = add_user(sqlite_database, "ann")

    refused = refusal(sqlite_database, ann, "2506.00001")

    assert isinstance(refused, PaperWithdrawn)
    assert str(refused) == "2506.00001 was withdrawn from arXiv, so it cannot be listed."
    assert listings(sqlite_database) == []


def test_a_suspended_user_cannot_submit(database):
    add_paper(database, "2506.00001")
    ann = add_user(database, "ann")
    with database.session() as session:
        suspend(session.get(User, ann.id))

    # `ann` is the copy from before the suspension, as a signed-in request might still hold.
    refused = refusal(database, ann, "2506.00001")

    assert isinstance(refused, SubmitterSuspended)
    assert str(refused) == "A suspended account cannot submit papers."
    assert listings(database) == []


def submissions_at_once(database: Database, text: str, submitters: int) -> list[Submission | FetchState | Exception]:
    """What each of `submitters` new users got for submitting `text` at the same moment."""
    users = [add_user(database, f"user{number}") for number in range(submitters)]
    start = threading.Barrier(len(users))
    outcomes: list[Submission | FetchState | Exception] = []

    def submit_at_once(user: User) -> None:
        start.wait()
        try:
            outcomes.append(submit(database, user, text))
        except SubmissionRefused as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=submit_at_once, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_simultaneous_submissions_of_one_paper_list_it_once(database):
    add_paper(database, "2506.00001")

    outcomes = submissions_at_once(database, "2506.00001", 6)

    assert sum(isinstance(outcome, Submission) for outcome in outcomes) == 1
    refusals = [outcome for outcome in outcomes if isinstance(outcome, SubmissionRefused)]
    assert len(refusals) == 5 and all(isinstance(refused, AlreadyListed) for refused in refusals)
    assert len(listings(database)) == 1


# Papers the catalogue lacks: queued for the worker (tests/community/test_submission_fetches.py fetches them)


def queued(database: Database) -> list[tuple[str, int, str, int]]:
    with database.read_session() as session:
        return [
            (fetch.arxiv_id, fetch.submitter_id, fetch.status, fetch.attempts)
            for fetch in session.scalars(select(SubmissionFetch).order_by(SubmissionFetch.arxiv_id))
        ]


def test_a_paper_the_catalogue_lacks_is_queued_for_the_worker_once_and_answered_pending(database):
    ann, ben = add_user(database, "ann"), add_user(database, "ben")

    first = submit(database, ann, "https://arxiv.org/pdf/2611.00042v1")
    again = submit(database, ann, "arXiv:2611.00042")
    someone_else = refusal(database, ben, "2611.00042")

    assert isinstance(first, FetchState) and first == again
    assert (first.arxiv_id, first.status) == ("2611.00042", "pending")
    assert first.message == "We are fetching 2611.00042 from arXiv; it will be listed when it arrives."
    assert isinstance(someone_else, AlreadyListed)
    assert str(someone_else) == (
        "2611.00042 was submitted by someone else and is being fetched from arXiv; it will be listed when it arrives."
    )
    assert queued(database) == [("2611.00042", ann.id, "pending", 0)]
    assert listings(database) == []
    with database.read_session() as session:
        assert fetch_state(session, ann, "2611.00042") == first
        assert fetch_state(session, ben, "2611.00042") is None


def test_simultaneous_submissions_of_an_unknown_paper_queue_it_once(database):
    outcomes = submissions_at_once(database, "2611.00042", 6)

    assert sum(isinstance(outcome, FetchState) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, AlreadyListed) for outcome in outcomes) == 5
    assert len(queued(database)) == 1


def test_a_refused_submission_may_be_made_again_and_is_queued_afresh(database):
    ann, ben = add_user(database, "ann"), add_user(database, "ben")
    submit(database, ann, "2611.00042")
    with database.session() as session:
        fetch = session.scalars(select(SubmissionFetch)).one()
        fetch.status, fetch.attempts, fetch.message = "refused", 3, "arXiv has no paper 2611.00042."

    again = submit(database, ben, "2611.00042")

    assert isinstance(again, FetchState) and again.status == "pending"
    assert queued(database) == [("2611.00042", ben.id, "pending", 0)]


# Lists


def ranked_ids(database: Database, kind: str, text: str) -> list[str]:
    period = parse_period(kind, text)  # type: ignore[arg-type]
    with database.read_session() as session:
        return [
            card.arxiv_id for card in paper_cards(session, ranked_listings(session, period.start, period.end), None)
        ]


def test_a_day_is_ranked_by_imported_plus_local_upvotes_ties_going_to_the_earlier_submission(database):
    day = date(2025, 6, 4)
    for number in range(1, 6):
        add_paper(database, f"2506.0000{number}", authors=[f"Author {number}"], code_url="https://github.com/x/y")
    ann, ben, cat = (add_user(database, name) for name in ("ann", "ben", "cat"))
    # 2 imported + 2 local = 4; 4 imported; 3 local; 4 imported but submitted later; 0.
    add_listing(
        database, "2506.00001", day, submitted_at=datetime(2025, 6, 4, 9), upvotes=2, imported_submitter="akhaliq"
    )
    add_listing(database, "2506.00002", day, submitted_at=datetime(2025, 6, 4, 8), upvotes=4, github_stars=120)
    add_listing(database, "2506.00003", day, submitted_at=datetime(2025, 6, 4, 7), submitter=cat)
    add_listing(database, "2506.00004", day, submitted_at=datetime(2025, 6, 4, 10), upvotes=4)
    add_listing(database, "2506.00005", day, submitted_at=datetime(2025, 6, 4, 6), comments=3)
    add_votes(database, "2506.00001", ann, ben)
    add_votes(database, "2506.00003", ann, ben, cat)
    add_comment(database, "2506.00005", ann)
    add_comment(database, "2506.00005", ben, hidden=True)

    with database.read_session() as session:
        ranked = ranked_listings(session, day, day + timedelta(days=1))
        cards = paper_cards(session, ranked, ann)

    assert [card.arxiv_id for card in cards] == ["2506.00002", "2506.00001", "2506.00004", "2506.00003", "2506.00005"]
    assert [card.upvotes for card in cards] == [4, 4, 4, 3, 0]
    assert [card.voted for card in cards] == [False, True, False, True, False]
    assert [card.submitter for card in cards] == [None, "akhaliq", None, "cat", None]
    assert [card.comments for card in cards] == [0, 0, 0, 0, 4]
    first = cards[0]
    assert (first.title, first.authors, first.day, first.github_stars) == (
        "A paper numbered 2506.00002",
        ["Author 2"],
        day,
        120,
    )
    assert first.abstract_start == "We study something and find something else."
    assert first.code_url == "https://github.com/x/y" and not first.is_new


def test_only_todays_listings_are_new(sqlite_database):
    add_paper(sqlite_database, "2506.00001")
    add_paper(sqlite_database, "2506.00002")
    add_listing(sqlite_database, "2506.00001", today())
    add_listing(sqlite_database, "2506.00002", today() - timedelta(days=1))

    with sqlite_database.read_session() as session:
        cards = paper_cards(session, ranked_listings(session, today() - timedelta(days=1)), None)

    assert {card.arxiv_id: card.is_new for card in cards} == {"2506.00001": True, "2506.00002": False}


def test_the_start_of_a_long_abstract_is_read_not_all_of_it(sqlite_database):
    add_paper(sqlite_database, "2506.00001", abstract="word " * 2000)
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4))

    with sqlite_database.read_session() as session:
        (card,) = paper_cards(session, ranked_listings(session, date(2025, 6, 4)), None)

    assert card.abstract_start == "word " * 80


def test_weeks_and_months_gather_their_days_across_a_year_end(database):
    days = {
        "2506.00001": date(2024, 12, 29),  # Sunday of 2024-W52
        "2506.00002": date(2024, 12, 30),  # Monday of 2025-W01, still December
        "2506.00003": date(2025, 1, 5),  # Sunday of 2025-W01
        "2506.00004": date(2025, 1, 6),  # Monday of 2025-W02
    }
    for number, (arxiv_id, day) in enumerate(days.items()):
        add_paper(database, arxiv_id)
        add_listing(database, arxiv_id, day, upvotes=10 - number)

    assert ranked_ids(database, "week", "2024-W52") == ["2506.00001"]
    assert ranked_ids(database, "week", "2025-W01") == ["2506.00002", "2506.00003"]
    assert ranked_ids(database, "week", "2025-W02") == ["2506.00004"]
    assert ranked_ids(database, "month", "2024-12") == ["2506.00001", "2506.00002"]
    assert ranked_ids(database, "month", "2025-01") == ["2506.00003", "2506.00004"]
    assert ranked_ids(database, "day", "2025-01-05") == ["2506.00003"]
    assert ranked_ids(database, "day", "2025-01-04") == []


def test_neighbours_are_the_nearest_periods_with_visible_listings(database):
    moderator = add_user(database, "mod", role="moderator")
    for arxiv_id, day, hidden_by in [
        ("2506.00001", date(2025, 5, 30), None),
        ("2506.00002", date(2025, 6, 2), moderator),  # hidden: its day counts as empty
        ("2506.00003", date(2025, 6, 4), None),
        ("2506.00004", date(2025, 6, 20), None),
        ("2506.00005", date(2025, 8, 1), None),
    ]:
        add_paper(database, arxiv_id)
        add_listing(database, arxiv_id, day, hidden_by=hidden_by)

    with database.read_session() as session:
        assert neighbouring_periods(session, period_of("day", date(2025, 6, 4))) == (
            period_of("day", date(2025, 5, 30)),
            period_of("day", date(2025, 6, 20)),
        )
        # A day without listings has neighbours too, so that a link to it is never a dead end.
        assert neighbouring_periods(session, period_of("day", date(2025, 6, 10))) == (
            period_of("day", date(2025, 6, 4)),
            period_of("day", date(2025, 6, 20)),
        )
        assert neighbouring_periods(session, parse_period("week", "2025-W23")) == (
            parse_period("week", "2025-W22"),
            parse_period("week", "2025-W25"),
        )
        assert neighbouring_periods(session, parse_period("month", "2025-06")) == (
            parse_period("month", "2025-05"),
            parse_period("month", "2025-08"),
        )
        assert neighbouring_periods(session, parse_period("month", "2025-08")) == (
            parse_period("month", "2025-06"),
            None,
        )
        assert neighbouring_periods(session, parse_period("day", "2025-05-30"))[0] is None
        assert latest_listed_day(session) == date(2025, 8, 1)


def test_withdrawn_papers_drop_out_of_the_lists(sqlite_database):
    add_paper(sqlite_database, "2506.00001")
    add_paper(sqlite_database, "2506.00002", deleted_at=utcnow())
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 3))
    add_listing(sqlite_database, "2506.00002", date(2025, 6, 4))

    assert ranked_ids(sqlite_database, "month", "2025-06") == ["2506.00001"]
    with sqlite_database.read_session() as session:
        assert latest_listed_day(session) == date(2025, 6, 3)


# Moderation


def test_a_moderator_hides_a_paper_from_the_lists_and_shows_it_again(database):
    add_paper(database, "2506.00001")
    add_paper(database, "2506.00002")
    add_listing(database, "2506.00001", date(2025, 6, 4), upvotes=5)
    add_listing(database, "2506.00002", date(2025, 6, 4))
    moderator = add_user(database, "mod", role="moderator")
    other = add_user(database, "admin", role="admin")

    with database.session() as session:
        hide_listing(session, moderator, "2506.00001")
    with database.session() as session:
        first_hidden_at = session.scalars(select(Listing.hidden_at).where(Listing.hidden_at.is_not(None))).one()
        # Hiding again, by someone else, keeps who hid it first and when.
        hide_listing(session, other, "2506.00001")

    assert ranked_ids(database, "day", "2025-06-04") == ["2506.00002"]
    with database.read_session() as session:
        (hidden,) = hidden_listings(session, parse_period("day", "2025-06-04"))
    assert (hidden.arxiv_id, hidden.day, hidden.hidden_at, hidden.hidden_by) == (
        "2506.00001",
        date(2025, 6, 4),
        first_hidden_at,
        "mod",
    )

    with database.session() as session:
        unhide_listing(session, moderator, "2506.00001")

    assert ranked_ids(database, "day", "2025-06-04") == ["2506.00001", "2506.00002"]
    with database.read_session() as session:
        assert hidden_listings(session, parse_period("day", "2025-06-04")) == []


def test_only_moderators_hide_and_only_listed_papers(sqlite_database):
    add_paper(sqlite_database, "2506.00001")
    add_paper(sqlite_database, "2506.00002")
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4))
    user = add_user(sqlite_database, "ann")
    moderator = add_user(sqlite_database, "mod", role="moderator")

    with sqlite_database.session() as session, pytest.raises(PermissionError):
        hide_listing(session, user, "2506.00001")
    with sqlite_database.session() as session, pytest.raises(ListingNotFound, match=r"2506\.00002 is not on any list"):
        hide_listing(session, moderator, "2506.00002")

    assert ranked_ids(sqlite_database, "day", "2025-06-04") == ["2506.00001"]


# Trending


def trending_ids(database: Database, now: datetime) -> list[str]:
    with database.read_session() as session:
        entries = trending_listings(session, limit=10, now=now)
        return [card.arxiv_id for card in paper_cards(session, [entry.listing for entry in entries], None)]


def test_trending_follows_when_votes_were_cast_not_how_many(database):
    now = datetime(2025, 6, 10, 12)
    voters = [add_user(database, f"voter{number}") for number in range(5)]
    for arxiv_id in ("2506.00001", "2506.00002"):
        add_paper(database, arxiv_id)
        add_listing(database, arxiv_id, date(2025, 6, 8))
    add_votes(database, "2506.00001", *voters, cast_at=now - timedelta(days=2))
    add_votes(database, "2506.00002", voters[0], cast_at=now - timedelta(minutes=30))

    # One fresh vote outweighs five from two days ago...
    assert trending_ids(database, now) == ["2506.00002", "2506.00001"]
    # ...but the day those five were cast, they led.
    assert trending_ids(database, now - timedelta(days=2)) == ["2506.00001", "2506.00002"]


def test_the_trending_score_is_the_documented_formula(database):
    now = datetime(2025, 6, 10, 12)
    ann, ben = add_user(database, "ann"), add_user(database, "ben")
    add_paper(database, "2506.00001")
    add_listing(
        database, "2506.00001", date(2025, 6, 10), submitted_at=now - timedelta(hours=10), upvotes=2, comments=1
    )
    add_votes(database, "2506.00001", ann, cast_at=now - timedelta(hours=1))
    add_comment(database, "2506.00001", ben, written_at=now - timedelta(hours=3))
    add_comment(database, "2506.00001", ann, written_at=now - timedelta(hours=1), hidden=True)

    with database.read_session() as session:
        (entry,) = trending_listings(session, limit=10, now=now)

    assert FORMULA.gravity == 1.8 and FORMULA.age_offset_hours == 2 and FORMULA.comment_weight == 0.5
    # One vote an hour old, one visible comment three hours old, 2 upvotes and 1 comment imported ten hours ago.
    expected = 1 / 3**1.8 + 0.5 / 5**1.8 + 2 / 12**1.8 + 0.5 * 1 / 12**1.8
    assert entry.score == pytest.approx(expected)
    assert entry.listing.upvotes == 3


def test_trending_ranks_recent_visible_listings_only(sqlite_database):
    now = datetime(2025, 6, 30, 12)
    moderator = add_user(sqlite_database, "mod", role="moderator")
    for arxiv_id, day, hidden_by in [
        ("2506.00001", date(2025, 5, 30), None),  # listed 31 days ago
        ("2506.00002", date(2025, 6, 1), None),
        ("2506.00003", date(2025, 6, 29), moderator),
        ("2506.00004", date(2025, 6, 29), None),
    ]:
        add_paper(sqlite_database, arxiv_id)
        add_listing(sqlite_database, arxiv_id, day, upvotes=100, hidden_by=hidden_by)

    # Imported upvotes count as cast at submission: the paper submitted yesterday leads.
    assert trending_ids(sqlite_database, now) == ["2506.00004", "2506.00002"]


def test_equal_trending_scores_go_to_the_earlier_submission(sqlite_database):
    now = datetime(2025, 6, 30, 12)
    for arxiv_id, submitted_at in [("2506.00001", datetime(2025, 6, 29, 9)), ("2506.00002", datetime(2025, 6, 29, 8))]:
        add_paper(sqlite_database, arxiv_id)
        add_listing(sqlite_database, arxiv_id, date(2025, 6, 29), submitted_at=submitted_at)

    assert trending_ids(sqlite_database, now) == ["2506.00002", "2506.00001"]
