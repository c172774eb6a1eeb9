"""Times as the API writes them: ISO 8601 in UTC ending in `Z`, as Hugging Face's API writes them and
`huggingface_hub` reads them. The database stores naive UTC times; a model field of this type makes them explicit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator


def _as_utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_as_utc)]
