"""Subscribing over HTTP: the footer's form, double opt-in with a confirm button, managing and unsubscribing by
signed link (and by RFC 8058 one-click POST), forged and expired links, bad addresses, the account page, and the
same answer whatever the state of an address. End to end with a real SMTP server (aiosmtpd) at the end."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from paperboard.db import Database
from paperboard.db.models import OutboxMessage, Subscriber
from paperboard.digest.links import LinkSigner
from tests.web.conftest import csrf_from

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def subscribe(client, email: str, **fields: str):
    token = csrf_from(client.get("/subscribe").text)
    data = {"email": email, "frequency": "weekly", "categories": "cs.CL", "keywords": "retrieval"}
    return client.post("/subscribe", data=data | fields | {"csrf_token": token})


def subscriber(database: Database, key: str) -> Subscriber | None:
    with database.read_session() as session:
        return session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one_or_none()


def set_status(database: Database, key: str, status: str) -> None:
    with database.session() as session:
        session.scalars(select(Subscriber).where(Subscriber.email_key == key)).one().status = status


def outbox(database: Database) -> list[tuple[str, str]]:
    with database.read_session() as session:
        rows = session.execute(
            select(Subscriber.email_key, OutboxMessage.kind)
            .join(Subscriber, Subscriber.id == OutboxMessage.subscriber_id)
            .order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]


def counts(database: Database) -> tuple[int, int]:
    with database.read_session() as session:
        return (
            session.scalar(select(func.count()).select_from(Subscriber)),
            session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def link(client, purpose: str, subscriber_id: int, path: str) -> str:
    """A link as the mails carry it, signed with the app's key, as a path on the test client."""
    token = LinkSigner(client.app.state.settings).token(purpose, subscriber_id)
    return f"{path}?token={token}"


def active_subscriber(database: Database, client, email: str) -> Subscriber:
    assert subscribe(client, email).status_code == 200
    set_status(database, email.lower(), "active")
    found = subscriber(database, email.lower())
    assert found is not None
    return found


# The footer and the subscribe form


def test_every_page_has_the_footer_form_and_stays_cacheable(sqlite_database, client_for):
    client = client_for(sqlite_database)
    for path in ("/", "/papers/trending", "/search"):
        page = client.get(path)
        footer = page.text[page.text.index('<footer class="site-footer">') :]
        assert "Get trending papers in your email inbox!" in footer
        assert '<form class="footer-subscribe" method="post" action="/subscribe/start">' in footer
        # No CSRF token in the footer: an anonymous page sets no cookie, so the page cache can keep it.
        assert "csrf_token" not in footer and "set-cookie" not in page.headers, path


def test_the_footer_posts_the_address_to_the_full_form_and_changes_nothing(sqlite_database, client_for):
    client = client_for(sqlite_database)
    page = client.post("/subscribe/start", data={"email": ' ada@example.com"><b>'})
    assert page.status_code == 200
    assert 'value="ada@example.com&#34;&gt;&lt;b&gt;"' in page.text
    assert 'name="csrf_token"' in page.text and 'name="frequency" value="weekly"' in page.text
    assert "Sign in</a> to include your For-you picks" in page.text
    assert counts(sqlite_database) == (0, 0)


