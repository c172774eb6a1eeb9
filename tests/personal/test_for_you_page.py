"""`/for-you` in the site: the reader's ranked papers with their reasons, the period navigation of the lists, an
invitation for a reader the feed knows nothing of and for visitors, never anyone else's feed."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from paperboard.db import Database
from paperboard.db.models import User
from tests.community.factories import add_paper
from tests.markup import main_of
from tests.personal.readers import BY_ADA, DISMISSED, LISTED, add_feed_papers, follow_author, mark_not_interested

CARD = re.compile(r'<li id="paper-([^"]+)">.*?</li>\s*(?=<li id="paper-|</ol>)', re.S)


def cards(html: str) -> dict[str, str]:
    """The cards of a page, by arXiv id, in their order."""
    return {match[1]: match[0] for match in CARD.finditer(main_of(html))}


@pytest.fixture
def papers(database: Database) -> Database:
    add_feed_papers(database)
    return database


def signed_in(database: Database, sign_in, username: str) -> tuple[TestClient, User]:
    browser = sign_in(database, username)
    with database.read_session() as session:
        user = session.query(User).filter_by(username=username).one()
    return browser, user


def test_the_reader_s_papers_come_ranked_with_the_reason_on_each_card(papers: Database, sign_in):
    browser, ann = signed_in(papers, sign_in, "ann")
    follow_author(papers, ann, "Ada Lovelace")
    mark_not_interested(papers, ann, DISMISSED)
    response = browser.get("/for-you")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    shown = cards(response.text)
    assert list(shown) == [BY_ADA, LISTED]
    assert "You follow Ada Lovelace</p>" in shown[BY_ADA]
    assert all('class="feed-reason"' in card for card in shown.values())
    # The invitation is for readers the feed knows nothing of.
    assert "Tell your feed what you read" not in response.text
    assert '<a href="/for-you" aria-current="page">For you</a>' in response.text


def test_a_reader_with_nothing_yet_is_invited_to_follow_save_or_import_and_still_sees_papers(papers, sign_in):
    browser, _ = signed_in(papers, sign_in, "newcomer")
    html = browser.get("/for-you").text
    page = main_of(html)
    assert "Tell your feed what you read" in page
    assert 'href="/collections"' in page and 'href="/categories/cs.CL"' in page
    assert set(cards(html)) == {BY_ADA, LISTED, DISMISSED}


def test_the_period_navigation_of_the_lists_leads_through_days_weeks_and_months(papers, sign_in):
    browser, ann = signed_in(papers, sign_in, "ann")
    follow_author(papers, ann, "Ada Lovelace")
    page = browser.get("/for-you?month=2025-06").text
    assert list(cards(page)) == ["2506.00001", "2506.00002"]
    assert "June 2025" in page
    assert '<a href="/for-you?month=2025-05" rel="prev">← May 2025</a>' in page
    assert '<a href="/for-you?month=2025-07" rel="next">July 2025 →</a>' in page
    assert '<a href="/for-you?week=2025-W22">Week</a>' in page
    assert '<a href="/for-you?month=2025-06" aria-current="page">Month</a>' in page
    assert list(cards(browser.get("/for-you?date=2025-06-30").text)) == ["2506.00002"]
    assert "There is no month 2025-13" in browser.get("/for-you?month=2025-13").text
    assert browser.get("/for-you?month=2025-13").status_code == 404


def test_pages_of_a_period_keep_the_period(database: Database, sign_in):
    for number in range(1, 33):
        add_paper(database, f"2505.{number:05d}", published_at=datetime(2025, 5, 2 + number // 24, number % 24))
    browser, _ = signed_in(database, sign_in, "ann")
    first = browser.get("/for-you?month=2025-05").text
    assert len(cards(first)) == 30
    assert 'href="/for-you?month=2025-05&amp;page=2" rel="next"' in first
    second = browser.get("/for-you?month=2025-05&page=2").text
    assert len(cards(second)) == 2
    assert not set(cards(first)) & set(cards(second))


def test_visitors_are_invited_to_sign_in_and_see_nobody_s_feed(papers: Database, client_for, sign_in):
    _, ann = signed_in(papers, sign_in, "ann")
    follow_author(papers, ann, "Ada Lovelace")
    visitor = client_for(papers).get("/for-you")
    assert visitor.status_code == 200
    page = main_of(visitor.text)
    assert 'href="/login?next=/for-you"' in page
    assert 'href="/login?next=/for-you%3Fmonth%3D2025-06"' in client_for(papers).get("/for-you?month=2025-06").text
    assert cards(visitor.text) == {} and "You follow" not in page
    assert 'href="/for-you"' not in visitor.text.split("<main")[0]


def test_another_reader_sees_their_own_feed_not_someone_else_s(papers: Database, sign_in):
    ann_browser, ann = signed_in(papers, sign_in, "ann")
    follow_author(papers, ann, "Ada Lovelace")
    mark_not_interested(papers, ann, DISMISSED)
    bob_browser, _ = signed_in(papers, sign_in, "bob")
    bobs = bob_browser.get("/for-you").text
    assert "You follow Ada Lovelace" not in bobs
    assert DISMISSED in cards(bobs)
    assert "Tell your feed what you read" in bobs
    assert DISMISSED not in cards(ann_browser.get("/for-you").text)
