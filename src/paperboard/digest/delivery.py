"""Delivering the outbox over SMTP, each mail once.

Why a mail is neither lost nor sent twice:
- A sender claims a batch of due mails (`sending`) and commits that before any SMTP transaction. Each server reply
  is committed (`sent`; `pending` again after a temporary failure; `failed`) before the same connection starts its
  next mail, so a sender killed at any moment leaves at most one mail per connection accepted by the server but
  still marked `sending`.
- One sender at a time (`sender_lock`: a file lock beside the SQLite database, a PostgreSQL advisory lock, both
  released by the system when their process dies). Holding it, a starting sender puts the mails left `sending` back
  to `pending`: whoever claimed them is dead. The few of them a server had accepted go out again with the same
  Message-ID, which lets mail clients and the tests recognise the copy.
- `send_one`, a web request's immediate try of one link mail, takes no lock (a digest run must not hold a
  confirmation back for minutes): it claims its mail with a lease, which a starting sender leaves alone.

Failures: a 4xx reply, a timeout or a lost connection is temporary (tried again later, with back-off); a 5xx reply
is permanent, and counts towards pausing the address when it refuses the recipient (RCPT), not the message.
Failing to connect, to log in or to have the sender address accepted is the server's or the configuration's
problem, not the mail's: the run stops and the rest of the queue waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from aiosmtplib import (
    SMTP,
    SMTPException,
    SMTPNotSupported,
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)
from sqlalchemy import Connection

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.locks import LockBusy, exclusive_lock
from paperboard.db.models import OutboxMessage
from paperboard.digest.messages import EmptyDigest, Renderer
from paperboard.digest.outbox import Attempt, Tally, claim, count_due, record, release_abandoned
from paperboard.digest.smtp import SmtpEndpoint, Transmission, envelope_sender, parse_smtp_url, transmission
from paperboard.progress import Progress, SilentProgress

logger = logging.getLogger(__name__)

# Mails claimed and rendered at once: enough to read their papers in a few queries, few enough that a killed
# sender leaves little to put back.
BATCH_SIZE = 200
# `send_one` gives up after this long (the web request waits for it), and holds its claim for `SEND_ONE_LEASE`,
# far longer, so that no sender takes the mail back while it may still be on the wire.
SEND_ONE_SECONDS = 10.0
SEND_ONE_LEASE = timedelta(minutes=5)


class MailNotConfigured(Exception):
    """`PAPERBOARD_SMTP_URL` is not set: the mail waits in the outbox."""


class SenderBusy(Exception):
    """Another sender is delivering this database's outbox."""


@dataclass
class DeliverySummary(Tally):
    # Why the run stopped before the queue was empty (the server could not be reached, refused the login or the
    # sender address); the mail left waits for the next run.
    problem: str | None = None


def smtp_endpoint(settings: Settings) -> SmtpEndpoint:
    """The server of `PAPERBOARD_SMTP_URL`; `MailNotConfigured` when it is not set, `InvalidSmtpUrl` when it is
    malformed."""
    if not settings.smtp_url:
        raise MailNotConfigured("PAPERBOARD_SMTP_URL is not set: the mail waits in the outbox until it is")
    return parse_smtp_url(settings.smtp_url)


def send_pending(
    database: Database, settings: Settings, progress: Progress | None = None, *, lock_wait: float | None = 0.0
) -> DeliverySummary:
    """Send every mail whose time has come, including the ones that become due again during the run after a
    temporary failure (with `mail_retry_seconds` 0). Raises `SenderBusy` when another sender still holds the lock
    after `lock_wait` seconds (None: wait as long as it takes)."""
    endpoint = smtp_endpoint(settings)
    with sender_lock(database, settings, lock_wait):
        with database.session() as session:
            released = release_abandoned(session, utcnow())
        if released:
            logger.warning("%d mails left by a sender that stopped are queued again", released)
        with database.read_session() as session:
            due = count_due(session, utcnow())
        if not due:
            return DeliverySummary()
        try:
            with database.engine.connect() as recording:
                run = _Run(database, settings, endpoint, progress or SilentProgress(), due, recording)
                return asyncio.run(run.run())
        except ExceptionGroup as group:
            # The run's tasks stop together when one fails (the database, mostly): the first error says why.
            raise group.exceptions[0] from None


