"""Collections: a reader's ordered lists of papers with a note each, shaped like Hugging Face's collections.

Rules:
- every account has one "Saved" collection (`is_saved`), made the first time it is needed; it is always private and
  keeps its title, and cannot be deleted (the save button on every card puts papers there);
- a collection's address is `{owner}/{slug of its title}-{object_id}`; it is found by its `object_id` alone, so an
  address written before a rename still leads to it, as on Hugging Face;
- a private collection exists only for its owner: to anyone else every lookup says "not found", never "forbidden",
  so that its existence does not leak; a public one can be read by anyone and changed only by its owner;
- titles are unique per owner whatever their case (Hugging Face answers a second "create" with the first one);
- sizes are bounded (the constants below) and every refusal is a `CollectionRefused` whose message says why;
- a paper is in a collection at most once; items are numbered 0, 1, … in order, with no gaps;
- every change to what a collection holds tells the reader's feed to learn again (`activity.signals_changed`).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.queries import get_paper
from paperboard.characters import forbidden_character
from paperboard.clock import utcnow
from paperboard.db.locks import lock_for_transaction
from paperboard.db.models import CollectionItem, Paper, PaperCollection, User
from paperboard.personal.activity import signals_changed

SAVED_TITLE = "Saved"
MAX_TITLE_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_NOTE_LENGTH = 1000
MAX_ITEMS_PER_COLLECTION = 2000
MAX_COLLECTIONS_PER_ACCOUNT = 200
# Long enough to read, short enough that an address stays on one line.
_SLUG_WORDS_LENGTH = 60
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
# Ids looked up in one query: well below SQLite's limit on a statement's parameters.
_LOOKUP_BATCH = 500


class CollectionRefused(ValueError):
    """A change to a collection is refused; the message says why, in words fit for the reader who asked."""


class CollectionLimitReached(CollectionRefused):
    """An account or a collection is full."""


class PaperNotInCatalogue(CollectionRefused):
    """The arXiv id is well formed but the catalogue has no such paper."""

    def __init__(self, arxiv_id: str) -> None:
        super().__init__(f"{arxiv_id} is not in the catalogue.")
        self.arxiv_id = arxiv_id


class CollectionExists(CollectionRefused):
    """The owner already has a collection with this title; `existing` is it."""

    def __init__(self, existing: PaperCollection) -> None:
        super().__init__(f"You already have a collection titled {existing.title!r}.")
        self.existing = existing


class AlreadyInCollection(CollectionRefused):
    """The paper is in the collection already; `item` is where."""

    def __init__(self, item: CollectionItem, arxiv_id: str) -> None:
        super().__init__(f"{arxiv_id} is already in this collection.")
        self.item = item


class CollectionNotFound(LookupError):
    """No collection by that id that the viewer may see (private ones of others included)."""


class ItemNotFound(LookupError):
    """No item by that id in the collection."""


class NotCollectionOwner(PermissionError):
    """A public collection that the viewer may read but not change."""


@dataclass(frozen=True, slots=True)
class ItemView:
    """A collection item with its paper, as pages, feeds and the API show it."""

    item: CollectionItem
    paper: Paper


@dataclass(frozen=True, slots=True)
class CollectionView:
    """A collection with its owner and its items, first first."""

    collection: PaperCollection
    owner: User
    items: list[ItemView]

    @property
    def slug(self) -> str:
        return collection_slug(self.owner, self.collection)


def new_object_id() -> str:
    """24 hexadecimal digits, as Hugging Face's object ids are."""
    return secrets.token_hex(12)


def title_slug(title: str) -> str:
    """The words of a title as they appear in an address: ASCII letters and digits joined by hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return words[:_SLUG_WORDS_LENGTH].rstrip("-") or "collection"


def collection_slug(owner: User, collection: PaperCollection) -> str:
    """`{owner}/{title words}-{object_id}`, Hugging Face's form of a collection's address."""
    return f"{owner.username}/{title_slug(collection.title)}-{collection.object_id}"


def object_id_of_slug(slug: str) -> str:
    """The object id at the end of a collection's slug (the owner and title words are not needed to find it)."""
    candidate = slug.rsplit("-", 1)[-1].rsplit("/", 1)[-1]
    if not _OBJECT_ID.fullmatch(candidate):
        raise CollectionNotFound(f"{slug!r} is not the address of a collection.")
    return candidate


