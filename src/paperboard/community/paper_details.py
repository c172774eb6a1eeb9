"""What the lists and the API show of a set of papers beyond their listings, read in one query: each paper's own
columns, its counts (local activity plus imported), the organization it was listed for, the size of its thumbnail
and its keywords.

One statement with a scalar subquery per count and an outer join per kind of detail, where each kind used to take
a query of its own: on a page of 50 papers the statements' fixed cost (compiling, executing, building ORM objects)
was most of a request's time, and the lookups themselves are one index probe per paper each. A paper's own columns
are read in a second statement only for the papers whose version (`changed_at`, read by the first) this process
has not read before (`PAPER_FACTS`): titles, abstracts and author lists are most of the bytes, and they change
rarely.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from paperboard.community.comments import VISIBLE
from paperboard.community.organizations import OrganizationRef
from paperboard.db.models import Comment, Listing, Organization, Paper, PaperKeywords, PaperThumbnail, Vote
from paperboard.thumbnails.queries import ThumbnailSize


@dataclass(frozen=True, slots=True)
class PaperFacts:
    """A paper's catalogue columns as lists show them. Every write to a paper's row sets its `changed_at`
    (catalog/store.py), so (`id`, `changed_at`) names one version of all the other fields. Kept between requests
    (`PAPER_FACTS`): `authors` is shared by every answer that shows this version, and never changed."""

    id: int
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    published_at: datetime
    code_url: str | None
    project_url: str | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class PaperDetails:
    """A paper and what is shown beside it. `upvotes` and `comments` count as `community.counts` does: local votes
    and visible comments plus those imported with its listing (hidden or not)."""

    paper: PaperFacts
    upvotes: int
    comments: int
    organization: OrganizationRef | None
    thumbnail: ThumbnailSize | None
    # None while it has none; an empty list when extraction found none.
    keywords: list[str] | None


V = TypeVar("V")
PaperVersion = tuple[int, datetime]


class PaperVersions(Generic[V]):
    """Each process's memo of what is made from one version of a paper's row, by (paper id, `changed_at`), holding
    at most `max_papers`, the least recently used going first when full.

    Every write to a paper's row sets its `changed_at` (catalog/store.py), so a changed paper has a new key: what
    is kept for the old one is never asked for again, and nothing kept can stand for a newer version. Counts,
    listings, keywords and everything else that changes without the paper's row are never kept here. Routes run
    in the thread pool, hence the lock."""

    def __init__(self, max_papers: int) -> None:
        self.max_papers = max_papers
        self._kept: OrderedDict[PaperVersion, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, version: PaperVersion) -> V | None:
        with self._lock:
            kept = self._kept.get(version)
            if kept is not None:
                self._kept.move_to_end(version)
            return kept

    def put(self, version: PaperVersion, value: V) -> None:
        with self._lock:
            self._kept[version] = value
            while len(self._kept) > self.max_papers:
                self._kept.popitem(last=False)


# A paper of the shared corpus takes about 2 KB here (its title, abstract and author names), so at most about 4 MB
# a process: several times the papers the lists show at once (a month's list holds about 330, trending's window
# about 500).
PAPER_FACTS: PaperVersions[PaperFacts] = PaperVersions(max_papers=2_000)

_FACTS = select(
    Paper.id,
    Paper.arxiv_id,
    Paper.title,
    Paper.abstract,
    Paper.authors,
    Paper.published_at,
    Paper.code_url,
    Paper.project_url,
    Paper.changed_at,
).where(Paper.id.in_(bindparam("paper_ids", expanding=True)))


def _details_statement() -> Select[Any]:
    local_votes = select(func.count()).where(Vote.paper_id == Paper.id).scalar_subquery()
    local_comments = select(func.count()).where(Comment.paper_id == Paper.id, VISIBLE).scalar_subquery()
    return (
        select(
            Paper.id,
            Paper.changed_at,
            # A paper has at most one listing (`listings.paper_id` is unique), which carries the imported counts.
            (local_votes + func.coalesce(Listing.imported_upvotes, 0)).label("upvotes"),
            (local_comments + func.coalesce(Listing.imported_comments, 0)).label("comments"),
            Organization.id.label("organization_id"),
            Organization.name.label("organization_name"),
            Organization.fullname.label("organization_fullname"),
            PaperThumbnail.width,
            PaperThumbnail.height,
            PaperKeywords.keywords,
        )
        .outerjoin(Listing, Listing.paper_id == Paper.id)
        .outerjoin(Organization, Organization.id == Listing.organization_id)
        .outerjoin(PaperThumbnail, PaperThumbnail.paper_id == Paper.id)
        .outerjoin(PaperKeywords, PaperKeywords.paper_id == Paper.id)
        .where(Paper.id.in_(bindparam("paper_ids", expanding=True)))
    )


# Both built once: building the statement and working out its cache key at each call took as long as running it (0.8
# of 1.5 ms for 50 papers of the shared corpus); SQLAlchemy keeps the key of one statement object and its compiled
# form.
_DETAILS = _details_statement()


def _facts(session: Session, versions: list[PaperVersion]) -> dict[int, PaperFacts]:
    """The papers' own columns, by id: the kept ones of these versions, the others read and kept."""
    facts, unknown = {}, []
    for version in versions:
        if (kept := PAPER_FACTS.get(version)) is not None:
            facts[version[0]] = kept
        else:
            unknown.append(version[0])
    if unknown:
        # Kept under the version read here, which is newer than the first statement's if the paper was written
        # between the two (PostgreSQL's statements each see the latest commit): the answer shows the newer one.
        for row in session.execute(_FACTS, {"paper_ids": unknown}):
            facts[row.id] = PaperFacts(*row)
            PAPER_FACTS.put((row.id, row.changed_at), facts[row.id])
    return facts


def paper_details(session: Session, paper_ids: Collection[int]) -> dict[int, PaperDetails]:
    """The details of these papers, by id; ids of no stored paper are absent. Withdrawn papers are included: the
    listing queries leave them out, and a single paper's answer says it is withdrawn."""
    if not paper_ids:
        return {}
    rows = session.execute(_DETAILS, {"paper_ids": list(paper_ids)}).all()
    facts = _facts(session, [(row.id, row.changed_at) for row in rows])
    return {
        row.id: PaperDetails(
            facts[row.id],
            row.upvotes,
            row.comments,
            None
            if row.organization_id is None
            else OrganizationRef(row.organization_id, row.organization_name, row.organization_fullname),
            None if row.width is None else ThumbnailSize(row.width, row.height),
            None if row.keywords is None else list(row.keywords),
        )
        for row in rows
        # A paper deleted between the two statements is left out, as one deleted before the first.
        if row.id in facts
    }
