"""How the API's errors look in its OpenAPI schema: the app's error handlers answer every failure of an /api/ path
with `{"error": message}` (`web.app.json_error`); routes declare here which statuses they can answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    error: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route or router that can answer these statuses with an `ErrorBody`."""
    return {status: {"model": ErrorBody} for status in statuses}