# Checking what readers write


def _clean_text(value: str, what: str, max_length: int, *, required: bool) -> str | None:
    text = value.strip()
    if not text:
        if required:
            raise CollectionRefused(f"The {what} is empty.")
        return None
    if len(text) > max_length:
        raise CollectionRefused(f"The {what} is {len(text)} characters long; at most {max_length} are allowed.")
    problem = forbidden_character(text)
    if problem is not None:
        raise CollectionRefused(f"The {what} {problem}.")
    return text


def _clean_title(title: str) -> str:
    return _clean_text(title, "title", MAX_TITLE_LENGTH, required=True) or ""


# Finding collections


def _owner_lock(owner_id: int) -> str:
    return f"collections:{owner_id}"


def _collection_by_object_id(session: Session, object_id: str) -> PaperCollection | None:
    return session.scalars(select(PaperCollection).where(PaperCollection.object_id == object_id)).one_or_none()


def visible_collection(session: Session, object_id: str, viewer_id: int | None) -> PaperCollection:
    """The collection, if the viewer may read it; `CollectionNotFound` for a private one of somebody else."""
    collection = _collection_by_object_id(session, object_id)
    if collection is None or (collection.private and collection.owner_id != viewer_id):
        raise CollectionNotFound(f"There is no collection {object_id}.")
    return collection


def collection_at(session: Session, owner_name: str, slug: str, viewer_id: int | None) -> PaperCollection:
    """The collection at the address `{owner_name}/{slug}` if the viewer may read it: found by the id that ends the
    slug (the title words may be out of date), and only under its own owner's name."""
    collection = visible_collection(session, object_id_of_slug(slug), viewer_id)
    owner = session.get(User, collection.owner_id)
    if owner is None or owner.username_key != owner_name.lower():
        raise CollectionNotFound(f"There is no collection {owner_name}/{slug}.")
    return collection


def owned_collection(session: Session, object_id: str, user_id: int) -> PaperCollection:
    """The collection, for its owner to change; `NotCollectionOwner` when somebody else's public one."""
    collection = visible_collection(session, object_id, user_id)
    if collection.owner_id != user_id:
        raise NotCollectionOwner("Only its owner can change a collection.")
    return collection


def owned_collection_at(session: Session, owner_name: str, slug: str, user_id: int) -> PaperCollection:
    """The collection at this address, for its owner to change (`collection_at`, then `owned_collection`)."""
    return owned_collection(session, collection_at(session, owner_name, slug, user_id).object_id, user_id)


def collection_view(session: Session, collection: PaperCollection) -> CollectionView:
    """The collection with its owner and its items in order."""
    rows = session.execute(
        select(CollectionItem, Paper)
        .join(Paper, Paper.id == CollectionItem.paper_id)
        .where(CollectionItem.collection_id == collection.id)
        .order_by(CollectionItem.position)
    ).all()
    owner = session.get(User, collection.owner_id)
    assert owner is not None  # The foreign key cascades: a collection has an owner.
    return CollectionView(collection, owner, [ItemView(item, paper) for item, paper in rows])


def recently_added(session: Session, collection: PaperCollection, limit: int) -> list[ItemView]:
    """The `limit` items last added to the collection, newest first (what its feed announces)."""
    rows = session.execute(
        select(CollectionItem, Paper)
        .join(Paper, Paper.id == CollectionItem.paper_id)
        .where(CollectionItem.collection_id == collection.id)
        .order_by(CollectionItem.added_at.desc(), CollectionItem.id.desc())
        .limit(limit)
    ).all()
    return [ItemView(item, paper) for item, paper in rows]


def item_counts(session: Session, collections: Sequence[PaperCollection]) -> dict[int, int]:
    """How many papers each collection holds."""
    rows = session.execute(
        select(CollectionItem.collection_id, func.count())
        .where(CollectionItem.collection_id.in_([c.id for c in collections]))
        .group_by(CollectionItem.collection_id)
    ).all()
    counts = {c.id: 0 for c in collections}
    counts.update({collection_id: count for collection_id, count in rows})
    return counts


