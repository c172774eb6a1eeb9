"""Writing papers: insert new ones, update changed ones, leave identical ones alone.

Which record wins when a paper is already stored:
- a record of an older version than the stored one is stale and ignored; where either side names no
  version, a record last updated before the stored one is stale;
- a record that names neither version nor update time, for a paper stored with a version, only fills
  fields that are still empty (a file of bare metadata must not overwrite what arXiv said);
- otherwise the record's fields replace the stored ones, except those the record leaves empty.
A record that would change nothing writes nothing, so re-importing or re-harvesting is free of side effects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from paperboard.catalog.authors import AUTHOR_COLUMNS, author_rows
from paperboard.catalog.record import RECORD_FIELDS, PaperRecord
from paperboard.clock import utcnow
from paperboard.db.batches import in_batches
from paperboard.db.inserts import insert_values
from paperboard.db.models import Paper, PaperAuthor, PaperCategory

# Core tables rather than ORM classes: bulk statements on them skip the ORM's per-row bookkeeping.
_papers = Paper.__table__
_categories = PaperCategory.__table__
_authors = PaperAuthor.__table__
# Fields copied between a record and a row; categories live in their own table.
_COLUMNS = tuple(name for name in RECORD_FIELDS if name not in ("arxiv_id", "categories"))
_MERGED = (*_COLUMNS, "categories")
_EMPTY: tuple[Any, ...] = (None, (), "")


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.stale += other.stale

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.stale


def _values(record: PaperRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _MERGED}


def _is_stale(stored: dict[str, Any], record: PaperRecord) -> bool:
    if stored["version"] is not None and record.version is not None:
        return record.version < stored["version"]
    if stored["updated_at"] is not None and record.updated_at is not None:
        return record.updated_at < stored["updated_at"]
    return False


def _merge(stored: dict[str, Any], record: PaperRecord) -> dict[str, Any] | None:
    """The stored values with the record applied, or None when the record is stale."""
    if _is_stale(stored, record):
        return None
    fill_only = stored["version"] is not None and record.version is None and record.updated_at is None
    merged = dict(stored)
    for name in _MERGED:
        value = getattr(record, name)
        if value in _EMPTY or (fill_only and stored[name] not in _EMPTY):
            continue
        merged[name] = value
    return merged


def _load_stored(session: Session, arxiv_ids: Sequence[str]) -> dict[str, tuple[int, dict[str, Any]]]:
    """Stored values by arXiv id, each with the row's primary key."""
    stored: dict[str, tuple[int, dict[str, Any]]] = {}
    by_pk: dict[int, dict[str, Any]] = {}
    columns = [Paper.id, Paper.arxiv_id, *(getattr(Paper, name) for name in _COLUMNS)]
    for chunk in in_batches(arxiv_ids):
        for row in session.execute(select(*columns).where(Paper.arxiv_id.in_(chunk))):
            values = {name: getattr(row, name) for name in _COLUMNS}
            values["authors"] = tuple(values["authors"])
            values["categories"] = ()
            stored[row.arxiv_id] = (row.id, values)
            by_pk[row.id] = values
    pks = list(by_pk)
    for chunk in in_batches(pks):
        rows = session.execute(
            select(PaperCategory.paper_id, PaperCategory.category)
            .where(PaperCategory.paper_id.in_(chunk))
            .order_by(PaperCategory.paper_id, PaperCategory.position)
        )
        for paper_id, category in rows:
            by_pk[paper_id]["categories"] += (category,)
    return stored


def _primary_keys(session: Session, arxiv_ids: Sequence[str]) -> dict[str, int]:
    keys: dict[str, int] = {}
    for chunk in in_batches(arxiv_ids):
        rows = session.execute(select(_papers.c.arxiv_id, _papers.c.id).where(_papers.c.arxiv_id.in_(chunk)))
        keys.update((arxiv_id, pk) for arxiv_id, pk in rows)
    return keys


def _row(values: dict[str, Any]) -> dict[str, Any]:
    row = {name: values[name] for name in _COLUMNS}
    row["authors"] = list(values["authors"])
    return row


_CATEGORY_COLUMNS = ("paper_id", "position", "category")


def _category_rows(paper_id: int, categories: Sequence[str]) -> list[tuple[int, int, str]]:
    return [(paper_id, position, category) for position, category in enumerate(categories)]


