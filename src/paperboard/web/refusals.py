"""Answers that the ASGI middleware in front of the app sends itself, when it refuses a request before the app sees
it (a body too large, too many requests): in the API's shape on the paths machines read, as plain text elsewhere.

They cannot be the app's error pages: those are made by the app, which a refused request must not reach.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.types import Scope, Send

# Machines read these paths, so their errors are JSON (`{"error": message}`, the API's shape); people read every
# other page.
JSON_PATH_PREFIXES = ("/api/", "/healthz")


def site_path(scope: Scope) -> str:
    """The request's path within the site, whatever prefix a proxy mounted it under."""
    path: str = scope["path"]
    return path.removeprefix(scope.get("root_path", ""))


def wants_json(scope: Scope) -> bool:
    return site_path(scope).startswith(JSON_PATH_PREFIXES)


async def refuse(
    scope: Scope, send: Send, status: HTTPStatus, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send `status` with `message`, as JSON or plain text depending on the path, and the given extra headers."""
    if wants_json(scope):
        body, content_type = json.dumps({"error": message}).encode(), b"application/json"
    else:
        body, content_type = message.encode(), b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": int(status),
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
