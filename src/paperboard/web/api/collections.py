"""Collections through the API, on Hugging Face's paths and in its shapes, so that `huggingface_hub`'s
`create_collection`, `get_collection`, `list_collections`, `update_collection_metadata`, `delete_collection`,
`add_collection_item`, `update_collection_item` and `delete_collection_item` work against this site for papers.

The rules are the service's (`personal.collections`). Reading needs no token, but a private collection exists only
for its owner's token: anyone else gets 404, as for a collection that never existed. Changing needs the owner's
token (somebody else's public collection: 403). Paperboard's collections hold papers only: another item type is a
400 that says so. Collections have no upvotes or themes here: `upvotes` is always 0, `theme` always "default"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.queries import get_paper
from paperboard.community.accounts import user_by_name
from paperboard.community.counts import upvote_counts
from paperboard.db.models import Paper, PaperCollection, User
from paperboard.personal import collections as service
from paperboard.personal.collections import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_TITLE_LENGTH,
    CollectionExists,
    CollectionView,
    ItemView,
)
from paperboard.personal.library_import import MAX_IMPORT_CHARACTERS, ImportFormat, import_library
from paperboard.web.api.auth import OptionalTokenUser, TokenUser
from paperboard.web.api.errors import error_responses
from paperboard.web.api.schemas import AVATAR_PATH, ApiModel
from paperboard.web.api.times import UtcDatetime
from paperboard.web.deps import DatabaseDep, ReadSessionDep
from paperboard.web.pages.collections import http_errors
from paperboard.web.urls import site_url

router = APIRouter(tags=["collections"])
COLLECTION_PATH = "/api/collections/{namespace}/{slug}"
ITEM_PATH = COLLECTION_PATH + "/items/{item_object_id}"
# Hugging Face's lists of collections preview each collection with its first four items.
PREVIEW_ITEMS = 4
MAX_PAGE = 10_000
THEME = "default"


class Owner(ApiModel):
    id: str = Field(alias="_id")
    name: str = Field(description="The owner's user name, as in the collection's slug.")
    fullname: str
    avatar_url: str
    type: Literal["user"] = "user"


class ItemNote(BaseModel):
    text: str
    html: str = Field(description="The text, escaped for HTML (notes are plain text).")


class ApiCollectionItem(ApiModel):
    id: str = Field(description="The paper's arXiv id.")
    object_id: str = Field(alias="_id", description="The item's own id, by which it is updated and deleted.")
    type: Literal["paper"] = "paper"
    position: int
    note: ItemNote | None
    title: str
    published_at: UtcDatetime
    upvotes: int


class ApiCollection(ApiModel):
    slug: str = Field(description="`{owner}/{title words}-{id}`: the collection's address after /collections/.")
    title: str
    description: str | None
    owner: Owner
    items: list[ApiCollectionItem] = Field(description="In order; a list of collections shows the first four.")
    last_updated: UtcDatetime
    private: bool
    theme: str = Field(default=THEME, description="Paperboard has no collection themes: always `default`.")
    upvotes: int = Field(default=0, description="Collections take no upvotes here: always 0.")
    is_upvoted_by_user: bool = False
    gating: bool = False
    share_url: str


class ApiCollectionAt(ApiCollection):
    position: int = Field(description="Where the collection stands in its owner's list: Saved first, then by age.")


class UpdatedCollection(BaseModel):
    success: bool = True
    data: ApiCollectionAt


class NewCollection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=MAX_TITLE_LENGTH * 2)
    namespace: str = Field(max_length=100, description="Your user name: collections belong to their creator.")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH * 2)
    private: bool = False


class CollectionChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=MAX_TITLE_LENGTH * 2)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH * 2)
    private: bool | None = None
    position: int | None = Field(default=None, description="Not supported: collections stand by age.")
    theme: str | None = Field(default=None, max_length=40, description="Not supported: collections have no theme.")


class ItemReference(BaseModel):
    id: str = Field(max_length=300, description="The paper's arXiv id, in any form arXiv ids are written.")
    type: str = Field(max_length=20, description="`paper`: the only item type Paperboard's collections hold.")


class NewItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: ItemReference
    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH * 2)


class LibraryImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ImportFormat = Field(description="`bibtex`: the text of a BibTeX file; `ids`: arXiv ids, one a line.")
    text: str = Field(max_length=MAX_IMPORT_CHARACTERS)


class SkippedEntry(ApiModel):
    label: str = Field(description="The BibTeX key or the line.")
    reason: str


class ImportResult(ApiModel):
    added: list[str] = Field(description="arXiv ids added at the end of the collection, in order.")
    already_there: list[str]
    not_in_catalogue: list[str] = Field(description="Well-formed ids of papers this site's catalogue lacks.")
    skipped: list[SkippedEntry] = Field(description="Entries without a readable arXiv id, and why.")


class ItemChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH * 2)
    position: int | None = Field(default=None, ge=0)


def _owner(owner: User, site: str) -> Owner:
    return Owner(id=f"{owner.id:024x}", name=owner.username, fullname=owner.display_name, avatar_url=site + AVATAR_PATH)


def _items(session: Session, entries: Sequence[ItemView]) -> list[ApiCollectionItem]:
    upvotes = upvote_counts(session, [entry.paper.id for entry in entries])
    return [
        ApiCollectionItem(
            id=entry.paper.arxiv_id,
            object_id=entry.item.object_id,
            position=entry.item.position,
            note=None if entry.item.note is None else ItemNote(text=entry.item.note, html=str(escape(entry.item.note))),
            title=entry.paper.title,
            published_at=entry.paper.published_at,
            upvotes=upvotes.get(entry.paper.id, 0),
        )
        for entry in entries
    ]


def _fields(
    session: Session, collection: PaperCollection, owner: User, entries: Sequence[ItemView], site: str
) -> dict[str, Any]:
    slug = service.collection_slug(owner, collection)
    return {
        "slug": slug,
        "title": collection.title,
        "description": collection.description,
        "owner": _owner(owner, site),
        "items": _items(session, entries),
        "last_updated": collection.updated_at,
        "private": collection.private,
        "share_url": f"{site}/collections/{slug}",
    }


def _collection_at(session: Session, view: CollectionView, site: str) -> ApiCollectionAt:
    return ApiCollectionAt(
        **_fields(session, view.collection, view.owner, view.items, site),
        position=service.collection_position(session, view.collection),
    )


def _paper_id(session: Session, item: str) -> int | None:
    kind, _, arxiv_id = item.partition("/")
    if kind != "papers" or not arxiv_id:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"Cannot filter by {item!r}: Paperboard's collections hold papers only, written papers/ID "
            "(for example papers/2506.03781).",
        )
    try:
        paper = get_paper(session, parse_arxiv_id(arxiv_id).id)
    except InvalidArxivId as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"item {item!r}: {error}.") from None
    return None if paper is None else paper.id


@router.get("/api/collections", response_model=list[ApiCollection], responses=error_responses(400, 401, 403))
def list_collections(
    request: Request,
    response: Response,
    session: ReadSessionDep,
    viewer: OptionalTokenUser,
    owner: Annotated[list[str] | None, Query(max_length=20, description="Only collections of these users.")] = None,
    item: Annotated[
        list[str] | None, Query(max_length=20, description="Only collections holding all these papers: papers/ID.")
    ] = None,
    sort: Annotated[
        Literal["lastModified", "trending", "upvotes"],
        Query(description="Collections take no upvotes here: every order is most recently changed first."),
    ] = "lastModified",
    limit: Annotated[int, Query(ge=1, le=100, description="Collections per page.")] = 50,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="The page, from 0.")] = 0,
) -> list[ApiCollection]:
    """Public collections (and, with your token, your private ones), each with its first four items; further
    pages are named by the `Link: <…>; rel="next"` header, which `huggingface_hub` follows."""
    del sort  # Every sort is the same here; accepted so that the client's calls work.
    owner_ids: list[int] | None = None
    if owner is not None:
        owner_ids = [user.id for user in (user_by_name(session, name) for name in owner) if user is not None]
    paper_ids = [_paper_id(session, reference) for reference in item or []]
    if any(paper_id is None for paper_id in paper_ids):
        return []
    found = service.find_collections(
        session,
        None if viewer is None else viewer.id,
        owner_ids=owner_ids,
        paper_ids=[paper_id for paper_id in paper_ids if paper_id is not None],
        offset=p * limit,
        limit=limit + 1,
    )
    if len(found) > limit:
        found = found[:limit]
        response.headers["Link"] = f'<{request.url.include_query_params(p=p + 1)}>; rel="next"'
    previews = service.first_items(session, found, PREVIEW_ITEMS)
    owners = {user.id: user for user in session.scalars(select(User).where(User.id.in_({c.owner_id for c in found})))}
    site = site_url(request)
    return [ApiCollection(**_fields(session, c, owners[c.owner_id], previews[c.id], site)) for c in found]


@router.get(COLLECTION_PATH, response_model=ApiCollectionAt, responses=error_responses(401, 403, 404))
def get_collection(
    request: Request, namespace: str, slug: str, session: ReadSessionDep, viewer: OptionalTokenUser
) -> ApiCollectionAt:
    """A collection with all its items in order."""
    with http_errors():
        collection = service.collection_at(session, namespace, slug, None if viewer is None else viewer.id)
        return _collection_at(session, service.collection_view(session, collection), site_url(request))


@router.post("/api/collections", response_model=ApiCollectionAt, responses=error_responses(400, 401, 403, 409))
def create_collection(request: Request, body: NewCollection, database: DatabaseDep, user: TokenUser) -> Any:
    """A new, empty collection of yours. A title you already use is a 409 whose body gives that collection's
    `slug`."""
    if body.namespace.lower() != user.username_key:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"You can create collections only as {user.username}.")
    with database.session() as session, http_errors():
        try:
            collection = service.create_collection(
                session, user.id, body.title, description=body.description, private=body.private
            )
        except CollectionExists as error:
            return JSONResponse(
                {"error": str(error), "slug": service.collection_slug(user, error.existing)},
                status_code=status.HTTP_409_CONFLICT,
            )
        return _collection_at(session, service.collection_view(session, collection), site_url(request))


@router.patch(COLLECTION_PATH, response_model=UpdatedCollection, responses=error_responses(400, 401, 403, 404, 409))
def update_collection_metadata(
    request: Request, namespace: str, slug: str, body: CollectionChanges, database: DatabaseDep, user: TokenUser
) -> Any:
    """Rename, describe, or make public or private; answers `{"success": true, "data": collection}`."""
    if body.position is not None or body.theme is not None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "Paperboard's collections have no theme and no chosen position (they stand by age); "
            "change the title, description or privacy.",
        )
    with database.session() as session, http_errors():
        collection = service.owned_collection_at(session, namespace, slug, user.id)
        service.update_collection(
            session, collection, title=body.title, description=body.description, private=body.private
        )
        view = service.collection_view(session, collection)
        return UpdatedCollection(data=_collection_at(session, view, site_url(request)))


@router.delete(
    COLLECTION_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404),
)
def delete_collection(namespace: str, slug: str, database: DatabaseDep, user: TokenUser) -> None:
    """Delete a collection of yours and its items (not Saved, which can only be emptied)."""
    with database.session() as session, http_errors():
        service.delete_collection(session, service.owned_collection_at(session, namespace, slug, user.id))


@router.post(
    COLLECTION_PATH + "/items", response_model=ApiCollectionAt, responses=error_responses(400, 401, 403, 404, 409)
)
def add_collection_item(
    request: Request, namespace: str, slug: str, body: NewItem, database: DatabaseDep, user: TokenUser
) -> ApiCollectionAt:
    """Add a paper at the end of a collection of yours, with an optional note; answers with the collection. A paper
    the collection holds already is a 409; one the catalogue lacks a 404."""
    if body.item.type != "paper":
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"Paperboard's collections hold papers only, not items of type {body.item.type!r}.",
        )
    with database.session() as session, http_errors():
        collection = service.owned_collection_at(session, namespace, slug, user.id)
        service.add_paper(session, collection, body.item.id, note=body.note)
        return _collection_at(session, service.collection_view(session, collection), site_url(request))


@router.patch(ITEM_PATH, response_model=ApiCollectionItem, responses=error_responses(400, 401, 403, 404))
def update_collection_item(
    namespace: str, slug: str, item_object_id: str, body: ItemChanges, database: DatabaseDep, user: TokenUser
) -> ApiCollectionItem:
    """Change an item's note (an empty one removes it) or move it to `position` (0 first)."""
    with database.session() as session, http_errors():
        collection = service.owned_collection_at(session, namespace, slug, user.id)
        item = service.update_item(session, collection, item_object_id, note=body.note, position=body.position)
        paper = session.get(Paper, item.paper_id)
        return _items(session, [ItemView(item, paper)])[0]


@router.delete(
    ITEM_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 403, 404),
)
def delete_collection_item(
    namespace: str, slug: str, item_object_id: str, database: DatabaseDep, user: TokenUser
) -> None:
    """Take an item out of a collection of yours."""
    with database.session() as session, http_errors():
        service.remove_item(session, service.owned_collection_at(session, namespace, slug, user.id), item_object_id)


@router.post(COLLECTION_PATH + "/import", responses=error_responses(400, 401, 403, 404, 413))
def import_into_collection(
    namespace: str, slug: str, body: LibraryImport, database: DatabaseDep, user: TokenUser
) -> ImportResult:
    """Paperboard's own: add the papers of a BibTeX file or of a list of arXiv ids to the end of a collection of
    yours. Malformed entries are named and skipped, the others kept; papers the catalogue lacks are listed."""
    with database.session() as session, http_errors():
        collection = service.owned_collection_at(session, namespace, slug, user.id)
        report = import_library(session, collection, body.text, body.format)
    return ImportResult(
        added=report.added,
        already_there=report.already_there,
        not_in_catalogue=report.not_in_catalogue,
        skipped=[SkippedEntry(label=entry.label, reason=entry.reason) for entry in report.skipped],
    )