def _ordered_collections(session: Session, owner_id: int) -> list[PaperCollection]:
    # Saved first, then the others oldest first: Hugging Face's `position` of a collection in its owner's list.
    query = (
        select(PaperCollection)
        .where(PaperCollection.owner_id == owner_id)
        .order_by(PaperCollection.is_saved.desc(), PaperCollection.created_at, PaperCollection.id)
    )
    return list(session.scalars(query))


def user_collections(session: Session, owner_id: int, viewer_id: int | None) -> list[PaperCollection]:
    """An account's collections that the viewer may see (all of them for the owner, the public ones otherwise)."""
    return [c for c in _ordered_collections(session, owner_id) if not c.private or viewer_id == owner_id]


def collection_position(session: Session, collection: PaperCollection) -> int:
    """Where the collection stands in its owner's list (Saved first, then by age)."""
    return [c.id for c in _ordered_collections(session, collection.owner_id)].index(collection.id)


def collections_holding(
    session: Session, paper_id: int, viewer_id: int | None, *, owner_id: int | None = None
) -> list[PaperCollection]:
    """The collections the viewer may see that hold the paper, of one owner if given, most recently changed first."""
    query = (
        select(PaperCollection)
        .join(CollectionItem, CollectionItem.collection_id == PaperCollection.id)
        .where(CollectionItem.paper_id == paper_id)
        .order_by(PaperCollection.updated_at.desc(), PaperCollection.id)
    )
    if owner_id is not None:
        query = query.where(PaperCollection.owner_id == owner_id)
    if viewer_id is None:
        query = query.where(PaperCollection.private.is_(False))
    else:
        query = query.where((PaperCollection.private.is_(False)) | (PaperCollection.owner_id == viewer_id))
    return list(session.scalars(query))


def find_collections(
    session: Session,
    viewer_id: int | None,
    *,
    owner_ids: Sequence[int] | None = None,
    paper_ids: Sequence[int] = (),
    offset: int = 0,
    limit: int = 50,
) -> list[PaperCollection]:
    """The collections the viewer may see, of any of these owners (everyone's when None), holding every one of
    these papers, most recently changed first."""
    query = select(PaperCollection).order_by(PaperCollection.updated_at.desc(), PaperCollection.id.desc())
    if owner_ids is not None:
        query = query.where(PaperCollection.owner_id.in_(list(owner_ids)))
    for paper_id in paper_ids:
        query = query.where(
            select(CollectionItem.id)
            .where(CollectionItem.collection_id == PaperCollection.id, CollectionItem.paper_id == paper_id)
            .exists()
        )
    visible = PaperCollection.private.is_(False)
    query = query.where(visible if viewer_id is None else visible | (PaperCollection.owner_id == viewer_id))
    return list(session.scalars(query.offset(offset).limit(limit)))


def first_items(session: Session, collections: Sequence[PaperCollection], count: int) -> dict[int, list[ItemView]]:
    """The first `count` items of each collection (what a list of collections previews), in one query."""
    rows = session.execute(
        select(CollectionItem, Paper)
        .join(Paper, Paper.id == CollectionItem.paper_id)
        .where(CollectionItem.collection_id.in_([c.id for c in collections]), CollectionItem.position < count)
        .order_by(CollectionItem.collection_id, CollectionItem.position)
    ).all()
    previews: dict[int, list[ItemView]] = {c.id: [] for c in collections}
    for item, paper in rows:
        previews[item.collection_id].append(ItemView(item, paper))
    return previews


def collection_paper_ids(session: Session, user_id: int) -> dict[int, list[tuple[str, bool]]]:
    """For the ranker: each paper in any of the reader's collections -> [(collection title, is Saved)], private
    collections included (they are the reader's own)."""
    rows = session.execute(
        select(CollectionItem.paper_id, PaperCollection.title, PaperCollection.is_saved)
        .join(PaperCollection, PaperCollection.id == CollectionItem.collection_id)
        .where(PaperCollection.owner_id == user_id)
        .order_by(PaperCollection.is_saved.desc(), PaperCollection.id, CollectionItem.position)
    ).all()
    holding: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for paper_id, title, is_saved in rows:
        holding[paper_id].append((title, is_saved))
    return dict(holding)


