"""Claims of authorship over HTTP, on each backend: claiming from the author page, the moderators' queue on /admin,
approving and refusing (recorded, and a signal for the reader's feed), what each visitor may see, withdrawing, and
who may decide."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paperboard.community import accounts
from paperboard.db import Database
from paperboard.db.models import AuthorClaim, ReaderModel, User
from paperboard.personal.claims import MAX_EVIDENCE_LENGTH
from paperboard.web.pages.users import PAPERS_ON_PROFILE, PAPERS_PER_PAGE
from tests.markup import main_of, paper_links
from tests.web.conftest import DEFAULT_PASSWORD, csrf_from

ADA = "/authors/Ada%20Lovelace"
EVIDENCE = "My page at the Analytical Engine Society lists these papers: https://example.org/ada"


@pytest.fixture
def catalogue(database, make_paper, add_papers) -> Database:
    """Three papers by Ada Lovelace (one spelt in lower case, one withdrawn later by no test), one by someone else."""
    add_papers(
        database,
        make_paper(1, authors=["Ada Lovelace", "Charles Babbage"]),
        make_paper(2, authors=["Charles Babbage"]),
        make_paper(3, authors=["ada lovelace"]),
        make_paper(4, authors=["Mary Somerville", "Ada Lovelace"]),
    )
    return database


def signed_in(client_for, database: Database, username: str, *, role: str = "user") -> TestClient:
    """A client signed in through the real form as a new account whose display name differs from its user name."""
    with database.session() as session:
        accounts.create_user(
            session,
            username,
            accounts.hash_password(DEFAULT_PASSWORD),
            display_name=f"{username.title()} the Reader",
            role=role,  # type: ignore[arg-type]
        )
    client = client_for(database)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def claim(client: TestClient, name: str = "Ada Lovelace", evidence: str = EVIDENCE, *, page: str = ADA):
    token = csrf_from(client.get(page).text)
    return client.post(
        "/claims", data={"name": name, "evidence": evidence, "csrf_token": token}, follow_redirects=False
    )


def the_claim(database: Database, username: str) -> AuthorClaim:
    with database.read_session() as session:
        return session.scalars(
            select(AuthorClaim).join(User, User.id == AuthorClaim.user_id).where(User.username == username)
        ).one()


def queued_claim_id(admin_page: str, username: str) -> int:
    match = re.search(rf'aria-label="Claim of {username} to [^"]+">.*?/admin/claims/(\d+)/approve', admin_page, re.S)
    assert match, f"no claim of {username} in the queue"
    return int(match.group(1))


def decide(client: TestClient, claim_id: int, decision: str):
    token = csrf_from(client.get("/admin").text)
    return client.post(f"/admin/claims/{claim_id}/{decision}", data={"csrf_token": token}, follow_redirects=False)


def signals_changed_at(database: Database, user_id: int) -> datetime | None:
    with database.read_session() as session:
        model = session.get(ReaderModel, user_id)
        return model.signals_changed_at if model else None


def test_a_claim_waits_in_the_queue_and_once_approved_shows_on_the_author_page_and_profile(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")
    assert "Claim this name" in ada.get(ADA).text

    response = claim(ada)

    assert response.status_code == 303
    assert response.headers["location"] == ADA + "#claim"
    pending = main_of(ada.get(ADA).text)
    assert "the claim waits for a moderator" in pending
    assert "Claim this name" not in pending
    stored = the_claim(catalogue, "ada")
    assert (stored.name, stored.name_key, stored.status, stored.evidence) == (
        "Ada Lovelace",
        "ada lovelace",
        "pending",
        EVIDENCE,
    )
    assert "waiting for a moderator since" in main_of(ada.get("/account").text)

    moderator = signed_in(client_for, catalogue, "mod", role="moderator")
    queue = main_of(moderator.get("/admin").text)
    entry = queue[queue.index('aria-label="Claim of ada to Ada Lovelace"') :]
    assert '<a href="/users/ada">Ada the Reader (@ada)</a>' in entry
    assert f'<a href="{ADA}">Ada Lovelace</a>' in entry
    # Papers 1, 3 and 4: the lower-case spelling is the same name.
    assert '<span class="claim-papers">3 papers</span>' in entry
    assert EVIDENCE in entry
    assert "Search index" not in queue, "the operational sections are for administrators"
    before = signals_changed_at(catalogue, stored.user_id)

    approved = decide(moderator, queued_claim_id(queue, "ada"), "approve")

    assert approved.status_code == 303
    assert approved.headers["location"] == "/admin#claims"
    decided = the_claim(catalogue, "ada")
    moderator_id = the_claim_user_id(catalogue, "mod")
    assert decided.status == "approved" and decided.decided_by_id == moderator_id and decided.decided_at is not None
    assert signals_changed_at(catalogue, stored.user_id) not in (None, before)
    assert 'id="no-claims"' in moderator.get("/admin").text
    assert "approved on" in main_of(ada.get("/account").text)

    # Public now: every visitor sees the claimant's box, and the profile lists the name and its papers.
    author_page = main_of(client_for(catalogue).get(ADA).text)
    box = author_page[author_page.index('<aside class="claimed-by"') : author_page.index("</aside>")]
    assert '<a href="/users/ada">@ada</a>' in box and "Ada the Reader" in box
    profile = main_of(client_for(catalogue).get("/users/ada").text)
    assert re.findall(r'id="claimed-names".*?<a href="([^"]+)">', profile, re.S) == [ADA]
    assert paper_links(profile) == ["2506.00004", "2506.00003", "2506.00001"]
    assert "your claim" not in author_page.lower() and EVIDENCE not in author_page


def the_claim_user_id(database: Database, username: str) -> int:
    with database.read_session() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def test_a_refused_claim_is_told_to_its_claimant_alone_and_may_be_made_again(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")
    assert claim(ada).status_code == 303
    moderator = signed_in(client_for, catalogue, "mod", role="moderator")
    claim_id = queued_claim_id(moderator.get("/admin").text, "ada")

    assert decide(moderator, claim_id, "refuse").status_code == 303

    refused = the_claim(catalogue, "ada")
    assert refused.status == "refused" and refused.decided_at is not None
    assert "A moderator refused your claim to this name" in ada.get(ADA).text
    assert "refused by a moderator on" in main_of(ada.get("/account").text)
    bob = signed_in(client_for, catalogue, "bob")
    for other in (client_for(catalogue), bob):
        page = other.get(ADA).text
        assert "refused" not in page and "claimed-by" not in page and EVIDENCE not in page
        assert "Ada the Reader" not in other.get("/users/ada").text.split("</h1>", 1)[1]
    assert "Authorship claims" in bob.get("/account").text and "Ada Lovelace" not in main_of(bob.get("/account").text)

    # Claiming again puts the same claim back in the queue with the new evidence.
    assert claim(ada, evidence="My ORCID is 0000-0002-1825-0097.").status_code == 303
    again = the_claim(catalogue, "ada")
    assert (again.id, again.status, again.evidence, again.decided_at) == (
        refused.id,
        "pending",
        "My ORCID is 0000-0002-1825-0097.",
        None,
    )
    assert "0000-0002-1825-0097" in moderator.get("/admin").text


def test_a_pending_claim_is_seen_by_its_claimant_and_moderators_only(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")
    assert claim(ada).status_code == 303

    for viewer in (client_for(catalogue), signed_in(client_for, catalogue, "bob")):
        for path in (ADA, "/users/ada", "/account"):
            page = viewer.get(path).text
            assert EVIDENCE not in page and "waits for a moderator" not in page, path
    assert signed_in(client_for, catalogue, "eve").get("/admin").status_code == 403
    assert EVIDENCE in signed_in(client_for, catalogue, "root", role="admin").get("/admin").text


def test_one_claim_per_name_but_another_account_may_claim_an_approved_name(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")
    assert claim(ada).status_code == 303

    twice = claim(ada, "ADA   lovelace", page="/authors/ADA%20%20%20lovelace")

    assert twice.status_code == 400
    assert "You have claimed Ada Lovelace already: the claim waits for a moderator." in twice.text
    moderator = signed_in(client_for, catalogue, "mod", role="moderator")
    assert decide(moderator, queued_claim_id(moderator.get("/admin").text, "ada"), "approve").status_code == 303
    assert "the claim is approved" in claim(ada).text

    bob = signed_in(client_for, catalogue, "bob")
    assert claim(bob, evidence="").status_code == 303

    queue = moderator.get("/admin").text
    entry = queue[queue.index('aria-label="Claim of bob to Ada Lovelace"') :]
    assert re.search(r'Already approved for\s*<a href="/users/ada">@ada</a>', entry)
    assert "No evidence given." in entry
    with catalogue.read_session() as session:
        assert session.scalar(select(AuthorClaim.evidence).where(AuthorClaim.status == "pending")) is None


def test_a_refused_form_changes_nothing_and_says_why(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")

    too_long = claim(ada, evidence="x" * (MAX_EVIDENCE_LENGTH + 1))
    unknown = claim(ada, "Nobody Atall")
    token = csrf_from(ada.get(ADA).text)
    no_token = ada.post("/claims", data={"name": "Ada Lovelace", "evidence": ""}, follow_redirects=False)
    visitor = client_for(catalogue).post(
        "/claims", data={"name": "Ada Lovelace", "csrf_token": token}, follow_redirects=False
    )

    assert too_long.status_code == 400
    assert f"The evidence may have at most {MAX_EVIDENCE_LENGTH:,} characters" in too_long.text
    # The form comes back open, with what was written.
    assert '<details class="claim-form" open>' in too_long.text and "x" * 100 in too_long.text
    assert unknown.status_code == 404
    assert no_token.status_code == 403
    assert visitor.status_code == 403
    with catalogue.read_session() as session:
        assert session.scalars(select(AuthorClaim)).all() == []


def test_only_moderators_decide_and_never_their_own_claim(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")
    assert claim(ada).status_code == 303
    moderator = signed_in(client_for, catalogue, "mod", role="moderator")
    claim_id = queued_claim_id(moderator.get("/admin").text, "ada")

    for user in (ada, signed_in(client_for, catalogue, "bob")):
        token = csrf_from(user.get(ADA).text)
        refused = user.post(f"/admin/claims/{claim_id}/approve", data={"csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 403
        assert "Only moderators may do this." in refused.text
    visitor = client_for(catalogue)
    token = csrf_from(visitor.get("/login").text)
    signed_out = visitor.post(f"/admin/claims/{claim_id}/approve", data={"csrf_token": token}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=")
    assert the_claim(catalogue, "ada").status == "pending"

    # A moderator's own claim waits for another moderator.
    assert claim(moderator).status_code == 303
    own = decide(moderator, queued_claim_id(moderator.get("/admin").text, "mod"), "approve")
    assert own.status_code == 403
    assert "You cannot decide your own claim" in own.text

    assert decide(moderator, claim_id, "refuse").status_code == 303
    late = decide(moderator, claim_id, "approve")
    assert late.status_code == 409
    assert "The claim to Ada Lovelace was refused already." in late.text
    assert the_claim(catalogue, "ada").status == "refused"
    assert decide(moderator, 999_999, "approve").status_code == 404
    assert decide(moderator, 2**40, "approve").status_code == 404


def approved_claim_id(admin_page: str, username: str) -> int:
    match = re.search(
        rf'aria-label="Approved claim of {username} to [^"]+">.*?/admin/claims/(\d+)/revoke', admin_page, re.S
    )
    assert match, f"no approved claim of {username} on /admin"
    return int(match.group(1))


def test_a_moderator_revokes_an_approved_claim_and_its_papers_leave_the_profile(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")
    assert claim(ada).status_code == 303
    moderator = signed_in(client_for, catalogue, "mod", role="moderator")
    assert decide(moderator, queued_claim_id(moderator.get("/admin").text, "ada"), "approve").status_code == 303
    assert paper_links(main_of(client_for(catalogue).get("/users/ada").text)) == [
        "2506.00004",
        "2506.00003",
        "2506.00001",
    ]
    claim_id = approved_claim_id(moderator.get("/admin").text, "ada")
    before = signals_changed_at(catalogue, the_claim_user_id(catalogue, "ada"))
    # Only with the form's token, and only by a moderator: a refused request changes nothing.
    assert moderator.post(f"/admin/claims/{claim_id}/revoke", follow_redirects=False).status_code == 403
    bob = signed_in(client_for, catalogue, "bob")
    by_bob = bob.post(
        f"/admin/claims/{claim_id}/revoke", data={"csrf_token": csrf_from(bob.get(ADA).text)}, follow_redirects=False
    )
    assert by_bob.status_code == 403
    assert the_claim(catalogue, "ada").status == "approved"

    revoked = decide(moderator, claim_id, "revoke")

    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/admin#approved-claims"
    stored = the_claim(catalogue, "ada")
    # Kept, with who revoked it and when, as a hidden listing keeps who hid it.
    assert (stored.status, stored.decided_by_id) == ("revoked", the_claim_user_id(catalogue, "mod"))
    assert signals_changed_at(catalogue, stored.user_id) not in (None, before)
    assert 'id="no-approved-claims"' in moderator.get("/admin").text
    profile = main_of(client_for(catalogue).get("/users/ada").text)
    assert 'id="claimed-names"' not in profile and paper_links(profile) == []
    assert "claimed-by" not in client_for(catalogue).get(ADA).text
    # The claimant is told, and may claim the name again; revoking twice is a conflict.
    assert "A moderator revoked your claim to this name" in main_of(ada.get(ADA).text)
    assert "revoked by a moderator on" in main_of(ada.get("/account").text)
    again = decide(moderator, claim_id, "revoke")
    assert again.status_code == 409
    assert "The claim to Ada Lovelace is revoked, not approved: nothing to revoke." in again.text
    assert claim(ada).status_code == 303
    assert the_claim(catalogue, "ada").status == "pending"


def test_a_claimant_withdraws_their_claim_and_no_one_else_can(catalogue, client_for):
    ada = signed_in(client_for, catalogue, "ada")
    assert claim(ada).status_code == 303
    moderator = signed_in(client_for, catalogue, "mod", role="moderator")
    assert decide(moderator, queued_claim_id(moderator.get("/admin").text, "ada"), "approve").status_code == 303
    claim_id = the_claim(catalogue, "ada").id
    bob = signed_in(client_for, catalogue, "bob")

    theirs = bob.post(
        f"/claims/{claim_id}/withdraw", data={"csrf_token": csrf_from(bob.get(ADA).text)}, follow_redirects=False
    )
    assert theirs.status_code == 404
    assert the_claim(catalogue, "ada").status == "approved"
    before = signals_changed_at(catalogue, the_claim_user_id(catalogue, "ada"))

    withdrawn = ada.post(
        f"/claims/{claim_id}/withdraw",
        data={"csrf_token": csrf_from(ada.get("/account").text)},
        headers={"Referer": "http://testserver/account"},
        follow_redirects=False,
    )

    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == "/account"
    with catalogue.read_session() as session:
        assert session.scalars(select(AuthorClaim)).all() == []
    assert signals_changed_at(catalogue, the_claim_user_id(catalogue, "ada")) != before
    assert "claimed-by" not in client_for(catalogue).get(ADA).text
    assert 'id="claimed-names"' not in client_for(catalogue).get("/users/ada").text
    assert "Claim this name" in ada.get(ADA).text


def test_the_claimed_papers_of_a_profile_are_paged_newest_first(database, client_for, make_paper, add_papers):
    total = PAPERS_PER_PAGE + 2
    add_papers(
        database,
        *(make_paper(number, authors=["Prolific Writer"]) for number in range(1, total)),
        make_paper(total, authors=["P. Writer"]),
        make_paper(total + 1, authors=["Someone Else"]),
    )
    writer = signed_in(client_for, database, "writer")
    moderator = signed_in(client_for, database, "mod", role="moderator")
    for name in ("Prolific Writer", "P. Writer"):
        assert claim(writer, name, page="/authors/" + name.replace(" ", "%20")).status_code == 303
        assert decide(moderator, queued_claim_id(moderator.get("/admin").text, "writer"), "approve").status_code == 303
    visitor = client_for(database)

    profile = main_of(visitor.get("/users/writer").text)
    first = main_of(visitor.get("/users/writer/papers").text)
    second = main_of(visitor.get("/users/writer/papers?page=2").text)

    newest = [f"2506.{number:05d}" for number in range(total, 0, -1)]
    assert paper_links(profile) == newest[:PAPERS_ON_PROFILE]
    assert f'<a href="/users/writer/papers">All {total} papers →</a>' in profile
    assert paper_links(first) == newest[:PAPERS_PER_PAGE]
    assert paper_links(second) == newest[PAPERS_PER_PAGE:]
    assert '<a href="/users/writer/papers?page=2" rel="next">' in first
    assert visitor.get("/users/writer/papers?page=3").status_code == 404
    assert visitor.get("/users/nobody/papers").status_code == 404
