"""Delivering the outbox to a real SMTP server on loopback (aiosmtpd): each mail once, temporary failures retried,
permanent ones recorded and, repeated, pausing the address; a server that is down loses nothing; one sender at a
time; the web request's immediate send of a link mail; the SMTP URL's forms, TLS and login."""

from __future__ import annotations

import email.policy
import shutil
import ssl
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import OutboxMessage, Subscriber
from paperboard.digest.delivery import (
    MailNotConfigured,
    SenderBusy,
    send_one,
    send_pending,
    sender_lock,
)
from paperboard.digest.messages import Renderer
from paperboard.digest.outbox import NewMail, claim, enqueue
from paperboard.digest.smtp import InvalidSmtpUrl, SmtpEndpoint, parse_smtp_url, transmission
from paperboard.digest.statuses import MailStatus
from tests.community.factories import add_paper, paper_id
from tests.digest.factories import add_subscriber
from tests.network import free_port
from tests.smtp_server import SmtpServer

MAIL_FROM = "Paperboard <digest@papers.example>"


def mail_settings(tmp_path: Path, smtp_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "smtp_url": smtp_url,
        "mail_from": MAIL_FROM,
        "mail_retry_seconds": 0,
        "smtp_timeout": 5,
        "secret_key": "a test secret key that is long enough",
    }
    return Settings(**(values | overrides))


def add_mail(database: Database, subscriber_id: int, kind: str = "manage", period_key: str = "2026-11-30T09:00") -> int:
    """An outbox row; a digest's shows one paper."""
    contents = None
    if kind in ("daily", "weekly"):
        arxiv_id = f"2611.{subscriber_id:05d}"
        add_paper(database, arxiv_id, title=f"Paper for subscriber {subscriber_id}")
        contents = {"top": [paper_id(database, arxiv_id)], "trending": [], "for_you": []}
    with database.session() as session:
        enqueue(session, [NewMail(subscriber_id, kind, period_key, contents)], mail_from=MAIL_FROM, now=utcnow())  # type: ignore[arg-type]
        return session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.subscriber_id == subscriber_id,
                OutboxMessage.kind == kind,
                OutboxMessage.period_key == period_key,
            )
        ).one()


def outbox_row(database: Database, outbox_id: int) -> OutboxMessage:
    with database.read_session() as session:
        return session.get_one(OutboxMessage, outbox_id)


def subscriber(database: Database, subscriber_id: int) -> Subscriber:
    with database.read_session() as session:
        return session.get_one(Subscriber, subscriber_id)


def statuses(database: Database) -> dict[str, int]:
    with database.read_session() as session:
        rows = session.scalars(select(OutboxMessage.status)).all()
    return {status: rows.count(status) for status in set(rows)}


# The SMTP URL


def test_smtp_urls_name_the_security_the_port_and_the_login():
    assert parse_smtp_url("smtp://127.0.0.1:2525") == SmtpEndpoint("127.0.0.1", 2525, "plain")
    assert parse_smtp_url("smtp://mail.example") == SmtpEndpoint("mail.example", 25, "plain")
    assert parse_smtp_url("smtp+starttls://mail.example") == SmtpEndpoint("mail.example", 587, "starttls")
    assert parse_smtp_url("smtps://mail.example") == SmtpEndpoint("mail.example", 465, "tls")
    # User and password are percent-decoded: a password may hold `@`, `:` and `/`.
    endpoint = parse_smtp_url("smtps://news%40papers.example:p%40ss%3Aw%2Frd@mail.example:4650")
    assert (endpoint.username, endpoint.password, endpoint.port) == ("news@papers.example", "p@ss:w/rd", 4650)
    # The password never shows in messages.
    assert str(endpoint) == "smtps://news@papers.example@mail.example:4650"
    assert "p@ss" not in repr(endpoint)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://mail.example", "must look like"),
        ("smtp://", "must look like"),
        ("smtp://:25", "names no host"),
        ("smtp://mail.example:99999", "port"),
        ("smtp://mail.example:twenty-five", "port"),
        ("smtp://:secret@mail.example", "no user name"),
        ("smtp://mail.example/inbox", "nothing after"),
    ],
)
def test_malformed_smtp_urls_are_refused_with_the_reason(url: str, reason: str):
    with pytest.raises(InvalidSmtpUrl, match=reason):
        parse_smtp_url(url)


