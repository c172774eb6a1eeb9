"""Composing a period's digests into the outbox (`digest.compose`, `digest.personal`), against a real database."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import OutboxMessage, Paper, ReaderModel
from paperboard.digest.compose import ComposeSummary, compose_digests
from paperboard.digest.periods import digest_period
from paperboard.personal import reader_models
from paperboard.personal.collections import add_paper as add_paper_to_collection
from paperboard.personal.collections import saved_collection
from paperboard.personal.reader_models import retrain_stale_models
from tests.community.factories import add_listing, add_paper, add_user, add_votes, paper_id
from tests.digest.factories import add_subscriber
from tests.personal.readers import follow_author, mark_not_interested

# Tuesday's daily digest covers Monday 23 November.
DAILY = digest_period("daily", date(2026, 11, 24))
MONDAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 24, 7)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="a secret key for signing the links in these tests")


def digests(database: Database, kind: str = "daily") -> dict[int, dict]:
    """Each subscriber's digest contents, by subscriber id."""
    with database.read_session() as session:
        rows = session.execute(
            select(OutboxMessage.subscriber_id, OutboxMessage.contents).where(OutboxMessage.kind == kind)
        )
        return {subscriber_id: contents for subscriber_id, contents in rows}


def ids(database: Database, *arxiv_ids: str) -> list[int]:
    return [paper_id(database, arxiv_id) for arxiv_id in arxiv_ids]


def add_new_paper(database: Database, arxiv_id: str, title: str, categories: list[str], hour: int = 10) -> None:
    """A paper first published on the period's day, on no list."""
    add_paper(database, arxiv_id, title=title, categories=categories, published_at=datetime(2026, 11, 23, hour))


def test_top_papers_are_the_periods_most_upvoted_and_trending_those_drawing_attention_in_it(
    database: Database, settings: Settings
) -> None:
    for number in range(1, 13):
        add_paper(database, f"2611.{number:05d}", published_at=datetime(2026, 11, 20))
        add_listing(database, f"2611.{number:05d}", MONDAY, upvotes=number)
    moderator = add_user(database, "moderator", role="moderator")
    for arxiv_id, day, upvotes in [
        ("2611.00100", MONDAY, 100),  # hidden by a moderator
        ("2611.00101", date(2026, 11, 24), 50),  # listed after the period
        ("2611.00102", date(2026, 11, 10), 3),  # listed before, upvoted during the period
        ("2611.00103", date(2026, 11, 10), 200),  # listed before, nothing since
    ]:
        add_paper(database, arxiv_id, published_at=datetime(2026, 11, 9))
        add_listing(database, arxiv_id, day, upvotes=upvotes, hidden_by=moderator if arxiv_id == "2611.00100" else None)
    voters = [add_user(database, f"voter{number}") for number in range(3)]
    add_votes(database, "2611.00102", *voters, cast_at=datetime(2026, 11, 23, 20))
    subscriber = add_subscriber(database, "reader@example.org")

    summary = compose_digests(database, settings, DAILY, now=NOW)

    assert summary == ComposeSummary(subscribers=1, composed=1, empty=0, already_composed=0)
    contents = digests(database)[subscriber]
    assert contents["top"] == ids(database, *(f"2611.{number:05d}" for number in range(12, 2, -1)))
    # Three fresh upvotes outweigh the two-day-old imported counts; the papers of `top` are not repeated.
    assert contents["trending"] == ids(database, "2611.00102", "2611.00002", "2611.00001")
    assert contents["for_you"] == []
    assert (contents["start"], contents["end"]) == ("2026-11-23", "2026-11-24")
    with database.read_session() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert (row.kind, row.period_key, row.status, row.attempts) == ("daily", "2026-11-24", "pending", 0)
    assert row.next_attempt_at == NOW


def test_composing_again_adds_nothing(database: Database, settings: Settings) -> None:
    add_paper(database, "2611.00001", published_at=datetime(2026, 11, 20))
    add_listing(database, "2611.00001", MONDAY, upvotes=3)
    subscribers = [add_subscriber(database, f"reader{number}@example.org") for number in range(3)]
    first = compose_digests(database, settings, DAILY, now=NOW)
    with database.read_session() as session:
        message_ids = set(session.scalars(select(OutboxMessage.message_id)))
    later = add_subscriber(database, "later@example.org", confirmed_at=datetime(2026, 11, 23, 12))

    second = compose_digests(database, settings, DAILY, now=NOW)

    assert first == ComposeSummary(subscribers=3, composed=3, empty=0, already_composed=0)
    assert second == ComposeSummary(subscribers=4, composed=1, empty=0, already_composed=3)
    with database.read_session() as session:
        rows = session.execute(select(OutboxMessage.subscriber_id, OutboxMessage.message_id)).all()
    assert sorted(subscriber for subscriber, _ in rows) == sorted([*subscribers, later])
    assert message_ids < {message_id for _, message_id in rows}


