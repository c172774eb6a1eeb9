"""Outbox rows made into mails (`digest.messages`), read back as a mail client would: flattened as aiosmtplib writes
them, parsed with the standard `email` package, and once through a real SMTP server."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtplib.email import flatten_message
from sqlalchemy import event, select, update

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Listing, OutboxMessage, Paper
from paperboard.digest.links import LinkSigner
from paperboard.digest.messages import EmptyDigest, Renderer, render
from paperboard.digest.outbox import NewMail, OutboxKind, enqueue
from tests.community.factories import add_listing, add_paper, paper_id
from tests.digest.factories import add_subscriber
from tests.smtp_server import SmtpServer

NOW = datetime(2026, 11, 24, 7)
BASE_URL = "https://papers.example.org"
DAY = date(2026, 11, 23)
ABSTRACT = " ".join(f"word{number}" for number in range(120))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        base_url=BASE_URL,
        mail_from="Paperboard <digests@papers.example.org>",
        secret_key="a secret key for signing the links in these tests",
    )


def add_listed_paper(database: Database, arxiv_id: str, *, upvotes: int = 0, **fields: object) -> int:
    add_paper(database, arxiv_id, published_at=datetime(2026, 11, 20), abstract=ABSTRACT, **fields)
    add_listing(database, arxiv_id, DAY, upvotes=upvotes)
    return paper_id(database, arxiv_id)


def enqueue_row(
    database: Database, subscriber_id: int, kind: OutboxKind, key: str, contents: dict | None = None
) -> int:
    with database.session() as session:
        enqueue(session, [NewMail(subscriber_id, kind, key, contents)], mail_from="digests@papers.example.org", now=NOW)
        return session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.subscriber_id == subscriber_id, OutboxMessage.kind == kind)
        ).one()


def rendered(database: Database, settings: Settings, outbox_id: int) -> tuple[OutboxMessage, EmailMessage]:
    """The row and its mail as a client receives it: written as aiosmtplib writes it, then parsed."""
    with database.read_session() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        written = flatten_message(render(session, settings, row))
    parsed = email.message_from_bytes(written, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return row, parsed


def part(message: EmailMessage, content_type: str) -> str:
    body = message.get_body((content_type.split("/")[1],))
    assert body is not None and body.get_content_type() == content_type
    content: str = body.get_content()
    return content


class Page(HTMLParser):
    """The links, tags and attributes of an HTML part."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        self.links.extend(value for name, value in attrs if name == "href" and value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_a_digest_has_headers_text_and_html_with_every_paper_and_its_links(
    sqlite_database: Database, settings: Settings
) -> None:
    top = add_listed_paper(
        sqlite_database,
        "2611.00001",
        upvotes=42,
        title="Attention Is Still All You Need",
        authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"],
    )
    trending = add_listed_paper(sqlite_database, "2611.00002", upvotes=1, authors=["Barbara Liskov"])
    mine = add_listed_paper(sqlite_database, "2611.00003", title="Diffusion for proteins")
    subscriber = add_subscriber(sqlite_database, "Reader@Example.org")
    contents = {"start": "2026-11-23", "end": "2026-11-24", "top": [top], "trending": [trending], "for_you": [mine]}
    row, message = rendered(
        sqlite_database, settings, enqueue_row(sqlite_database, subscriber, "daily", "2026-11-24", contents)
    )

    assert message["From"] == "Paperboard <digests@papers.example.org>"
    assert message["To"] == "Reader@Example.org"
    assert message["Subject"] == "Paperboard daily digest, 23 Nov 2026: Attention Is Still All You Need"
    assert message["Message-ID"] == row.message_id
    assert abs((parsedate_to_datetime(message["Date"]).replace(tzinfo=None) - utcnow()).total_seconds()) < 60
    assert message["List-Id"] == "Paperboard daily digest <daily.digest.papers.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url.startswith(f"{BASE_URL}/subscriptions/unsubscribe?token=")
    assert LinkSigner(settings).subscriber_id("manage", unsubscribe_url.split("token=")[1]) == subscriber
    assert message.get_content_type() == "multipart/alternative"

    text = part(message, "text/plain")
    html = part(message, "text/html")
    page = Page(html)
    # The sections in order, each with its paper.
    assert text.index("TOP PAPERS") < text.index("Attention Is Still") < text.index("TRENDING") < text.index("FOR YOU")
    assert text.index("FOR YOU") < text.index("Diffusion for proteins")
    assert [heading for heading in ("Top papers", "Trending", "For you") if heading in page.text] == [
        "Top papers",
        "Trending",
        "For you",
    ]
    for body in (text, "".join(page.text)):
        assert "Ada Lovelace, Alan Turing, Grace Hopper et al." in body
        assert "Edsger Dijkstra" not in body
        assert "Barbara Liskov" in body
        assert "42 upvotes" in body
        assert "1 upvote" in body
        # About 300 characters of the abstract, cut at a word.
        assert "word0 word1" in body
        assert "word60 " not in body
        assert "…" in body
    for arxiv_id in ("2611.00001", "2611.00002", "2611.00003"):
        assert f"{BASE_URL}/papers/{arxiv_id}" in page.links
        assert f"https://arxiv.org/abs/{arxiv_id}" in page.links
        assert f"{BASE_URL}/papers/{arxiv_id}" in text
        assert f"https://arxiv.org/abs/{arxiv_id}" in text
    manage = [link for link in page.links if link.startswith(f"{BASE_URL}/subscriptions/manage?token=")]
    assert len(manage) == 1
    assert LinkSigner(settings).subscriber_id("manage", manage[0].split("token=")[1]) == subscriber
    assert unsubscribe_url in page.links
    assert unsubscribe_url in text
    # One column for a phone, styles inline, nothing fetched from elsewhere, nothing that runs.
    assert "max-width:600px" in html
    assert not page.tags & {"img", "script", "link", "style", "iframe", "object"}
    assert "src" not in page.attributes
    assert "style" in page.attributes


