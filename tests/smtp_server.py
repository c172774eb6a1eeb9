"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives and answers as each test scripts.

Every accepted message is parsed with the standard `email` package. A test can make the server refuse mail for an
address (`script(address, "451 ...", "451 ...")` answers the next two RCPT TO for it with 451, then accepts;
`"550 ..."` as the last reply refuses it for good), or drop the connection (`"drop"`), or refuse the messages
to an address after accepting the recipient (`refuse_messages`). It counts every RCPT TO per address, refused or
not (`rcpt_attempts`), and the connections mail came through (`connections`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.network import free_port


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, content_type: str) -> str:
        """The decoded text of the message's part of this type (`text/plain` or `text/html`)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        raise AssertionError(f"no {content_type} part in {self.message['Subject']!r}")


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.server._next_reply(address, session.peer)
        if reply == "drop":
            assert smtp.transport is not None
            smtp.transport.close()
            return "421 closing"
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.server.data_delay)
        with self.server._lock:
            refusals = [self.server._message_refusals.get(address.lower()) for address in envelope.rcpt_tos]
        if refusal := next((reply for reply in refusals if reply), None):
            return refusal
        message = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.server._lock:
            self.server.received.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """Run with `with SmtpServer() as server:`; `server.url` is the `PAPERBOARD_SMTP_URL` that reaches it."""

    def __init__(self, *, data_delay: float = 0.0, **smtp_options: Any) -> None:
        self.port = free_port()
        # Seconds each message's data takes to be accepted, so that a test can stop a sender midway.
        self.data_delay = data_delay
        self.received: list[ReceivedMail] = []
        self._scripts: dict[str, list[str]] = defaultdict(list)
        self.rcpt_attempts: Counter[str] = Counter()
        self._message_refusals: dict[str, str] = {}
        self._peers: set[object] = set()
        self._lock = threading.Lock()
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10, **smtp_options
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def script(self, address: str, *replies: str) -> None:
        """Answer the next RCPT TO commands for `address` with these replies in turn; the last one repeats if it
        is a permanent refusal (5xx), and otherwise the address is accepted once they are used up."""
        with self._lock:
            self._scripts[address.lower()] = list(replies)

    def refuse_messages(self, address: str, reply: str) -> None:
        """Accept `address` as a recipient, then answer the message's data with `reply` (`554 5.7.1 spam`)."""
        with self._lock:
            self._message_refusals[address.lower()] = reply

    @property
    def connections(self) -> int:
        """How many connections (client address and port) asked for at least one recipient."""
        with self._lock:
            return len(self._peers)

    def _next_reply(self, address: str, peer: object) -> str | None:
        with self._lock:
            self.rcpt_attempts[address.lower()] += 1
            self._peers.add(peer)
            replies = self._scripts.get(address.lower())
            if not replies:
                return None
            if len(replies) == 1 and replies[0].startswith("5"):
                return replies[0]
            return replies.pop(0)

    def mails_to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [mail for mail in self.received if address.lower() in (r.lower() for r in mail.recipients)]

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