def test_only_active_subscribers_of_the_frequency_confirmed_before_the_periods_end_get_one(
    sqlite_database: Database, settings: Settings
) -> None:
    add_paper(sqlite_database, "2611.00001", published_at=datetime(2026, 11, 20))
    add_listing(sqlite_database, "2611.00001", MONDAY, upvotes=3)
    reader = add_subscriber(sqlite_database, "reader@example.org")
    for address, options in [
        ("pending@example.org", {"status": "pending", "confirmed_at": None}),
        ("paused@example.org", {"status": "paused"}),
        ("gone@example.org", {"status": "unsubscribed"}),
        ("weekly@example.org", {"frequency": "weekly"}),
        ("too-late@example.org", {"confirmed_at": datetime(2026, 11, 24, 6)}),
    ]:
        add_subscriber(sqlite_database, address, **options)  # type: ignore[arg-type]

    summary = compose_digests(sqlite_database, settings, DAILY, now=NOW)

    assert summary == ComposeSummary(subscribers=1, composed=1, empty=0, already_composed=0)
    assert list(digests(sqlite_database)) == [reader]


def test_for_you_holds_the_periods_papers_matching_keywords_and_categories(
    sqlite_database: Database, settings: Settings
) -> None:
    database = sqlite_database
    # On the list, so in `top`, which "for you" does not repeat.
    add_paper(
        database,
        "2611.00001",
        title="Scalable Diffusion Models",
        categories=["cs.LG"],
        published_at=datetime(2026, 11, 20),
    )
    add_listing(database, "2611.00001", MONDAY, upvotes=4)
    add_new_paper(database, "2611.00002", "Diffusion Models Generate Molecules", ["q-bio.BM"], hour=9)
    add_new_paper(database, "2611.00003", "A Survey of Graph Neural Networks", ["cs.LG", "stat.ML"])
    add_new_paper(database, "2611.00004", "Quantum Error Correction with Surface Codes", ["quant-ph"])
    add_new_paper(database, "2611.00005", "Modeling diffusion in metals", ["cond-mat.mtrl-sci"], hour=15)
    # Not candidates: first published before the period, withdrawn, or taken off the lists by a moderator.
    add_paper(database, "2611.00006", title="Older diffusion models", published_at=datetime(2026, 11, 20))
    add_new_paper(database, "2611.00007", "Withdrawn diffusion models", ["cs.LG"])
    add_new_paper(database, "2611.00008", "Hidden diffusion models", ["cs.LG"])
    add_listing(database, "2611.00008", MONDAY, hidden_by=add_user(database, "moderator", role="moderator"))
    with database.session() as session:
        session.execute(update(Paper).where(Paper.arxiv_id == "2611.00007").values(deleted_at=NOW))
    keyword = add_subscriber(database, "keyword@example.org", keywords=["diffusion models"])
    archive = add_subscriber(database, "archive@example.org", categories=["cs"])
    both = add_subscriber(database, "both@example.org", categories=["quant-ph", "math"], keywords=["Diffusion models"])
    nothing = add_subscriber(database, "nothing@example.org", keywords=["of the", "zebrafish"], categories=["hep-th"])

    summary = compose_digests(database, settings, DAILY, now=NOW)

    assert summary == ComposeSummary(subscribers=4, composed=4, empty=0, already_composed=0)
    composed = digests(database)
    assert composed[keyword]["top"] == ids(database, "2611.00001")
    # Equal scores: the newer paper first.
    assert composed[keyword]["for_you"] == ids(database, "2611.00005", "2611.00002")
    assert composed[archive]["for_you"] == ids(database, "2611.00003")
    # A keyword counts twice as much as a category.
    assert composed[both]["for_you"] == ids(database, "2611.00005", "2611.00002", "2611.00004")
    # Nothing of theirs this time, but the shared sections still make a digest.
    assert composed[nothing]["for_you"] == []
    assert composed[nothing]["top"] == ids(database, "2611.00001")


