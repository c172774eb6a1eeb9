"""Outbox rows made into mails: a period's digest, or a mail with a link to confirm or manage a subscription.

A digest's row holds only paper ids (`digest.outbox`); the mail is made from the catalogue as it stands when it is
sent, so a paper withdrawn, deleted or taken off the lists since is left out. Both parts come from the Jinja2
templates in `templates/`, the HTML one autoescaped. Stored text never reaches a header as it is: runs of whitespace,
line breaks included, become one space, so that no title can add a header.

`Renderer` makes many mails in a row (the sender's case, hundreds a second): it reads the papers and subscribers it
has not seen yet, many at once, and makes each paper's part of a mail once for all the mails that show it.
"""

from __future__ import annotations

import binascii
import functools
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy, Policy
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.catalog.latex import to_plain
from paperboard.community.counts import upvote_counts
from paperboard.config import Settings
from paperboard.db.batches import in_batches
from paperboard.db.models import Listing, OutboxMessage, Paper, Subscriber
from paperboard.digest.links import LinkSigner

TEMPLATES_DIR = Path(__file__).with_name("templates")
SITE_NAME = "Paperboard"
AUTHORS_SHOWN = 3
ABSTRACT_LENGTH = 300
# The subject ends with the first paper's title, shortened so that a phone's inbox shows most of the subject.
SUBJECT_TITLE_LENGTH = 70
# A digest's sections as `contents` names them, in the order the mail shows them, with their headings.
SECTION_HEADINGS = {"top": "Top papers", "trending": "Trending", "for_you": "For you"}
LINK_SUBJECTS = {
    "confirmation": f"Confirm your {SITE_NAME} subscription",
    "manage": f"Manage your {SITE_NAME} subscription",
}
# RFC 5322's limit on the length of a line, without its CRLF.
MAX_LINE = 998
# Rows read per query, below every backend's limit on bound parameters.


class EmptyDigest(Exception):
    """Every paper of the digest was withdrawn, deleted or taken off the lists since it was composed."""


@dataclass(frozen=True, slots=True)
class MailPaper:
    """What a digest shows of one paper."""

    arxiv_id: str
    title: str
    authors: str
    abstract: str
    upvotes: int
    page_url: str
    arxiv_url: str


@dataclass(frozen=True, slots=True)
class PaperParts:
    """A paper's part of the HTML and of the plain-text mail, made once per renderer."""

    title: str
    html: Markup
    text: str


@dataclass(frozen=True, slots=True)
class DigestSection:
    heading: str
    papers: list[PaperParts]


def one_line(text: str) -> str:
    """The text with every run of whitespace, line breaks included, made one space."""
    return " ".join(text.split())


def shorten(text: str, length: int) -> str:
    """The text on one line, cut at a word to at most `length` characters, with an ellipsis when cut."""
    text = one_line(text)
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def author_line(authors: Sequence[str]) -> str:
    """The first few authors, then "et al." when there are more."""
    names = ", ".join(one_line(name) for name in authors[:AUTHORS_SHOWN])
    return f"{names} et al." if len(authors) > AUTHORS_SHOWN else names


def format_date(day: date) -> str:
    """`4 Jun 2025`, as the site writes dates."""
    return f"{day.day} {day:%b %Y}"


@functools.lru_cache(maxsize=64)
def period_label(start: str | None, end: str | None, period_key: str) -> str:
    """The days a digest covers, `27 Nov 2026` or `21 Nov 2026 – 27 Nov 2026`, from the ISO `start` and `end` (not
    included) that composing stores in `contents`; the period's key when they are absent."""
    if start is None or end is None:
        return period_key
    first, last = date.fromisoformat(start), date.fromisoformat(end) - timedelta(days=1)
    return format_date(first) if last <= first else f"{format_date(first)} – {format_date(last)}"


