"""The per-reader ranking behind "for you": each signal moves the ranking the way a reader expects, with reasons.

Collections and upvotes go through their services; follows, claims and not-interested marks are written with the ORM
(their services are built on other branches), each followed by `signals_changed` as those services call it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from paperboard.catalog.authors import author_key
from paperboard.catalog.store import upsert_papers
from paperboard.clock import utcnow
from paperboard.community.accounts import create_user, hash_password
from paperboard.community.votes import set_vote
from paperboard.db import Database
from paperboard.db.locks import exclusive_lock
from paperboard.db.models import (
    AuthorClaim,
    Follow,
    Listing,
    NotInterested,
    Paper,
    ReaderModel,
    User,
)
from paperboard.personal import reader_models
from paperboard.personal.activity import signals_changed
from paperboard.personal.collections import add_paper, create_collection, saved_collection
from paperboard.personal.ranking import (
    NO_SIGNAL_REASON,
    Recommendation,
    rank_for_reader,
    rank_for_readers,
    reader_has_signals,
)
from paperboard.personal.reader_models import retrain_stale_models
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending
from tests.catalog.factories import make_record
from tests.conftest import PASSWORD

# Three fields with their own words, authors and categories; each paper mixes in a few words every field uses.
TOPICS = {
    "proteins": (
        "protein folding structure residue enzyme binding amino sequence molecular dynamics conformation",
        ["Rosa Fold", "Ivan Helix", "Mia Enzyme", "Omar Residue"],
        ["q-bio.BM"],
    ),
    "language": (
        "language model token transformer translation text corpus pretraining prompt dialogue",
        ["Lena Token", "Paul Prompt", "Kai Corpus", "Nora Syntax"],
        ["cs.CL"],
    ),
    "galaxies": (
        "galaxy cluster redshift dark matter halo telescope survey stellar cosmological lensing",
        ["Vera Halo", "Tom Redshift", "Ines Lensing", "Ugo Stellar"],
        ["astro-ph.GA"],
    ),
}
SHARED_WORDS = "we propose method results show approach new analysis data study"
PAPERS_PER_TOPIC = 12


@dataclass
class Catalogue:
    database: Database
    ids: dict[str, list[int]]  # topic -> paper ids, in the order they were made

    @property
    def all_ids(self) -> list[int]:
        return [paper_id for ids in self.ids.values() for paper_id in ids]


def _topic_record(topic: str, number: int, rng: random.Random) -> object:
    words, authors, categories = TOPICS[topic]
    vocabulary = words.split()
    title = " ".join(rng.sample(vocabulary, 4)).capitalize()
    abstract = " ".join(rng.choices(vocabulary, k=30) + rng.choices(SHARED_WORDS.split(), k=15)) + "."
    return make_record(
        f"2601.{list(TOPICS).index(topic)}{number:04d}",
        title=f"{title} {number}",
        abstract=abstract,
        authors=rng.sample(authors, 2),
        categories=categories,
        published_at=f"2026-01-{number + 1:02d}",
    )


@pytest.fixture
def catalogue(database: Database) -> Iterator[Catalogue]:
    rng = random.Random(18)
    records = [_topic_record(topic, number, rng) for topic in TOPICS for number in range(PAPERS_PER_TOPIC)]
    with database.session() as session:
        upsert_papers(session, records)  # type: ignore[arg-type]
        rows = session.execute(select(Paper.arxiv_id, Paper.id)).all()
    by_arxiv_id = dict(rows)
    ids = {
        topic: [by_arxiv_id[f"2601.{index}{number:04d}"] for number in range(PAPERS_PER_TOPIC)]
        for index, topic in enumerate(TOPICS)
    }
    yield Catalogue(database, ids)


def _user(database: Database, name: str = "reader") -> int:
    with database.session() as session:
        return create_user(session, name, hash_password(PASSWORD)).id


def _save(database: Database, user_id: int, paper_ids: list[int], collection: str = "Saved") -> None:
    with database.session() as session:
        if collection == "Saved":
            target = saved_collection(session, user_id)
        else:
            target = create_collection(session, user_id, collection, private=True)
        for paper_id in paper_ids:
            add_paper(session, target, session.get_one(Paper, paper_id))


def _follow(database: Database, user_id: int, kind: str, target_key: str, label: str, **fields: object) -> None:
    with database.session() as session:
        session.add(
            Follow(user_id=user_id, kind=kind, target_key=target_key, label=label, created_at=utcnow(), **fields)
        )
        signals_changed(session, user_id)


def _not_interested(database: Database, user_id: int, paper_ids: list[int]) -> None:
    with database.session() as session:
        for paper_id in paper_ids:
            session.add(NotInterested(user_id=user_id, paper_id=paper_id, created_at=utcnow()))
        signals_changed(session, user_id)


def _rank(database: Database, user_id: int, candidates: list[int]) -> list[Recommendation]:
    with database.session() as session:
        return rank_for_reader(session, user_id, candidates)


def _positions(ranking: list[Recommendation], paper_ids: list[int]) -> list[int]:
    order = [item.paper_id for item in ranking]
    return sorted(order.index(paper_id) for paper_id in paper_ids)


def test_a_reader_with_nothing_gets_every_candidate_in_order_and_is_told_so(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    with catalogue.database.session() as session:
        assert not reader_has_signals(session, reader)
    ranking = _rank(catalogue.database, reader, catalogue.all_ids)
    assert [item.paper_id for item in ranking] == catalogue.all_ids
    assert {item.reason for item in ranking} == {NO_SIGNAL_REASON}


def test_saved_papers_bring_their_field_first_with_the_paper_they_are_like(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    saved = catalogue.ids["proteins"][:4]
    _save(catalogue.database, reader, saved)
    with catalogue.database.session() as session:
        assert reader_has_signals(session, reader)
    candidates = [paper_id for paper_id in catalogue.all_ids if paper_id not in saved]
    ranking = _rank(catalogue.database, reader, candidates)

    assert len(ranking) == len(candidates)
    proteins = catalogue.ids["proteins"][4:]
    assert _positions(ranking, proteins) == list(range(len(proteins)))
    with catalogue.database.read_session() as session:
        saved_titles = set(session.scalars(select(Paper.title).where(Paper.id.in_(saved))))
    for item in ranking[: len(proteins)]:
        assert item.reason.startswith("Like '") and item.reason.endswith("' in Saved")
        assert item.reason[len("Like '") : -len("' in Saved")] in saved_titles
    assert ranking[0].score > ranking[-1].score


def test_a_collection_of_ones_own_names_itself_in_the_reason(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    _save(catalogue.database, reader, catalogue.ids["galaxies"][:3], collection="Sky surveys")
    ranking = _rank(catalogue.database, reader, catalogue.ids["galaxies"][3:] + catalogue.ids["language"])
    assert ranking[0].paper_id in catalogue.ids["galaxies"]
    assert ranking[0].reason.endswith("' in Sky surveys")


def test_upvotes_teach_the_model(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    with catalogue.database.session() as session:
        user = session.get(User, reader)
        for paper_id in catalogue.ids["language"][:3]:
            set_vote(session, user, paper_id, voted=True)
    candidates = catalogue.ids["proteins"] + catalogue.ids["language"][3:] + catalogue.ids["galaxies"]
    ranking = _rank(catalogue.database, reader, candidates)
    assert _positions(ranking, catalogue.ids["language"][3:]) == list(range(PAPERS_PER_TOPIC - 3))
    assert ranking[0].reason.endswith(", which you upvoted")


def test_claimed_papers_are_the_readers_own(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    with catalogue.database.session() as session:
        session.add(
            AuthorClaim(
                user_id=reader,
                name="Vera Halo",
                name_key=author_key("Vera Halo"),
                status="approved",
                created_at=utcnow(),
            )
        )
        signals_changed(session, reader)
    ranking = _rank(catalogue.database, reader, catalogue.ids["proteins"] + catalogue.ids["galaxies"])
    assert ranking[0].paper_id in catalogue.ids["galaxies"]
    assert ranking[0].reason.startswith("Like your paper '")


def test_a_pending_claim_teaches_nothing(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    with catalogue.database.session() as session:
        session.add(
            AuthorClaim(
                user_id=reader,
                name="Vera Halo",
                name_key=author_key("Vera Halo"),
                status="pending",
                created_at=utcnow(),
            )
        )
    with catalogue.database.session() as session:
        assert not reader_has_signals(session, reader)


def test_a_followed_author_comes_first_and_is_named(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    _save(catalogue.database, reader, catalogue.ids["proteins"][:3])
    _follow(catalogue.database, reader, "author", author_key("Tom Redshift"), "Tom Redshift")
    ranking = _rank(catalogue.database, reader, catalogue.all_ids[3:])
    with catalogue.database.read_session() as session:
        by_tom = {
            paper.id
            for paper in session.scalars(select(Paper).where(Paper.id.in_(catalogue.ids["galaxies"])))
            if "Tom Redshift" in paper.authors
        }
    assert by_tom
    assert {item.paper_id for item in ranking[: len(by_tom)]} == by_tom
    assert {item.reason for item in ranking[: len(by_tom)]} == {"You follow Tom Redshift"}


def test_a_followed_category_a_saved_search_and_a_followed_user(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    _follow(catalogue.database, reader, "category", "cs.CL", "cs.CL")
    ranking = _rank(catalogue.database, reader, catalogue.all_ids)
    assert _positions(ranking, catalogue.ids["language"]) == list(range(PAPERS_PER_TOPIC))
    assert ranking[0].reason == "In cs.CL, which you follow"

    _follow(catalogue.database, reader, "search", "lensing", "lensing")
    ranking = _rank(catalogue.database, reader, catalogue.all_ids)
    with catalogue.database.read_session() as session:
        lensing = {
            paper.id
            for paper in session.scalars(select(Paper).where(Paper.id.in_(catalogue.all_ids)))
            # A saved search reads authors too, as the site's search does ("Ines Lensing").
            if "lensing" in f"{paper.title} {paper.abstract} {' '.join(paper.authors)}".lower()
        }
    matching = [item for item in ranking if item.reason == "Matches your saved search 'lensing'"]
    assert {item.paper_id for item in matching} == lensing
    assert min(_positions(ranking, sorted(lensing))) < PAPERS_PER_TOPIC

    submitter = _user(catalogue.database, "submitter")
    submitted = catalogue.ids["proteins"][5]
    with catalogue.database.session() as session:
        session.add(Listing(paper_id=submitted, day=date(2026, 1, 6), submitted_at=utcnow(), submitter_id=submitter))
    _follow(catalogue.database, reader, "user", f"user:{submitter}", "submitter", followed_user_id=submitter)
    ranking = _rank(catalogue.database, reader, catalogue.all_ids)
    assert ranking[0] == Recommendation(submitted, ranking[0].score, "Submitted by @submitter, whom you follow")


def test_not_interested_papers_are_never_returned_and_push_their_field_down(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    # A reader of two fields: they save proteins and galaxies alike.
    _save(catalogue.database, reader, catalogue.ids["proteins"][:3] + catalogue.ids["galaxies"][:3])
    candidates = catalogue.ids["proteins"][3:] + catalogue.ids["galaxies"][3:] + catalogue.ids["language"]
    before = _rank(catalogue.database, reader, candidates)
    dismissed = catalogue.ids["galaxies"][3:6]
    _not_interested(catalogue.database, reader, dismissed)
    after = _rank(catalogue.database, reader, candidates)

    assert not {item.paper_id for item in after} & set(dismissed)
    assert len(after) == len(candidates) - len(dismissed)
    others = catalogue.ids["galaxies"][6:]
    # The other galaxy papers move down among the papers still shown, and the proteins up.
    shown_before = [item for item in before if item.paper_id not in dismissed]
    assert sum(_positions(after, others)) > sum(_positions(shown_before, others))
    proteins = catalogue.ids["proteins"][3:]
    assert sum(_positions(after, proteins)) < sum(_positions(shown_before, proteins))


def test_the_model_is_retrained_only_when_signals_change(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    _save(catalogue.database, reader, catalogue.ids["proteins"][:3])
    _rank(catalogue.database, reader, catalogue.all_ids)
    with catalogue.database.read_session() as session:
        first = session.get(ReaderModel, reader)
        assert first is not None and first.model and first.trained_at == first.signals_changed_at
        first_trained_at, first_model = first.trained_at, first.model

    _rank(catalogue.database, reader, catalogue.all_ids)
    with catalogue.database.read_session() as session:
        again = session.get(ReaderModel, reader)
        assert again is not None and (again.trained_at, again.model) == (first_trained_at, first_model)

    _save(catalogue.database, reader, catalogue.ids["language"][:3])
    _rank(catalogue.database, reader, catalogue.all_ids)
    with catalogue.database.read_session() as session:
        retrained = session.get(ReaderModel, reader)
        assert retrained is not None
        assert retrained.trained_at is not None and first_trained_at is not None
        assert retrained.trained_at > first_trained_at and retrained.model != first_model


def test_signals_written_without_a_reader_model_row_still_train(catalogue: Catalogue) -> None:
    reader = _user(catalogue.database)
    with catalogue.database.session() as session:
        session.add(NotInterested(user_id=reader, paper_id=catalogue.ids["language"][0], created_at=utcnow()))
    ranking = _rank(catalogue.database, reader, catalogue.ids["language"])
    assert catalogue.ids["language"][0] not in {item.paper_id for item in ranking}
    with catalogue.database.read_session() as session:
        assert session.get(ReaderModel, reader) is not None


def test_many_readers_at_once_rank_with_their_stored_models_as_each_alone(catalogue: Catalogue, tmp_path: Path) -> None:
    readers = [_user(catalogue.database, f"reader{number}") for number in range(3)]
    for reader, topic in zip(readers, TOPICS, strict=True):
        _save(catalogue.database, reader, catalogue.ids[topic][:3])
    assert retrain_stale_models(catalogue.database, tmp_path) == len(readers)
    with catalogue.database.read_session() as session:
        together = rank_for_readers(session, readers, catalogue.all_ids, limit=5)
    for reader, topic in zip(readers, TOPICS, strict=True):
        alone = _rank(catalogue.database, reader, catalogue.all_ids)[:5]
        assert together[reader] == [item.paper_id for item in alone]
        assert set(together[reader]) <= set(catalogue.ids[topic])


def test_many_readers_at_once_train_nothing_and_rank_a_reader_without_a_model_by_their_follows(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    trained, untrained = _user(catalogue.database, "trained"), _user(catalogue.database, "untrained")
    _save(catalogue.database, trained, catalogue.ids["proteins"][:3])
    retrain_stale_models(catalogue.database, tmp_path)
    # Both act after the worker's round: their stored models (none for the second) are out of date.
    _save(catalogue.database, trained, catalogue.ids["galaxies"][:1])
    _save(catalogue.database, untrained, catalogue.ids["proteins"][:3])
    _follow(catalogue.database, untrained, "category", "astro-ph.GA", "astro-ph.GA")
    _not_interested(catalogue.database, untrained, catalogue.ids["galaxies"][:1])
    with catalogue.database.read_session() as session:
        before = {row.user_id: (row.trained_at, row.model) for row in session.scalars(select(ReaderModel))}
    with catalogue.database.read_session() as session:
        ranked = rank_for_readers(session, [trained, untrained], catalogue.all_ids, limit=5)
    with catalogue.database.read_session() as session:
        after = {row.user_id: (row.trained_at, row.model) for row in session.scalars(select(ReaderModel))}
    assert after == before
    # The out-of-date model still ranks what it learned (proteins); the reader with no model gets what they follow,
    # without what they marked.
    assert set(ranked[trained]) <= set(catalogue.ids["proteins"])
    assert ranked[untrained] == catalogue.ids["galaxies"][1:6]


def test_stored_vectors_join_the_features_and_a_new_space_retrains(catalogue: Catalogue, embedder: Embedder) -> None:
    reader = _user(catalogue.database)
    _save(catalogue.database, reader, catalogue.ids["proteins"][:3])
    _rank(catalogue.database, reader, catalogue.all_ids)
    with catalogue.database.read_session() as session:
        sparse_only = session.get(ReaderModel, reader)
        assert sparse_only is not None and sparse_only.feature_space == "hashed20"

    embed_pending(catalogue.database, embedder)
    ranking = _rank(catalogue.database, reader, catalogue.all_ids[3:])
    with catalogue.database.read_session() as session:
        with_vectors = session.get(ReaderModel, reader)
        assert with_vectors is not None and with_vectors.feature_space != "hashed20"
        assert with_vectors.feature_space.endswith(f":{embedder.dimensions}")
    proteins = catalogue.ids["proteins"][3:]
    assert _positions(ranking, proteins) == list(range(len(proteins)))


def _trained(database: Database) -> dict[int, tuple[object, bytes | None]]:
    with database.read_session() as session:
        return {row.user_id: (row.trained_at, row.model) for row in session.scalars(select(ReaderModel))}


def test_the_worker_retrains_the_readers_who_acted_and_only_them(catalogue: Catalogue, tmp_path: Path) -> None:
    first, second = _user(catalogue.database, "first"), _user(catalogue.database, "second")
    _save(catalogue.database, first, catalogue.ids["proteins"][:3])
    _save(catalogue.database, second, catalogue.ids["language"][:3])
    assert retrain_stale_models(catalogue.database, tmp_path) == 2
    with catalogue.database.read_session() as session:
        for row in session.scalars(select(ReaderModel)):
            assert row.model and row.trained_at == row.signals_changed_at
    trained = _trained(catalogue.database)
    assert retrain_stale_models(catalogue.database, tmp_path) == 0

    _save(catalogue.database, first, catalogue.ids["galaxies"][:3])
    assert retrain_stale_models(catalogue.database, tmp_path) == 1
    retrained = _trained(catalogue.database)
    assert retrained[second] == trained[second]
    assert retrained[first][0] > trained[first][0]  # type: ignore[operator]
    assert retrained[first][1] != trained[first][1]


def test_two_workers_never_train_one_reader_twice(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers = [_user(catalogue.database, f"reader{number}") for number in range(3)]
    for reader, topic in zip(readers, TOPICS, strict=True):
        _save(catalogue.database, reader, catalogue.ids[topic][:3])
    fits: list[int] = []
    real_train = reader_models.train

    def counted_train(*arguments: object) -> object:
        fits.append(1)
        return real_train(*arguments)  # type: ignore[arg-type]

    monkeypatch.setattr(reader_models, "train", counted_train)
    # A worker holding the job's lock keeps the other from training anything.
    with exclusive_lock(catalogue.database, reader_models.RETRAINING_LOCK, fallback_dir=tmp_path):
        assert retrain_stale_models(catalogue.database, tmp_path) == 0
    assert fits == []

    # Two workers at once: each reader is trained once, by one of them.
    start = threading.Barrier(2)

    def worker() -> int:
        start.wait()
        return retrain_stale_models(catalogue.database, tmp_path)

    with ThreadPoolExecutor(2) as pool:
        stored = [future.result() for future in [pool.submit(worker) for _ in range(2)]]
    assert sorted(stored) == [0, len(readers)]
    assert len(fits) == len(readers)
    assert all(model for _, model in _trained(catalogue.database).values())
