"""Collections as a service, on each backend: Saved, creating and changing, items and their order, privacy, limits,
and what the ranker reads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from paperboard.db import Database
from paperboard.db.models import ReaderModel, User
from paperboard.personal import collections
from paperboard.personal.collections import (
    AlreadyInCollection,
    CollectionExists,
    CollectionLimitReached,
    CollectionNotFound,
    CollectionRefused,
    NotCollectionOwner,
    PaperNotInCatalogue,
)
from paperboard.personal.marks import marks_of
from tests.community.factories import add_paper, add_user, paper_id

PAPERS = ("2506.00001", "2506.00002", "2506.00003")


@pytest.fixture
def people(database: Database) -> dict[str, User]:
    for arxiv_id in PAPERS:
        add_paper(database, arxiv_id)
    return {name: add_user(database, name) for name in ("ann", "bob")}


def order(database: Database, object_id: str) -> list[tuple[str, str | None]]:
    with database.read_session() as session:
        view = collections.collection_view(session, collections.visible_collection(session, object_id, None))
        return [(entry.paper.arxiv_id, entry.item.note) for entry in view.items]


def test_saved_is_made_once_private_and_kept(database, people):
    ann = people["ann"].id
    with database.session() as session:
        first = collections.saved_collection(session, ann)
        again = collections.saved_collection(session, ann)
        assert first.id == again.id and first.private and first.title == "Saved"
        with pytest.raises(CollectionRefused, match="cannot be deleted"):
            collections.delete_collection(session, first)
        with pytest.raises(CollectionRefused, match="private"):
            collections.update_collection(session, first, private=False)
        with pytest.raises(CollectionRefused, match="keeps its title"):
            collections.update_collection(session, first, title="Other")


def test_items_are_added_by_any_id_form_moved_noted_and_removed(database, people):
    ann = people["ann"].id
    with database.session() as session:
        reading = collections.create_collection(session, ann, "Reading group", description="Weekly", private=False)
        object_id = reading.object_id
        first = collections.add_paper(session, reading, "https://arxiv.org/abs/2506.00001v2", note="start here")
        collections.add_paper(session, reading, "arXiv:2506.00002")
        third = collections.add_paper(session, reading, "2506.00003")
        with pytest.raises(AlreadyInCollection):
            collections.add_paper(session, reading, "2506.00001")
        with pytest.raises(PaperNotInCatalogue, match=r"2507\.09999"):
            collections.add_paper(session, reading, "2507.09999")
        with pytest.raises(CollectionRefused, match="not an arXiv id"):
            collections.add_paper(session, reading, "not a paper")
        first_id, third_id = first.object_id, third.object_id
    assert order(database, object_id) == [("2506.00001", "start here"), ("2506.00002", None), ("2506.00003", None)]
    with database.session() as session:
        reading = collections.owned_collection(session, object_id, ann)
        collections.update_item(session, reading, third_id, position=0, note="best")
    assert order(database, object_id) == [("2506.00003", "best"), ("2506.00001", "start here"), ("2506.00002", None)]
    with database.session() as session:
        reading = collections.owned_collection(session, object_id, ann)
        collections.remove_item(session, reading, first_id)
        collections.update_item(session, reading, third_id, position=99)
    assert order(database, object_id) == [("2506.00002", None), ("2506.00003", "best")]
    with database.read_session() as session:
        positions = [e.item.position for e in collections.collection_view(session, reading).items]
    assert positions == [0, 1]


def test_private_collections_exist_only_for_their_owner(database, people):
    ann, bob = people["ann"].id, people["bob"].id
    with database.session() as session:
        secret = collections.create_collection(session, ann, "Secret", private=True)
        shared = collections.create_collection(session, ann, "Shared")
        collections.add_paper(session, secret, PAPERS[0])
        collections.add_paper(session, shared, PAPERS[0])
        secret_id, shared_id = secret.object_id, shared.object_id
    with database.read_session() as session:
        for viewer in (bob, None):
            with pytest.raises(CollectionNotFound):
                collections.visible_collection(session, secret_id, viewer)
            assert [c.title for c in collections.user_collections(session, ann, viewer)] == ["Shared"]
            holding = collections.collections_holding(session, paper_id(database, PAPERS[0]), viewer)
            assert [c.title for c in holding] == ["Shared"]
        with pytest.raises(NotCollectionOwner):
            collections.owned_collection(session, shared_id, bob)
        assert [c.title for c in collections.user_collections(session, ann, ann)] == ["Saved", "Secret", "Shared"]


def test_titles_are_unique_per_owner_and_sizes_are_bounded(database, people, monkeypatch):
    ann, bob = people["ann"].id, people["bob"].id
    with database.session() as session:
        first = collections.create_collection(session, ann, "Diffusion")
        with pytest.raises(CollectionExists) as exists:
            collections.create_collection(session, ann, "diffusion")
        assert exists.value.existing.id == first.id
        collections.create_collection(session, bob, "Diffusion")
        with pytest.raises(CollectionRefused, match="at most 100"):
            collections.create_collection(session, ann, "x" * 101)
        with pytest.raises(CollectionRefused, match="empty"):
            collections.create_collection(session, ann, "   ")
        with pytest.raises(CollectionRefused, match="at most 1000"):
            collections.add_paper(session, first, PAPERS[0], note="n" * 1001)
        monkeypatch.setattr(collections, "MAX_ITEMS_PER_COLLECTION", 2)
        collections.add_paper(session, first, PAPERS[0])
        collections.add_paper(session, first, PAPERS[1])
        with pytest.raises(CollectionLimitReached, match="at most 2 papers"):
            collections.add_paper(session, first, PAPERS[2])
        # Saved and Diffusion exist: a limit of 3 leaves room for one more.
        monkeypatch.setattr(collections, "MAX_COLLECTIONS_PER_ACCOUNT", 3)
        collections.create_collection(session, ann, "Third")
        with pytest.raises(CollectionLimitReached, match="at most 3 collections"):
            collections.create_collection(session, ann, "Fourth")


def test_the_ranker_reads_every_collection_of_the_reader_and_each_change_is_a_signal(database, people):
    ann = people["ann"].id
    with database.session() as session:
        saved = collections.saved_collection(session, ann)
        collections.set_saved(session, ann, collections.resolve_paper(session, PAPERS[0]), saved=True)
        theory = collections.create_collection(session, ann, "Theory", private=True)
        collections.add_paper(session, theory, PAPERS[0])
        collections.add_paper(session, theory, PAPERS[1])
        saved_id = saved.id
    with database.read_session() as session:
        changed = session.scalars(select(ReaderModel.signals_changed_at).where(ReaderModel.user_id == ann)).one()
        assert changed is not None
        assert collections.collection_paper_ids(session, ann) == {
            paper_id(database, PAPERS[0]): [("Saved", True), ("Theory", False)],
            paper_id(database, PAPERS[1]): [("Theory", False)],
        }
        assert marks_of(session, ann, "save") == {PAPERS[0]}
    with database.session() as session:
        paper = collections.resolve_paper(session, PAPERS[0])
        collections.set_saved(session, ann, paper, saved=False)
        collections.set_saved(session, ann, paper, saved=False)
        assert collections.collection_view(session, session.get(type(saved), saved_id)).items == []


def test_many_papers_are_added_in_order_each_accounted_for(database, people, monkeypatch):
    ann = people["ann"].id
    add_paper(database, "2506.00004")
    with database.session() as session:
        shelf = collections.create_collection(session, ann, "Shelf")
        collections.add_paper(session, shelf, PAPERS[1])
        monkeypatch.setattr(collections, "MAX_ITEMS_PER_COLLECTION", 3)
        outcome = collections.add_many(session, shelf, [PAPERS[2], "2507.09999", PAPERS[1], PAPERS[0], PAPERS[2]])
        object_id = shelf.object_id
    assert outcome == collections.ManyAdded(
        added=[PAPERS[2], PAPERS[0]], already_there=[PAPERS[1]], not_in_catalogue=["2507.09999"], no_room=[]
    )
    assert [arxiv_id for arxiv_id, _ in order(database, object_id)] == [PAPERS[1], PAPERS[2], PAPERS[0]]
    with database.session() as session:
        shelf = collections.owned_collection(session, object_id, ann)
        full = collections.add_many(session, shelf, ["2506.00004"])
    assert full == collections.ManyAdded(no_room=["2506.00004"])
