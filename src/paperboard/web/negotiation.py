"""Content negotiation on the Accept header: which of the representations a route offers the client prefers.

`page_media_type` is the one choice between a page's representations, made by the route that answers and by the
page cache for its key alike: were the two to read an Accept header differently, one request could make the cache
serve its representation to every visitor after it.
"""

from __future__ import annotations

from collections.abc import Sequence


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their weights; a malformed weight counts as 0, "not wanted"."""
    ranges = []
    for part in accept.split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if media_range:
            ranges.append((media_range.lower(), quality))
    return ranges


def _quality(ranges: list[tuple[str, float]], media_type: str) -> float:
    """The weight the client gives `media_type`: that of the most specific range naming it (RFC 9110, 12.5.1)."""
    for candidate in (media_type, f"{media_type.split('/', 1)[0]}/*", "*/*"):
        weights = [quality for media_range, quality in ranges if media_range == candidate]
        if weights:
            return max(weights)
    return 0.0


def preferred_media_type(accept: str | None, offered: Sequence[str]) -> str:
    """The offered type the client weighs highest; on a tie, without an Accept header, or when it accepts none of
    them, the first offered (a page answers with its usual representation rather than 406)."""
    if not accept:
        return offered[0]
    ranges = _media_ranges(accept)
    best = max(offered, key=lambda media_type: _quality(ranges, media_type))
    return best if _quality(ranges, best) > 0 else offered[0]


HTML_MEDIA_TYPE = "text/html"
MARKDOWN_MEDIA_TYPE = "text/markdown"
# The representations a page of this site may take: the HTML page, or (the paper page) the paper as Markdown.
PAGE_MEDIA_TYPES = (HTML_MEDIA_TYPE, MARKDOWN_MEDIA_TYPE)


def page_media_type(accept: str | None) -> str:
    """The representation of a page that a request with this Accept header gets."""
    return preferred_media_type(accept, PAGE_MEDIA_TYPES)
