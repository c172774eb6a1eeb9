"""Times as the API writes them: ISO 8601 in UTC ending in `Z`, as Hugging Face's API writes them and
`huggingface_hub` reads them. The database stores naive UTC times; a model field of this type makes them explicit.
Days as it reads them: `YYYY-MM-DD` only, as its schema says (`format: date`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator


def _as_utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_as_utc)]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    # Pydantic would also read a number as seconds since 1970: `published_to=0` would be 1 January 1970.
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD, like 2025-06-04")
    return value


IsoDay = Annotated[date, BeforeValidator(_iso_day)]
