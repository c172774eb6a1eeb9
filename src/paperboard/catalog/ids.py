"""arXiv identifiers: recognising them in every form people paste, and their canonical spelling.

New-style ids are `YYMM.NNNN` (April 2007 to December 2014) or `YYMM.NNNNN` (since January 2015);
old-style ids are `archive/YYMMNNN`, optionally written with a subject class (`math.GT/0309136`),
which is not part of the identifier and is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_NEW_STYLE = re.compile(r"(?P<yymm>\d{4})\.(?P<number>\d{4,5})(?:v(?P<version>\d+))?")
_OLD_STYLE = re.compile(
    r"(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.[A-Z]{2})?/(?P<yymm>\d{4})(?P<number>\d{3})(?:v(?P<version>\d+))?"
)
# Prefixes that wrap an id: the arXiv: scheme, OAI identifiers, and arXiv's DataCite DOIs.
_PREFIXES = re.compile(r"^(?:arxiv:|oai:arxiv\.org:|(?:doi:|https?://doi\.org/)?10\.48550/arxiv\.)", re.IGNORECASE)
# Hosts whose paths carry an arXiv id: arXiv itself and the sites that mirror its paths.
_PAPER_HOSTS = re.compile(
    r"^(?:(?:www|export|browse|lanl)\.)?arxiv\.org$|^(?:www\.)?(?:alphaxiv\.org|huggingface\.co|ar5iv\.org"
    r"|ar5iv\.labs\.arxiv\.org|arxiv-sanity-lite\.com|scholar-inbox\.com)$",
    re.IGNORECASE,
)
_PATH_PREFIXES = re.compile(r"^/(?:abs|pdf|html|format|papers|paper|overview|html5)/", re.IGNORECASE)


class InvalidArxivId(ValueError):
    """The text is not an arXiv identifier in any form Paperboard recognises."""


@dataclass(frozen=True, slots=True)
class ArxivId:
    """A canonical arXiv id (`2506.03781`, `hep-th/9901001`) and the version it was written with, if any."""

    id: str
    version: int | None = None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}v{self.version}"


def _strip_url(text: str) -> str:
    """The id-bearing part of a URL on a known host, or the text unchanged when it is not such a URL."""
    candidate = text if "://" in text else f"https://{text}" if text.split("/", 1)[0].count(".") >= 1 else None
    if candidate is None:
        return text
    try:
        parts = urlsplit(candidate)
        hostname = parts.hostname or ""
    except ValueError:
        # A bracketed "host" that is no IPv6 address (`[cs.LG]`): no known host, so not an address of a paper.
        return text
    if not _PAPER_HOSTS.match(hostname):
        return text
    path = unquote(parts.path)
    prefix = _PATH_PREFIXES.match(path)
    if not prefix:
        raise InvalidArxivId(f"{text!r} is an arXiv address but not one of a paper")
    path = path[prefix.end() :].rstrip("/")
    return path.removesuffix(".pdf").removesuffix(".md")


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse an id, `arXiv:` reference, OAI identifier, DOI or abs/pdf/html URL into a canonical `ArxivId`."""
    if not isinstance(text, str):
        raise InvalidArxivId(f"an arXiv id must be text, not {type(text).__name__}")
    cleaned = text.strip()
    if not cleaned:
        raise InvalidArxivId("the arXiv id is empty")
    if len(cleaned) > 300:
        raise InvalidArxivId("the arXiv id is too long")
    match = _NEW_STYLE.fullmatch(cleaned)
    if match is None:
        cleaned = _strip_url(_PREFIXES.sub("", cleaned))
        match = _NEW_STYLE.fullmatch(cleaned)
    if match:
        month = int(match["yymm"][2:])
        year = int(match["yymm"][:2])
        if not 1 <= month <= 12:
            raise InvalidArxivId(f"{text!r} is not an arXiv id: month {month:02d} does not exist")
        if (year, month) < (7, 4):
            raise InvalidArxivId(f"{text!r} is not an arXiv id: new-style ids began in April 2007")
        # Five-digit numbers started in January 2015, four-digit ones ended in December 2014.
        if (len(match["number"]) == 5) != (year >= 15):
            raise InvalidArxivId(f"{text!r} is not an arXiv id: wrong number of digits for 20{year:02d}")
        return ArxivId(f"{match['yymm']}.{match['number']}", _version(match["version"]))
    match = _OLD_STYLE.fullmatch(cleaned)
    if match:
        if not 1 <= int(match["yymm"][2:]) <= 12:
            raise InvalidArxivId(f"{text!r} is not an arXiv id: month {match['yymm'][2:]} does not exist")
        return ArxivId(f"{match['archive']}/{match['yymm']}{match['number']}", _version(match["version"]))
    raise InvalidArxivId(f"{text!r} is not an arXiv id (expected e.g. 2506.03781 or hep-th/9901001)")


def _version(text: str | None) -> int | None:
    if text is None:
        return None
    version = int(text)
    if version < 1:
        raise InvalidArxivId(f"arXiv versions start at v1, not v{version}")
    return version
