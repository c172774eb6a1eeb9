"""A local server that answers `GET /repos/{owner}/{repo}` as GitHub's REST API does, for the stars tests.

What it speaks of GitHub's documented behaviour: a repository's JSON with `full_name` and `stargazers_count`; an
`ETag` on each answer and 304 to a matching `If-None-Match` (free against the rate limit when the request carries a
token, as GitHub's are); `X-RateLimit-Limit/Remaining/Used/Reset` on every answer and 403 "API rate limit exceeded"
once none remain; a secondary limit (403 with `Retry-After`, or without it) when a test asks for one; 301 to
`/repositories/{id}` for a renamed repository; 404 for one that does not exist. Names are matched in any case.
Served by tests/local_server.py.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from email.message import Message

from tests.local_server import LocalServer, Reply


@dataclass
class FakeRepository:
    id: int
    full_name: str
    stars: int


@dataclass(frozen=True)
class SeenRequest:
    path: str
    if_none_match: str | None
    authorization: str | None


@dataclass
class GithubServer(LocalServer):
    # The primary limit of the current window, and its reset as seconds since the epoch.
    limit: int = 60
    reset_at: int = 2_000_000_000
    # Set by a test: the next answers are a secondary limit, with this Retry-After when not None.
    secondary_limit: bool = False
    secondary_retry_after: int | None = None
    # Where a renamed repository's Location points: this server unless a test says otherwise.
    redirect_base: str | None = None
    requests: list[SeenRequest] = field(default_factory=list)
    _repositories: dict[int, FakeRepository] = field(default_factory=dict)
    _old_names: dict[str, int] = field(default_factory=dict)
    _used: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        super().__init__()

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self._used)

    def add(self, full_name: str, stars: int) -> FakeRepository:
        repository = FakeRepository(len(self._repositories) + 1, full_name, stars)
        self._repositories[repository.id] = repository
        return repository

    def rename(self, repository: FakeRepository, new_name: str) -> None:
        self._old_names[repository.full_name.casefold()] = repository.id
        repository.full_name = new_name

    def delete(self, repository: FakeRepository) -> None:
        del self._repositories[repository.id]

    def start_window(self, *, limit: int, reset_at: int) -> None:
        """A new rate-limit window, as GitHub starts one at each reset."""
        with self._lock:
            self.limit, self.reset_at, self._used = limit, reset_at, 0

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def _find(self, path: str) -> tuple[int, FakeRepository | None]:
        """The status a path answers with, and its repository."""
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "repositories" and parts[1].isdigit():
            found = self._repositories.get(int(parts[1]))
            return (200, found) if found else (404, None)
        if len(parts) == 3 and parts[0] == "repos":
            name = f"{parts[1]}/{parts[2]}".casefold()
            for repository in self._repositories.values():
                if repository.full_name.casefold() == name:
                    return 200, repository
            if name in self._old_names and self._old_names[name] in self._repositories:
                return 301, self._repositories[self._old_names[name]]
        return 404, None

    def _answer(self, request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            if self.secondary_limit:
                headers = {} if self.secondary_retry_after is None else {"Retry-After": str(self.secondary_retry_after)}
                return 403, headers, _message("You have exceeded a secondary rate limit. Please wait a few minutes.")
            if self.remaining == 0:
                return 403, self._limit_headers(), _message("API rate limit exceeded for 127.0.0.1.")
            status, repository = self._find(request.path)
            headers: dict[str, str] = {}
            body = _message("Not Found")
            if status == 301 and repository is not None:
                location = f"{self.redirect_base or self.base_url}/repositories/{repository.id}"
                headers["Location"] = location
                body = json.dumps({"message": "Moved Permanently", "url": location}).encode()
            elif repository is not None:
                body = json.dumps(
                    {
                        "id": repository.id,
                        "full_name": repository.full_name,
                        "html_url": f"https://github.com/{repository.full_name}",
                        "stargazers_count": repository.stars,
                    }
                ).encode()
                headers["ETag"] = f'W/"{hashlib.sha256(body).hexdigest()}"'
                if request.if_none_match == headers["ETag"]:
                    status, body = 304, b""
            # A 304 to an authorised request is free; every other answer counts.
            if not (status == 304 and request.authorization):
                self._used += 1
            return status, headers | self._limit_headers(), body

    def _limit_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Used": str(self._used),
            "X-RateLimit-Reset": str(self.reset_at),
        }

    def reply_to(self, target: str, headers: Message) -> Reply:
        status, answer_headers, body = self._answer(
            SeenRequest(target, headers.get("If-None-Match"), headers.get("Authorization"))
        )
        return Reply(status, body, answer_headers, content_type="application/json; charset=utf-8")


def _message(text: str) -> bytes:
    return json.dumps({"message": text, "documentation_url": "https://docs.github.com/rest"}).encode()
