"""The worker's duty of keeping repositories' stars fresh: each round, the repositories linked by papers changed
since the last round are added, then up to `github_stars_per_run` whose stars are older than
`github_stars_max_age_hours` are asked for, the oldest check (or never checked) first, one request at a time. A
rate limit or a failure ends the round, and no request is sent until the pause GitHub asked for is over.
Web requests never call GitHub: pages show what this stored."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.github.client import GithubClient, GithubError, GithubPaused, NotModified, Repository
from paperboard.github.repositories import (
    add_linked_repositories,
    due_repositories,
    record_gone,
    record_stars,
    record_unchanged,
)

logger = logging.getLogger("paperboard.github")


def github_client(configuration: Settings, clock: Callable[[], float] = time.time) -> GithubClient:
    token = configuration.github_token
    return GithubClient(
        configuration.github_api_url,
        token=None if token is None else token.get_secret_value(),
        user_agent=configuration.user_agent,
        timeout=configuration.http_timeout,
        clock=clock,
    )


@dataclass
class StarsReport:
    checked: int = 0
    # 200s (stars stored), 304s, and repositories GitHub no longer has.
    fetched: int = 0
    unchanged: int = 0
    gone: int = 0
    # Why the round ended before its due repositories were all asked for.
    stopped: str | None = None


class StarsRefresh:
    def __init__(self, database: Database, configuration: Settings, client: GithubClient) -> None:
        self._database = database
        self._per_run = configuration.github_stars_per_run
        self._max_age = timedelta(hours=configuration.github_stars_max_age_hours)
        self._client = client
        # Papers changed after this are looked at for new links next round (None: every paper, at the first).
        self._changed_since: datetime | None = None

    def run_once(self) -> StarsReport:
        report = StarsReport()
        if not self._per_run or self._client.paused:
            return report
        with self._database.session() as session:
            self._changed_since = add_linked_repositories(session, self._changed_since)
            due = due_repositories(session, checked_before=utcnow() - self._max_age, limit=self._per_run)
        for repository in due:
            try:
                answer = self._client.repository(repository.full_name, repository.etag)
            except GithubPaused as pause:
                report.stopped = f"{pause}; paused until {datetime.fromtimestamp(pause.until, UTC):%H:%M:%S} UTC"
                break
            except GithubError as error:
                report.stopped = str(error)
                break
            with self._database.session() as session:
                if isinstance(answer, Repository):
                    record_stars(session, repository.id, answer, utcnow())
                    report.fetched += 1
                elif isinstance(answer, NotModified):
                    record_unchanged(session, repository.id, utcnow())
                    report.unchanged += 1
                else:
                    record_gone(session, repository.id, utcnow())
                    report.gone += 1
            report.checked += 1
            if self._client.paused:
                report.stopped = "GitHub's rate limit is used up until its reset"
                break
        if report.checked or report.stopped:
            logger.info(
                "GitHub stars: %d repositories checked (%d answered, %d unchanged, %d gone)%s",
                report.checked,
                report.fetched,
                report.unchanged,
                report.gone,
                f"; stopped: {report.stopped}" if report.stopped else "",
            )
        return report