# Changing collections


def saved_collection(session: Session, user_id: int) -> PaperCollection:
    """The account's Saved collection, made (private) when first needed."""
    query = select(PaperCollection).where(PaperCollection.owner_id == user_id, PaperCollection.is_saved.is_(True))
    existing = session.scalars(query).one_or_none()
    if existing is not None:
        return existing
    now = utcnow()
    saved = PaperCollection(
        object_id=new_object_id(),
        owner_id=user_id,
        title=SAVED_TITLE,
        description=None,
        private=True,
        is_saved=True,
        created_at=now,
        updated_at=now,
    )
    # A savepoint: the same reader's other request may make it first (the partial unique index says so).
    try:
        with session.begin_nested():
            session.add(saved)
    except IntegrityError:
        return session.scalars(query).one()
    return saved


def _title_taken(session: Session, owner_id: int, title: str, *, other_than: int | None = None) -> None:
    query = select(PaperCollection).where(
        PaperCollection.owner_id == owner_id, func.lower(PaperCollection.title) == title.lower()
    )
    if other_than is not None:
        query = query.where(PaperCollection.id != other_than)
    existing = session.scalars(query.limit(1)).first()
    if existing is not None:
        raise CollectionExists(existing)


def create_collection(
    session: Session, owner_id: int, title: str, *, description: str | None = None, private: bool = False
) -> PaperCollection:
    """A new, empty collection; `CollectionExists` when the owner has one with that title."""
    clean_title = _clean_title(title)
    clean_description = _clean_text(description or "", "description", MAX_DESCRIPTION_LENGTH, required=False)
    lock_for_transaction(session, _owner_lock(owner_id))
    saved_collection(session, owner_id)
    _title_taken(session, owner_id, clean_title)
    count = session.scalar(select(func.count()).where(PaperCollection.owner_id == owner_id)) or 0
    if count >= MAX_COLLECTIONS_PER_ACCOUNT:
        raise CollectionLimitReached(
            f"An account can have at most {MAX_COLLECTIONS_PER_ACCOUNT} collections; delete one to make another."
        )
    now = utcnow()
    collection = PaperCollection(
        object_id=new_object_id(),
        owner_id=owner_id,
        title=clean_title,
        description=clean_description,
        private=private,
        is_saved=False,
        created_at=now,
        updated_at=now,
    )
    session.add(collection)
    session.flush()
    return collection


def update_collection(
    session: Session,
    collection: PaperCollection,
    *,
    title: str | None = None,
    description: str | None = None,
    private: bool | None = None,
) -> PaperCollection:
    """Rename, describe, or make public or private (None leaves a field as it is; an empty description clears
    it). Saved keeps its title and stays private."""
    if collection.is_saved and title is not None and title.strip() != collection.title:
        raise CollectionRefused(f"{SAVED_TITLE} keeps its title; make a new collection for another name.")
    if collection.is_saved and private is False:
        raise CollectionRefused(f"{SAVED_TITLE} is private; make a new collection to share papers.")
    if title is not None and not collection.is_saved:
        clean_title = _clean_title(title)
        lock_for_transaction(session, _owner_lock(collection.owner_id))
        _title_taken(session, collection.owner_id, clean_title, other_than=collection.id)
        collection.title = clean_title
    if description is not None:
        collection.description = _clean_text(description, "description", MAX_DESCRIPTION_LENGTH, required=False)
    if private is not None:
        collection.private = private
    collection.updated_at = utcnow()
    # The feed names the collection a recommendation comes from.
    signals_changed(session, collection.owner_id)
    session.flush()
    return collection


def delete_collection(session: Session, collection: PaperCollection) -> None:
    """Delete a collection and its items; Saved cannot be deleted (it can be emptied)."""
    if collection.is_saved:
        raise CollectionRefused(f"{SAVED_TITLE} cannot be deleted; remove its papers instead.")
    session.execute(delete(CollectionItem).where(CollectionItem.collection_id == collection.id))
    session.delete(collection)
    signals_changed(session, collection.owner_id)
    session.flush()


