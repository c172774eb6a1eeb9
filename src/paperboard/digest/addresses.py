"""Mail addresses as subscribers type them: checked for syntax (no DNS lookups) and folded for uniqueness."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# RFC 5321 limits a path to 256 octets including its angle brackets.
MAX_ADDRESS_LENGTH = 254
# Domains whose mail ignores dots in the local part, under their one name.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


class InvalidAddress(ValueError):
    """The text is not a mail address we can send to; the message says why, fit for the reader."""


@dataclass(frozen=True, slots=True)
class Address:
    # As normalised by email-validator: the domain in lower case (and IDNA decoded), the local part as typed.
    email: str
    # Folded to lower case: one subscription per address whatever its case, as nearly every mail server treats it.
    key: str


def parse_address(text: str) -> Address:
    text = text.strip()
    if not text:
        raise InvalidAddress("enter a mail address")
    if len(text) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"a mail address has at most {MAX_ADDRESS_LENGTH} characters")
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error)) from None
    if len(valid.normalized) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"a mail address has at most {MAX_ADDRESS_LENGTH} characters")
    return Address(valid.normalized, valid.normalized.lower())


def mailbox_key(key: str) -> str:
    """The mailbox an address (its `Address.key`) delivers to, as far as limits on mailing it go: the key without a
    `+tag` (which most providers deliver to the untagged address) and, at Gmail, without dots. Two addresses that
    share a mailbox key may in rare cases be two mailboxes (a server where `+` is an ordinary character): they then
    share a limit, the safe side of the mistake, whereas otherwise an inbox could be flooded through its aliases."""
    local, _, domain = key.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"
