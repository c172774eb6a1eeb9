"""The administrators' page over HTTP: the search index's and the digests' figures against what was stored and built,
and who may see it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

from sqlalchemy.orm import Session

from paperboard.clock import utcnow
from paperboard.db.models import OutboxMessage, ScheduledRun
from paperboard.digest.outbox import message_id
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending
from paperboard.search.indexing import build_index
from paperboard.web.templating import format_date
from tests.digest.factories import add_subscriber
from tests.markup import elements


def figure(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


class _TableReader(HTMLParser):
    """The text of each body cell of the table with a given id, as a browser shows it."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or ("id", self.table_id) in attrs):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "table":
            self.depth -= 1
        elif self.cell is not None and tag == "td":
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(page: str, table_id: str) -> list[list[str]]:
    reader = _TableReader(table_id)
    reader.feed(page)
    assert reader.rows, f"no table #{table_id} on the page"
    return [row for row in reader.rows if row]


def test_an_administrator_sees_how_far_search_has_caught_up(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, *(make_paper(number) for number in range(1, 4)))
    embedder = Embedder(threads=1)
    assert embed_pending(sqlite_database, embedder, limit=2) == 2
    client = sign_in(sqlite_database, "root", role="admin")
    manifest = build_index(sqlite_database, client.app.state.settings, embedder)
    # Two papers arrive after the build: the catalogue has them, the index does not yet.
    add_papers(sqlite_database, make_paper(4), make_paper(5))

    response = client.get("/admin")

    assert response.status_code == 200
    page = response.text
    assert figure(page, "papers-count") == "5"
    assert figure(page, "embedded-count") == "2"
    assert figure(page, "embedded-share") == "40.0%"
    progress = {name: value for tag, name, value in elements(page).attributes if tag == "progress"}
    assert progress["value"] == "2" and progress["max"] == "5"
    assert figure(page, "indexed-papers") == "3"
    assert figure(page, "indexed-vectors") == "2"
    built_at = datetime.fromisoformat(manifest.built_at)
    assert f'datetime="{built_at.isoformat(timespec="seconds")}Z"' in page
    assert f"{built_at:%H:%M} UTC" in page
    assert "<code>paperboard index</code> catches up" in page and "<code>paperboard worker</code>" in page
    assert '<h2 id="search-index-title">Search index</h2>' in page
    assert "<title>Administration · Paperboard</title>" in page