# Delivering


def test_each_mail_is_delivered_once_over_reused_connections(database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url, mail_connections=2)
    subscribers = [add_subscriber(database, f"reader{number}@example.org") for number in range(30)]
    digests = {add_mail(database, subscriber_id, "daily", "2026-11-30") for subscriber_id in subscribers}
    confirmation = add_mail(database, add_subscriber(database, "New@example.org", status="pending"), "confirmation")

    summary = send_pending(database, settings)

    assert (summary.sent, summary.retried, summary.failed, summary.problem) == (31, 0, 0, None)
    assert statuses(database) == {MailStatus.SENT: 31}
    received = {mail.message_id: mail for mail in smtp_server.received}
    assert len(received) == len(smtp_server.received) == 31
    for outbox_id in digests | {confirmation}:
        row = outbox_row(database, outbox_id)
        mail = received[row.message_id]
        assert mail.recipients == [subscriber(database, row.subscriber_id).email]
        assert mail.sender == "digest@papers.example"
        assert (row.attempts, row.sent_at is not None) == (1, True)
    assert received[outbox_row(database, confirmation).message_id].recipients == ["New@example.org"]
    # Two connections, each reused for about half of the mails.
    assert smtp_server.connections == 2

    assert send_pending(database, settings).sent == 0
    assert len(smtp_server.received) == 31


@pytest.mark.parametrize("reply", ["451 4.3.0 try again later", "421 4.3.2 too busy, closing", "drop"])
def test_temporary_failures_are_retried_until_delivered(sqlite_database, smtp_server, tmp_path, reply):
    settings = mail_settings(tmp_path, smtp_server.url, mail_connections=1)
    unlucky = add_subscriber(sqlite_database, "unlucky@example.org")
    unlucky_mail = add_mail(sqlite_database, unlucky, "daily", "2026-11-30")
    others = [add_mail(sqlite_database, add_subscriber(sqlite_database, f"r{n}@example.org")) for n in range(5)]
    smtp_server.script("unlucky@example.org", reply, reply)

    summary = send_pending(sqlite_database, settings)

    # Tried three times in one run (mail_retry_seconds is 0 here), delivered on the third.
    assert (summary.sent, summary.retried, summary.failed) == (6, 2, 0)
    assert smtp_server.rcpt_attempts["unlucky@example.org"] == 3
    assert len(smtp_server.mails_to("unlucky@example.org")) == 1
    row = outbox_row(sqlite_database, unlucky_mail)
    assert (row.status, row.attempts) == (MailStatus.SENT, 3)
    assert row.last_error and (reply.split()[0] in row.last_error or reply == "drop")
    assert all(outbox_row(sqlite_database, other).status == MailStatus.SENT for other in others)
    assert subscriber(sqlite_database, unlucky).status == "active"


def test_temporary_failures_back_off_and_give_up_after_the_last_attempt(sqlite_database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url, mail_retry_seconds=60, mail_max_attempts=2)
    outbox_id = add_mail(sqlite_database, add_subscriber(sqlite_database, "busy@example.org"))
    smtp_server.script("busy@example.org", "452 4.2.2 mailbox full", "452 4.2.2 mailbox full")

    before = utcnow()
    assert send_pending(sqlite_database, settings).retried == 1
    row = outbox_row(sqlite_database, outbox_id)
    assert (row.status, row.attempts, row.last_error) == (MailStatus.PENDING, 1, "452 4.2.2 mailbox full")
    assert before <= row.failed_at <= utcnow()
    first_failure = row.failed_at
    assert before + timedelta(seconds=59) <= row.next_attempt_at <= utcnow() + timedelta(seconds=61)
    # Not due yet: a second run leaves it.
    assert send_pending(sqlite_database, settings).retried == 0
    assert smtp_server.rcpt_attempts["busy@example.org"] == 1

    with sqlite_database.session() as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    summary = send_pending(sqlite_database, settings)
    assert (summary.retried, summary.failed) == (0, 1)
    row = outbox_row(sqlite_database, outbox_id)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 2)
    assert row.last_error == "gave up after 2 attempts: 452 4.2.2 mailbox full"
    # The time of the last failure, for the admin page.
    assert first_failure < row.failed_at <= utcnow()
    # A temporary failure says nothing against the address.
    assert subscriber(sqlite_database, row.subscriber_id).consecutive_failures == 0


