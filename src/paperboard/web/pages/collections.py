"""Collection pages: the save button of every card, "add to collection…", the reader's collections (`/collections`),
a collection's page (`/collections/{owner}/{slug}`, readable by anyone when public), the forms that create, edit,
reorder and delete, and importing a library. The rules are the service's (`personal.collections`); a private
collection of somebody else is a 404 here as everywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from paperboard.db.models import PaperCollection, User
from paperboard.personal import collections as service
from paperboard.personal.collections import (
    AlreadyInCollection,
    CollectionExists,
    CollectionNotFound,
    CollectionRefused,
    ItemNotFound,
    NotCollectionOwner,
    PaperNotInCatalogue,
)
from paperboard.personal.library_import import MAX_IMPORT_CHARACTERS, ImportFormat, import_library
from paperboard.web.deps import DatabaseDep, ReadSessionDep, SettingsDep
from paperboard.web.pages.feeds import collection_feeds
from paperboard.web.pages.paper import canonical_id, paper_or_404
from paperboard.web.security import CsrfChecked, OptionalUser, RequiredUser, same_site_referrer
from paperboard.web.templating import templates

router = APIRouter()

# A change `_change` makes to a collection of the signed-in reader's.
ChangeCollection = Callable[[Session, PaperCollection], None]

Text = Annotated[str, Form(max_length=service.MAX_DESCRIPTION_LENGTH * 2)]


@contextmanager
def http_errors() -> Iterator[None]:
    """The service's refusals as the HTTP errors they are: not found (a private collection of somebody else
    included) 404, somebody else's public collection 403, a duplicate 409, anything else refused 400."""
    try:
        yield
    except (CollectionNotFound, ItemNotFound, PaperNotInCatalogue) as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except NotCollectionOwner as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    except (AlreadyInCollection, CollectionExists) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except CollectionRefused as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None


def collection_path(request: Request, owner: User, collection: PaperCollection) -> str:
    owner_name, _, slug = service.collection_slug(owner, collection).partition("/")
    return request.url_for("collection", owner=owner_name, slug=slug).path


def public_collections(request: Request, session: Session, owner: User) -> dict[str, object]:
    """What a profile shows of the user's collections: the public ones, for every visitor alike (the profile is a
    cached page)."""
    shown = service.user_collections(session, owner.id, None)
    return {
        "public_collections": shown,
        "collection_paths": {c.id: collection_path(request, owner, c) for c in shown},
    }


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=status.HTTP_303_SEE_OTHER)


# The save button and "add to collection…"


@router.post("/papers/{arxiv_id:path}/save", name="save_paper", dependencies=[CsrfChecked])
def save_paper(
    request: Request,
    arxiv_id: str,
    database: DatabaseDep,
    user: RequiredUser,
    action: Annotated[Literal["add", "remove"], Form()],
) -> Response:
    """Put the paper in the reader's Saved collection or take it out: htmx gets the new button, a plain form a
    redirect back."""
    canonical = canonical_id(arxiv_id)
    with database.session() as session:
        paper = paper_or_404(session, canonical)
        service.set_saved(session, user.id, paper, saved=action == "add")
    if request.headers.get("HX-Request"):
        return templates.TemplateResponse(request, "partials/save_button.html", {"arxiv_id": canonical})
    return _see_other(same_site_referrer(request) or f"/papers/{canonical}")


@router.get("/papers/{arxiv_id:path}/collections", name="paper_collections", response_class=HTMLResponse)
def paper_collections(request: Request, arxiv_id: str, session: ReadSessionDep, user: RequiredUser) -> HTMLResponse:
    """Which of the reader's collections hold the paper, each with a button to add it or take it out."""
    paper = paper_or_404(session, canonical_id(arxiv_id))
    mine = service.user_collections(session, user.id, user.id)
    holding = {c.id for c in service.collections_holding(session, paper.id, user.id, owner_id=user.id)}
    return templates.TemplateResponse(
        request,
        "collections/paper.html",
        {"paper": paper, "collections": mine, "holding": holding, "max_note": service.MAX_NOTE_LENGTH},
    )


@router.post("/papers/{arxiv_id:path}/collections", name="file_paper", dependencies=[CsrfChecked])
def file_paper(
    request: Request,
    arxiv_id: str,
    database: DatabaseDep,
    user: RequiredUser,
    collection: Annotated[str, Form(max_length=40)],
    action: Annotated[Literal["add", "remove"], Form()],
    note: Annotated[str, Form(max_length=service.MAX_NOTE_LENGTH * 2)] = "",
) -> Response:
    canonical = canonical_id(arxiv_id)
    with database.session() as session, http_errors():
        paper = paper_or_404(session, canonical)
        target = service.owned_collection(session, collection, user.id)
        if action == "add":
            service.add_paper(session, target, paper, note=note)
        else:
            service.remove_paper(session, target, paper.id)
    return _see_other(request.url_for("paper_collections", arxiv_id=canonical).path)