def test_before_any_index_the_page_says_so(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    client = sign_in(sqlite_database, "root", role="admin")

    page = client.get("/admin").text

    assert figure(page, "papers-count") == "1"
    assert figure(page, "embedded-count") == "0"
    assert figure(page, "embedded-share") == "0.0%"
    assert figure(page, "indexed-papers") == "No index has been built yet"
    assert "never" in page


def test_an_empty_catalogue_shows_no_progress_bar(sqlite_database, sign_in):
    page = sign_in(sqlite_database, "root", role="admin").get("/admin").text

    assert figure(page, "papers-count") == "0"
    assert "<progress" not in page


def test_the_header_links_the_page_for_staff_only(sqlite_database, sign_in, client_for):
    admin = sign_in(sqlite_database, "root", role="admin")
    moderator = sign_in(sqlite_database, "mod", role="moderator")
    user = sign_in(sqlite_database, "ada")

    assert '<a href="/admin">Admin</a>' in admin.get("/").text
    assert '<a href="/admin" aria-current="page">Admin</a>' in admin.get("/admin").text
    assert '<a href="/admin">Admin</a>' in moderator.get("/").text
    assert 'href="/admin"' not in user.get("/").text
    assert 'href="/admin"' not in client_for(sqlite_database).get("/").text


def test_moderators_see_only_the_claims_queue_and_users_nothing(sqlite_database, sign_in):
    moderator = sign_in(sqlite_database, "mod", role="moderator").get("/admin")
    user = sign_in(sqlite_database, "ada").get("/admin")

    assert moderator.status_code == 200
    assert "Claims of authorship" in moderator.text
    assert "Search index" not in moderator.text and "Email digests" not in moderator.text
    assert user.status_code == 403
    assert "Only moderators may do this." in user.text
    assert "Claims of authorship" not in user.text and "Search index" not in user.text


def test_a_visitor_is_sent_to_sign_in_first(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/admin", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin"


def add_mail(session: Session, subscriber_id: int, kind: str, period_key: str, status: str, **fields) -> None:
    values = {"attempts": 0, "next_attempt_at": fields.get("created_at", utcnow()), "created_at": utcnow()}
    session.add(
        OutboxMessage(
            subscriber_id=subscriber_id,
            kind=kind,
            period_key=period_key,
            message_id=message_id("example.org"),
            status=status,
            **(values | fields),
        )
    )


def at(moment: datetime) -> str:
    return f"{format_date(moment)}, {moment:%H:%M} UTC"


def test_an_administrator_sees_how_the_digests_stand(database, sign_in):
    # On both backends: the figures are counted with FILTER clauses.
    now = utcnow()
    an_hour_ago, retry_at = now - timedelta(hours=1), now + timedelta(minutes=30)
    ada, bob, cy = (add_subscriber(database, f"{name}@example.org") for name in ("ada", "bob", "cy"))
    new = add_subscriber(database, "new@example.org", status="pending")
    add_subscriber(database, "bounced@example.org", status="paused")
    with database.session() as session:
        for subscriber in (ada, bob):
            add_mail(session, subscriber, "daily", "d-2", "sent", sent_at=now - timedelta(days=2))
        add_mail(session, ada, "daily", "d-10", "sent", sent_at=now - timedelta(days=10))
        add_mail(session, cy, "weekly", "w-1", "sent", sent_at=now - timedelta(days=1))
        # A link mail is sent too, but it is not a digest.
        add_mail(session, new, "confirmation", "c", "sent", sent_at=now - timedelta(hours=1))
        add_mail(session, bob, "daily", "d-0", "pending", next_attempt_at=now - timedelta(minutes=1))
        add_mail(
            session,
            cy,
            "daily",
            "d-0",
            "pending",
            attempts=2,
            next_attempt_at=retry_at,
            last_error="451 4.7.1 Greylisted, try again later",
            failed_at=now - timedelta(minutes=5),
        )
        add_mail(session, ada, "daily", "d-0", "sending")
        add_mail(
            session,
            ada,
            "weekly",
            "w-0",
            "failed",
            attempts=1,
            last_error="550 5.1.1 <script>alert(1)</script> no such user",
            failed_at=an_hour_ago,
        )
        # Failed before the outbox noted when (migration 0007): listed after those it did.
        add_mail(session, bob, "daily", "d-5", "failed", attempts=1, last_error="554 5.7.1 Rejected")
        # Cancelled by the sender, never tried: not a delivery failure.
        add_mail(session, bob, "weekly", "w-0", "failed", last_error="not sent: the subscriber is unsubscribed")
        session.add(
            ScheduledRun(job="harvest", run_key="2026-12-01", started_at=now - timedelta(hours=5), finished_at=now)
        )
        session.add(ScheduledRun(job="digest:daily", run_key="2026-12-01", started_at=an_hour_ago))
    client = sign_in(database, "root", role="admin")

    page = client.get("/admin").text

    assert '<h2 id="digests-title">Email digests</h2>' in page
    figures = {
        name: figure(page, name)
        for name in (
            "subscribers-active",
            "subscribers-pending",
            "subscribers-paused",
            "subscribers-unsubscribed",
            "digests-sent-recently",
            "digests-sent",
            "outbox-pending",
            "outbox-due",
            "outbox-retrying",
            "outbox-sending",
            "outbox-failed",
            "outbox-cancelled",
        )
    }
    assert figures == {
        "subscribers-active": "3",
        "subscribers-pending": "1",
        "subscribers-paused": "1",
        "subscribers-unsubscribed": "0",
        "digests-sent-recently": "3",
        "digests-sent": "4",
        "outbox-pending": "2",
        "outbox-due": "1",
        "outbox-retrying": "1",
        "outbox-sending": "1",
        "outbox-failed": "2",
        "outbox-cancelled": "1",
    }
    problems = table_rows(page, "mail-problems")
    # The latest failures first; the error text from a remote server is shown as text, never as markup.
    assert problems == [
        [
            "cy@example.org",
            "daily d-0",
            at(now - timedelta(minutes=5)),
            f"tried again from {at(retry_at)}",
            "2",
            "451 4.7.1 Greylisted, try again later",
        ],
        [
            "ada@example.org",
            "weekly w-0",
            at(an_hour_ago),
            "failed",
            "1",
            "550 5.1.1 <script>alert(1)</script> no such user",
        ],
        ["bob@example.org", "daily d-5", "not noted", "failed", "1", "554 5.7.1 Rejected"],
    ]
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    runs = table_rows(page, "scheduled-runs")
    assert runs == [
        ["Daily digest", "2026-12-01", at(an_hour_ago), "not finished: running, or to be resumed"],
        ["arXiv harvest", "2026-12-01", at(now - timedelta(hours=5)), at(now)],
    ]
    assert figure(page, "mail-not-configured").startswith("No mail server is set")


def test_with_no_subscribers_or_runs_the_section_says_so(sqlite_database, sign_in):
    page = sign_in(sqlite_database, "root", role="admin").get("/admin").text

    assert figure(page, "subscribers-active") == "0"
    assert figure(page, "digests-sent") == "0"
    assert figure(page, "mail-problems") == "None."
    assert figure(page, "scheduled-runs").startswith("None yet")


def visible_text(page: str) -> str:
    """The page's words as a reader sees them: no markup, no space inside brackets or before a comma."""
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    return re.sub(r"(?<=\() | (?=[,)])", "", words)


def test_a_count_of_one_reads_in_the_singular(sqlite_database, sign_in, make_paper, add_papers):
    add_papers(sqlite_database, make_paper(1))
    build_index(sqlite_database, sign_in(sqlite_database, "root", role="admin").app.state.settings, Embedder(threads=1))
    ada = add_subscriber(sqlite_database, "ada@example.org")
    with sqlite_database.session() as session:
        add_mail(session, ada, "daily", "d-0", "pending")
        add_mail(session, ada, "daily", "d-1", "failed", attempts=1, last_error="550 no such user")
    client = sign_in(sqlite_database, "root2", role="admin")

    text = visible_text(client.get("/admin").text)

    assert "In the current index 1 paper, 0 with vectors" in text
    assert "Waiting in the outbox 1 mail (1 due now" in text
    assert "Not delivered 1 mail failed for good" in text
    assert not re.search(r"\b1 (papers|mails|subscribers|digests)\b", text), text
