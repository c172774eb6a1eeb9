"""Conditional GET (RFC 9110, section 13): responses that carry an ETag and a Last-Modified date, and 304 Not
Modified, without a body, to a client whose copy is still current."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.datastructures import Headers
from starlette.responses import Response


def entity_tag(body: bytes) -> str:
    """A strong ETag: a digest of the body, so equal bodies share it in every worker process and across restarts."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _utc(moment: datetime) -> datetime:
    """A stored naive UTC time, or a parsed one, as an aware time to the second, the precision of HTTP dates."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0)


def is_current(headers: Headers, etag: str, last_modified: datetime | None) -> bool:
    """Whether the copy the request's validators describe is the current one. `If-None-Match` decides when it is
    sent, as the more precise validator; otherwise `If-Modified-Since`; a date that does not parse is ignored."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        # Weak comparison, as a GET calls for: a W/ prefix does not stop a match.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    return _utc(last_modified) <= _utc(since)


def conditional_response(
    headers: Headers, body: bytes, media_type: str, last_modified: datetime | None, *, max_age: int
) -> Response:
    """`body` with its validators, or 304 when the request's copy is current; both may be kept `max_age` seconds."""
    response_headers = {"ETag": entity_tag(body), "Cache-Control": f"public, max-age={max_age}"}
    if last_modified is not None:
        response_headers["Last-Modified"] = format_datetime(_utc(last_modified), usegmt=True)
    if is_current(headers, response_headers["ETag"], last_modified):
        return Response(status_code=304, headers=response_headers)
    return Response(body, media_type=media_type, headers=response_headers)
