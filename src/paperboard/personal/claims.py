"""Claiming authorship: an account says "I am the author arXiv names X", and a moderator approves or refuses.

- A claim is on a name as arXiv spells it, by its lookup key (catalog/authors.py), never on a person: another
  account may claim the same name, even once one claim is approved (two people may share a name, or one of them is
  mistaken); the moderator's queue shows who holds it already. An account holds one claim per name key: claiming
  again after a refusal puts the same claim back in the queue with the new evidence.
- A pending or refused claim is seen only by its claimant and by moderators; an approved one is public (the author
  page names the claimant, whose profile lists the names and their papers).
- The claimant may withdraw a claim in any state. Deciding a claim, and withdrawing or revoking an approved one,
  changes the papers the reader's feed learns from (`activity.signals_changed`).
- Moderators decide only pending claims, and revoke only approved ones (a claim approved by mistake, or a name
  taken by someone else): never their own. Like a refused claim, a revoked one is seen by its claimant, who may
  claim the name again. The claim keeps when and by whom it was last decided (`decided_at`, `decided_by_id`), as
  a hidden listing keeps who hid it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperboard.catalog.authors import author_key, author_summary
from paperboard.catalog.queries import count_papers, newest_papers
from paperboard.characters import forbidden_character
from paperboard.clock import utcnow
from paperboard.db.models import AuthorClaim, Paper, PaperAuthor, User
from paperboard.personal.activity import signals_changed

PENDING = "pending"
APPROVED = "approved"
REFUSED = "refused"
REVOKED = "revoked"
# The approved claims the moderators' page lists, most recently approved first.
APPROVED_LISTED = 50
MAX_EVIDENCE_LENGTH = 2000
# The largest id an INTEGER column holds on PostgreSQL, which fails on a bigger number instead of finding nothing.
_MAX_ID = 2**31 - 1


class ClaimRefused(ValueError):
    """A claim cannot be made as asked; the message says why, in words fit for the claimant."""


class ClaimNotFound(LookupError):
    """No such claim, or none the asking account may see."""


class ClaimForbidden(PermissionError):
    """The asking account may not decide this claim; the message says why."""


class ClaimAlreadyDecided(ValueError):
    """The claim was decided (or withdrawn) before this decision arrived; the message says how."""


@dataclass(frozen=True, slots=True)
class QueuedClaim:
    """A pending claim as the moderators' queue shows it."""

    claim: AuthorClaim
    claimant: User
    # Live papers of the catalogue listing the claimed name (any spelling with its key).
    papers: int
    # Accounts whose claim to the same name is approved already: a conflict the moderator should weigh.
    approved_for: list[User]


def check_evidence(evidence: str) -> str | None:
    """The evidence as stored (line breaks as browsers count them, trimmed), None when there is none."""
    text = evidence.replace("\r\n", "\n").strip()
    if len(text) > MAX_EVIDENCE_LENGTH:
        raise ClaimRefused(f"The evidence may have at most {MAX_EVIDENCE_LENGTH:,} characters; this has {len(text):,}.")
    if (problem := forbidden_character(text)) is not None:
        raise ClaimRefused(f"The evidence holds {problem}.")
    return text or None


def claim_author(session: Session, user: User, name: str, evidence: str = "") -> AuthorClaim:
    """Claim the author name `name` for `user`, pending a moderator's decision; ClaimRefused when the catalogue
    has no such author, the evidence is unacceptable, or the user already holds a pending or approved claim on it."""
    text = check_evidence(evidence)
    stored_user = session.get(User, user.id)
    if stored_user is None or stored_user.suspended_at is not None:
        raise ClaimRefused("A suspended account cannot claim authorship.")
    summary = author_summary(session, name)
    if summary is None:
        raise ClaimRefused(f"No paper of this catalogue lists the author {name!r}.")
    key = author_key(name)
    claim = _own_claim(session, user, key)
    if claim is not None and claim.status not in (REFUSED, REVOKED):
        state = "waits for a moderator" if claim.status == PENDING else "is approved"
        raise ClaimRefused(f"You have claimed {claim.name} already: the claim {state}.")
    if claim is None:
        claim = AuthorClaim(user_id=user.id, name_key=key)
        session.add(claim)
    claim.name = summary.name
    claim.evidence = text
    claim.status = PENDING
    claim.created_at = utcnow()
    claim.decided_at = None
    claim.decided_by_id = None
    try:
        # In a savepoint: the same claim sent twice at once (two tabs) loses the race on the unique key here.
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ClaimRefused(f"You have claimed {summary.name} already.") from None
    return claim


def _own_claim(session: Session, user: User, key: str) -> AuthorClaim | None:
    """The user's claim on the name with this key, in any state."""
    return session.scalars(
        select(AuthorClaim).where(AuthorClaim.user_id == user.id, AuthorClaim.name_key == key)
    ).one_or_none()


def claim_of(session: Session, user: User | None, name: str) -> AuthorClaim | None:
    """What the author page of `name` tells `user` about their own claim on it (None for a visitor)."""
    return None if user is None else _own_claim(session, user, author_key(name))


def claims_of(session: Session, user: User) -> list[AuthorClaim]:
    """Every claim of the user, in any state, newest first: the claimant's own view (the account page)."""
    return list(
        session.scalars(
            select(AuthorClaim)
            .where(AuthorClaim.user_id == user.id)
            .order_by(AuthorClaim.created_at.desc(), AuthorClaim.id.desc())
        )
    )


def withdraw_claim(session: Session, user: User, claim_id: int) -> AuthorClaim:
    """Delete one of the user's own claims, whatever its state; another account's claim is ClaimNotFound."""
    claim = session.get(AuthorClaim, claim_id) if 0 < claim_id <= _MAX_ID else None
    if claim is None or claim.user_id != user.id:
        raise ClaimNotFound(f"You have no claim {claim_id}; it may have been withdrawn already.")
    if claim.status == APPROVED:
        signals_changed(session, user.id)
    session.delete(claim)
    return claim