def send_one(database: Database, settings: Settings, outbox_id: int) -> bool:
    """Try to send this mail now (a link mail someone is waiting for); True when the server accepted it. Never
    raises: on any failure the mail stays in the outbox for the worker's sender (after `mail_retry_seconds` when
    the server answered). Outside `mail_connections` and `mail_rate_per_second`: it is one mail."""
    if not settings.smtp_url:
        return False
    try:
        endpoint = smtp_endpoint(settings)
        now = utcnow()
        with database.session() as session:
            claimed = claim(session, now, limit=1, ids=[outbox_id], lease_until=now + SEND_ONE_LEASE)
            record(session.connection(), claimed.cancelled, settings, now)
        if not claimed.mails:
            return False
        attempt = asyncio.run(_send_now(database, settings, endpoint, claimed.mails[0]))
        with database.session() as session:
            record(session.connection(), [attempt], settings, utcnow())
        if attempt.result != "sent":
            logger.warning("mail %d not sent at once (%s): %s", outbox_id, attempt.result, attempt.error)
        return attempt.result == "sent"
    except Exception:
        logger.exception("mail %d not sent at once; the worker's sender will send it", outbox_id)
        return False


@contextmanager
def sender_lock(database: Database, settings: Settings, wait: float | None = 0.0) -> Iterator[None]:
    """Held by the one sender of a database; `SenderBusy` when another holds it after `wait` seconds."""
    try:
        with exclusive_lock(database, "mail-sender", fallback_dir=settings.data_dir, wait=wait):
            yield
    except LockBusy:
        raise SenderBusy("another sender is delivering the outbox") from None


class _ServerTrouble(Exception):
    """The server cannot take any mail now (unreachable, login or sender refused): stop the run."""

    def __init__(self, attempt: Attempt, reason: str) -> None:
        super().__init__(reason)
        self.attempt = attempt


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _replied(mail: OutboxMessage, code: int, message: str, *, about_address: bool) -> Attempt:
    """A refusal: temporary (4xx) or permanent (5xx). Only a permanent refusal of the recipient counts against the
    address; one of the message (554 as spam, 552 too large) says nothing about it."""
    reply = f"{code} {message}"
    if code < 500:
        return Attempt(mail, "temporary", reply)
    return Attempt(mail, "refused" if about_address else "failed", reply)


