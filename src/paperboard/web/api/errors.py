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


# What FastAPI declares for every route with parameters: its own 422 body, which this API never sends.
_FASTAPI_VALIDATION_SCHEMA = "#/components/schemas/HTTPValidationError"


def with_json_validation_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema as the app answers: a malformed parameter or body is a 400 `ErrorBody`, not FastAPI's
    422 `HTTPValidationError` (`web.app` turns every validation error of the API into a 400)."""
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            unprocessable = responses.get("422", {})
            if (
                unprocessable.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                == _FASTAPI_VALIDATION_SCHEMA
            ):
                del responses["422"]
                responses.setdefault("400", {"description": "Bad Request", "content": error_body})
    components = schema.get("components", {}).get("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.setdefault("ErrorBody", ErrorBody.model_json_schema())
    return schema
