"""One reader's first morning, in Chromium against `paperboard serve`: they sign up from /for-you, then follow an
author, follow a category, save papers, mark a paper not interested and claim authorship (approved by a moderator
in a second browser), opening /for-you after each action to see what it changed and why; at last they read the
feed in a feed reader through its private address, and revoke it.

The catalogue is made so that each action has one foreseeable effect on the week's feed: seven papers of this
week on topics that share no words (compilers, dialogue, protein folding, Bernoulli numbers, two on galaxies, soil
moisture), and three older ones outside the week that the reader saves or claims."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser
import httpx
from playwright.sync_api import expect

from paperboard.catalog.jsonl import record_to_json
from paperboard.personal.ranking import FAR_REASON
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.conftest import PASSWORD
from tests.e2e.test_daily_in_browser import card

COMPILERS, DIALOGUE, PROTEINS, BERNOULLI, ROTATION, HALOS, SOIL = (f"2612.0000{n}" for n in range(1, 8))
SAVED_PROTEINS, SAVED_CONTACTS, ADA_PAPER = "2610.00001", "2610.00002", "2610.00003"
# (arXiv id, title, abstract, authors, categories, days before today)
CATALOGUE = [
    (
        COMPILERS,
        "Compilers for business data processing",
        "A compiler translates statements written in business English into machine code.",
        ["Grace Hopper"],
        ["cs.PL"],
        3,
    ),
    (
        DIALOGUE,
        "Dialogue state tracking for languages with few annotations",
        "Tracking what a conversation is about, across speakers, from few annotated utterances.",
        ["Zellig Harris"],
        ["cs.CL"],
        3,
    ),
    (
        PROTEINS,
        "Sparse attention for protein folding at scale",
        "Protein structures predicted by sparse attention over residue contacts.",
        ["Rosalind Franklin"],
        ["q-bio.BM"],
        2,
    ),
    (
        BERNOULLI,
        "Bernoulli numbers tabulated on analytical engines",
        "Tables of Bernoulli numbers computed by programs for the analytical engine.",
        ["Mary Somerville"],
        ["math.HO"],
        2,
    ),
    (
        ROTATION,
        "Galaxy rotation curves and dark matter",
        "Rotation curves of spiral galaxies measured far beyond their visible discs point to dark matter.",
        ["Vera Rubin"],
        ["astro-ph.GA"],
        1,
    ),
    (
        HALOS,
        "Dark matter halos of dwarf galaxies",
        "Halos of dark matter around dwarf galaxies, weighed from the rotation of their stars.",
        ["Fritz Zwicky"],
        ["astro-ph.GA"],
        1,
    ),
    (
        SOIL,
        "Soil moisture mapped from satellite radar",
        "Radar backscatter from satellites gives the moisture of farmland soil every week.",
        ["Hedy Lamarr"],
        ["physics.geo-ph"],
        1,
    ),
    (
        SAVED_PROTEINS,
        "Protein folding with sparse attention",
        "Sparse attention over residue pairs predicts how a protein folds.",
        ["Dorothy Hodgkin"],
        ["q-bio.BM"],
        40,
    ),
    (
        SAVED_CONTACTS,
        "Residue contacts of folded proteins",
        "Which residues of a folded protein touch, predicted from its sequence.",
        ["Dorothy Hodgkin"],
        ["q-bio.BM"],
        40,
    ),
    (
        ADA_PAPER,
        "Programs for the analytical engine",
        "Notes on programming the analytical engine, with a table computing Bernoulli numbers.",
        ["Ada Lovelace"],
        ["math.HO"],
        40,
    ),
]


def import_catalogue(live_server, tmp_path) -> None:
    today = datetime.now(UTC).date()
    records = [
        make_record(
            arxiv_id,
            title=title,
            abstract=abstract,
            authors=authors,
            categories=categories,
            published_at=(today - timedelta(days=days)).isoformat(),
        )
        for arxiv_id, title, abstract, authors, categories, days in CATALOGUE
    ]
    path = write_lines(tmp_path / "catalogue.jsonl", map(record_to_json, records))
    assert live_server.cli.run("import", str(path)).returncode == 0


def feed(page, live_server) -> list[tuple[str, str]]:
    """The week's feed as /for-you shows it: (arXiv id, reason) of each card, best first."""
    page.goto(live_server.url("/for-you"))
    cards = page.locator("ol.papers > li")
    ids = [identifier.removeprefix("paper-") for identifier in cards.evaluate_all("cards => cards.map(c => c.id)")]
    # The reason without its heading for screen readers, which is in the text too.
    reasons = cards.locator(".feed-reason").evaluate_all("reasons => reasons.map(r => r.lastChild.textContent.trim())")
    return list(zip(ids, reasons, strict=True))


def sign_in_as_moderator(browser, live_server):
    """A second browser, signed in as a moderator (the tab, and its context to close)."""
    live_server.create_user("mod", role="moderator")
    context = browser.new_context()
    moderator = context.new_page()
    moderator.goto(live_server.url("/login"))
    moderator.get_by_label("User name").fill("mod")
    moderator.get_by_label("Password").fill(PASSWORD)
    moderator.get_by_role("button", name="Sign in").click()
    expect(moderator.get_by_role("link", name="Admin")).to_be_visible()
    return moderator, context