def test_a_weekly_digest_covers_the_seven_days_before_it_is_sent(sqlite_database: Database, settings: Settings) -> None:
    weekly = digest_period("weekly", date(2026, 11, 30))
    for arxiv_id, day, upvotes in [
        ("2611.00001", date(2026, 11, 22), 9),
        ("2611.00002", date(2026, 11, 23), 1),
        ("2611.00003", date(2026, 11, 29), 2),
        ("2611.00004", date(2026, 11, 30), 8),
    ]:
        add_paper(sqlite_database, arxiv_id, published_at=datetime(2026, 11, 20))
        add_listing(sqlite_database, arxiv_id, day, upvotes=upvotes)
    subscriber = add_subscriber(sqlite_database, "weekly@example.org", frequency="weekly")
    add_subscriber(sqlite_database, "daily@example.org")

    summary = compose_digests(sqlite_database, settings, weekly, now=datetime(2026, 11, 30, 7))

    assert summary == ComposeSummary(subscribers=1, composed=1, empty=0, already_composed=0)
    with sqlite_database.read_session() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert (row.subscriber_id, row.kind, row.period_key) == (subscriber, "weekly", "2026-W49")
    assert row.contents is not None
    assert row.contents["top"] == ids(sqlite_database, "2611.00003", "2611.00002")
    assert row.contents["trending"] == []
    assert (row.contents["start"], row.contents["end"]) == ("2026-11-23", "2026-11-30")


def test_account_holders_who_tick_their_picks_get_their_feed_s_ranking_the_others_today_s_rules(
    database: Database, settings: Settings
) -> None:
    for arxiv_id, title, author, hour in [
        ("2611.00001", "Quantum Error Correction with Surface Codes", "Grace Hopper", 10),
        ("2611.00002", "Notes on the Analytical Engine", "Ada Lovelace", 11),
        ("2611.00003", "More quantum error correction", "Grace Hopper", 12),
    ]:
        add_paper(database, arxiv_id, title=title, authors=[author], published_at=datetime(2026, 11, 23, hour))
    reader, newcomer = add_user(database, "reader"), add_user(database, "newcomer")
    follow_author(database, reader, "Ada Lovelace")
    mark_not_interested(database, reader, "2611.00003")
    learned = add_subscriber(
        database, "reader@example.org", user=reader, keywords=["quantum error correction"], similar_to_upvoted=True
    )
    without_signals = add_subscriber(database, "new@example.org", user=newcomer, keywords=["quantum error correction"])
    without_account = add_subscriber(database, "anon@example.org", keywords=["quantum error correction"])

    compose_digests(database, settings, DAILY, now=NOW)

    composed = digests(database)
    # The reader's feed puts the followed author first and leaves out the paper they dismissed.
    assert composed[learned]["for_you"][0] == paper_id(database, "2611.00002")
    assert paper_id(database, "2611.00003") not in composed[learned]["for_you"]
    # A subscriber without an account keeps their keywords. An account holder's keywords are their follows
    # (personal.follows), and one who follows nothing has none, whatever the subscription row held: with nothing
    # else in the period's digest, they get none.
    assert composed[without_account]["for_you"] == ids(database, "2611.00003", "2611.00001")
    assert without_signals not in composed


def test_composing_trains_no_model_the_learned_section_comes_from_the_stored_one(
    database: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number, title in enumerate(
        ["Surface codes for quantum error correction", "Decoding quantum surface codes", "Quantum codes and qubits"]
    ):
        add_paper(database, f"2610.{number:05d}", title=title, published_at=datetime(2026, 10, 1))
    for number, topic in enumerate(["protein folding", "galaxy surveys", "steam engines", "crop yields"] * 3):
        add_paper(database, f"2609.{number:05d}", title=f"On {topic} {number}", published_at=datetime(2026, 9, 1))
    for number, title in enumerate(
        ["Quantum surface codes at scale", "Notes on the Analytical Engine", "Qubits and quantum codes"], start=1
    ):
        add_new_paper(database, f"2611.{number:05d}", title, ["cs.LG"], hour=9 + number)
    reader = add_user(database, "reader")
    with database.session() as session:
        saved = saved_collection(session, reader.id)
        for number in range(3):
            add_paper_to_collection(session, saved, session.get_one(Paper, paper_id(database, f"2610.{number:05d}")))
    assert retrain_stale_models(database, tmp_path) == 1
    # The reader acts after the worker's round: at composing time their stored model is out of date.
    mark_not_interested(database, reader, "2611.00003")
    with database.read_session() as session:
        stored = session.get_one(ReaderModel, reader.id)
        assert stored.model and stored.trained_at and stored.trained_at < stored.signals_changed_at
        before = (stored.trained_at, stored.model)
    subscriber = add_subscriber(database, "reader@example.org", user=reader, similar_to_upvoted=True)
    fits: list[int] = []
    real_train = reader_models.train

    def counted_train(*arguments: object) -> object:
        fits.append(1)
        return real_train(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(reader_models, "train", counted_train)

    compose_digests(database, settings, DAILY, now=NOW)

    assert fits == []
    with database.read_session() as session:
        stored = session.get_one(ReaderModel, reader.id)
        assert (stored.trained_at, stored.model) == before
    # The stored model puts the quantum paper first; the paper marked since is left out all the same.
    section = digests(database)[subscriber]["for_you"]
    assert section == ids(database, "2611.00001", "2611.00002")
