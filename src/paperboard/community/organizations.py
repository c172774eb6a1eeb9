"""Organizations: the labs, companies and universities papers were listed for, as the Hugging Face archive names
them (`organization`), and the listed papers of each, for its page and the API.

The archive gives only the organization's full name ("ByteDance Seed"), never Hugging Face's handle. Its address
here is made from that name: runs of anything but letters and digits become one `-` ("ByteDance-Seed"), letters of
any script kept. Two spellings that make the same address in any case ("Zhejiang University", "Zhejiang
university") are one organization, shown under the spelling met first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from paperboard.catalog.record import RecordError, checked_text
from paperboard.db.inserts import insert_missing
from paperboard.db.models import Listing, Organization, Paper

# The length of the `organizations` columns.
MAX_NAME_LENGTH = 200
_organizations = Organization.__table__
_NOT_NAME = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class OrganizationRef:
    """An organization as cards, pages and the API show it."""

    id: int
    name: str
    fullname: str


def organization_name(fullname: str) -> str:
    """The address of an organization of this full name: its letters and digits, runs of others as one `-`."""
    return _NOT_NAME.sub("-", unicodedata.normalize("NFKC", fullname)).strip("-")


def checked_organization(value: object, field: str) -> str | None:
    """An organization's full name from outside, None when empty; RecordError when it cannot name one."""
    fullname = checked_text(value, field, MAX_NAME_LENGTH)
    if fullname is None:
        return None
    if not organization_name(fullname):
        raise RecordError(f"{field}: {fullname!r} has no letter or digit to name an organization by")
    # NFKC and case folding may lengthen a name (ß is ss): its address must fit too.
    if len(organization_key(fullname)) > MAX_NAME_LENGTH:
        raise RecordError(f"{field}: longer than {MAX_NAME_LENGTH} characters once normalised")
    return fullname


def organization_key(fullname: str) -> str:
    """What makes two spellings one organization: the address they make, in any case."""
    return organization_name(fullname).casefold()


def organization_ids(session: Session, keys: Collection[str], fullnames: Mapping[str, str]) -> dict[str, int]:
    """The ids of the organizations of these keys, by key; those not stored yet are added, under their full name in
    `fullnames`."""
    rows = [
        {"name": organization_name(fullnames[key]), "name_key": key, "fullname": fullnames[key]}
        for key in keys
        if key in fullnames
    ]
    insert_missing(session, _organizations, rows, key=["name_key"])
    stored = session.execute(select(Organization.name_key, Organization.id).where(Organization.name_key.in_(keys)))
    return {name_key: organization_id for name_key, organization_id in stored}


def _ref(organization: Organization) -> OrganizationRef:
    return OrganizationRef(organization.id, organization.name, organization.fullname)


def find_organization(session: Session, name: str) -> OrganizationRef | None:
    """The organization at this address, in any case."""
    organization = session.scalars(select(Organization).where(Organization.name_key == name.casefold())).one_or_none()
    return None if organization is None else _ref(organization)


def _listed(*columns: Any) -> Select[Any]:
    """Listings readers see (not hidden by a moderator, of papers not withdrawn) that name an organization."""
    return (
        select(*columns)
        .select_from(Listing)
        .join(Paper, Paper.id == Listing.paper_id)
        .where(Listing.organization_id.is_not(None), Listing.hidden_at.is_(None), Paper.deleted_at.is_(None))
    )


def count_organization_papers(session: Session, organization_id: int) -> int:
    return session.scalar(_listed(func.count()).where(Listing.organization_id == organization_id)) or 0


def organization_papers(session: Session, organization_id: int, *, limit: int, offset: int = 0) -> list[Paper]:
    """The organization's papers, most recently published first, as author and category pages order theirs."""
    query = (
        _listed(Paper)
        .where(Listing.organization_id == organization_id)
        .order_by(Paper.published_at.desc(), Paper.arxiv_id.desc())
    )
    return list(session.scalars(query.limit(limit).offset(offset)))


def organizations_of(session: Session, paper_ids: Collection[int]) -> dict[int, OrganizationRef]:
    """The organization each of these papers was listed for, by paper; papers without one are absent."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(Listing.paper_id, Organization)
        .join(Organization, Organization.id == Listing.organization_id)
        .where(Listing.paper_id.in_(list(paper_ids)))
    )
    return {paper_id: _ref(organization) for paper_id, organization in rows}


def paper_counts(session: Session, organization_ids: Collection[int]) -> dict[int, int]:
    """How many papers each organization's page lists, by organization."""
    if not organization_ids:
        return {}
    query = (
        _listed(Listing.organization_id, func.count())
        .where(Listing.organization_id.in_(list(organization_ids)))
        .group_by(Listing.organization_id)
    )
    return {organization_id: count for organization_id, count in session.execute(query)}