def test_a_reader_signs_up_and_each_action_changes_their_feed(live_server, tmp_path, page, browser):
    import_catalogue(live_server, tmp_path)
    this_week = [entry[0] for entry in CATALOGUE if entry[-1] < 7]

    # An anonymous visitor is invited to sign in or sign up, and comes back to the feed.
    page.goto(live_server.url("/for-you"))
    page.get_by_role("link", name="create an account").click()
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    assert urlsplit(page.url).path == "/for-you"
    # Nothing to learn from yet: an invitation, above the week's papers in the order they came.
    expect(page.get_by_role("heading", name="Tell your feed what you read")).to_be_visible()
    assert feed(page, live_server) == [(arxiv_id, "New in this period") for arxiv_id in this_week]

    page.goto(live_server.url("/authors/Grace%20Hopper"))
    page.get_by_role("button", name=re.compile(r"^Follow\W+Grace Hopper")).click()
    expect(page.get_by_role("button", name=re.compile(r"^Following\W+Grace Hopper"))).to_be_visible()
    ranked = feed(page, live_server)
    expect(page.get_by_role("heading", name="Tell your feed what you read")).to_have_count(0)
    assert ranked[0] == (COMPILERS, "You follow Grace Hopper")
    # The others share no word with Grace Hopper's paper, and say so rather than claim a likeness.
    assert {reason for _, reason in ranked[1:]} == {FAR_REASON}

    page.goto(live_server.url("/categories/cs.CL"))
    page.get_by_role("button", name=re.compile(r"^Follow\W+cs\.CL")).click()
    expect(page.get_by_role("button", name=re.compile(r"^Following\W+cs\.CL"))).to_be_visible()
    ranked = feed(page, live_server)
    assert ranked[:2] == [(COMPILERS, "You follow Grace Hopper"), (DIALOGUE, "In cs.CL, which you follow")]

    for arxiv_id in (SAVED_PROTEINS, SAVED_CONTACTS):
        page.goto(live_server.url(f"/papers/{arxiv_id}"))
        page.get_by_role("button", name=f"Save arXiv:{arxiv_id}").click()
        expect(page.get_by_role("button", name=f"Saved arXiv:{arxiv_id}")).to_be_visible()
    ranked = feed(page, live_server)
    # The week's protein paper, which was last, comes right after the follows, named after the likest saved paper.
    assert ranked[2] == (PROTEINS, "Like 'Protein folding with sparse attention' in Saved")
    assert {reason for _, reason in ranked[3:]} == {FAR_REASON}

    # Not interested, from the feed's own card: the paper leaves the feed, and the other dark-matter paper, which
    # shares its words, goes to the bottom.
    assert ranked[-1][0] != HALOS
    card(page, ROTATION).get_by_role("button", name=re.compile(r"^Not interested")).click()
    expect(card(page, ROTATION).get_by_text("Hidden from your feed.")).to_be_visible()
    ranked = feed(page, live_server)
    assert ROTATION not in [arxiv_id for arxiv_id, _ in ranked]
    assert ranked[-1][0] == HALOS
    dismissed = ranked

    page.goto(live_server.url("/authors/Ada%20Lovelace"))
    page.get_by_text("Are you Ada Lovelace? Claim this name").click()
    page.get_by_label("Evidence").fill("https://example.org/ada")
    page.get_by_role("button", name="Claim this name").click()
    expect(page.locator("#own-claim")).to_contain_text("the claim waits for a moderator")
    # A claim a moderator has not approved teaches the feed nothing.
    assert feed(page, live_server) == dismissed
    assert [arxiv_id for arxiv_id, _ in dismissed].index(BERNOULLI) > 3

    moderator, moderator_context = sign_in_as_moderator(browser, live_server)
    try:
        moderator.get_by_role("link", name="Admin").click()
        claim = moderator.get_by_role("article", name="Claim of ada to Ada Lovelace")
        claim.get_by_role("button", name="Approve").click()
        expect(moderator.locator("#no-claims")).to_be_visible()
    finally:
        moderator_context.close()
    ranked = feed(page, live_server)
    # The week's paper on Bernoulli numbers rises next to the saved papers' likeness, for the reader's own paper.
    assert ranked[3] == (BERNOULLI, "Like your paper 'Programs for the analytical engine'")

    # The private feed: the account page gives its address once; a feed reader gets the same papers in the same
    # order (the address is the site's base URL's, left at its default here: read at the live port).
    page.get_by_role("link", name="ada", exact=True).click()
    page.get_by_role("button", name="Make an address").click()
    address = live_server.url(urlsplit(page.locator("#private-feed-url").inner_text()).path)
    atom = feedparser.parse(httpx.get(address).content)
    assert [urlsplit(entry.link).path for entry in atom.entries] == [f"/papers/{arxiv_id}" for arxiv_id, _ in ranked]
    titles = {entry[0]: entry[1] for entry in CATALOGUE}
    assert [entry.title for entry in atom.entries] == [titles[arxiv_id] for arxiv_id, _ in ranked]
    page.get_by_role("button", name="Revoke the address").click()
    expect(page.get_by_text("The address was revoked")).to_be_visible()
    assert httpx.get(address).status_code == 404