def list_id(kind: str, base_url: str) -> str:
    """The RFC 2919 List-Id of the daily or weekly digest, under the site's host name."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"{SITE_NAME} {kind} digest <{kind}.digest.{host}>"


class _Header(BaseHeader):
    """The standard headers, written faster: a value of printable ASCII that fits on a line is written as it is,
    which is what folding would write, without parsing it again (folding took a third of a mail's time).

    `List-Unsubscribe` may take a whole line of 998 characters: folded as other headers are, an address longer than
    78 would become RFC 2047 encoded words, which mail clients do not decode there."""

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        limit = MAX_LINE if self.name.lower() == "list-unsubscribe" else policy.max_line_length or MAX_LINE
        if value.isascii() and value.isprintable() and len(self.name) + len(value) + 2 <= limit:
            return f"{self.name}: {value}{policy.linesep}"
        # A header set on many mails (the subject) is folded once for each way of writing it.
        folds: dict[tuple[str, int | None, bool], str] = self.__dict__.setdefault("_folds", {})
        way = (policy.linesep, policy.max_line_length, bool(getattr(policy, "utf8", False)))
        if way not in folds:
            folds[way] = super().fold(policy=policy)
        return folds[way]


class _HeaderClasses(HeaderRegistry):
    """The standard registry, keeping each header's class once made: the standard one makes a new class each time
    a header is set or parsed, a tenth of a mail's time."""

    def __init__(self) -> None:
        super().__init__(base_class=_Header)
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


# The policy of every mail made here. A header keeps its class whatever policy the mail is written with later
# (aiosmtplib writes with `email.policy.SMTP`).
MAIL_POLICY = EmailPolicy(header_factory=_HeaderClasses())


def _header(name: str, value: str | Address) -> BaseHeader:
    """A header parsed once, to be set on many mails: a parsed header is stored as it is."""
    header: BaseHeader = MAIL_POLICY.header_factory(name, value)
    return header


class _TextHeader(UnstructuredHeader, _Header):
    """A header of plain text, whatever its name."""


def _recipient(address: str) -> BaseHeader:
    """The To header. An ASCII address, checked when it subscribed, is set as plain text, written the same: parsing
    it as an address list took a tenth of a mail's time."""
    if address.isascii():
        return _TextHeader("To", address)
    local_part, _, domain = address.rpartition("@")
    return _header("To", Address(username=local_part, domain=domain))


_HEADERS = {
    "text/plain": _header("Content-Type", 'text/plain; charset="utf-8"'),
    "text/html": _header("Content-Type", 'text/html; charset="utf-8"'),
    "quoted-printable": _header("Content-Transfer-Encoding", "quoted-printable"),
    "7bit": _header("Content-Transfer-Encoding", "7bit"),
    "mime-version": _header("MIME-Version", "1.0"),
    # Asks mail servers not to answer with out-of-office replies (RFC 3834).
    "auto-submitted": _header("Auto-Submitted", "auto-generated"),
    "one-click": _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
}


def _text_part(text: str) -> MIMEPart:
    """A UTF-8 plain-text part in quoted-printable (readable in the raw mail, unlike base64, and 7-bit safe),
    encoded by `binascii` in C: `set_content`'s encoder, in Python, took most of a mail's time."""
    part = MIMEPart(policy=MAIL_POLICY)
    part.set_raw("Content-Type", _HEADERS["text/plain"])
    part.set_raw("Content-Transfer-Encoding", _HEADERS["quoted-printable"])
    part.set_payload(binascii.b2a_qp(text.encode(), istext=True).decode("ascii"))
    return part


def _html_part(html: str) -> MIMEPart:
    """An HTML part in 7-bit ASCII, every other character written as a character reference, which needs no
    transfer encoding (half the cost of quoted-printable for the largest part); quoted-printable if a line is too
    long for 7 bits (RFC 5322: 998 characters)."""
    ascii_html = html.encode("ascii", "xmlcharrefreplace").decode("ascii")
    if max(map(len, ascii_html.splitlines()), default=0) > MAX_LINE:
        part = _text_part(html)
        part.replace_header("Content-Type", _HEADERS["text/html"])
        return part
    part = MIMEPart(policy=MAIL_POLICY)
    part.set_raw("Content-Type", _HEADERS["text/html"])
    part.set_raw("Content-Transfer-Encoding", _HEADERS["7bit"])
    part.set_payload(ascii_html)
    return part


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # HTML is escaped; plain text is not (a `&` in a title stays a `&` there).
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates do not change while the process runs; checking their files cost a stat per mail and part.
        auto_reload=False,
    )