def upsert_papers(session: Session, records: Sequence[PaperRecord]) -> UpsertCounts:
    """Store a batch of records in the session's transaction; later records of the same id win."""
    counts = UpsertCounts()
    if not records:
        return counts
    stored = _load_stored(session, list(dict.fromkeys(record.arxiv_id for record in records)))
    pending_new: dict[str, dict[str, Any]] = {}
    pending_changes: dict[str, tuple[int, dict[str, Any], dict[str, Any]]] = {}
    for record in records:
        if record.arxiv_id in pending_new:
            current = pending_new[record.arxiv_id]
        elif record.arxiv_id in pending_changes:
            current = pending_changes[record.arxiv_id][2]
        elif record.arxiv_id in stored:
            current = stored[record.arxiv_id][1]
        else:
            pending_new[record.arxiv_id] = _values(record)
            counts.inserted += 1
            continue
        merged = _merge(current, record)
        if merged is None:
            counts.stale += 1
            continue
        if merged == current:
            counts.unchanged += 1
            continue
        counts.updated += 1
        if record.arxiv_id in pending_new:
            pending_new[record.arxiv_id] = merged
        else:
            pk, original = stored[record.arxiv_id]
            pending_changes[record.arxiv_id] = (pk, original, merged)
    now = utcnow()
    if pending_new:
        connection = session.connection()
        insert_values(
            connection,
            _papers,
            ("arxiv_id", *_COLUMNS, "added_at", "changed_at"),
            [(arxiv_id, *_row(values).values(), now, now) for arxiv_id, values in pending_new.items()],
        )
        # A separate lookup rather than INSERT ... RETURNING: SQLite's driver then runs one statement per row.
        new_keys = _primary_keys(session, list(pending_new)).items()
        insert_values(
            connection,
            _categories,
            _CATEGORY_COLUMNS,
            [row for arxiv_id, pk in new_keys for row in _category_rows(pk, pending_new[arxiv_id]["categories"])],
        )
        # In the name index's order: consecutive rows land on the same or neighbouring pages of that index, which
        # stay in SQLite's cache, instead of each on a random one.
        insert_values(
            connection,
            _authors,
            AUTHOR_COLUMNS,
            sorted(
                (row for arxiv_id, pk in new_keys for row in author_rows(pk, pending_new[arxiv_id]["authors"])),
                key=itemgetter(AUTHOR_COLUMNS.index("name_key")),
            ),
        )
    if pending_changes:
        _apply_changes(session, list(pending_changes.values()), now)
    return counts


def _apply_changes(session: Session, changes: list[tuple[int, dict[str, Any], dict[str, Any]]], now: datetime) -> None:
    session.execute(
        update(_papers).where(_papers.c.id == bindparam("pk")).values(changed_at=now),
        [{"pk": pk, **_row(merged)} for pk, _original, merged in changes],
    )
    recategorised = [
        (pk, merged["categories"]) for pk, original, merged in changes if merged["categories"] != original["categories"]
    ]
    if recategorised:
        session.execute(delete(_categories).where(_categories.c.paper_id.in_([pk for pk, _ in recategorised])))
        insert_values(
            session.connection(),
            _categories,
            _CATEGORY_COLUMNS,
            [row for pk, categories in recategorised for row in _category_rows(pk, categories)],
        )
    reauthored = [
        (pk, merged["authors"]) for pk, original, merged in changes if merged["authors"] != original["authors"]
    ]
    if reauthored:
        session.execute(delete(_authors).where(_authors.c.paper_id.in_([pk for pk, _ in reauthored])))
        insert_values(
            session.connection(),
            _authors,
            AUTHOR_COLUMNS,
            [row for pk, authors in reauthored for row in author_rows(pk, authors)],
        )


@dataclass(frozen=True, slots=True)
class PaperLinks:
    code_url: str | None
    project_url: str | None


def fill_missing_links(session: Session, links: Mapping[str, PaperLinks]) -> int:
    """Give papers, by arXiv id, the code repository and project page they lack; a link a paper has is kept, and
    unknown ids are ignored. Returns how many papers changed."""
    changes = []
    for chunk in in_batches(list(links)):
        rows = session.execute(
            select(_papers.c.id, _papers.c.arxiv_id, _papers.c.code_url, _papers.c.project_url).where(
                _papers.c.arxiv_id.in_(chunk)
            )
        )
        for pk, arxiv_id, code_url, project_url in rows:
            filled = (code_url or links[arxiv_id].code_url, project_url or links[arxiv_id].project_url)
            if filled != (code_url, project_url):
                changes.append({"pk": pk, "code_url": filled[0], "project_url": filled[1]})
    if changes:
        session.execute(update(_papers).where(_papers.c.id == bindparam("pk")).values(changed_at=utcnow()), changes)
    return len(changes)


def mark_deleted(session: Session, arxiv_id: str, deleted_at: datetime) -> bool:
    """Record that the source withdrew a paper; True when a stored paper was marked."""
    result = session.execute(
        update(_papers)
        .where(_papers.c.arxiv_id == arxiv_id, _papers.c.deleted_at.is_(None))
        .values(deleted_at=deleted_at, changed_at=utcnow())
    )
    return bool(result.rowcount)