class _Connection:
    """One SMTP connection, opened when first needed and again after the server closed it."""

    def __init__(self, endpoint: SmtpEndpoint, sender: str, timeout: float) -> None:
        self._endpoint = endpoint
        self._sender = sender
        self._timeout = timeout
        self._client: SMTP | None = None

    async def send(self, mail: OutboxMessage, message: EmailMessage) -> Attempt:
        client = await self._connected(mail)
        wire = transmission(message, self._sender, eight_bit=client.supports_extension("8bitmime"))
        try:
            await self._transaction(client, wire)
        except SMTPSenderRefused as error:
            if error.code >= 500:
                reason = f"the server refused the sender address {self._sender}: {error.code} {error.message}"
                raise _ServerTrouble(Attempt(mail, "temporary", reason), reason) from None
            return _replied(mail, error.code, error.message, about_address=False)
        except SMTPRecipientRefused as error:
            return _replied(mail, error.code, error.message, about_address=True)
        except SMTPResponseException as error:
            return _replied(mail, error.code, error.message, about_address=False)
        except (SMTPServerDisconnected, SMTPTimeoutError, OSError) as error:
            client.close()
            return Attempt(mail, "temporary", _describe(error))
        except SMTPException as error:
            # Something this server cannot do for this mail (an address that needs SMTPUTF8, say).
            return Attempt(mail, "failed", _describe(error))
        except ValueError as error:
            # An address aiosmtplib will not put on a command line.
            return Attempt(mail, "failed", _describe(error))
        return Attempt(mail, "sent")

    async def _transaction(self, client: SMTP, wire: Transmission) -> None:
        """MAIL, RCPT and DATA, as aiosmtplib's `sendmail` sends them, without parsing each address twice and
        measuring the message for the SIZE option: a third of its time."""
        if wire.utf8 and not client.supports_extension("smtputf8"):
            raise SMTPNotSupported("the server does not take addresses that are not ASCII (no SMTPUTF8)")
        encoding = "utf-8" if wire.utf8 else "ascii"
        try:
            await client.mail(self._sender, options=wire.mail_options, encoding=encoding)
            for recipient in wire.recipients:
                await client.rcpt(recipient, encoding=encoding)
            await client.data(wire.data)
        except (SMTPResponseException, ValueError):
            # Ends the refused transaction so that the connection can carry the next mail.
            if client.is_connected:
                with suppress(SMTPException, OSError):
                    await client.rset()
            raise

    async def _connected(self, mail: OutboxMessage) -> SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        self._client = self._endpoint.client(self._timeout)
        try:
            await self._client.connect()
            # The server's extensions (8BITMIME, SMTPUTF8) decide how each mail is sent.
            if self._client.is_ehlo_or_helo_needed:
                await self._client.ehlo()
        except (SMTPException, OSError) as error:
            self._client.close()
            reason = f"could not connect to {self._endpoint}: {_describe(error)}"
            raise _ServerTrouble(Attempt(mail, "temporary", reason), reason) from None
        return self._client

    async def close(self) -> None:
        if self._client is None or not self._client.is_connected:
            return
        try:
            await self._client.quit(timeout=2)
        except (SMTPException, OSError):
            self._client.close()


def _render(renderer: Renderer, mail: OutboxMessage) -> EmailMessage | Attempt:
    try:
        return renderer.render(mail)
    except EmptyDigest as error:
        return Attempt(mail, "cancelled", f"not sent: {error}")
    except Exception as error:
        # A bug, or data the templates did not expect: tried again later, perhaps after a fix.
        logger.exception("could not make mail %d", mail.id)
        return Attempt(mail, "temporary", f"could not make the mail: {_describe(error)}")


async def _send_now(database: Database, settings: Settings, endpoint: SmtpEndpoint, mail: OutboxMessage) -> Attempt:
    timeout = min(settings.smtp_timeout, SEND_ONE_SECONDS)
    connection = _Connection(endpoint, envelope_sender(settings.mail_from), timeout)
    try:
        async with asyncio.timeout(SEND_ONE_SECONDS):
            with database.read_session() as session:
                message = _render(Renderer(session, settings), mail)
            if isinstance(message, Attempt):
                return message
            return await connection.send(mail, message)
    except _ServerTrouble as trouble:
        return trouble.attempt
    except TimeoutError:
        return Attempt(mail, "temporary", f"no answer within {SEND_ONE_SECONDS:g} s")
    finally:
        await connection.close()