def test_the_footers_address_reloaded_leads_to_the_form(sqlite_database, client_for):
    client = client_for(sqlite_database)
    response = client.get("/subscribe/start", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/subscribe"
    followed = client.get("/subscribe/start")
    assert followed.status_code == 200
    assert 'name="csrf_token"' in followed.text and 'name="frequency" value="weekly"' in followed.text
    assert counts(sqlite_database) == (0, 0)


def test_subscribing_stores_a_pending_subscriber_and_a_confirmation_mail(sqlite_database, client_for):
    client = client_for(sqlite_database)
    response = subscribe(client, "Ada@Example.com", categories="cs.cl, stat.ML", keywords="retrieval, RAG")
    assert response.status_code == 200
    assert "Check your inbox" in response.text and "<strong>Ada@Example.com</strong>" in response.text
    stored = subscriber(sqlite_database, "ada@example.com")
    assert stored is not None and stored.status == "pending"
    assert (stored.frequency, stored.categories, stored.keywords) == (
        "weekly",
        ["cs.CL", "stat.ML"],
        ["retrieval", "RAG"],
    )
    assert outbox(sqlite_database) == [("ada@example.com", "confirmation")]


def test_subscribing_without_the_csrf_token_is_refused(sqlite_database, client_for):
    client = client_for(sqlite_database)
    response = client.post("/subscribe", data={"email": "ada@example.com", "frequency": "daily"})
    assert response.status_code == 403
    assert counts(sqlite_database) == (0, 0)


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"email": ""}, 400, "Enter a mail address."),
        ({"email": "not an address"}, 400, "An email address must have an @-sign."),
        ({"email": "ada@example..com"}, 400, "An email address cannot have two periods in a row."),
        ({"email": "x" * 250 + "@example.com"}, 400, "A mail address has at most 254 characters."),
        ({"email": "x" * 2000 + "@example.com"}, 422, "email: String should have at most 1000 characters"),
        ({"categories": "cs.XX"}, 400, "&#39;cs.XX&#39; is not an arXiv category or archive"),
        ({"keywords": "k" * 101}, 400, "A keyword has at most 100 characters."),
        ({"frequency": "hourly"}, 400, "Choose daily or weekly digests."),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_is_stored(
    sqlite_database, client_for, fields, status, message
):
    client = client_for(sqlite_database)
    response = subscribe(client, fields.pop("email", "ada@example.com"), **fields)
    assert response.status_code == status
    assert message in response.text
    assert counts(sqlite_database) == (0, 0)
    if status == 400:
        # The form comes back as it was sent, to be corrected.
        assert 'role="alert"' in response.text and 'aria-invalid="true"' in response.text
        assert 'name="csrf_token"' in response.text


def test_the_answer_is_the_same_whatever_the_state_of_the_address(sqlite_database, client_for):
    # More requests than one address may make by default (tested below).
    client = client_for(sqlite_database, subscription_requests_per_address_per_hour=100)
    for address, status in (
        ("pending", "pending"),
        ("active", "active"),
        ("paused", "paused"),
        ("gone", "unsubscribed"),
    ):
        assert subscribe(client, f"{address}@example.com").status_code == 200
        set_status(sqlite_database, f"{address}@example.com", status)
    # Asked again within ten minutes: the known addresses get no second mail, and the answer must not say so.
    answers = {
        address: subscribe(client, f"{address}@example.com")
        for address in ("new", "pending", "active", "paused", "gone")
    }
    statuses = {response.status_code for response in answers.values()}
    bodies = {response.text.replace(f"{address}@example.com", "ADDRESS") for address, response in answers.items()}
    assert statuses == {200} and len(bodies) == 1
    assert {response.headers.get("set-cookie") for response in answers.values()} == {None}

    fresh_link = {}
    for address in ("new", "pending", "active", "gone"):
        token = csrf_from(client.get("/subscriptions/manage?token=forged").text)
        fresh_link[address] = client.post(
            "/subscriptions/link", data={"email": f"{address}@example.com", "csrf_token": token}
        )
    assert {response.status_code for response in fresh_link.values()} == {200}
    assert len({response.text.replace(f"{a}@example.com", "ADDRESS") for a, response in fresh_link.items()}) == 1


def test_aliases_of_one_mailbox_get_few_mails_and_the_same_answer(sqlite_database, client_for):
    """Plus-addressing, case and Gmail's dots do not multiply the mails one inbox gets."""
    client = client_for(sqlite_database, subscription_requests_per_address_per_hour=100)
    aliases = [f"Reader+{number}@example.com" for number in range(20)]
    aliases += [f"r.e.a.d.e.r+{number}@GoogleMail.com" for number in range(10)] + ["reader@gmail.com"] * 10
    answers = [subscribe(client, alias) for alias in aliases]
    assert {response.status_code for response in answers} == {200}
    assert len({response.text.replace(alias, "ADDRESS") for alias, response in zip(aliases, answers, strict=True)}) == 1
    mailed = [address for address, _ in outbox(sqlite_database)]
    assert len(mailed) == 6
    assert sum(address.endswith("@example.com") for address in mailed) == 3
    # Another mailbox is not held back.
    assert subscribe(client, "writer@example.com").status_code == 200
    assert outbox(sqlite_database)[-1] == ("writer@example.com", "confirmation")


