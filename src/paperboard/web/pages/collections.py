"""Collection pages: the reader's collections, one collection's page, and the forms that change them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, status

from paperboard.personal.collections import (
    AlreadyInCollection,
    CollectionExists,
    CollectionNotFound,
    CollectionRefused,
    ItemNotFound,
    NotCollectionOwner,
    PaperNotInCatalogue,
)

router = APIRouter()


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
