"""The daily lists over HTTP: the latest day at /, days, weeks and months, trending, submitting, hiding, escaping."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from paperboard.clock import utcnow
from paperboard.community.listings import today
from paperboard.community.submission_fetches import arxiv_client, fetch_submitted_papers
from paperboard.config import Settings
from paperboard.db.models import Listing
from paperboard.web.pages.daily import LISTINGS_PER_PAGE
from tests.catalog.arxiv.test_api import QUERY, feed_of
from tests.community.factories import add_comment, add_listing, add_paper, add_user, add_votes
from tests.community.test_submission_fetches import recent_entry
from tests.web.conftest import csrf_from


def cards(html: str) -> list[str]:
    """The markup of each listed paper, in page order."""
    return html.split('<article class="paper listed-paper"')[1:]


def card_ids(html: str) -> list[str]:
    return re.findall(r'<li id="paper-([^"]+)">', html)


def listing_count(database) -> int:
    with database.read_session() as session:
        return session.scalar(select(func.count()).select_from(Listing)) or 0


# The home page


def test_with_nothing_listed_the_home_page_says_how_to_fill_the_lists(sqlite_database, client_for, make_paper):
    client = client_for(sqlite_database)

    empty = client.get("/")

    assert empty.status_code == 200
    assert "No paper is listed yet" in empty.text
    assert '<a href="/submit">submit a paper</a>' in empty.text
    assert "<code>paperboard import-hf-daily FILE</code>" in empty.text
    assert "The catalogue is empty too" in empty.text
    assert re.search(r"<code>paperboard harvest --category cs.CL --from \d{4}-\d{2}-\d{2}</code>", empty.text)
    assert "<code>paperboard import FILE.jsonl.gz</code>" in empty.text

    add_paper(sqlite_database, "2506.00001")
    with_catalogue = client.get("/")

    assert "<code>paperboard import-hf-daily FILE</code>" in with_catalogue.text
    assert "The catalogue is empty too" not in with_catalogue.text and "paperboard harvest" not in with_catalogue.text


def test_the_home_page_shows_the_latest_listed_day_ranked_with_everything_a_card_needs(
    database, client_for, make_paper, add_papers
):
    add_papers(
        database,
        make_paper(1),
        make_paper(
            2,
            title=r"Attention in $\mathcal{O}(n)$",
            abstract="We show that attention scales. " + "It is fast. " * 60,
            authors=[f"Author {letter}" for letter in "ABCDEFGH"],
            code_url="https://github.com/example/attention",
            project_url="https://example.org/attention",
        ),
        make_paper(3),
        make_paper(4),
    )
    ann, ben = add_user(database, "ann"), add_user(database, "ben")
    add_listing(database, "2506.00004", date(2025, 6, 3), upvotes=50)
    add_listing(database, "2506.00001", date(2025, 6, 4), submitted_at=datetime(2025, 6, 4, 7), submitter=ann)
    add_listing(
        database, "2506.00002", date(2025, 6, 4), upvotes=1, comments=1, imported_submitter="akhaliq", github_stars=1234
    )
    add_listing(database, "2506.00003", date(2025, 6, 4), submitted_at=datetime(2025, 6, 4, 6))
    add_votes(database, "2506.00002", ann)
    add_comment(database, "2506.00002", ben)

    response = client_for(database).get("/")

    assert response.status_code == 200
    assert "<title>4 Jun 2025 · Daily papers · Paperboard</title>" in response.text
    assert '<a href="/papers/date/2025-06-03" rel="prev">← 3 Jun 2025</a>' in response.text
    assert 'rel="next"' not in response.text
    assert "3 papers, ranked by upvotes" in response.text
    # 2 upvotes first; then two with none, the earlier submission first.
    assert card_ids(response.text) == ["2506.00002", "2506.00003", "2506.00001"]
    top, _, last = cards(response.text)
    # The lists load no KaTeX: a formula is shown as text, without its dollars.
    assert r'<a href="/papers/2506.00002">Attention in \mathcal{O}(n)</a>' in top
    # The names link to their pages; the text reads as a list.
    assert "Author A, Author B, Author C" in re.sub(r"<[^>]+>", "", top)
    assert '<a href="/authors/Author%20A">Author A</a>' in top and "+ 5 more" in top and "Author D" not in top
    assert "We show that attention scales." in top and top.count("It is fast.") < 30 and "…</p>" in top
    assert '<span class="vote-count">2</span>' in top
    assert '<a href="/papers/2506.00002#comments">2 comments</a>' in top
    assert 'Submitted by <span class="submitter">akhaliq</span>' in top
    assert '<a href="https://github.com/example/attention" rel="nofollow noopener">Code</a>' in top
    assert "★ 1,234" in top
    assert '<a href="https://example.org/attention" rel="nofollow noopener">Project page</a>' in top
    assert 'Submitted by <span class="submitter">ann</span>' in last and "1 comment<" not in last
    assert "0 comments" in last and "Code</a>" not in last and "Listed" not in last
    assert "new-mark" not in response.text


def test_papers_listed_today_are_marked_new(sqlite_database, client_for):
    add_paper(sqlite_database, "2506.00001")
    add_paper(sqlite_database, "2506.00002")
    add_listing(sqlite_database, "2506.00001", today())
    add_listing(sqlite_database, "2506.00002", today() - timedelta(days=1))
    client = client_for(sqlite_database)

    todays = client.get("/").text
    yesterdays = client.get(f"/papers/date/{(today() - timedelta(days=1)).isoformat()}").text

    assert card_ids(todays) == ["2506.00001"] and card_ids(yesterdays) == ["2506.00002"]
    assert '<span class="new-mark">New<span class="visually-hidden">: listed today</span></span>' in todays
    assert "new-mark" not in yesterdays


def test_a_voter_sees_their_upvote_on_the_list(sqlite_database, sign_in):
    add_paper(sqlite_database, "2506.00001")
    add_paper(sqlite_database, "2506.00002")
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4))
    add_listing(sqlite_database, "2506.00002", date(2025, 6, 4))
    client = sign_in(sqlite_database, "ann")
    token = csrf_from(client.get("/").text)
    client.post("/papers/2506.00002/upvote", data={"action": "add", "csrf_token": token})

    page = client.get("/papers/date/2025-06-04").text

    voted, other = cards(page)
    assert card_ids(page) == ["2506.00002", "2506.00001"]
    assert 'aria-pressed="true"' in voted and '<span class="vote-count">1</span>' in voted
    assert 'aria-pressed="false"' in other


# Days, weeks and months


@pytest.fixture
def year_end(sqlite_database):
    """Listings on each side of the ISO week and the month that straddle the end of 2024."""
    for number, day in enumerate([date(2024, 12, 29), date(2024, 12, 30), date(2025, 1, 5), date(2025, 1, 6)], start=1):
        add_paper(sqlite_database, f"2506.0000{number}")
        add_listing(sqlite_database, f"2506.0000{number}", day, upvotes=10 - number)
    return sqlite_database


def test_a_week_gathers_its_days_across_the_year_end_and_links_to_its_neighbours(year_end, client_for):
    page = client_for(year_end).get("/papers/week/2025-W01").text

    assert "<title>Week 1 of 2025 · Papers of the week · Paperboard</title>" in page
    assert '<time datetime="2024-12-30">30 Dec 2024</time> to' in page
    assert '<time datetime="2025-01-05">5 Jan 2025</time>' in page
    assert card_ids(page) == ["2506.00002", "2506.00003"]
    assert '<a href="/papers/week/2024-W52" rel="prev">← Week 52 of 2024</a>' in page
    assert '<a href="/papers/week/2025-W02" rel="next">Week 2 of 2025 →</a>' in page
    # The other views open on the week's latest listed day.
    assert '<a href="/papers/date/2025-01-05">Day</a>' in page
    assert '<a href="/papers/week/2025-W01" aria-current="page">Week</a>' in page
    assert '<a href="/papers/month/2025-01">Month</a>' in page
    assert 'Listed <a href="/papers/date/2024-12-30"><time datetime="2024-12-30">30 Dec 2024</time></a>' in page


def test_months_and_days_link_to_their_neighbours_and_to_each_other(year_end, client_for):
    client = client_for(year_end)

    december = client.get("/papers/month/2024-12").text
    january = client.get("/papers/month/2025-01").text
    day = client.get("/papers/date/2025-01-05").text

    assert "<title>December 2024 · Papers of the month · Paperboard</title>" in december
    assert card_ids(december) == ["2506.00001", "2506.00002"]
    assert 'rel="prev"' not in december
    assert '<a href="/papers/month/2025-01" rel="next">January 2025 →</a>' in december
    assert '<a href="/papers/week/2025-W01">Week</a>' in december
    assert card_ids(january) == ["2506.00003", "2506.00004"]
    assert '<a href="/papers/month/2024-12" rel="prev">← December 2024</a>' in january and 'rel="next"' not in january
    assert card_ids(day) == ["2506.00003"]
    assert '<a href="/papers/date/2024-12-30" rel="prev">← 30 Dec 2024</a>' in day
    assert '<a href="/papers/date/2025-01-06" rel="next">6 Jan 2025 →</a>' in day
    assert '<a href="/papers/week/2025-W01">Week</a>' in day and '<a href="/papers/month/2025-01">Month</a>' in day


def test_a_day_without_listings_says_so_and_still_leads_on(year_end, client_for):
    response = client_for(year_end).get("/papers/date/2025-01-02")

    assert response.status_code == 200
    assert "Nothing is listed for 2 Jan 2025" in response.text
    assert '<a href="/papers/date/2024-12-30" rel="prev">' in response.text
    assert '<a href="/papers/date/2025-01-05" rel="next">' in response.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/papers/date/2025-02-30", "There is no day 2025-02-30: February 2025 has 28 days."),
        ("/papers/week/2025-W60", "There is no week 2025-W60: 2025 has ISO weeks 01 to 52."),
        ("/papers/month/2025-13", "There is no month 2025-13: months run from 01 to 12."),
        ("/papers/date/garbage", "&#39;garbage&#39; is not a day: write it as YYYY-MM-DD, as in 2025-06-04."),
        ("/papers/week/garbage", "&#39;garbage&#39; is not a week: write it as YYYY-Www, as in 2025-W23."),
        ("/papers/month/garbage", "&#39;garbage&#39; is not a month: write it as YYYY-MM, as in 2025-06."),
        ("/papers/date/%3Cscript%3E", "&#39;&lt;script&gt;&#39; is not a day"),
    ],
)
def test_impossible_or_malformed_periods_get_a_404_that_says_why(sqlite_database, client_for, path, message):
    response = client_for(sqlite_database).get(path)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Error 404" in response.text and message in response.text


def test_long_lists_are_split_into_pages(sqlite_database, client_for):
    for number in range(1, LISTINGS_PER_PAGE + 2):
        add_paper(sqlite_database, f"2506.{number:05d}")
        add_listing(sqlite_database, f"2506.{number:05d}", date(2025, 6, 4), upvotes=number)
    client = client_for(sqlite_database)

    first, second = (client.get("/papers/month/2025-06", params={"page": page}) for page in (1, 2))
    beyond = client.get("/papers/month/2025-06", params={"page": 3})

    assert (
        len(cards(first.text)) == LISTINGS_PER_PAGE and card_ids(first.text)[0] == f"2506.{LISTINGS_PER_PAGE + 1:05d}"
    )
    assert card_ids(second.text) == ["2506.00001"]
    assert f'<ol class="papers listed-papers" start="{LISTINGS_PER_PAGE + 1}" role="list">' in second.text
    assert '<a href="/papers/month/2025-06?page=2" rel="next">' in first.text
    assert '<a href="/papers/month/2025-06" rel="prev">' in second.text
    assert beyond.status_code == 404 and "the list has 2 pages." in beyond.text


def test_the_day_page_asks_the_database_the_same_few_questions_however_long_the_list(sqlite_database, client_for):
    for number in range(1, 31):
        add_paper(sqlite_database, f"2506.{number:05d}")
        add_listing(sqlite_database, f"2506.{number:05d}", date(2025, 6, 4) if number <= 3 else date(2025, 6, 5))
    client = client_for(sqlite_database)
    statements: list[str] = []
    event.listen(
        client.app.state.database.engine,
        "before_cursor_execute",
        lambda _connection, _cursor, statement, *_: statements.append(statement),
    )

    short = client.get("/papers/date/2025-06-04")
    short_count, statements[:] = len(statements), []
    long = client.get("/papers/date/2025-06-05")

    assert (len(cards(short.text)), len(cards(long.text))) == (3, 27)
    assert len(statements) == short_count <= 10


# Trending


def test_trending_explains_its_formula_and_follows_recent_votes(sqlite_database, client_for):
    voters = [add_user(sqlite_database, f"voter{number}") for number in range(4)]
    for arxiv_id in ("2506.00001", "2506.00002", "2506.00003"):
        add_paper(sqlite_database, arxiv_id)
        add_listing(sqlite_database, arxiv_id, today() - timedelta(days=3))
    add_votes(sqlite_database, "2506.00001", *voters, cast_at=utcnow() - timedelta(days=3))
    add_votes(sqlite_database, "2506.00002", voters[0], cast_at=utcnow() - timedelta(minutes=5))

    page = client_for(sqlite_database).get("/papers/trending").text

    assert "<title>Trending papers · Paperboard</title>" in page
    assert "How this list is ranked" in page
    assert "every upvote adds 1 ÷ (hours since it was cast + 2) to the power\n    1.8" in page
    assert "every comment adds 0.5 times as much" in page and "last 30 days" in page
    assert card_ids(page) == ["2506.00002", "2506.00001", "2506.00003"]
    assert re.search(r"<li>Score 0\.2[0-9]{3}</li>", cards(page)[0])
    assert '<span class="vote-count">4</span>' in cards(page)[1]


def test_trending_with_nothing_recent_shows_how_the_latest_list_closed(sqlite_database, client_for):
    for arxiv_id, day, upvotes in [("2506.00001", date(2025, 6, 3), 100), ("2506.00002", date(2025, 6, 4), 5)]:
        add_paper(sqlite_database, arxiv_id)
        add_listing(sqlite_database, arxiv_id, day, upvotes=upvotes)

    page = client_for(sqlite_database).get("/papers/trending").text

    assert "Nothing was listed in the last 30 days" in page
    assert "as it stood at the end of 4 Jun 2025" in page
    assert card_ids(page) == ["2506.00001", "2506.00002"]


def test_trending_after_a_long_pause_fills_up_from_the_latest_list_before_the_window(sqlite_database, client_for):
    """One paper listed today on an instance whose history is older than the window: the list keeps the old
    ranking after it, rather than collapsing to that one paper; the API and the feed rank the same."""
    long_ago = today() - timedelta(days=60)
    for arxiv_id, upvotes in [("2506.00001", 100), ("2506.00002", 5), ("2506.00003", 40)]:
        add_paper(sqlite_database, arxiv_id)
        add_listing(sqlite_database, arxiv_id, long_ago, upvotes=upvotes)
    add_paper(sqlite_database, "2506.00004")
    add_listing(sqlite_database, "2506.00004", long_ago - timedelta(days=10), upvotes=500)
    add_paper(sqlite_database, "2506.00009")
    add_listing(sqlite_database, "2506.00009", today(), submitted_at=utcnow())
    client = client_for(sqlite_database)

    page = client.get("/papers/trending").text

    # The new paper first, then the ranking as the old list closed (the paper listed ten days before it counts
    # less by then, however many upvotes it had).
    assert card_ids(page) == ["2506.00009", "2506.00001", "2506.00003", "2506.00002", "2506.00004"]
    assert "Only 1 paper was listed in the last 30 days. The rest" in page
    assert f"as it stood at the end of {long_ago.day} {long_ago:%b %Y}, when the latest list before them" in page
    api = client.get("/api/daily_papers", params={"sort": "trending"}).json()
    assert [item["paper"]["id"] for item in api] == card_ids(page)
    feed = client.get("/feeds/trending.rss").text
    # The feed's addresses are made from PAPERBOARD_BASE_URL (its default here).
    assert re.findall(r"<link>http://127\.0\.0\.1:8000/papers/([^<]+)</link>", feed)[1:] == card_ids(page)


def test_trending_with_nothing_listed_at_all_says_so(sqlite_database, client_for):
    page = client_for(sqlite_database).get("/papers/trending").text

    assert "Nothing listed in the last 30 days" in page and cards(page) == []


# Submitting


def test_submitting_needs_a_signed_in_user(sqlite_database, client_for):
    response = client_for(sqlite_database).get("/submit", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/submit"


def test_a_submitted_paper_lands_on_todays_list(sqlite_database, sign_in):
    add_paper(sqlite_database, "2506.00001", days_old=2)
    client = sign_in(sqlite_database, "ann")
    form = client.get("/submit")

    response = client.post(
        "/submit",
        data={"paper": "https://arxiv.org/abs/2506.00001v1", "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )

    assert form.status_code == 200
    assert '<label for="paper">arXiv id or address</label>' in form.text
    assert "first published on arXiv in the\n    last 14 days" in form.text
    assert response.status_code == 303
    assert response.headers["location"] == f"/papers/date/{today().isoformat()}#paper-2506.00001"
    page = client.get(response.headers["location"]).text
    (card,) = cards(page)
    assert 'Submitted by <span class="submitter">ann</span>' in card and 'class="new-mark"' in card


@pytest.mark.parametrize(
    ("text", "status", "message"),
    [
        ("not an id", 400, "&#39;not an id&#39; is not an arXiv id"),
        ("2506.00001", 409, f"2506.00001 is already listed on {date(2025, 6, 4).isoformat()}."),
        ("2506.00002", 422, "2506.00002 was first published on"),
    ],
)
def test_a_refused_submission_shows_the_form_again_with_the_reason(sqlite_database, sign_in, text, status, message):
    add_paper(sqlite_database, "2506.00001")
    add_paper(sqlite_database, "2506.00002", days_old=30)
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4))
    client = sign_in(sqlite_database, "ann")

    response = client.post("/submit", data={"paper": text, "csrf_token": csrf_from(client.get("/submit").text)})

    assert response.status_code == status
    assert '<p class="form-error" role="alert" id="form-error">' in response.text and message in response.text
    assert f'name="paper" value="{text.replace(chr(39), "&#39;")}"' in response.text
    assert listing_count(sqlite_database) == 1


def test_a_paper_the_catalogue_lacks_is_pending_and_what_became_of_it_shows_on_the_form(
    sqlite_database, sign_in, arxiv_server, tmp_path
):
    arxiv_server.add(QUERY, feed_of(recent_entry("2611.00042")))
    client = sign_in(sqlite_database, "ann")

    answers = [
        client.post("/submit", data={"paper": paper, "csrf_token": csrf_from(client.get("/submit").text)})
        for paper in ("2611.00042", "2611.99999")
    ]

    assert [answer.status_code for answer in answers] == [202, 202]
    assert (
        '<p class="form-notice" role="status">We are fetching 2611.99999 from arXiv; it will be listed when it '
        "arrives. You can follow it below.</p>"
    ) in answers[1].text
    assert '<li class="fetch-pending">2611.00042: pending.' in answers[1].text
    assert arxiv_server.requests == [] and listing_count(sqlite_database) == 0

    settings = Settings(data_dir=tmp_path / "worker", arxiv_api_url=arxiv_server.url(QUERY), arxiv_api_delay=0)
    with arxiv_client(sqlite_database, settings) as arxiv:
        fetch_submitted_papers(sqlite_database, settings, arxiv)
    form = client.get("/submit").text

    assert '<li class="fetch-refused">2611.99999: refused. arXiv has no paper 2611.99999.</li>' in form
    assert '<li class="fetch-listed"><a href="/papers/2611.00042">2611.00042</a>: listed.</li>' in form
    assert listing_count(sqlite_database) == 1


def test_a_submission_without_a_csrf_token_changes_nothing(sqlite_database, sign_in):
    add_paper(sqlite_database, "2506.00001")
    client = sign_in(sqlite_database, "ann")

    for data in ({"paper": "2506.00001"}, {"paper": "2506.00001", "csrf_token": "forged"}):
        response = client.post("/submit", data=data)
        assert response.status_code == 403

    assert listing_count(sqlite_database) == 0


# Moderation


@pytest.fixture
def listed(sqlite_database):
    for arxiv_id in ("2506.00001", "2506.00002"):
        add_paper(sqlite_database, arxiv_id)
        add_listing(sqlite_database, arxiv_id, date(2025, 6, 4))
    return sqlite_database


def test_a_moderator_hides_a_paper_and_shows_it_again(listed, sign_in):
    moderator = sign_in(listed, "mod", role="moderator")
    page = moderator.get("/papers/date/2025-06-04").text
    assert page.count("Hide from the lists") == 2

    hidden = moderator.post(
        "/papers/2506.00001/hide",
        data={"csrf_token": csrf_from(page)},
        headers={"Referer": "http://testserver/papers/date/2025-06-04"},
        follow_redirects=False,
    )
    after = moderator.get("/papers/date/2025-06-04").text

    assert hidden.status_code == 303 and hidden.headers["location"] == "/papers/date/2025-06-04"
    assert card_ids(after) == ["2506.00002"]
    assert "Hidden by moderators" in after and "by mod" in after
    assert '<form method="post" action="/papers/2506.00001/unhide" class="inline-form">' in after

    shown = moderator.post("/papers/2506.00001/unhide", data={"csrf_token": csrf_from(after)}, follow_redirects=False)

    assert shown.status_code == 303 and shown.headers["location"] == "/papers/date/2025-06-04"
    assert card_ids(moderator.get("/papers/date/2025-06-04").text) == ["2506.00001", "2506.00002"]


def test_hiding_is_for_moderators_with_a_valid_form(listed, sign_in, client_for):
    user = sign_in(listed, "ann")
    moderator = sign_in(listed, "mod", role="moderator")
    visitor = client_for(listed)
    user_page = user.get("/papers/date/2025-06-04").text

    by_user = user.post("/papers/2506.00001/hide", data={"csrf_token": csrf_from(user_page)})
    forged = moderator.post("/papers/2506.00001/hide", data={"csrf_token": "forged"})
    without_token = moderator.post("/papers/2506.00001/hide")
    by_visitor = visitor.post(
        "/papers/2506.00001/hide", data={"csrf_token": csrf_from(visitor.get("/login").text)}, follow_redirects=False
    )
    not_listed = moderator.post(
        "/papers/2506.09999/hide", data={"csrf_token": csrf_from(moderator.get("/papers/date/2025-06-04").text)}
    )

    assert "Hide from the lists" not in user_page and "Hidden by moderators" not in user_page
    assert by_user.status_code == 403 and "Only moderators may do this." in by_user.text
    assert forged.status_code == without_token.status_code == 403
    assert by_visitor.status_code == 303 and by_visitor.headers["location"].startswith("/login")
    assert not_listed.status_code == 404 and "2506.09999 is not on any list." in not_listed.text
    assert card_ids(user.get("/papers/date/2025-06-04").text) == ["2506.00001", "2506.00002"]


# Safety and navigation


def test_markup_in_listed_papers_and_imported_names_is_shown_as_text(
    sqlite_database, client_for, make_paper, add_papers
):
    paper = make_paper(
        1,
        title="<script>alert('title')</script>",
        abstract="<script>alert('abstract')</script> & more",
        authors=["<script>alert('author')</script>"],
    )
    add_papers(sqlite_database, replace(paper, code_url="javascript:alert('code')"))
    add_listing(sqlite_database, "2506.00001", date(2025, 6, 4), imported_submitter="<img src=x onerror=alert(1)>")

    html = client_for(sqlite_database).get("/").text

    assert re.findall(r"<script[^>]*>", html, re.IGNORECASE) == ['<script src="/static/vendor/htmx/htmx.min.js" defer>']
    for field in ("title", "abstract", "author"):
        assert f"&lt;script&gt;alert(&#39;{field}&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert "javascript:" not in html


def test_the_site_navigation_links_the_lists_and_marks_the_current_one(sqlite_database, client_for):
    page = client_for(sqlite_database).get("/papers/trending").text

    assert '<li><a href="/">Daily</a></li>' in page
    assert '<li><a href="/papers/trending" aria-current="page">Trending</a></li>' in page
    assert '<li><a href="/papers/recent">Newest</a></li>' in page
    assert '<li><a href="/submit">Submit</a></li>' in page
