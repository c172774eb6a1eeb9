"""The shape every source turns its papers into before they are stored, and the checks it must pass."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.links import find_links
from paperboard.characters import forbidden_character

MAX_TITLE_LENGTH = 1_000
MAX_ABSTRACT_LENGTH = 20_000
MAX_AUTHORS = 5_000
MAX_AUTHOR_LENGTH = 1_000
MAX_FIELD_LENGTH = 2_000
# Versions are stored in a 32-bit integer column, categories in one of 64 characters.
MAX_VERSION = 2**31 - 1
MAX_CATEGORY_LENGTH = 64
_CATEGORY = re.compile(r"[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_AUTHOR_SEPARATORS = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_PARENTHESISED = re.compile(r"\([^()]*\)")


class RecordError(ValueError):
    """A record from a file or a feed cannot be stored; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """A paper as a source describes it, normalised; `None` means the source does not say."""

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    published_at: datetime
    version: int | None = None
    updated_at: datetime | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    deleted_at: datetime | None = None


RECORD_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(PaperRecord))


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def normalise_abstract(text: str) -> str:
    """Line breaks inside a paragraph become spaces; paragraphs stay apart; LaTeX is kept as written."""
    paragraphs = (collapse_whitespace(part) for part in _PARAGRAPH_BREAK.split(text.strip()))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def split_author_string(authors: str) -> list[str]:
    """`A. One (MIT), B. Two and C. Three` as a list of names, affiliations in parentheses dropped."""
    previous = None
    while previous != authors:
        previous, authors = authors, _PARENTHESISED.sub(" ", authors)
    return [name for name in (collapse_whitespace(part) for part in _AUTHOR_SEPARATORS.split(authors)) if name]


def parse_datetime(value: object, field: str) -> datetime:
    """A date or time in ISO 8601 (`2025-06-04`, `2025-06-04T17:59:58Z`) or RFC 2822, as naive UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError):
                raise RecordError(f"{field}: {value!r} is not a date") from None
    else:
        raise RecordError(f"{field}: {value!r} is not a date")
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            # 0001-01-01T00:00:00+01:00 is a year before the first one in UTC.
            raise RecordError(f"{field}: {value!r} is not a date Paperboard can store") from None
    return parsed


def _text(value: object, field: str) -> str:
    """`value` if it is text that holds no forbidden character (`paperboard.characters`); RecordError otherwise."""
    if not isinstance(value, str):
        raise RecordError(f"{field}: expected text, got {type(value).__name__}")
    problem = forbidden_character(value)
    if problem is not None:
        raise RecordError(f"{field}: {problem}")
    return value


def checked_text(value: object, field: str, limit: int = MAX_FIELD_LENGTH) -> str | None:
    """Text with its whitespace collapsed, None when empty; RecordError, naming `field`, when it is not text, holds
    a forbidden character or is longer than `limit`."""
    if value is None:
        return None
    text = collapse_whitespace(_text(value, field))
    if len(text) > limit:
        raise RecordError(f"{field}: longer than {limit} characters")
    return text or None


def checked_web_url(value: object, field: str) -> str | None:
    """An http(s) address, None when empty; RecordError, naming `field`, for anything else."""
    url = checked_text(value, field)
    # Pages turn these into links: anything but http(s) (javascript:, data:) would be a way to inject script.
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise RecordError(f"{field}: {url[:80]!r} is not an http(s) URL")
    return url


def _sequence(values: Iterable[object], field: str) -> Iterable[object]:
    if isinstance(values, str | bytes | dict) or not isinstance(values, Iterable):
        raise RecordError(f"{field}: expected a list, got {type(values).__name__}")
    return values


def _names(values: Iterable[object], field: str) -> tuple[str, ...]:
    names = []
    for value in _sequence(values, field):
        name = checked_text(value, field, MAX_AUTHOR_LENGTH)
        if name:
            names.append(name)
    if len(names) > MAX_AUTHORS:
        raise RecordError(f"{field}: more than {MAX_AUTHORS} authors")
    return tuple(names)


def _categories(values: Iterable[object]) -> tuple[str, ...]:
    categories: list[str] = []
    for value in _sequence(values, "categories"):
        if not isinstance(value, str) or len(value) > MAX_CATEGORY_LENGTH or not _CATEGORY.fullmatch(value.strip()):
            raise RecordError(f"categories: {value!r} is not an arXiv category")
        category = value.strip()
        if category not in categories:
            categories.append(category)
    return tuple(categories)


_UNSET = object()


def build_record(
    *,
    arxiv_id: object,
    title: object,
    abstract: object,
    authors: Iterable[object],
    categories: Iterable[object],
    published_at: object,
    version: object = None,
    updated_at: object = None,
    comment: object = None,
    journal_ref: object = None,
    doi: object = None,
    license: object = None,
    code_url: object = _UNSET,
    project_url: object = _UNSET,
    deleted_at: object = None,
) -> PaperRecord:
    """Check and normalise one paper. Links not given are looked for in the abstract and comments."""
    if arxiv_id is None or arxiv_id == "":
        raise RecordError("id: missing")
    if isinstance(arxiv_id, int | float) and not isinstance(arxiv_id, bool):
        # Not read as an id: as a number, 2401.10010 has already lost its last zero.
        raise RecordError(f"id: {arxiv_id!r} is a number; write the id as text, in quotes")
    try:
        parsed_id = parse_arxiv_id(arxiv_id)  # type: ignore[arg-type]
    except InvalidArxivId as error:
        raise RecordError(f"id: {error}") from None
    clean_title = checked_text(title, "title", MAX_TITLE_LENGTH)
    if not clean_title:
        raise RecordError("title: missing")
    clean_abstract = "" if abstract is None else normalise_abstract(_text(abstract, "abstract"))
    if len(clean_abstract) > MAX_ABSTRACT_LENGTH:
        raise RecordError(f"abstract: longer than {MAX_ABSTRACT_LENGTH} characters")
    if published_at is None or published_at == "":
        raise RecordError("published: missing")
    if version is None:
        version = parsed_id.version
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION
    ):
        raise RecordError(f"version: {version!r} is not a version number")
    clean_comment = checked_text(comment, "comment")
    if code_url is _UNSET or project_url is _UNSET:
        found = find_links(clean_abstract, clean_comment)
        code_url = found.code_url if code_url is _UNSET else code_url
        project_url = found.project_url if project_url is _UNSET else project_url
    return PaperRecord(
        arxiv_id=parsed_id.id,
        title=clean_title,
        abstract=clean_abstract,
        authors=_names(authors, "authors"),
        categories=_categories(categories),
        published_at=parse_datetime(published_at, "published"),
        version=version,  # type: ignore[arg-type]
        updated_at=None if updated_at in (None, "") else parse_datetime(updated_at, "updated"),
        comment=clean_comment,
        journal_ref=checked_text(journal_ref, "journal_ref"),
        doi=checked_text(doi, "doi", 255),
        license=checked_text(license, "license", 255),
        code_url=checked_web_url(code_url, "code_url"),
        project_url=checked_web_url(project_url, "project_url"),
        deleted_at=None if deleted_at in (None, "") else parse_datetime(deleted_at, "deleted"),
    )
