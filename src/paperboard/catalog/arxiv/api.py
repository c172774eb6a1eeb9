"""arXiv's query API (Atom 1.0): papers by id, a batch per request, read into checked records.

A response is an Atom `<feed>` with one `<entry>` per paper found; ids arXiv does not know are simply
absent. A request arXiv cannot answer (a malformed id, say) yields an error entry instead of papers:
its `<id>` is `http://arxiv.org/api/errors#...` and its `<summary>` says what went wrong.
Responses are parsed with defusedxml: they come from the network and must not expand entities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from paperboard.catalog.arxiv.http import FetchError, Pacer, PoliteClient, RetryPolicy, WaitListener
from paperboard.catalog.ids import ArxivId, InvalidArxivId, parse_arxiv_id
from paperboard.catalog.record import PaperRecord, RecordError, build_record
from paperboard.config import Settings

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
# arXiv answers up to 2,000 results per request; a hundred ids keep the URL short and a failed request cheap.
DEFAULT_BATCH_SIZE = 100
_ERROR_ID_MARKER = "/api/errors"
_IDS_NAMED_IN_MESSAGES = 3


class ArxivApiError(Exception):
    """A request to the arXiv API failed for good, or its response is not a readable Atom feed."""


@dataclass(frozen=True)
class BadEntry:
    """An entry that cannot be stored; `arxiv_id` is None when the entry has no readable id."""

    position: int
    arxiv_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.arxiv_id or f'entry {self.position}'}: {self.message}"


@dataclass
class Feed:
    """What one response holds: the papers, the entries that could not be read, and arXiv's error messages."""

    records: list[PaperRecord] = field(default_factory=list)
    bad_entries: list[BadEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def _add_entry(self, position: int, entry: Element, entry_id: str) -> None:
        """Keep the entry's paper, or note why it cannot be kept."""
        try:
            parsed_id = parse_arxiv_id(entry_id)
        except InvalidArxivId as error:
            self.bad_entries.append(BadEntry(position, entry_id, f"id: {error}"))
            return
        try:
            self.records.append(_record(entry, parsed_id))
        except RecordError as error:
            self.bad_entries.append(BadEntry(position, parsed_id.id, str(error)))


def _describe_request(arxiv_ids: Sequence[str]) -> str:
    """The request for these ids as messages name it, without listing a hundred of them."""
    named = ",".join(arxiv_ids[:_IDS_NAMED_IN_MESSAGES])
    more = len(arxiv_ids) - _IDS_NAMED_IN_MESSAGES
    return f"the arXiv API request id_list={named}" + (f",… ({len(arxiv_ids)} ids)" if more > 0 else "")


def _text(parent: Element, tag: str) -> str | None:
    element = parent.find(tag)
    return None if element is None else "".join(element.itertext())


def _categories(entry: Element) -> list[str]:
    """The primary category first, then the others in feed order (build_record drops the repeat)."""
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [] if primary is None else [primary.get("term", "")]
    terms += [category.get("term", "") for category in entry.iterfind(f"{ATOM}category")]
    # The feed lists ACM (`I.2.7`) and MSC (`68T05`) classes as categories too; arXiv's own start in lower case.
    return [term.strip() for term in terms if term.strip()[:1].islower()]


def _record(entry: Element, parsed_id: ArxivId) -> PaperRecord:
    return build_record(
        arxiv_id=parsed_id.id,
        version=parsed_id.version,
        title=_text(entry, f"{ATOM}title"),
        abstract=_text(entry, f"{ATOM}summary"),
        authors=[name for author in entry.iterfind(f"{ATOM}author") if (name := _text(author, f"{ATOM}name"))],
        categories=_categories(entry),
        published_at=_text(entry, f"{ATOM}published"),
        updated_at=_text(entry, f"{ATOM}updated"),
        comment=_text(entry, f"{ARXIV}comment"),
        journal_ref=_text(entry, f"{ARXIV}journal_ref"),
        doi=_text(entry, f"{ARXIV}doi"),
    )


def parse_feed(content: bytes, request: str) -> Feed:
    """Read a response body; ArxivApiError, naming `request`, when it is not a complete Atom feed."""
    try:
        root = fromstring(content)
    except (ParseError, DefusedXmlException) as error:
        start = " ".join(content[:60].decode("utf-8", "replace").split())
        raise ArxivApiError(
            f"{request}: the response is not well-formed, safe XML ({error}); it begins {start!r}"
        ) from None
    if root.tag != f"{ATOM}feed":
        raise ArxivApiError(f"{request}: the response is not an Atom feed (its root element is <{root.tag}>)")
    feed = Feed()
    for position, entry in enumerate(root.iterfind(f"{ATOM}entry"), start=1):
        entry_id = (_text(entry, f"{ATOM}id") or "").strip()
        if _ERROR_ID_MARKER in entry_id:
            summary = " ".join((_text(entry, f"{ATOM}summary") or "").split())
            feed.errors.append(summary or entry_id)
        elif not entry_id:
            feed.bad_entries.append(BadEntry(position, None, "no <id>"))
        else:
            feed._add_entry(position, entry, entry_id)
    return feed


class ArxivApiClient:
    """Papers by id from arXiv's Atom API, politely: spaced requests, throttling and failures retried."""

    def __init__(self, http: PoliteClient, url: str, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._http = http
        self._url = url
        # How many ids go into one request; callers split longer lists accordingly.
        self.batch_size = batch_size

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_wait: WaitListener | None = None,
        pacer: Pacer | None = None,
    ) -> ArxivApiClient:
        """A client spaced by `arxiv_api_delay` in this process, and across the site's processes with `pacer`."""
        policy = RetryPolicy.from_settings(settings, min_interval=settings.arxiv_api_delay)
        http = PoliteClient(policy, settings.user_agent, on_wait=on_wait, pacer=pacer)
        return cls(http, settings.arxiv_api_url, batch_size)

    def __enter__(self) -> ArxivApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def fetch(self, arxiv_ids: Sequence[str]) -> Feed:
        """One request for these canonical ids (at most `batch_size`); ArxivApiError when it fails for good."""
        request = _describe_request(arxiv_ids)
        # Without max_results arXiv stops at 10 entries, whatever the length of the list.
        params = {"id_list": ",".join(arxiv_ids), "max_results": str(len(arxiv_ids))}
        try:
            response = self._http.get(self._url, params)
        except FetchError as error:
            if error.status == 400 and error.body.lstrip().startswith(b"<"):
                # arXiv explains a request it refuses (a malformed id, say) in an error entry sent with status 400.
                return parse_feed(error.body, request)
            raise ArxivApiError(f"{request}: {error}") from error
        return parse_feed(response.content, request)
