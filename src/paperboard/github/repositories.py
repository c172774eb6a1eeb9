"""The GitHub repositories papers link to, stored one row each (`github_repositories`), and the stars GitHub last
gave for them.

Any paper's code link counts, whichever way it came: the Hugging Face archive's `github`, an import's `code_url`, or
an address found in the abstract or comments (catalog/links.py). Repositories are found from `papers.code_url`
by `add_linked_repositories`, following `changed_at`, so that each round reads only the papers changed since.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from paperboard.db.inserts import insert_missing
from paperboard.db.models import GithubRepository, Paper
from paperboard.github.client import Repository

# GitHub's own rules: an owner is letters, digits and single hyphens, at most 39; a repository name at most 100 of
# letters, digits, `.`, `-` and `_`.
_REPOSITORY_PATH = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9._-]{1,100})(?:/|$)")
# github.com's own pages, whose addresses look like an owner's.
_NOT_OWNERS = frozenset({"about", "apps", "collections", "features", "marketplace", "orgs", "settings", "sponsors",
                         "topics", "users"})  # fmt: skip
# Papers changed up to this long before the newest one seen are read again next round: a transaction that wrote
# a paper before that one may commit after it.
_CHANGES_OVERLAP = timedelta(minutes=2)
_repositories = GithubRepository.__table__


@dataclass(frozen=True, slots=True)
class DueRepository:
    id: int
    full_name: str
    etag: str | None


def repository_name(url: str | None) -> str | None:
    """`owner/name` of the GitHub repository an address points into; None for anything else."""
    if not url:
        return None
    parts = urlsplit(url)
    if (parts.hostname or "").lower().removeprefix("www.") != "github.com":
        return None
    match = _REPOSITORY_PATH.match(parts.path)
    if match is None or match[1].lower() in _NOT_OWNERS:
        return None
    name = match[2].removesuffix(".git")
    if name in ("", ".", ".."):
        return None
    return f"{match[1]}/{name}"


def _key(full_name: str) -> str:
    # GitHub's names are case-insensitive: one repository, however a paper spells it.
    return full_name.casefold()


def add_linked_repositories(session: Session, changed_since: datetime | None) -> datetime | None:
    """Store a row for each GitHub repository linked by a paper changed since `changed_since` (every paper when
    None); returns the `changed_since` of the next call."""
    query = select(Paper.code_url, Paper.changed_at).where(func.lower(Paper.code_url).like("%github.com/%"))
    if changed_since is not None:
        query = query.where(Paper.changed_at > changed_since)
    rows: dict[str, dict[str, str]] = {}
    newest = None
    for code_url, changed_at in session.execute(query):
        newest = changed_at if newest is None else max(newest, changed_at)
        name = repository_name(code_url)
        if name is not None:
            rows.setdefault(_key(name), {"repo_key": _key(name), "full_name": name})
    insert_missing(session, _repositories, list(rows.values()), key=["repo_key"])
    return changed_since if newest is None else newest - _CHANGES_OVERLAP


def due_repositories(session: Session, *, checked_before: datetime, limit: int) -> list[DueRepository]:
    """Up to `limit` repositories never checked or last checked before `checked_before`, the oldest check first."""
    query = (
        select(GithubRepository.id, GithubRepository.full_name, GithubRepository.etag)
        .where(or_(GithubRepository.checked_at.is_(None), GithubRepository.checked_at < checked_before))
        .order_by(GithubRepository.checked_at.asc().nulls_first(), GithubRepository.id)
        .limit(limit)
    )
    return [DueRepository(*row) for row in session.execute(query)]


def record_stars(session: Session, repository_id: int, found: Repository, at: datetime) -> None:
    """GitHub's answer: the repository, under `found.full_name` now (a renamed one's new name), has its stars."""
    session.execute(
        update(GithubRepository)
        .where(GithubRepository.id == repository_id)
        .values(full_name=found.full_name, stars=found.stars, etag=found.etag, checked_at=at, gone_at=None)
    )


def record_unchanged(session: Session, repository_id: int, at: datetime) -> None:
    """GitHub's answer: nothing changed since the ETag stored (304)."""
    session.execute(update(GithubRepository).where(GithubRepository.id == repository_id).values(checked_at=at))


def record_gone(session: Session, repository_id: int, at: datetime) -> None:
    """GitHub's answer: no such repository (deleted, made private, blocked); its stars are no longer shown."""
    session.execute(
        update(GithubRepository)
        .where(GithubRepository.id == repository_id)
        .values(stars=None, etag=None, checked_at=at, gone_at=func.coalesce(GithubRepository.gone_at, at))
    )


# Built once, as the lists' other statements (community/listings.py): building and keying it at each call took about
# as long as running it.
_CHECKED_STARS = select(GithubRepository.repo_key, GithubRepository.stars).where(
    GithubRepository.repo_key.in_(bindparam("repo_keys", expanding=True)), GithubRepository.checked_at.is_not(None)
)


def refreshed_stars(session: Session, code_urls: Iterable[str | None]) -> dict[str, int | None]:
    """The stars GitHub gave for the repositories these code links point into, by link: None for a repository
    GitHub no longer has. Links to repositories not yet checked are absent, so that callers fall back on what
    they knew (the archive's count)."""
    keys = {url: _key(name) for url in code_urls if url and (name := repository_name(url)) is not None}
    if not keys:
        return {}
    rows = session.execute(_CHECKED_STARS, {"repo_keys": list(set(keys.values()))})
    stars = {repo_key: count for repo_key, count in rows}
    return {url: stars[key] for url, key in keys.items() if key in stars}