class _Pacer:
    """Spaces sends over all connections to at most `rate` a second (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1 / rate if rate else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class _Recorder:
    """Commits attempts, those that end in the same turn of the event loop in one transaction, and lets each
    connection go on only once its attempt is committed."""

    def __init__(self, connection: Connection, settings: Settings, on_recorded: Callable[[Tally, int], None]) -> None:
        # One connection for the run, a transaction per flush: taking a connection from the pool and giving it
        # back each time would cost more than the writes.
        self._connection = connection
        self._settings = settings
        self._on_recorded = on_recorded
        self._waiting: list[tuple[Attempt, asyncio.Future[None]]] = []

    async def record(self, attempt: Attempt) -> None:
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._flush)
        future = loop.create_future()
        self._waiting.append((attempt, future))
        await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        attempts = [attempt for attempt, _ in waiting]
        try:
            with self._connection.begin():
                tally = record(self._connection, attempts, self._settings, utcnow())
        except Exception as error:
            for _, future in waiting:
                future.set_exception(error)
            return
        self._on_recorded(tally, sum(attempt.result != "unsent" for attempt in attempts))
        for _, future in waiting:
            future.set_result(None)


class _Run:
    """One run of the sender: a feeder claims and renders batches into a queue that `mail_connections`
    connections empty, each at the shared pace."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        endpoint: SmtpEndpoint,
        progress: Progress,
        due: int,
        recording: Connection,
    ) -> None:
        self._database = database
        self._settings = settings
        self._endpoint = endpoint
        self._progress = progress
        self._due = due
        self._done = 0
        self.summary = DeliverySummary()
        self._recorder = _Recorder(recording, settings, self._recorded)
        self._pacer = _Pacer(settings.mail_rate_per_second)
        self._queue: asyncio.Queue[tuple[OutboxMessage, EmailMessage] | None] = asyncio.Queue(BATCH_SIZE)

    async def run(self) -> DeliverySummary:
        self._progress.start("Sending mail", total=self._due, unit="mails")
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self._settings.mail_connections):
                    group.create_task(self._connection())
                group.create_task(self._feed())
        finally:
            self._progress.finish()
        return self.summary

    def _recorded(self, tally: Tally, done: int) -> None:
        self.summary.add(tally)
        self._done += done
        self._progress.update(completed=self._done, items=self._done, total=max(self._due, self._done))

    async def _feed(self) -> None:
        while self.summary.problem is None:
            mails = self._claim()
            if not mails:
                # Mails in flight may fail for a moment and be due again at once (`mail_retry_seconds` 0).
                await self._queue.join()
                mails = self._claim() if self.summary.problem is None else []
                if not mails:
                    break
            await self._queue_batch(mails)
        for _ in range(self._settings.mail_connections):
            await self._queue.put(None)

    def _claim(self) -> list[OutboxMessage]:
        now = utcnow()
        with self._database.session() as session:
            claimed = claim(session, now, limit=BATCH_SIZE)
            if claimed.cancelled:
                tally = record(session.connection(), claimed.cancelled, self._settings, now)
                self._recorded(tally, len(claimed.cancelled))
        return claimed.mails

    async def _queue_batch(self, mails: list[OutboxMessage]) -> None:
        with self._database.read_session() as session:
            renderer = Renderer(session, self._settings)
            renderer.prefetch(mails)
            for index, mail in enumerate(mails):
                if self.summary.problem is not None:
                    await asyncio.gather(*(self._recorder.record(Attempt(left, "unsent")) for left in mails[index:]))
                    return
                message = _render(renderer, mail)
                if isinstance(message, Attempt):
                    await self._recorder.record(message)
                else:
                    await self._queue.put((mail, message))

    async def _connection(self) -> None:
        connection = _Connection(self._endpoint, envelope_sender(self._settings.mail_from), self._settings.smtp_timeout)
        try:
            while (item := await self._queue.get()) is not None:
                mail, message = item
                try:
                    await self._recorder.record(await self._attempt(connection, mail, message))
                finally:
                    self._queue.task_done()
            self._queue.task_done()
        finally:
            await connection.close()

    async def _attempt(self, connection: _Connection, mail: OutboxMessage, message: EmailMessage) -> Attempt:
        if self.summary.problem is not None:
            return Attempt(mail, "unsent")
        await self._pacer.wait()
        try:
            return await connection.send(mail, message)
        except _ServerTrouble as trouble:
            if self.summary.problem is None:
                logger.error("sending stopped: %s", trouble)
                self.summary.problem = str(trouble)
            return trouble.attempt