def test_one_client_address_may_ask_for_few_link_mails(sqlite_database, client_for):
    client = client_for(sqlite_database, address="203.0.113.9", subscription_requests_per_address_per_hour=3)
    for number in range(2):
        assert subscribe(client, f"reader{number}@example.com").status_code == 200
    token = csrf_from(client.get("/subscriptions/manage?token=forged").text)
    fresh_link = client.post("/subscriptions/link", data={"email": "reader0@example.com", "csrf_token": token})
    assert fresh_link.status_code == 200
    refused = subscribe(client, "victim@example.com")
    assert refused.status_code == 429
    assert "Too many subscription requests from your address" in refused.text
    assert int(refused.headers["retry-after"]) > 3000
    refused_link = client.post("/subscriptions/link", data={"email": "reader1@example.com", "csrf_token": token})
    assert refused_link.status_code == 429
    assert subscriber(sqlite_database, "victim@example.com") is None
    assert [address for address, _ in outbox(sqlite_database)] == ["reader0@example.com", "reader1@example.com"]

    elsewhere = client_for(sqlite_database, address="198.51.100.7", subscription_requests_per_address_per_hour=3)
    assert subscribe(elsewhere, "victim@example.com").status_code == 200


# Confirming


def test_following_the_confirmation_link_changes_nothing_until_the_button_is_pressed(sqlite_database, client_for):
    client = client_for(sqlite_database)
    subscribe(client, "bob@example.com")
    pending = subscriber(sqlite_database, "bob@example.com")
    confirm_link = link(client, "confirm", pending.id, "/subscriptions/confirm")

    page = client.get(confirm_link)
    assert page.status_code == 200
    assert "Confirm my subscription" in page.text and "cs.CL" in page.text and "retrieval" in page.text
    assert subscriber(sqlite_database, "bob@example.com").status == "pending"

    assert client.post(confirm_link).status_code == 403
    assert subscriber(sqlite_database, "bob@example.com").status == "pending"

    confirmed = client.post(confirm_link, data={"csrf_token": csrf_from(page.text)})
    assert confirmed.status_code == 200 and "Your subscription is confirmed" in confirmed.text
    stored = subscriber(sqlite_database, "bob@example.com")
    assert stored.status == "active" and stored.confirmed_at is not None
    manage_link = re.search(r'<a href="(/subscriptions/manage\?token=[^"]+)">', confirmed.text).group(1)
    assert "bob@example.com" in client.get(manage_link).text


def make_expired_link(client, monkeypatch, purpose: str, subscriber_id: int, path: str) -> str:
    with monkeypatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda _signer: int(time.time()) - 100 * 86400)
        return link(client, purpose, subscriber_id, path)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("path", ["/subscriptions/confirm", "/subscriptions/manage", "/subscriptions/unsubscribe"])
def test_forged_or_expired_links_get_a_clear_page_and_change_nothing(
    sqlite_database, client_for, monkeypatch, method, path
):
    client = client_for(sqlite_database)
    target = active_subscriber(sqlite_database, client, "cat@example.com")
    purpose = "confirm" if path.endswith("confirm") else "manage"
    other_purpose = "manage" if purpose == "confirm" else "confirm"
    genuine = link(client, purpose, target.id, path)
    cases = {
        "forged": (genuine[:-3] + "AAA", "This link is not valid"),
        "for another purpose": (link(client, other_purpose, target.id, path), "This link is not valid"),
        "for a removed subscriber": (link(client, purpose, 999, path), "This link is not valid"),
        "missing": (path, "This link is not valid"),
        "expired": (make_expired_link(client, monkeypatch, purpose, target.id, path), "This link has expired"),
    }
    token = csrf_from(client.get("/subscribe").text)
    for case, (address, heading) in cases.items():
        if method == "get":
            response = client.get(address)
        else:
            response = client.post(address, data={"csrf_token": token, "frequency": "daily", **ONE_CLICK})
        assert response.status_code == 400, case
        assert heading in response.text and "Nothing was changed." in response.text, case
        assert 'action="/subscriptions/link"' in response.text, case
    stored = subscriber(sqlite_database, "cat@example.com")
    assert (stored.status, stored.frequency) == ("active", "weekly")