def test_a_permanent_refusal_is_recorded_and_not_retried(sqlite_database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url)
    gone = add_subscriber(sqlite_database, "gone@example.org")
    outbox_id = add_mail(sqlite_database, gone, "daily", "2026-11-30")
    smtp_server.script("gone@example.org", "550 5.1.1 no such user")

    summary = send_pending(sqlite_database, settings)
    assert (summary.sent, summary.retried, summary.failed, summary.paused) == (0, 0, 1, 0)
    assert send_pending(sqlite_database, settings).failed == 0

    assert smtp_server.rcpt_attempts["gone@example.org"] == 1
    assert smtp_server.received == []
    row = outbox_row(sqlite_database, outbox_id)
    assert (row.status, row.attempts, row.last_error) == (MailStatus.FAILED, 1, "550 5.1.1 no such user")
    assert (subscriber(sqlite_database, gone).status, subscriber(sqlite_database, gone).consecutive_failures) == (
        "active",
        1,
    )


def test_a_refused_message_is_recorded_but_says_nothing_against_the_address(sqlite_database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url, mail_pause_after_failures=1)
    reader = add_subscriber(sqlite_database, "reader@example.org")
    outbox_id = add_mail(sqlite_database, reader, "daily", "2026-11-30")
    smtp_server.refuse_messages("reader@example.org", "554 5.7.1 message looks like spam")

    summary = send_pending(sqlite_database, settings)

    assert (summary.sent, summary.retried, summary.failed, summary.paused) == (0, 0, 1, 0)
    row = outbox_row(sqlite_database, outbox_id)
    assert (row.status, row.attempts, row.last_error) == (MailStatus.FAILED, 1, "554 5.7.1 message looks like spam")
    assert (subscriber(sqlite_database, reader).status, subscriber(sqlite_database, reader).consecutive_failures) == (
        "active",
        0,
    )


def test_repeated_permanent_refusals_pause_the_address_and_a_delivery_resets_the_count(
    sqlite_database, smtp_server, tmp_path
):
    settings = mail_settings(tmp_path, smtp_server.url, mail_pause_after_failures=3)
    flaky = add_subscriber(sqlite_database, "flaky@example.org")
    gone = add_subscriber(sqlite_database, "gone@example.org")
    smtp_server.script("flaky@example.org", "550 5.2.1 mailbox disabled")
    smtp_server.script("gone@example.org", "550 5.1.1 no such user")

    for day in ("2026-11-25", "2026-11-26"):
        add_mail(sqlite_database, flaky, "daily", day)
        add_mail(sqlite_database, gone, "daily", day)
        send_pending(sqlite_database, settings)
    assert subscriber(sqlite_database, flaky).consecutive_failures == 2
    # The mailbox works again: one delivery and the count starts over.
    smtp_server.script("flaky@example.org")
    add_mail(sqlite_database, flaky, "daily", "2026-11-27")
    add_mail(sqlite_database, gone, "daily", "2026-11-27")
    summary = send_pending(sqlite_database, settings)

    assert (summary.sent, summary.failed, summary.paused) == (1, 1, 1)
    assert (subscriber(sqlite_database, flaky).status, subscriber(sqlite_database, flaky).consecutive_failures) == (
        "active",
        0,
    )
    paused = subscriber(sqlite_database, gone)
    assert (paused.status, paused.consecutive_failures, paused.paused_at is not None) == ("paused", 3, True)

    # A paused address is sent nothing more: the next digest is cancelled without a try.
    later = add_mail(sqlite_database, gone, "daily", "2026-11-30")
    assert send_pending(sqlite_database, settings).cancelled == 1
    row = outbox_row(sqlite_database, later)
    assert (row.status, row.attempts, row.last_error) == (MailStatus.FAILED, 0, "not sent: the subscriber is paused")
    # Cancelled, not a failed delivery: no failure time.
    assert row.failed_at is None
    assert smtp_server.rcpt_attempts["gone@example.org"] == 3


