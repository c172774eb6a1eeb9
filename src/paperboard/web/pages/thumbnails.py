"""`/papers/{id}/thumbnail.webp`: the first page of a paper, as the worker rendered it (`thumbnails.jobs`).

Served from the database with an ETag (a digest of the image) and a week's `Cache-Control`: a thumbnail changes only
when it is rebuilt, and then its ETag does. A paper without one is a 404; pages never link to it then, and show a
placeholder instead. Its router comes before the paper page's, whose `/papers/{arxiv_id:path}` would take it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from paperboard.thumbnails.queries import stored_thumbnail
from paperboard.web.conditional import conditional_response
from paperboard.web.deps import ReadSessionDep
from paperboard.web.pages.paper import canonical_id

router = APIRouter()

# A week: long enough that a list's images come from the browser's cache, short enough that a rebuilt image shows.
THUMBNAIL_MAX_AGE = 7 * 24 * 3600


def thumbnail_path(arxiv_id: str) -> str:
    """The address of a paper's thumbnail below the site's base URL (for the API's absolute ones)."""
    return f"/papers/{arxiv_id}/thumbnail.webp"


@router.get("/papers/{arxiv_id:path}/thumbnail.webp", name="paper_thumbnail")
def paper_thumbnail(request: Request, arxiv_id: str, session: ReadSessionDep) -> Response:
    canonical = canonical_id(arxiv_id)
    if canonical != arxiv_id:
        target = request.url_for("paper_thumbnail", arxiv_id=canonical).path
        return RedirectResponse(target, status_code=status.HTTP_301_MOVED_PERMANENTLY)
    thumbnail = stored_thumbnail(session, canonical)
    if thumbnail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no thumbnail of {canonical} here.")
    return conditional_response(
        request.headers, thumbnail.image, "image/webp", thumbnail.rendered_at, max_age=THUMBNAIL_MAX_AGE
    )
