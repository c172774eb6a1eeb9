"""The one rule on characters (`paperboard.characters`) applied to every request, before any route runs.

`create_app` declares `refuse_forbidden_characters` as a dependency of the whole app, so that every route, the ones
added later included, has its address (path and query) and its form or JSON body checked first. A request holding
a forbidden character anywhere is answered 400, naming the part, and reaches no route, service or database: on
PostgreSQL a NUL in a query failed with a 500, and a lone surrogate in a comment broke its Markdown rendering.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import HTTPException, Request, status

from paperboard.characters import forbidden_character, forbidden_in

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_forbidden_characters(request: Request) -> None:
    for where, problem in _in_address(request):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"The {where} {problem}.")
    for where, problem in await _in_body(request):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"The {where} {problem}.")


def _in_address(request: Request) -> Iterator[tuple[str, str]]:
    problem = forbidden_character(request.url.path)
    if problem is not None:
        yield "address", problem
    for name, value in request.query_params.multi_items():
        if (problem := forbidden_character(name)) is not None:
            yield "name of a query parameter", problem
        elif (problem := forbidden_character(value)) is not None:
            yield f"query parameter {name}", problem


async def _in_body(request: Request) -> list[tuple[str, str]]:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type in _FORM_TYPES:
        found = []
        for name, value in (await request.form()).multi_items():
            if (problem := forbidden_character(name)) is not None:
                found.append(("name of a form field", problem))
            elif isinstance(value, str) and (problem := forbidden_character(value)) is not None:
                found.append((f"form field {name}", problem))
        return found
    # FastAPI reads a body as JSON when it says it is JSON or says nothing (fastapi.routing.get_request_handler).
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        return []
    body = await request.body()
    if not body.strip():
        return []
    try:
        data = json.loads(body)
    except ValueError:
        # Not JSON: the route's own parsing answers with what is wrong with it.
        return []
    return [(f"field {where}", problem) for where, problem in forbidden_in(data)]
