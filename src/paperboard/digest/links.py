"""Signed, expiring links in mails: confirming a subscription, and managing or cancelling one.

A token is the subscriber's id and the link's purpose, signed with the site's secret key and timestamped
(itsdangerous); a forged, altered or expired token is refused with a reason and changes nothing. Each purpose has
its own salt, so that a manage link cannot be used as a confirmation link or the other way round.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from paperboard.config import Settings

LinkPurpose = Literal["confirm", "manage"]

# Paths of the pages the links open; the web layer serves them (web/pages/subscriptions.py).
CONFIRM_PATH = "/subscriptions/confirm"
MANAGE_PATH = "/subscriptions/manage"
UNSUBSCRIBE_PATH = "/subscriptions/unsubscribe"


class InvalidLink(ValueError):
    """The link was not made by this site, was altered, or is for something else."""


class ExpiredLink(ValueError):
    """The link was genuine but is too old; a fresh one can be asked for."""


class LinkSigner:
    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(settings.signing_key)
        self._base_url = settings.base_url.rstrip("/")
        self._lifetimes: dict[LinkPurpose, int] = {
            "confirm": settings.confirmation_link_hours * 3600,
            "manage": settings.manage_link_days * 86400,
        }

    def token(self, purpose: LinkPurpose, subscriber_id: int) -> str:
        return self._serializer.dumps(subscriber_id, salt=f"paperboard-subscription-{purpose}")

    def subscriber_id(self, purpose: LinkPurpose, token: str) -> int:
        """The subscriber a token was made for; raises `InvalidLink` or `ExpiredLink`."""
        try:
            value = self._serializer.loads(
                token, salt=f"paperboard-subscription-{purpose}", max_age=self._lifetimes[purpose]
            )
        except SignatureExpired:
            raise ExpiredLink("this link has expired") from None
        except BadSignature:
            raise InvalidLink("this link is not valid") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidLink("this link is not valid")
        return value

    def url(self, path: str, purpose: LinkPurpose, subscriber_id: int) -> str:
        """An absolute link, from `PAPERBOARD_BASE_URL`, to `path` with a fresh token."""
        return f"{self._base_url}{path}?{urlencode({'token': self.token(purpose, subscriber_id)})}"

    def confirm_url(self, subscriber_id: int) -> str:
        return self.url(CONFIRM_PATH, "confirm", subscriber_id)

    def manage_url(self, subscriber_id: int) -> str:
        return self.url(MANAGE_PATH, "manage", subscriber_id)

    def unsubscribe_url(self, subscriber_id: int) -> str:
        """Both the link in the mail's footer and the RFC 8058 `List-Unsubscribe` target (one-click POST)."""
        return self.url(UNSUBSCRIBE_PATH, "manage", subscriber_id)