# Managing and unsubscribing


def test_the_manage_link_edits_preferences_without_a_password(sqlite_database, client_for):
    client = client_for(sqlite_database)
    target = active_subscriber(sqlite_database, client, "dan@example.com")
    manage_link = link(client, "manage", target.id, "/subscriptions/manage")
    page = client.get(manage_link)
    assert page.status_code == 200 and 'value="cs.CL"' in page.text and 'value="retrieval"' in page.text
    token = csrf_from(page.text)

    refused = client.post(manage_link, data={"csrf_token": token, "frequency": "daily", "categories": "nope"})
    assert refused.status_code == 400 and "is not an arXiv category" in refused.text
    assert 'value="nope"' in refused.text
    assert subscriber(sqlite_database, "dan@example.com").categories == ["cs.CL"]

    data = {"csrf_token": token, "frequency": "daily", "categories": "math.PR, cs", "similar_to_upvoted": "true"}
    saved = client.post(manage_link, data=data)
    assert saved.status_code == 200 and "Your preferences were saved." in saved.text
    stored = subscriber(sqlite_database, "dan@example.com")
    # Without an account, "include my For-you picks" has no feed to take them from.
    assert (stored.frequency, stored.categories, stored.keywords) == ("daily", ["math.PR", "cs"], [])
    assert stored.similar_to_upvoted is False