def test_hostile_titles_are_escaped_and_cannot_add_headers(sqlite_database: Database, settings: Settings) -> None:
    script = add_listed_paper(sqlite_database, "2611.00001", upvotes=5, title="<script>alert(1)</script> & friends")
    broken = add_listed_paper(sqlite_database, "2611.00003")
    # Stored titles are cleaned on import; one changed in the database directly is the worst case.
    with sqlite_database.session() as session:
        session.execute(
            update(Paper).where(Paper.id == broken).values(title="Injected\r\nBcc: victim@example.org\r\n\r\nbody")
        )
    subscriber = add_subscriber(sqlite_database, "reader@example.org")
    row_id = enqueue_row(
        sqlite_database, subscriber, "daily", "2026-11-24", {"top": [broken, script], "trending": [], "for_you": []}
    )
    _, message = rendered(sqlite_database, settings, row_id)

    assert message["Bcc"] is None
    # Python's parser keeps the space that begins a folded header's value; mail clients drop it.
    assert message["Subject"].strip() == "Paperboard daily digest, 2026-11-24: Injected Bcc: victim@example.org body"
    html = part(message, "text/html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in html
    assert "Injected Bcc: victim@example.org body" in html
    assert "<script>alert(1)</script> & friends" in part(message, "text/plain")


def test_latex_of_titles_and_abstracts_is_told_in_plain_text(sqlite_database: Database, settings: Settings) -> None:
    paper = add_listed_paper(sqlite_database, "2611.00001", title=r"D$^{2}$R$^{2}$OSR: \textbf{fast} \& 51\%")
    with sqlite_database.session() as session:
        session.execute(update(Paper).where(Paper.id == paper).values(abstract=r"We gain \emph{much}~more."))
    subscriber = add_subscriber(sqlite_database, "reader@example.org")
    row_id = enqueue_row(
        sqlite_database, subscriber, "daily", "2026-11-24", {"top": [paper], "trending": [], "for_you": []}
    )

    _, message = rendered(sqlite_database, settings, row_id)

    assert message["Subject"].strip() == "Paperboard daily digest, 2026-11-24: D²R²OSR: fast & 51%"
    # The HTML part writes characters beyond ASCII as references.
    assert "D&#178;R&#178;OSR: fast &amp; 51%</a>" in part(message, "text/html")
    text = part(message, "text/plain")
    assert "D²R²OSR: fast & 51%" in text and "We gain much more." in text.replace("\u00a0", " ")


def test_hostile_author_names_are_escaped(sqlite_database: Database, settings: Settings) -> None:
    paper = add_listed_paper(
        sqlite_database, "2611.00002", upvotes=1, authors=['<img src="https://tracker.example/x">']
    )
    subscriber = add_subscriber(sqlite_database, "reader@example.org")
    row_id = enqueue_row(sqlite_database, subscriber, "daily", "2026-11-24", {"top": [paper]})
    _, message = rendered(sqlite_database, settings, row_id)
    page = Page(part(message, "text/html"))
    assert "img" not in page.tags
    assert "src" not in page.attributes
    assert '<img src="https://tracker.example/x">' in "".join(page.text)


def test_papers_removed_since_composing_are_left_out(sqlite_database: Database, settings: Settings) -> None:
    kept = add_listed_paper(sqlite_database, "2611.00001", title="Still here")
    withdrawn = add_listed_paper(sqlite_database, "2611.00002", title="Withdrawn since")
    hidden = add_listed_paper(sqlite_database, "2611.00003", title="Hidden by a moderator since")
    deleted = add_listed_paper(sqlite_database, "2611.00004", title="Deleted since")
    subscriber = add_subscriber(sqlite_database, "reader@example.org")
    contents = {"top": [withdrawn, kept, hidden], "trending": [deleted], "for_you": []}
    row_id = enqueue_row(sqlite_database, subscriber, "daily", "2026-11-24", contents)
    with sqlite_database.session() as session:
        session.execute(update(Paper).where(Paper.id == withdrawn).values(deleted_at=NOW))
        session.execute(update(Listing).where(Listing.paper_id == hidden).values(hidden_at=NOW))
        session.delete(session.get(Paper, deleted))

    _, message = rendered(sqlite_database, settings, row_id)
    text = part(message, "text/plain")
    assert "Still here" in text
    assert message["Subject"].endswith(": Still here")
    assert "TRENDING" not in text
    for gone in ("Withdrawn since", "Hidden by a moderator since", "Deleted since"):
        assert gone not in text
        assert gone not in part(message, "text/html")

    with sqlite_database.session() as session:
        session.execute(update(Paper).where(Paper.id == kept).values(deleted_at=NOW))
    with pytest.raises(EmptyDigest):
        rendered(sqlite_database, settings, row_id)


def test_a_confirmation_mail_links_to_the_confirmation_page(sqlite_database: Database, settings: Settings) -> None:
    subscriber = add_subscriber(sqlite_database, "new@example.org", status="pending")
    row, message = rendered(
        sqlite_database, settings, enqueue_row(sqlite_database, subscriber, "confirmation", "2026-11-24T07:00")
    )

    assert message["Subject"] == "Confirm your Paperboard subscription"
    assert message["To"] == "new@example.org"
    assert message["Message-ID"] == row.message_id
    # Not list mail: the address is not subscribed yet.
    assert message["List-Unsubscribe"] is None
    text, html = part(message, "text/plain"), part(message, "text/html")
    links = [link for link in Page(html).links if "/subscriptions/" in link]
    assert links and all(link.startswith(f"{BASE_URL}/subscriptions/confirm?token=") for link in links)
    assert links[0] in text
    assert LinkSigner(settings).subscriber_id("confirm", links[0].split("token=")[1]) == subscriber
    assert "72 hours" not in text and "3 days" in text


def test_a_manage_mail_links_to_the_manage_and_unsubscribe_pages(sqlite_database: Database, settings: Settings) -> None:
    subscriber = add_subscriber(sqlite_database, "known@example.org")
    _, message = rendered(
        sqlite_database, settings, enqueue_row(sqlite_database, subscriber, "manage", "2026-11-24T07:00")
    )

    assert message["Subject"] == "Manage your Paperboard subscription"
    text, links = part(message, "text/plain"), Page(part(message, "text/html")).links
    manage = next(link for link in links if link.startswith(f"{BASE_URL}/subscriptions/manage?token="))
    unsubscribe = next(link for link in links if link.startswith(f"{BASE_URL}/subscriptions/unsubscribe?token="))
    signer = LinkSigner(settings)
    assert signer.subscriber_id("manage", manage.split("token=")[1]) == subscriber
    assert signer.subscriber_id("manage", unsubscribe.split("token=")[1]) == subscriber
    assert manage in text and unsubscribe in text
    assert "90 days" in text


def test_a_long_unsubscribe_address_stays_on_one_line(sqlite_database: Database, tmp_path: Path) -> None:
    long_base = "https://papers.a-rather-long-subdomain.of-an-institute.example.org/paperboard"
    settings = Settings(data_dir=tmp_path, base_url=long_base, secret_key="a secret key for signing the links")
    paper = add_listed_paper(sqlite_database, "2611.00001")
    subscriber = add_subscriber(sqlite_database, "reader@example.org")
    row_id = enqueue_row(sqlite_database, subscriber, "weekly", "2026-W48", {"top": [paper]})
    with sqlite_database.read_session() as session:
        written = flatten_message(render(session, settings, session.get(OutboxMessage, row_id)))
    line = next(line for line in written.split(b"\r\n") if line.startswith(b"List-Unsubscribe:"))
    assert line.startswith(b"List-Unsubscribe: <" + long_base.encode() + b"/subscriptions/unsubscribe?token=")
    assert line.endswith(b">")
    assert b"=?" not in line


def test_a_renderer_reads_rows_ahead_then_renders_them_without_queries(
    sqlite_database: Database, settings: Settings
) -> None:
    papers = [add_listed_paper(sqlite_database, f"2611.{number:05d}", upvotes=number) for number in range(1, 6)]
    subscribers = [add_subscriber(sqlite_database, f"reader{number}@example.org") for number in range(4)]
    row_ids = [
        enqueue_row(sqlite_database, subscriber, "daily", "2026-11-24", {"top": papers[:3], "for_you": papers[number:]})
        for number, subscriber in enumerate(subscribers)
    ]
    statements: list[str] = []
    with sqlite_database.read_session() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(row_ids)).order_by(OutboxMessage.id)
        ).all()
        renderer = Renderer(session, settings)
        renderer.prefetch(rows)

        def record(*arguments: object) -> None:
            statements.append(str(arguments[2]))

        event.listen(sqlite_database.engine, "before_cursor_execute", record)
        try:
            messages = [renderer.render(row) for row in rows]
        finally:
            event.remove(sqlite_database.engine, "before_cursor_execute", record)
    assert statements == []
    assert [message["To"] for message in messages] == [f"reader{number}@example.org" for number in range(4)]
    assert len({message["Message-ID"] for message in messages}) == 4
    assert [part(message, "text/plain").count("Paper page:") for message in messages] == [8, 7, 6, 5]


def test_a_rendered_digest_goes_through_a_real_smtp_server(
    sqlite_database: Database, settings: Settings, smtp_server: SmtpServer
) -> None:
    paper = add_listed_paper(sqlite_database, "2611.00001", upvotes=3, title="Über große Modelle — naïvely")
    subscriber = add_subscriber(sqlite_database, "reader@example.org")
    row_id = enqueue_row(sqlite_database, subscriber, "daily", "2026-11-24", {"top": [paper]})
    with sqlite_database.read_session() as session:
        message = render(session, settings, session.get(OutboxMessage, row_id))
    asyncio.run(aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_server.port))

    [received] = smtp_server.mails_to("reader@example.org")
    assert received.message["Subject"] == "Paperboard daily digest, 2026-11-24: Über große Modelle — naïvely"
    assert "Über große Modelle — naïvely" in received.part("text/plain")
    assert "Über große Modelle — naïvely" in Page(received.part("text/html")).text