def decide_claim(session: Session, moderator: User, claim_id: int, *, approve: bool) -> AuthorClaim:
    """Approve or refuse a pending claim, recording when and by whom; the claimant's feed learns from it."""
    return _moderate(session, moderator, claim_id, PENDING, APPROVED if approve else REFUSED)


def revoke_claim(session: Session, moderator: User, claim_id: int) -> AuthorClaim:
    """Revoke an approved claim, recording when and by whom: the name's papers leave the claimant's profile and
    stop teaching their feed."""
    return _moderate(session, moderator, claim_id, APPROVED, REVOKED)


def _moderate(session: Session, moderator: User, claim_id: int, current: str, new: str) -> AuthorClaim:
    """Move a claim from the state `current` to `new` as `moderator`."""
    if not moderator.is_moderator:
        raise ClaimForbidden("Only moderators may approve, refuse or revoke claims of authorship.")
    claim = session.get(AuthorClaim, claim_id) if 0 < claim_id <= _MAX_ID else None
    if claim is None:
        raise ClaimNotFound(f"There is no claim {claim_id}; its claimant may have withdrawn it.")
    if claim.user_id == moderator.id:
        raise ClaimForbidden("You cannot decide your own claim: another moderator must.")
    # Guarded on the state, so that of two moderators acting at once only the first decision is kept.
    decided = session.execute(
        update(AuthorClaim)
        .where(AuthorClaim.id == claim.id, AuthorClaim.status == current)
        .values(status=new, decided_at=utcnow(), decided_by_id=moderator.id)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        stored = session.get(AuthorClaim, claim.id, populate_existing=True)
        if stored is None:
            raise ClaimNotFound(f"The claim to {claim.name} was withdrawn by its claimant.")
        if current == PENDING:
            raise ClaimAlreadyDecided(f"The claim to {stored.name} was {stored.status} already.")
        raise ClaimAlreadyDecided(f"The claim to {stored.name} is {stored.status}, not approved: nothing to revoke.")
    session.refresh(claim)
    signals_changed(session, claim.user_id)
    return claim


def approved_claims(session: Session) -> list[tuple[AuthorClaim, User]]:
    """The `APPROVED_LISTED` most recently approved claims with their claimants, for the moderators to revoke."""
    return [
        (claim, claimant)
        for claim, claimant in session.execute(
            select(AuthorClaim, User)
            .join(User, User.id == AuthorClaim.user_id)
            .where(AuthorClaim.status == APPROVED)
            .order_by(AuthorClaim.decided_at.desc(), AuthorClaim.id.desc())
            .limit(APPROVED_LISTED)
        )
    ]


def pending_claims(session: Session) -> list[QueuedClaim]:
    """The moderators' queue: every pending claim, oldest first, with what a decision needs."""
    rows = session.execute(
        select(AuthorClaim, User)
        .join(User, User.id == AuthorClaim.user_id)
        .where(AuthorClaim.status == PENDING)
        .order_by(AuthorClaim.created_at, AuthorClaim.id)
    ).all()
    keys = {claim.name_key for claim, _ in rows}
    papers = dict(
        session.execute(
            select(PaperAuthor.name_key, func.count(func.distinct(PaperAuthor.paper_id)))
            .join(Paper, Paper.id == PaperAuthor.paper_id)
            .where(PaperAuthor.name_key.in_(keys), Paper.deleted_at.is_(None))
            .group_by(PaperAuthor.name_key)
        ).all()
    )
    holders: dict[str, list[User]] = {}
    for key, holder in session.execute(
        select(AuthorClaim.name_key, User)
        .join(User, User.id == AuthorClaim.user_id)
        .where(AuthorClaim.name_key.in_(keys), AuthorClaim.status == APPROVED)
        .order_by(AuthorClaim.decided_at, AuthorClaim.id)
    ):
        holders.setdefault(key, []).append(holder)
    return [
        QueuedClaim(claim, claimant, papers.get(claim.name_key, 0), holders.get(claim.name_key, []))
        for claim, claimant in rows
    ]


def claimants_of(session: Session, name: str) -> list[User]:
    """The accounts whose claim to the author name `name` is approved, first approved first (public)."""
    return list(
        session.scalars(
            select(User)
            .join(AuthorClaim, AuthorClaim.user_id == User.id)
            .where(AuthorClaim.name_key == author_key(name), AuthorClaim.status == APPROVED)
            .order_by(AuthorClaim.decided_at, AuthorClaim.id)
        )
    )


def claimed_names(session: Session, user: User) -> list[str]:
    """The author names the user's approved claims hold, alphabetically (public)."""
    return list(
        session.scalars(
            select(AuthorClaim.name)
            .where(AuthorClaim.user_id == user.id, AuthorClaim.status == APPROVED)
            .order_by(AuthorClaim.name_key)
        )
    )


def _claimed_keys(session: Session, user: User) -> list[str]:
    return list(
        session.scalars(
            select(AuthorClaim.name_key).where(AuthorClaim.user_id == user.id, AuthorClaim.status == APPROVED)
        )
    )


def count_claimed_papers(session: Session, user: User) -> int:
    """How many live papers list a name the user holds an approved claim on (a paper listing two counts once)."""
    return count_papers(session, author_keys=_claimed_keys(session, user))


def claimed_papers(session: Session, user: User, *, limit: int, offset: int = 0) -> list[Paper]:
    """Those papers, most recently published first."""
    return newest_papers(session, author_keys=_claimed_keys(session, user), limit=limit, offset=offset)