_ENVIRONMENT = _environment()


def _paper_ids(contents: Mapping[str, Any]) -> Iterator[int]:
    for section in SECTION_HEADINGS:
        yield from contents.get(section) or ()


class Renderer:
    """Makes mails of outbox rows, with one session, from one thread. Papers, their upvotes and subscribers'
    addresses are read once per renderer: one should serve one sending run, not longer."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self._session = session
        self._base_url = settings.base_url.rstrip("/")
        self._links = LinkSigner(settings)
        self._link_lifetimes = {
            "confirmation": _lifetime(settings.confirmation_link_hours),
            "manage": _lifetime(settings.manage_link_days * 24),
        }
        self._from = _header("From", settings.mail_from)
        self._list_ids = {kind: _header("List-Id", list_id(kind, self._base_url)) for kind in ("daily", "weekly")}
        self._html_cards = _ENVIRONMENT.get_template("_paper.html").module.card  # type: ignore[attr-defined]
        self._text_cards = _ENVIRONMENT.get_template("_paper.txt").module.card  # type: ignore[attr-defined]
        # None for a paper that is not to be mailed any more (deleted, withdrawn or hidden from the lists).
        self._papers: dict[int, PaperParts | None] = {}
        self._addresses: dict[int, BaseHeader] = {}
        self._subjects: dict[str, BaseHeader] = {}
        self._date: tuple[int, BaseHeader] | None = None
        # Chosen here, the mail writer does not search every mail for a boundary that is not in it; none can be:
        # "=_" never occurs in quoted-printable text.
        self._alternative = _header("Content-Type", f'multipart/alternative; boundary="=_{uuid.uuid4().hex}"')

    def prefetch(self, rows: Iterable[OutboxMessage]) -> None:
        """Read at once what these rows need, rather than a few queries per row as each is rendered."""
        rows = list(rows)
        self._load_addresses({row.subscriber_id for row in rows})
        self._load_papers({paper_id for row in rows if row.contents for paper_id in _paper_ids(row.contents)})

    def render(self, row: OutboxMessage) -> EmailMessage:
        """The mail of one row; `EmptyDigest` when none of a digest's papers can be shown any more."""
        self._load_addresses({row.subscriber_id})
        if row.kind in LINK_SUBJECTS:
            subject = LINK_SUBJECTS[row.kind]
            context = self._link_context(row)
            template = row.kind
        else:
            subject, context = self._digest_context(row)
            template = "digest"
        context |= {"site_name": SITE_NAME, "base_url": self._base_url, "subject": subject}
        headers: list[tuple[str, BaseHeader]] = [
            ("From", self._from),
            ("To", self._addresses[row.subscriber_id]),
            ("Subject", self._subject(subject)),
            ("Date", self._now()),
            ("Message-ID", _header("Message-ID", row.message_id)),
            ("Auto-Submitted", _HEADERS["auto-submitted"]),
        ]
        if template == "digest":
            headers += [
                ("List-Id", self._list_ids[row.kind]),
                ("List-Unsubscribe", _header("List-Unsubscribe", f"<{context['unsubscribe_url']}>")),
                ("List-Unsubscribe-Post", _HEADERS["one-click"]),
            ]
        headers += [("MIME-Version", _HEADERS["mime-version"]), ("Content-Type", self._alternative)]
        message = EmailMessage(policy=MAIL_POLICY)
        # Each header once, made here: `set_raw` skips the check for a second copy that item assignment makes.
        for name, value in headers:
            message.set_raw(name, value)
        message.attach(_text_part(_ENVIRONMENT.get_template(f"{template}.txt").render(context)))
        message.attach(_html_part(_ENVIRONMENT.get_template(f"{template}.html").render(context)))
        return message

    def _subject(self, subject: str) -> BaseHeader:
        # Most digests of a run share their subject, whose folding into encoded words is slow.
        if subject not in self._subjects:
            self._subjects[subject] = _header("Subject", one_line(subject))
        return self._subjects[subject]

    def _now(self) -> BaseHeader:
        now = datetime.now(UTC).replace(microsecond=0)
        second = int(now.timestamp())
        if self._date is None or self._date[0] != second:
            self._date = (second, _header("Date", format_datetime(now)))
        return self._date[1]

    def _link_context(self, row: OutboxMessage) -> dict[str, Any]:
        lifetime = self._link_lifetimes[row.kind]
        if row.kind == "confirmation":
            return {"lifetime": lifetime, "confirm_url": self._links.confirm_url(row.subscriber_id)}
        return {
            "lifetime": lifetime,
            "manage_url": self._links.manage_url(row.subscriber_id),
            "unsubscribe_url": self._links.unsubscribe_url(row.subscriber_id),
        }

    def _digest_context(self, row: OutboxMessage) -> tuple[str, dict[str, Any]]:
        contents = row.contents or {}
        self._load_papers(set(_paper_ids(contents)))
        sections = []
        for key, heading in SECTION_HEADINGS.items():
            papers = [parts for paper_id in contents.get(key) or () if (parts := self._papers[paper_id]) is not None]
            if papers:
                sections.append(DigestSection(heading, papers))
        if not sections:
            raise EmptyDigest(f"every paper of {row.kind} digest {row.period_key} was removed since it was composed")
        label = period_label(contents.get("start"), contents.get("end"), row.period_key)
        first_title = shorten(sections[0].papers[0].title, SUBJECT_TITLE_LENGTH)
        return f"{SITE_NAME} {row.kind} digest, {label}: {first_title}", {
            "kind": row.kind,
            "label": label,
            "sections": sections,
            "manage_url": self._links.manage_url(row.subscriber_id),
            "unsubscribe_url": self._links.unsubscribe_url(row.subscriber_id),
        }

    def _load_addresses(self, subscriber_ids: set[int]) -> None:
        missing = sorted(key for key in subscriber_ids if key not in self._addresses)
        for chunk in in_batches(missing):
            rows = self._session.execute(select(Subscriber.id, Subscriber.email).where(Subscriber.id.in_(chunk)))
            for subscriber_id, address in rows:
                self._addresses[subscriber_id] = _recipient(address)

    def _load_papers(self, paper_ids: set[int]) -> None:
        missing = sorted(key for key in paper_ids if key not in self._papers)
        for chunk in in_batches(missing):
            self._papers.update(dict.fromkeys(chunk))
            rows = self._session.execute(
                select(Paper.id, Paper.arxiv_id, Paper.title, Paper.abstract, Paper.authors)
                .outerjoin(Listing, Listing.paper_id == Paper.id)
                .where(Paper.id.in_(chunk), Paper.deleted_at.is_(None), Listing.hidden_at.is_(None))
            ).all()
            upvotes = upvote_counts(self._session, [row.id for row in rows])
            for row in rows:
                # Mail readers typeset no LaTeX: papers are told in plain text, as feeds tell them.
                paper = MailPaper(
                    arxiv_id=row.arxiv_id,
                    title=one_line(to_plain(row.title)),
                    authors=author_line(row.authors),
                    abstract=shorten(to_plain(row.abstract), ABSTRACT_LENGTH),
                    upvotes=upvotes[row.id],
                    page_url=f"{self._base_url}/papers/{quote(row.arxiv_id)}",
                    arxiv_url=f"https://arxiv.org/abs/{quote(row.arxiv_id)}",
                )
                self._papers[row.id] = PaperParts(paper.title, self._html_cards(paper), self._text_cards(paper))


def _lifetime(hours: int) -> str:
    return f"{hours} hours" if hours < 72 else f"{hours // 24} days"


def render(session: Session, settings: Settings, row: OutboxMessage) -> EmailMessage:
    """The mail of one outbox row (see `Renderer` to make many)."""
    return Renderer(session, settings).render(row)