def resolve_paper(session: Session, paper: Paper | str) -> Paper:
    """A catalogue paper, or the one an arXiv id or address in any form names."""
    if isinstance(paper, Paper):
        return paper
    try:
        arxiv_id = parse_arxiv_id(paper).id
    except InvalidArxivId as error:
        raise CollectionRefused(str(error)) from error
    found = get_paper(session, arxiv_id)
    if found is None:
        raise PaperNotInCatalogue(arxiv_id)
    return found


def _items_count(session: Session, collection: PaperCollection) -> int:
    return session.scalar(select(func.count()).where(CollectionItem.collection_id == collection.id)) or 0


def _touch(session: Session, collection: PaperCollection) -> None:
    collection.updated_at = utcnow()
    signals_changed(session, collection.owner_id)
    session.flush()


def add_paper(
    session: Session, collection: PaperCollection, paper: Paper | str, *, note: str | None = None
) -> CollectionItem:
    """Put a paper (a catalogue row, or an arXiv id in any form) at the end of the collection with an optional
    note; `AlreadyInCollection` when it is there already."""
    found = resolve_paper(session, paper)
    clean_note = _clean_text(note or "", "note", MAX_NOTE_LENGTH, required=False)
    lock_for_transaction(session, f"collection:{collection.id}")
    existing = session.scalars(
        select(CollectionItem).where(CollectionItem.collection_id == collection.id, CollectionItem.paper_id == found.id)
    ).one_or_none()
    if existing is not None:
        raise AlreadyInCollection(existing, found.arxiv_id)
    count = _items_count(session, collection)
    if count >= MAX_ITEMS_PER_COLLECTION:
        raise CollectionLimitReached(
            f"A collection holds at most {MAX_ITEMS_PER_COLLECTION} papers; {collection.title!r} is full."
        )
    item = CollectionItem(
        object_id=new_object_id(),
        collection_id=collection.id,
        paper_id=found.id,
        position=count,
        note=clean_note,
        added_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        # The same reader's other request added it between our read and our write.
        raise AlreadyInCollection(
            session.scalars(
                select(CollectionItem).where(
                    CollectionItem.collection_id == collection.id, CollectionItem.paper_id == found.id
                )
            ).one(),
            found.arxiv_id,
        ) from None
    _touch(session, collection)
    return item


@dataclass
class ManyAdded:
    """What became of each arXiv id given to `add_many`."""

    added: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    not_in_catalogue: list[str] = field(default_factory=list)
    # Ids left out because the collection was full.
    no_room: list[str] = field(default_factory=list)


def add_many(session: Session, collection: PaperCollection, arxiv_ids: Sequence[str]) -> ManyAdded:
    """Put the papers with these canonical arXiv ids at the end of the collection, in order, in a few queries
    whatever their number (an imported library): one add at a time took 10 ms each."""
    outcome = ManyAdded()
    lock_for_transaction(session, f"collection:{collection.id}")
    wanted = list(dict.fromkeys(arxiv_ids))
    paper_ids: dict[str, int] = {}
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        batch = wanted[start : start + _LOOKUP_BATCH]
        rows = session.execute(select(Paper.arxiv_id, Paper.id).where(Paper.arxiv_id.in_(batch)))
        paper_ids.update({arxiv_id: paper_id for arxiv_id, paper_id in rows})
    held = set(session.scalars(select(CollectionItem.paper_id).where(CollectionItem.collection_id == collection.id)))
    now = utcnow()
    new_items = []
    for arxiv_id in wanted:
        paper_id = paper_ids.get(arxiv_id)
        if paper_id is None:
            outcome.not_in_catalogue.append(arxiv_id)
        elif paper_id in held:
            outcome.already_there.append(arxiv_id)
        elif len(held) >= MAX_ITEMS_PER_COLLECTION:
            outcome.no_room.append(arxiv_id)
        else:
            new_items.append(
                {
                    "object_id": new_object_id(),
                    "collection_id": collection.id,
                    "paper_id": paper_id,
                    "position": len(held),
                    "note": None,
                    "added_at": now,
                }
            )
            held.add(paper_id)
            outcome.added.append(arxiv_id)
    if new_items:
        session.execute(insert(CollectionItem), new_items)
        _touch(session, collection)
    return outcome


def _item(session: Session, collection: PaperCollection, item_object_id: str) -> CollectionItem:
    item = session.scalars(
        select(CollectionItem).where(
            CollectionItem.collection_id == collection.id, CollectionItem.object_id == item_object_id
        )
    ).one_or_none()
    if item is None:
        raise ItemNotFound(f"The collection has no item {item_object_id}.")
    return item


def _renumber(session: Session, collection: PaperCollection, ordered_ids: list[int]) -> None:
    for position, item_id in enumerate(ordered_ids):
        session.execute(
            update(CollectionItem)
            .where(CollectionItem.id == item_id, CollectionItem.position != position)
            .values(position=position)
        )


def _item_ids_in_order(session: Session, collection: PaperCollection) -> list[int]:
    return list(
        session.scalars(
            select(CollectionItem.id)
            .where(CollectionItem.collection_id == collection.id)
            .order_by(CollectionItem.position, CollectionItem.id)
        )
    )


def update_item(
    session: Session,
    collection: PaperCollection,
    item_object_id: str,
    *,
    note: str | None = None,
    position: int | None = None,
) -> CollectionItem:
    """Change an item's note (an empty one clears it) or move it to `position` (0 first; past the end means
    last), the others closing up around it. None leaves a field as it is."""
    item = _item(session, collection, item_object_id)
    if note is not None:
        item.note = _clean_text(note, "note", MAX_NOTE_LENGTH, required=False)
    if position is not None:
        if position < 0:
            raise CollectionRefused(f"Positions start at 0, not {position}.")
        lock_for_transaction(session, f"collection:{collection.id}")
        others = [item_id for item_id in _item_ids_in_order(session, collection) if item_id != item.id]
        others.insert(min(position, len(others)), item.id)
        session.flush()
        _renumber(session, collection, others)
        session.refresh(item)
    _touch(session, collection)
    return item


def reorder_items(session: Session, collection: PaperCollection, item_object_ids: Sequence[str]) -> None:
    """Put the items in this order (the reorder form sends them all); items it leaves out keep their order
    after the named ones."""
    lock_for_transaction(session, f"collection:{collection.id}")
    rows = session.execute(
        select(CollectionItem.object_id, CollectionItem.id)
        .where(CollectionItem.collection_id == collection.id)
        .order_by(CollectionItem.position, CollectionItem.id)
    ).all()
    ids_by_object_id = dict(rows)
    unknown = [object_id for object_id in item_object_ids if object_id not in ids_by_object_id]
    if unknown:
        raise ItemNotFound(f"The collection has no item {unknown[0]}.")
    named = list(dict.fromkeys(ids_by_object_id[object_id] for object_id in item_object_ids))
    rest = [item_id for _, item_id in rows if item_id not in set(named)]
    _renumber(session, collection, named + rest)
    _touch(session, collection)


def _close_up(session: Session, collection: PaperCollection) -> None:
    _renumber(session, collection, _item_ids_in_order(session, collection))


def remove_item(session: Session, collection: PaperCollection, item_object_id: str) -> None:
    """Take an item out of the collection."""
    item = _item(session, collection, item_object_id)
    lock_for_transaction(session, f"collection:{collection.id}")
    session.delete(item)
    session.flush()
    _close_up(session, collection)
    _touch(session, collection)


def remove_paper(session: Session, collection: PaperCollection, paper_id: int) -> None:
    """Take the paper out of the collection; a paper that is not there changes nothing."""
    lock_for_transaction(session, f"collection:{collection.id}")
    removed = session.execute(
        delete(CollectionItem).where(CollectionItem.collection_id == collection.id, CollectionItem.paper_id == paper_id)
    )
    if removed.rowcount:  # type: ignore[attr-defined]
        _close_up(session, collection)
        _touch(session, collection)


def set_saved(session: Session, user_id: int, paper: Paper, *, saved: bool) -> bool:
    """Put the paper in the reader's Saved collection or take it out (the save button); asking for the state it
    is in already changes nothing. Returns the new state."""
    saved_list = saved_collection(session, user_id)
    if saved:
        with contextlib.suppress(AlreadyInCollection):
            add_paper(session, saved_list, paper)
    else:
        remove_paper(session, saved_list, paper.id)
    return saved
