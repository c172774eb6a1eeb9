"""The most a request body may weigh: 413 for anything larger, before the app, its authentication or its form
parser see a byte of it.

A body announced larger than its limit (`Content-Length`) is refused without being read. Any other body, chunked
ones included, is read here as it streams, counting its bytes, and refused as soon as the count passes the limit;
a body within it is handed to the app whole. So a refused request reaches no route (none can act on it and then
be refused), nothing is parsed, and nothing is spooled to disk: a form within its limit is smaller than the size at
which Starlette's multipart parser starts writing files. At most one limit's worth of bytes per request is held.

Forms (`application/x-www-form-urlencoded`, `multipart/form-data`) have a limit of their own, smaller than other
bodies': every form of the site is a few fields of text.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperboard.web.refusals import refuse

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The client is told the connection ends here: a refused body was not read, so the connection is in no state to
# carry another request.
_CLOSE = [(b"connection", b"close")]


class BodyLimits:
    """413 for request bodies over `max_form_bytes` (forms) or `max_body_bytes` (everything else)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_form_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_form_bytes = max_form_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        announced = headers.get("content-length")
        if announced is None and "transfer-encoding" not in headers:
            # No body (RFC 9112, 6.3): nothing to count.
            await self.app(scope, receive, send)
            return
        is_form = headers.get("content-type", "").lower().startswith(FORM_CONTENT_TYPES)
        limit = self.max_form_bytes if is_form else self.max_body_bytes
        if announced is not None and announced.isdigit() and int(announced) > limit:
            await _too_large(scope, send, limit)
            return
        body = await _read_at_most(receive, limit)
        if body is None:
            await _too_large(scope, send, limit)
            return
        await self.app(scope, _replaying(body, receive), send)


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes. A client that leaves midway gets None too: the
    refusal then goes to no one, which the server allows."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read here first, then waits on the server's, as the app expects: after the
    body, the next message says the client disconnected."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    await refuse(
        scope,
        send,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"The request body is larger than this address accepts ({limit:,} bytes).",
        _CLOSE,
    )