def test_mail_goes_only_to_subscribers_who_may_still_get_it(sqlite_database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url)
    left = add_subscriber(sqlite_database, "left@example.org", status="unsubscribed")
    unconfirmed = add_subscriber(sqlite_database, "new@example.org", status="pending")
    digest_to_left = add_mail(sqlite_database, left, "weekly", "2026-W49")
    digest_to_unconfirmed = add_mail(sqlite_database, unconfirmed, "weekly", "2026-W49")
    confirmation = add_mail(sqlite_database, unconfirmed, "confirmation")

    summary = send_pending(sqlite_database, settings)

    assert (summary.sent, summary.cancelled) == (1, 2)
    assert [mail.message_id for mail in smtp_server.received] == [outbox_row(sqlite_database, confirmation).message_id]
    assert outbox_row(sqlite_database, digest_to_left).last_error == "not sent: the subscriber is unsubscribed"
    assert outbox_row(sqlite_database, digest_to_unconfirmed).last_error == "not sent: the subscriber is pending"


def test_digests_left_unsent_for_days_are_cancelled_as_out_of_date(sqlite_database, smtp_server, tmp_path):
    # Mail was not configured for days: the worker composed a digest a day, and they waited in the outbox.
    reader = add_subscriber(sqlite_database, "reader@example.org")
    old_daily = add_mail(sqlite_database, reader, "daily", "2026-11-25")
    recent_daily = add_mail(sqlite_database, reader, "daily", "2026-11-27")
    old_weekly = add_mail(sqlite_database, reader, "weekly", "2026-W47")
    recent_weekly = add_mail(sqlite_database, reader, "weekly", "2026-W48")
    old_link = add_mail(sqlite_database, reader, "manage")
    now = utcnow()
    composed = {
        old_daily: now - timedelta(hours=25),
        recent_daily: now - timedelta(hours=23),
        old_weekly: now - timedelta(days=3, hours=1),
        recent_weekly: now - timedelta(days=2),
        old_link: now - timedelta(days=10),
    }
    with sqlite_database.session() as session:
        for outbox_id, created_at in composed.items():
            session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(created_at=created_at))

    summary = send_pending(sqlite_database, mail_settings(tmp_path, smtp_server.url))

    assert (summary.sent, summary.cancelled) == (3, 2)
    sent = {outbox_row(sqlite_database, outbox_id).message_id for outbox_id in (recent_daily, recent_weekly, old_link)}
    assert {mail.message_id for mail in smtp_server.received} == sent
    for outbox_id, hours in ((old_daily, 25), (old_weekly, 73)):
        row = outbox_row(sqlite_database, outbox_id)
        assert (row.status, row.attempts) == (MailStatus.FAILED, 0)
        assert row.last_error == f"not sent: out of date, composed {hours} hours ago"


def test_a_server_that_is_down_loses_nothing(sqlite_database, tmp_path):
    down = f"smtp://127.0.0.1:{free_port()}"
    mails = [add_mail(sqlite_database, add_subscriber(sqlite_database, f"r{n}@example.org")) for n in range(20)]

    summary = send_pending(sqlite_database, mail_settings(tmp_path, down))

    # Each of the two connections fails to connect with its first mail; the run stops there instead of failing
    # every mail in turn.
    assert summary.problem and summary.problem.startswith(f"could not connect to {down}")
    assert (summary.sent, summary.retried, summary.failed) == (0, 2, 0)
    rows = [outbox_row(sqlite_database, outbox_id) for outbox_id in mails]
    assert {row.status for row in rows} == {MailStatus.PENDING}
    tried = [row for row in rows if row.attempts]
    assert len(tried) == 2 and all("could not connect" in (row.last_error or "") for row in tried)

    with SmtpServer() as server:
        summary = send_pending(sqlite_database, mail_settings(tmp_path, server.url))
        assert (summary.sent, summary.problem) == (20, None)
        assert sorted(mail.message_id for mail in server.received) == sorted(row.message_id for row in rows)


