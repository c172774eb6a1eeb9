"""arXiv's OAI-PMH interface: request parameters, and ListRecords pages parsed into paper records.

Two of arXiv's metadata formats are read: `arXiv` (authors split into parts, licence, creation and update
dates) and `arXivRaw` (close to arXiv's internal record, with the full version history). Only the most
recent version of each paper is exposed, and its header datestamp is the last time its metadata changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from paperboard.catalog.ids import InvalidArxivId, parse_arxiv_id
from paperboard.catalog.record import PaperRecord, RecordError, build_record, parse_datetime, split_author_string

OAI = "{http://www.openarchives.org/OAI/2.0/}"
FORMATS = {"arXiv": "{http://arxiv.org/OAI/arXiv/}", "arXivRaw": "{http://arxiv.org/OAI/arXivRaw/}"}
# Archives whose OAI set lives under the physics group; every other archive is a group of its own.
_PHYSICS_ARCHIVES = frozenset(
    {
        "astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th",
        "math-ph", "nlin", "nucl-ex", "nucl-th", "physics", "quant-ph",
    }
)  # fmt: skip


class OaiError(Exception):
    """The response is not a usable OAI-PMH answer: malformed XML, or an OAI error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DeletedRecord:
    arxiv_id: str
    deleted_at: datetime


@dataclass(frozen=True)
class BadRecord:
    identifier: str
    message: str

    def __str__(self) -> str:
        return f"{self.identifier}: {self.message}"


@dataclass
class ListRecordsPage:
    records: list[PaperRecord] = field(default_factory=list)
    deleted: list[DeletedRecord] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    resumption_token: str | None = None
    complete_list_size: int | None = None
    latest_datestamp: str | None = None

    @property
    def size(self) -> int:
        return len(self.records) + len(self.deleted) + len(self.bad)


def set_for_category(category: str) -> str:
    """The OAI set of an arXiv category or archive: `cs.CL` → `cs:cs:CL`, `hep-th` → `physics:hep-th`."""
    archive, _, subject = category.partition(".")
    group = "physics" if archive in _PHYSICS_ARCHIVES else archive
    return ":".join(part for part in (group, archive, subject) if part)


def list_records_params(
    metadata_prefix: str, set_spec: str | None, from_date: date | None, until_date: date | None
) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if from_date:
        params["from"] = from_date.isoformat()
    if until_date:
        params["until"] = until_date.isoformat()
    return params


def resume_params(token: str) -> dict[str, str]:
    return {"verb": "ListRecords", "resumptionToken": token}


def _text(parent: Element, tag: str) -> str | None:
    child = parent.find(tag)
    return None if child is None or child.text is None else child.text


def _arxiv_record(metadata: Element, ns: str) -> PaperRecord:
    authors = []
    for author in metadata.findall(f"{ns}authors/{ns}author"):
        parts = (_text(author, f"{ns}forenames"), _text(author, f"{ns}keyname"), _text(author, f"{ns}suffix"))
        authors.append(" ".join(part.strip() for part in parts if part and part.strip()))
    return build_record(
        arxiv_id=_text(metadata, f"{ns}id"),
        title=_text(metadata, f"{ns}title"),
        abstract=_text(metadata, f"{ns}abstract"),
        authors=authors,
        categories=(_text(metadata, f"{ns}categories") or "").split(),
        published_at=_text(metadata, f"{ns}created"),
        updated_at=_text(metadata, f"{ns}updated"),
        comment=_text(metadata, f"{ns}comments"),
        journal_ref=_text(metadata, f"{ns}journal-ref"),
        doi=_text(metadata, f"{ns}doi"),
        license=_text(metadata, f"{ns}license"),
    )


def _raw_record(metadata: Element, ns: str) -> PaperRecord:
    versions: list[tuple[int, str | None]] = []
    for element in metadata.findall(f"{ns}version"):
        label = (element.get("version") or "").strip().lstrip("v")
        if not (label.isascii() and label.isdigit()):
            raise RecordError(f"version: {element.get('version')!r} is not a version label")
        versions.append((int(label), _text(element, f"{ns}date")))
    if not versions:
        raise RecordError("version: the record lists no versions")
    versions.sort()
    return build_record(
        arxiv_id=_text(metadata, f"{ns}id"),
        title=_text(metadata, f"{ns}title"),
        abstract=_text(metadata, f"{ns}abstract"),
        authors=split_author_string(_text(metadata, f"{ns}authors") or ""),
        categories=(_text(metadata, f"{ns}categories") or "").split(),
        published_at=versions[0][1],
        version=versions[-1][0],
        updated_at=versions[-1][1],
        comment=_text(metadata, f"{ns}comments"),
        journal_ref=_text(metadata, f"{ns}journal-ref"),
        doi=_text(metadata, f"{ns}doi"),
        license=_text(metadata, f"{ns}license"),
    )


def _oai_identifier_to_id(identifier: str) -> str:
    return parse_arxiv_id(identifier).id


def _read_records(list_records: Element, metadata_prefix: str, page: ListRecordsPage) -> None:
    ns = FORMATS[metadata_prefix]
    read = _arxiv_record if metadata_prefix == "arXiv" else _raw_record
    datestamps: list[str] = []
    for record in list_records.findall(f"{OAI}record"):
        header = record.find(f"{OAI}header")
        identifier = (_text(header, f"{OAI}identifier") or "").strip() if header is not None else ""
        datestamp = (_text(header, f"{OAI}datestamp") or "").strip() if header is not None else ""
        if datestamp:
            datestamps.append(datestamp)
        try:
            if header is not None and header.get("status") == "deleted":
                page.deleted.append(
                    DeletedRecord(_oai_identifier_to_id(identifier), parse_datetime(datestamp, "datestamp"))
                )
                continue
            metadata = record.find(f"{OAI}metadata/{ns}{metadata_prefix}")
            if metadata is None:
                raise RecordError(f"no {metadata_prefix} metadata in the record")
            page.records.append(read(metadata, ns))
        except (RecordError, InvalidArxivId) as error:
            page.bad.append(BadRecord(identifier or "(record without identifier)", str(error)))
    page.latest_datestamp = max(datestamps, default=None)


def parse_list_records(body: bytes, metadata_prefix: str) -> ListRecordsPage:
    """One ListRecords response. A bad record is listed in `bad`; a bad response raises OaiError."""
    if metadata_prefix not in FORMATS:
        raise ValueError(f"unsupported metadata format {metadata_prefix!r}; use one of {', '.join(FORMATS)}")
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException) as error:
        raise OaiError(f"the response is not well-formed XML ({error})") from None
    if root.tag != f"{OAI}OAI-PMH":
        raise OaiError(f"the response is not an OAI-PMH document (root element {root.tag})")
    page = ListRecordsPage()
    errors = root.findall(f"{OAI}error")
    if errors:
        codes = [error.get("code", "") for error in errors]
        if codes == ["noRecordsMatch"]:
            return page
        messages = "; ".join(f"{error.get('code')}: {' '.join((error.text or '').split())}" for error in errors)
        raise OaiError(f"the repository answered with an error: {messages}", code=codes[0])
    list_records = root.find(f"{OAI}ListRecords")
    if list_records is None:
        raise OaiError("the response has neither records nor an error")
    _read_records(list_records, metadata_prefix, page)
    token = list_records.find(f"{OAI}resumptionToken")
    if token is not None:
        page.resumption_token = (token.text or "").strip() or None
        size = token.get("completeListSize")
        page.complete_list_size = int(size) if size and size.isascii() and size.isdigit() else None
    return page
