"""Mail addresses as subscribers type them: checked for syntax (no DNS lookups) and folded for uniqueness."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

# RFC 5321 limits a path to 256 octets including its angle brackets.
MAX_ADDRESS_LENGTH = 254


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
