"""GitHub's REST API, as much of it as stars need: `GET /repos/{owner}/{repo}`, asked politely.

- Conditional requests: the ETag of the last answer goes in `If-None-Match`; a 304 says nothing changed (and, with
  a token, costs nothing against the rate limit).
- A token (PAPERBOARD_GITHUB_TOKEN) goes in `Authorization: Bearer …`, only to the API's own origin, and is never
  written in a message or a log line.
- Rate limits: when `X-RateLimit-Remaining` reaches 0, no request is sent before `X-RateLimit-Reset`; a 403 or 429
  with `Retry-After` waits that long; a secondary limit without one waits a minute, doubling while it lasts
  (GitHub's documented rules). Failures (5xx, no answer) pause five minutes. The pause is `paused_until`; asking
  during it raises `GithubPaused` without sending anything.
- A renamed repository answers 301 with the new address (the repository by id): it is followed on the same origin,
  without the old ETag, and its body gives the new name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit

import httpx

from paperboard.catalog.arxiv.http import retry_after_seconds

SECONDARY_LIMIT_PAUSE = 60.0
MAX_SECONDARY_LIMIT_PAUSE = 3600.0
FAILURE_PAUSE = 300.0
_MAX_REDIRECTS = 3
_GONE = {404, 410, 451}
_REDIRECTS = {301, 302, 307, 308}


class GithubError(Exception):
    """GitHub could not be asked, or answered something other than a repository, 304, or "no such repository"."""


class GithubPaused(GithubError):
    """A rate limit or a failure asked for a pause; nothing is sent before `until` (seconds since the epoch)."""

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message)
        self.until = until


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository as GitHub describes it now."""

    full_name: str
    stars: int
    etag: str | None


class NotModified:
    """GitHub's 304: nothing changed since the ETag sent."""


class Gone:
    """No such repository any more (404), or one GitHub no longer serves (410, 451)."""


Answer = Repository | NotModified | Gone


class GithubClient:
    def __init__(
        self,
        api_url: str,
        *,
        token: str | None,
        user_agent: str,
        timeout: float,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": user_agent,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._api_url = api_url.rstrip("/")
        self._origin = _origin(self._api_url)
        self._http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=False, transport=transport)
        self._clock = clock
        self._secondary_pause = SECONDARY_LIMIT_PAUSE
        self.paused_until = 0.0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def paused(self) -> bool:
        return self._clock() < self.paused_until

    def repository(self, full_name: str, etag: str | None) -> Answer:
        """What GitHub says of `owner/name` now; GithubPaused or GithubError when it cannot be told."""
        url = f"{self._api_url}/repos/{full_name}"
        response = self._get(url, etag)
        for _ in range(_MAX_REDIRECTS):
            if response.status_code not in _REDIRECTS:
                break
            location = urljoin(url, response.headers.get("Location", ""))
            if _origin(location) != self._origin:
                # The token must not go anywhere but the API.
                raise GithubError(f"GitHub sent {full_name} to another site ({_origin(location)}); not followed")
            # The old name's ETag says nothing of the new address.
            url, response = location, self._get(location, None)
        status = response.status_code
        if status == 200:
            return _repository(response, full_name)
        if status == 304:
            return NotModified()
        if status in _GONE:
            return Gone()
        if status == 401:
            self._pause(FAILURE_PAUSE)
            raise GithubError("GitHub refused the token (401 Bad credentials): check PAPERBOARD_GITHUB_TOKEN")
        if status == 403 and not _is_rate_limit(response):
            # Access blocked to this repository (GitHub's own refusals that are not about the rate).
            return Gone()
        raise GithubError(f"GitHub answered {status} for {full_name}")

    def _get(self, url: str, etag: str | None) -> httpx.Response:
        if self.paused:
            raise GithubPaused("GitHub asked for a pause", self.paused_until)
        try:
            response = self._http.get(url, headers={"If-None-Match": etag} if etag else None)
        except httpx.HTTPError as error:
            self._pause(FAILURE_PAUSE)
            raise GithubError(f"GitHub could not be reached: {type(error).__name__}") from None
        if response.status_code in (403, 429) and _is_rate_limit(response):
            raise GithubPaused(f"GitHub's rate limit (answer {response.status_code})", self._rate_limit_pause(response))
        self._secondary_pause = SECONDARY_LIMIT_PAUSE
        if response.status_code >= 500:
            self._pause(FAILURE_PAUSE)
            raise GithubError(f"GitHub answered {response.status_code}")
        if response.headers.get("X-RateLimit-Remaining") == "0":
            # This answer is good, but it was the last one allowed before the reset.
            self._pause_until(_reset(response) or self._clock() + SECONDARY_LIMIT_PAUSE)
        return response

    def _rate_limit_pause(self, response: httpx.Response) -> float:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if retry_after is not None:
            return self._pause(retry_after)
        reset = _reset(response)
        if response.headers.get("X-RateLimit-Remaining") == "0" and reset is not None:
            return self._pause_until(reset)
        # A secondary limit that names no time: at least a minute, longer each time it answers again.
        until = self._pause(self._secondary_pause)
        self._secondary_pause = min(self._secondary_pause * 2, MAX_SECONDARY_LIMIT_PAUSE)
        return until

    def _pause(self, seconds: float) -> float:
        return self._pause_until(self._clock() + seconds)

    def _pause_until(self, until: float) -> float:
        self.paused_until = max(self.paused_until, until)
        return self.paused_until


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _reset(response: httpx.Response) -> float | None:
    value = response.headers.get("X-RateLimit-Reset", "")
    return float(value) if value.isdigit() else None


def _is_rate_limit(response: httpx.Response) -> bool:
    """Whether a 403 or 429 is a rate limit (primary or secondary) rather than a refusal of this repository."""
    if response.status_code == 429 or "Retry-After" in response.headers:
        return True
    if response.headers.get("X-RateLimit-Remaining") == "0":
        return True
    return "rate limit" in response.text.lower()


def _repository(response: httpx.Response, asked: str) -> Repository:
    try:
        data = response.json()
        full_name, stars = data["full_name"], data["stargazers_count"]
    except (ValueError, KeyError, TypeError):
        raise GithubError(f"GitHub's answer for {asked} is not a repository") from None
    if not isinstance(full_name, str) or isinstance(stars, bool) or not isinstance(stars, int) or stars < 0:
        raise GithubError(f"GitHub's answer for {asked} is not a repository")
    return Repository(full_name, stars, response.headers.get("ETag"))