def test_unsubscribing_by_link_asks_first_then_stops_the_digests(sqlite_database, client_for):
    client = client_for(sqlite_database)
    target = active_subscriber(sqlite_database, client, "eve@example.com")
    unsubscribe_link = link(client, "manage", target.id, "/subscriptions/unsubscribe")
    page = client.get(unsubscribe_link)
    assert page.status_code == 200 and "Stop every digest to <strong>eve@example.com</strong>?" in page.text
    assert subscriber(sqlite_database, "eve@example.com").status == "active"

    assert client.post(unsubscribe_link, data={"reason": "no token"}).status_code == 403
    assert subscriber(sqlite_database, "eve@example.com").status == "active"

    done = client.post(unsubscribe_link, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert subscriber(sqlite_database, "eve@example.com").status == "unsubscribed"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_unsubscribe_needs_no_cookie_and_no_csrf_token(sqlite_database, client_for, encoding):
    setup = client_for(sqlite_database)
    target = active_subscriber(sqlite_database, setup, "fay@example.com")
    unsubscribe_link = link(setup, "manage", target.id, "/subscriptions/unsubscribe")

    mail_client = client_for(sqlite_database)  # no cookie of any kind, as a mail program posts
    if encoding == "urlencoded":
        response = mail_client.post(
            unsubscribe_link,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        response = mail_client.post(unsubscribe_link, files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    stored = subscriber(sqlite_database, "fay@example.com")
    assert stored.status == "unsubscribed" and stored.unsubscribed_at is not None


# The account page


def test_an_account_subscribes_connects_by_the_link_and_manages_from_its_page(sqlite_database, sign_in):
    client = sign_in(sqlite_database, "gus")
    page = client.get("/account")
    assert '<h2 id="subscription">Digest by mail</h2>' in page.text
    assert "Include my For-you picks" in page.text and 'action="/subscribe"' in page.text

    response = subscribe(client, "gus@example.com", similar_to_upvoted="true")
    assert response.status_code == 200
    pending = subscriber(sqlite_database, "gus@example.com")
    assert pending.similar_to_upvoted is True and pending.user_id is None
    # Not connected before the link is followed: the account page must not show an address nobody proved.
    assert "gus@example.com" not in client.get("/account").text

    confirm_link = link(client, "confirm", pending.id, "/subscriptions/confirm")
    confirm_page = client.get(confirm_link)
    assert "confirming connects this subscription to your account, gus" in confirm_page.text
    confirmed = client.post(confirm_link, data={"csrf_token": csrf_from(confirm_page.text)})
    assert "It is connected to your account, gus." in confirmed.text

    account = client.get("/account").text
    assert "Trending papers go to <strong>gus@example.com</strong>." in account
    token = csrf_from(account)
    saved = client.post(
        "/account/subscription", data={"csrf_token": token, "frequency": "daily", "similar_to_upvoted": "true"}
    )
    assert saved.status_code == 200 and "Your digest preferences were saved." in saved.text
    stored = subscriber(sqlite_database, "gus@example.com")
    # Categories and keywords of a connected subscription are the account's follows (tests/digest/
    # test_shared_preferences.py); the row keeps those it had.
    assert (stored.frequency, stored.categories, stored.keywords, stored.similar_to_upvoted) == (
        "daily",
        ["cs.CL"],
        ["retrieval"],
        True,
    )

    refused = client.post("/account/subscription", data={"csrf_token": token, "frequency": "daily", "categories": "?"})
    assert refused.status_code == 400 and 'id="subscription-error"' in refused.text

    cancelled = client.post("/account/subscription/unsubscribe", data={"csrf_token": token})
    assert "You are unsubscribed: no more digests go to gus@example.com." in cancelled.text
    assert subscriber(sqlite_database, "gus@example.com").status == "unsubscribed"
    assert 'action="/subscribe"' in cancelled.text


def test_the_account_forms_need_a_signed_in_user_and_a_csrf_token(sqlite_database, client_for, sign_in):
    anonymous = client_for(sqlite_database)
    response = anonymous.post("/account/subscription/unsubscribe", follow_redirects=False)
    assert response.status_code == 403
    signed_in = sign_in(sqlite_database, "hal")
    assert signed_in.post("/account/subscription", data={"frequency": "weekly"}).status_code == 403


# End to end, with a real SMTP server


def mailed_link(server, address: str, pattern: str) -> str:
    """The path and query of the link in the latest mail to `address` that matches `pattern`."""
    text = server.mails_to(address)[-1].part("text/plain")
    url = re.search(pattern, text).group(0)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"
    return f"{parts.path}?{parts.query}"


def test_double_opt_in_and_one_click_unsubscribe_through_a_real_mail_server(sqlite_database, client_for, smtp_server):
    client = client_for(sqlite_database, smtp_url=smtp_server.url, base_url="http://testserver")

    assert subscribe(client, "Ivy@Example.com").status_code == 200
    [confirmation] = smtp_server.mails_to("Ivy@example.com")
    assert confirmation.message["Subject"] == "Confirm your Paperboard subscription"
    # Before confirmation the address got that link and nothing else; asking again sends nothing more.
    assert subscribe(client, "ivy@example.com").status_code == 200
    assert len(smtp_server.received) == 1

    confirm_link = mailed_link(smtp_server, "Ivy@example.com", r"\S+/subscriptions/confirm\?token=\S+")
    page = client.get(confirm_link)
    assert subscriber(sqlite_database, "ivy@example.com").status == "pending"
    assert client.post(confirm_link, data={"csrf_token": csrf_from(page.text)}).status_code == 200
    assert subscriber(sqlite_database, "ivy@example.com").status == "active"
    with sqlite_database.read_session() as session:
        assert session.scalars(select(OutboxMessage.status)).all() == ["sent"]

    # A fresh link for a confirmed address is a manage mail, whose unsubscribe address takes a one-click POST.
    token = csrf_from(client.get("/subscriptions/confirm?token=x").text)
    with sqlite_database.session() as session:
        session.scalars(select(Subscriber)).one().link_mailed_at = None
    assert client.post("/subscriptions/link", data={"email": "ivy@example.com", "csrf_token": token}).status_code == 200
    assert smtp_server.mails_to("Ivy@example.com")[-1].message["Subject"] == "Manage your Paperboard subscription"
    unsubscribe_link = mailed_link(smtp_server, "Ivy@example.com", r"\S+/subscriptions/unsubscribe\?token=\S+")

    mail_program = client_for(sqlite_database, smtp_url=smtp_server.url, base_url="http://testserver")
    response = mail_program.post(
        unsubscribe_link,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert subscriber(sqlite_database, "ivy@example.com").status == "unsubscribed"