def test_no_smtp_url_leaves_the_mail_in_the_outbox(sqlite_database, tmp_path):
    outbox_id = add_mail(sqlite_database, add_subscriber(sqlite_database, "r@example.org"))
    settings = mail_settings(tmp_path, None)
    with pytest.raises(MailNotConfigured, match="PAPERBOARD_SMTP_URL is not set"):
        send_pending(sqlite_database, settings)
    assert send_one(sqlite_database, settings, outbox_id) is False
    assert outbox_row(sqlite_database, outbox_id).status == MailStatus.PENDING


def test_the_rate_limit_spaces_the_mails(sqlite_database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url, mail_rate_per_second=20, mail_connections=3)
    for number in range(11):
        add_mail(sqlite_database, add_subscriber(sqlite_database, f"r{number}@example.org"))

    started = time.monotonic()
    assert send_pending(sqlite_database, settings).sent == 11
    # Eleven mails at 20 a second, over three connections: ten intervals of 50 ms at least.
    assert time.monotonic() - started >= 0.5


def test_an_address_that_is_not_ascii_needs_a_server_with_smtputf8(sqlite_database, tmp_path):
    first = add_mail(sqlite_database, add_subscriber(sqlite_database, "josé@example.org"), "daily", "2026-11-27")
    with SmtpServer(enable_SMTPUTF8=False) as without_utf8:
        summary = send_pending(sqlite_database, mail_settings(tmp_path, without_utf8.url))
        assert (summary.sent, summary.failed, without_utf8.received) == (0, 1, [])
    row = outbox_row(sqlite_database, first)
    assert (row.status, row.last_error) == (
        MailStatus.FAILED,
        "the server does not take addresses that are not ASCII (no SMTPUTF8)",
    )
    # Not the address's fault: the subscriber is not counted against.
    assert subscriber(sqlite_database, row.subscriber_id).consecutive_failures == 0

    second = add_mail(sqlite_database, row.subscriber_id, "daily", "2026-11-30")
    with SmtpServer() as with_utf8:
        assert send_pending(sqlite_database, mail_settings(tmp_path, with_utf8.url)).sent == 1
        [mail] = with_utf8.received
    assert (mail.recipients, mail.message_id) == (["josé@example.org"], outbox_row(sqlite_database, second).message_id)


@pytest.mark.parametrize("eight_bit", [True, False])
@pytest.mark.parametrize("address", ["reader@example.org", "josé@example.org"])
def test_a_mail_goes_out_as_the_standard_generator_writes_it(sqlite_database, tmp_path, address, eight_bit):
    settings = mail_settings(tmp_path, None)
    outbox_id = add_mail(sqlite_database, add_subscriber(sqlite_database, address), "daily", "2026-11-30")
    with sqlite_database.read_session() as session:
        message = Renderer(session, settings).render(session.get_one(OutboxMessage, outbox_id))
    wire = transmission(message, "digest@papers.example", eight_bit=eight_bit)

    utf8 = not address.isascii()
    policy = (email.policy.SMTPUTF8 if utf8 else email.policy.SMTP).clone(cte_type="8bit" if eight_bit else "7bit")
    assert wire.data == message.as_bytes(policy=policy)
    assert (wire.recipients, wire.utf8) == ([address], utf8)
    assert wire.mail_options == ["SMTPUTF8"] * utf8 + ["BODY=8BITMIME"] * eight_bit


# One sender at a time, and mail a killed sender left


def test_a_second_sender_waits_for_the_first(database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url)
    outbox_id = add_mail(database, add_subscriber(database, "r@example.org"))

    with sender_lock(database, settings):
        with pytest.raises(SenderBusy):
            send_pending(database, settings, lock_wait=0.3)
        assert outbox_row(database, outbox_id).status == MailStatus.PENDING
    assert send_pending(database, settings).sent == 1