# The reader's collections


def _my_collections_page(
    request: Request, session: Session, user: User, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    mine = service.user_collections(session, user.id, user.id)
    return templates.TemplateResponse(
        request,
        "collections/mine.html",
        {
            "collections": mine,
            "counts": service.item_counts(session, mine),
            "paths": {c.id: collection_path(request, user, c) for c in mine},
            "error": error,
            "max_title": service.MAX_TITLE_LENGTH,
            "max_description": service.MAX_DESCRIPTION_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/collections", name="my_collections", response_class=HTMLResponse)
def my_collections(request: Request, database: DatabaseDep, user: RequiredUser) -> HTMLResponse:
    # A writing session: the Saved collection is made the first time the reader looks for it.
    with database.session() as session:
        service.saved_collection(session, user.id)
        return _my_collections_page(request, session, user)


@router.post("/collections", name="create_collection", dependencies=[CsrfChecked])
def create_collection(
    request: Request,
    database: DatabaseDep,
    user: RequiredUser,
    title: Annotated[str, Form(max_length=service.MAX_TITLE_LENGTH * 2)],
    description: Text = "",
    private: Annotated[bool, Form()] = False,
) -> Response:
    with database.session() as session:
        try:
            created = service.create_collection(session, user.id, title, description=description, private=private)
        except CollectionRefused as error:
            # Nothing was written but, perhaps, the reader's Saved collection, which may as well stay.
            return _my_collections_page(request, session, user, error=str(error), status_code=400)
        return _see_other(collection_path(request, user, created))


# One collection


@router.get("/collections/{owner}/{slug}", name="collection", response_class=HTMLResponse)
def collection_page(request: Request, owner: str, slug: str, session: ReadSessionDep, reader: OptionalUser) -> Response:
    with http_errors():
        collection = service.collection_at(session, owner, slug, None if reader is None else reader.id)
    view = service.collection_view(session, collection)
    path = collection_path(request, view.owner, collection)
    if request.url.path != path:
        # An address from before a rename, or with the owner's name in another case: the current one.
        return RedirectResponse(path, status_code=status.HTTP_301_MOVED_PERMANENTLY)
    owner_name, _, page_slug = view.slug.partition("/")
    return templates.TemplateResponse(
        request,
        "collections/page.html",
        {
            "view": view,
            "path": path,
            "owner_name": owner_name,
            "slug": page_slug,
            "is_owner": reader is not None and reader.id == collection.owner_id,
            "feeds": [] if collection.private else collection_feeds(request, collection.title, owner_name, page_slug),
            "bibtex": request.url_for("collection_bibtex", owner=owner_name, slug=page_slug).path,
            "max_title": service.MAX_TITLE_LENGTH,
            "max_description": service.MAX_DESCRIPTION_LENGTH,
            "max_note": service.MAX_NOTE_LENGTH,
        },
    )


def _change(
    request: Request, database: DatabaseDep, user: User, owner: str, slug: str, change: ChangeCollection
) -> Response:
    """Apply a change to a collection of the user's and go back to its page (at its new address after a rename)."""
    with database.session() as session, http_errors():
        collection = service.owned_collection_at(session, owner, slug, user.id)
        change(session, collection)
        return _see_other(collection_path(request, user, collection))


@router.post("/collections/{owner}/{slug}/edit", name="edit_collection", dependencies=[CsrfChecked])
def edit_collection(
    request: Request,
    owner: str,
    slug: str,
    database: DatabaseDep,
    user: RequiredUser,
    title: Annotated[str, Form(max_length=service.MAX_TITLE_LENGTH * 2)],
    description: Text = "",
    private: Annotated[bool, Form()] = False,
) -> Response:
    def edit(session: Session, collection: PaperCollection) -> None:
        service.update_collection(
            session,
            collection,
            title=None if collection.is_saved else title,
            description=description,
            private=True if collection.is_saved else private,
        )

    return _change(request, database, user, owner, slug, edit)


@router.post("/collections/{owner}/{slug}/delete", name="delete_collection", dependencies=[CsrfChecked])
def delete_collection(request: Request, owner: str, slug: str, database: DatabaseDep, user: RequiredUser) -> Response:
    with database.session() as session, http_errors():
        service.delete_collection(session, service.owned_collection_at(session, owner, slug, user.id))
    return _see_other(request.url_for("my_collections").path)


@router.post("/collections/{owner}/{slug}/items", name="add_collection_item", dependencies=[CsrfChecked])
def add_item(
    request: Request,
    owner: str,
    slug: str,
    database: DatabaseDep,
    user: RequiredUser,
    paper: Annotated[str, Form(max_length=300)],
    note: Annotated[str, Form(max_length=service.MAX_NOTE_LENGTH * 2)] = "",
) -> Response:
    def add(session: Session, collection: PaperCollection) -> None:
        service.add_paper(session, collection, paper, note=note)

    return _change(request, database, user, owner, slug, add)


@router.post("/collections/{owner}/{slug}/items/{item}/note", name="note_collection_item", dependencies=[CsrfChecked])
def note_item(
    request: Request,
    owner: str,
    slug: str,
    item: str,
    database: DatabaseDep,
    user: RequiredUser,
    note: Annotated[str, Form(max_length=service.MAX_NOTE_LENGTH * 2)] = "",
) -> Response:
    def write(session: Session, collection: PaperCollection) -> None:
        service.update_item(session, collection, item, note=note)

    return _change(request, database, user, owner, slug, write)


@router.post("/collections/{owner}/{slug}/items/{item}/move", name="move_collection_item", dependencies=[CsrfChecked])
def move_item(
    request: Request,
    owner: str,
    slug: str,
    item: str,
    database: DatabaseDep,
    user: RequiredUser,
    position: Annotated[int, Form(ge=0, le=service.MAX_ITEMS_PER_COLLECTION)],
) -> Response:
    def move(session: Session, collection: PaperCollection) -> None:
        service.update_item(session, collection, item, position=position)

    return _change(request, database, user, owner, slug, move)


@router.post(
    "/collections/{owner}/{slug}/items/{item}/remove", name="remove_collection_item", dependencies=[CsrfChecked]
)
def remove_item(
    request: Request, owner: str, slug: str, item: str, database: DatabaseDep, user: RequiredUser
) -> Response:
    def remove(session: Session, collection: PaperCollection) -> None:
        service.remove_item(session, collection, item)

    return _change(request, database, user, owner, slug, remove)


# Importing a library


def _import_page(
    request: Request, view: service.CollectionView, settings: SettingsDep, **context: object
) -> HTMLResponse:
    owner_name, _, slug = view.slug.partition("/")
    return templates.TemplateResponse(
        request,
        "collections/import.html",
        {
            "view": view,
            "path": collection_path(request, view.owner, view.collection),
            "owner_name": owner_name,
            "slug": slug,
            "max_form_kib": settings.max_form_bytes // 1024,
            "report": None,
            "error": None,
            **context,
        },
        status_code=400 if context.get("error") else 200,
    )


@router.get("/collections/{owner}/{slug}/import", name="import_collection", response_class=HTMLResponse)
def import_form(
    request: Request, owner: str, slug: str, session: ReadSessionDep, user: RequiredUser, settings: SettingsDep
) -> HTMLResponse:
    with http_errors():
        collection = service.owned_collection_at(session, owner, slug, user.id)
    return _import_page(request, service.collection_view(session, collection), settings)


@router.post("/collections/{owner}/{slug}/import", name="run_import", dependencies=[CsrfChecked])
def run_import(
    request: Request,
    owner: str,
    slug: str,
    database: DatabaseDep,
    user: RequiredUser,
    settings: SettingsDep,
    ids: Annotated[str, Form(max_length=MAX_IMPORT_CHARACTERS)] = "",
    bibtex: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """A BibTeX file if one was chosen, else the pasted ids. The body is bounded by `max_form_bytes` before this
    runs (web/body_limits.py), and the service bounds the text again."""
    with database.session() as session, http_errors():
        collection = service.owned_collection_at(session, owner, slug, user.id)
        import_format: ImportFormat = "ids"
        text = ids
        if bibtex is not None and bibtex.filename:
            # Within the form limit, Starlette kept the file in memory: reading it does not wait on a disk.
            try:
                text, import_format = bibtex.file.read().decode("utf-8-sig"), "bibtex"
            except UnicodeDecodeError:
                view = service.collection_view(session, collection)
                return _import_page(request, view, settings, error=f"{bibtex.filename} is not UTF-8 text.")
        try:
            report = import_library(session, collection, text, import_format)
        except CollectionRefused as error:
            view = service.collection_view(session, collection)
            return _import_page(request, view, settings, error=str(error))
        return _import_page(request, service.collection_view(session, collection), settings, report=report)