def test_mail_left_sending_by_a_killed_sender_is_sent_again_with_its_message_id(database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url)
    mails = [add_mail(database, add_subscriber(database, f"r{n}@example.org")) for n in range(3)]
    # A sender claimed them, then died before recording anything.
    with database.session() as session:
        assert len(claim(session, utcnow(), limit=10).mails) == 3
    assert statuses(database) == {MailStatus.SENDING: 3}

    assert send_pending(database, settings).sent == 3
    assert sorted(mail.message_id for mail in smtp_server.received) == sorted(
        outbox_row(database, outbox_id).message_id for outbox_id in mails
    )


# The web request's immediate send


def test_send_one_sends_a_link_mail_at_once_and_only_once(sqlite_database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url)
    outbox_id = add_mail(
        sqlite_database, add_subscriber(sqlite_database, "new@example.org", status="pending"), "confirmation"
    )

    assert send_one(sqlite_database, settings, outbox_id) is True
    assert send_one(sqlite_database, settings, outbox_id) is False
    assert send_pending(sqlite_database, settings).sent == 0

    assert [mail.message_id for mail in smtp_server.received] == [outbox_row(sqlite_database, outbox_id).message_id]
    assert outbox_row(sqlite_database, outbox_id).status == MailStatus.SENT


def test_a_mail_send_one_is_sending_is_left_to_it(sqlite_database, smtp_server, tmp_path):
    settings = mail_settings(tmp_path, smtp_server.url)
    outbox_id = add_mail(
        sqlite_database, add_subscriber(sqlite_database, "new@example.org", status="pending"), "confirmation"
    )
    # As `send_one` claims it: with a lease that a sender starting meanwhile must respect.
    with sqlite_database.session() as session:
        claim(session, utcnow(), limit=1, ids=[outbox_id], lease_until=utcnow() + timedelta(minutes=5))

    assert send_pending(sqlite_database, settings).sent == 0
    assert (outbox_row(sqlite_database, outbox_id).status, smtp_server.received) == (MailStatus.SENDING, [])


def test_send_one_never_raises_and_leaves_the_mail_to_the_worker(sqlite_database, tmp_path):
    down = mail_settings(tmp_path, f"smtp://127.0.0.1:{free_port()}", mail_retry_seconds=60)
    outbox_id = add_mail(
        sqlite_database, add_subscriber(sqlite_database, "new@example.org", status="pending"), "confirmation"
    )

    assert send_one(sqlite_database, down, outbox_id) is False
    row = outbox_row(sqlite_database, outbox_id)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 1)
    assert "could not connect" in (row.last_error or "")
    assert send_one(sqlite_database, down, 12345) is False


# TLS and login


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, trusted by this process's TLS clients."""
    if shutil.which("openssl") is None:
        pytest.skip("the TLS tests make their certificate with the openssl command, which is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"news@papers.example",
        b"p@ss:word",
    )
    # Not handled: aiosmtpd then answers a failure with 535 itself.
    return AuthResult(success=valid, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_and_login(sqlite_database, tmp_path, certificate, scheme):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    # aiosmtpd counts only STARTTLS as encryption for AUTH; with TLS from the start it must be told not to ask.
    tls: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if scheme == "smtp+starttls"
        else {"ssl_context": context, "auth_require_tls": False}
    )
    outbox_id = add_mail(sqlite_database, add_subscriber(sqlite_database, "r@example.org"))
    with SmtpServer(authenticator=_authenticate, auth_required=True, **tls) as server:
        wrong = f"{scheme}://news%40papers.example:guess@127.0.0.1:{server.port}"
        refused = send_pending(sqlite_database, mail_settings(tmp_path, wrong))
        assert refused.problem and "535" in refused.problem
        assert outbox_row(sqlite_database, outbox_id).status == MailStatus.PENDING

        right = f"{scheme}://news%40papers.example:p%40ss%3Aword@127.0.0.1:{server.port}"
        assert send_pending(sqlite_database, mail_settings(tmp_path, right)).sent == 1
        assert [mail.message_id for mail in server.received] == [outbox_row(sqlite_database, outbox_id).message_id]
