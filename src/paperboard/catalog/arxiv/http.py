"""A polite HTTP client for arXiv's services: spaced requests, Retry-After honoured, back-off on failures.

arXiv implements flow control with `503 Retry-After` (OAI-PMH) and answers bursts with 429 or 503 (API).
Throttling answers are waited out up to `retries` times; server errors, dropped connections and
timeouts are retried with doubling pauses; anything else fails at once with a message that says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from paperboard.config import Settings

_THROTTLED = {429, 503}
_TRANSIENT = {500, 502, 504}

# A request made for one of the worker's queues (submissions, thumbnails) gets at most one retry and this many
# seconds to answer (httpx's timeouts): the queue's own back-off does the patient retrying, without holding the
# worker's other duties for long.
QUEUE_REQUEST_RETRIES = 1
QUEUE_REQUEST_TIMEOUT = 15.0


class FetchError(Exception):
    """A request failed for good: retries are spent, or the answer can never succeed.

    When the server did answer, `status` and `body` keep its answer: some services explain a refusal there.
    """

    def __init__(self, message: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class ResponseTooLarge(FetchError):
    """The answer is longer than the caller accepts: refused as soon as its length (declared or read so far) says so,
    so that no more than that is ever held in memory."""


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 5
    timeout: float = 60.0
    max_retry_wait: float = 600.0
    backoff: float = 2.0
    # Least time between the starts of two requests.
    min_interval: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, *, min_interval: float = 0.0) -> RetryPolicy:
        return cls(
            retries=settings.http_retries,
            timeout=settings.http_timeout,
            max_retry_wait=settings.http_max_retry_wait,
            backoff=settings.http_retry_backoff,
            min_interval=min_interval,
        )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    # ASCII digits only: str.isdigit() also accepts "²" and other digits that float() refuses.
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def queue_settings(settings: Settings) -> Settings:
    """The settings of a client that works for one of the worker's queues: impatient per request."""
    return settings.model_copy(
        update={
            "http_retries": min(settings.http_retries, QUEUE_REQUEST_RETRIES),
            "http_timeout": min(settings.http_timeout, QUEUE_REQUEST_TIMEOUT),
            "http_max_retry_wait": min(settings.http_max_retry_wait, QUEUE_REQUEST_TIMEOUT),
        }
    )


WaitListener = Callable[[float, str], None]
# Called before every request, retries included; returns when the request may start. `pacing.SiteWidePacer` spaces
# the requests of every process of a site.
Pacer = Callable[[], None]


class PoliteClient:
    """GET requests with arXiv's etiquette. `on_wait(seconds, reason)` hears of every pause before it starts."""

    def __init__(
        self,
        policy: RetryPolicy,
        user_agent: str,
        on_wait: WaitListener | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Pacer | None = None,
    ) -> None:
        self._policy = policy
        self._client = httpx.Client(timeout=policy.timeout, headers={"User-Agent": user_agent}, follow_redirects=True)
        self._on_wait = on_wait
        self._sleep = sleep
        self._pacer = pacer
        self._last_start: float | None = None

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _wait(self, seconds: float, reason: str) -> None:
        if seconds <= 0:
            return
        if self._on_wait is not None:
            self._on_wait(seconds, reason)
        self._sleep(seconds)

    def _space_requests(self) -> None:
        if self._last_start is not None and self._policy.min_interval > 0:
            remaining = self._policy.min_interval - (time.monotonic() - self._last_start)
            if remaining > 0:
                self._sleep(remaining)
        if self._pacer is not None:
            self._pacer()
        self._last_start = time.monotonic()

    def _send(self, url: str, params: Mapping[str, str] | None, max_bytes: int | None) -> httpx.Response:
        """The response, its body read whole; ResponseTooLarge when a successful one's body is over `max_bytes`."""
        with self._client.stream("GET", url, params=params) as response:
            if max_bytes is None or not response.is_success:
                response.read()
                return response
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ResponseTooLarge(f"{url} is {int(declared):,} bytes long, over the {max_bytes:,} accepted")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ResponseTooLarge(f"{url} is longer than the {max_bytes:,} bytes accepted")
            # The body is decoded already: a Content-Encoding kept beside it would have it decoded twice.
            headers = [(name, value) for name, value in response.headers.items() if name != "content-encoding"]
            return httpx.Response(response.status_code, headers=headers, content=bytes(body), request=response.request)

    def get(self, url: str, params: Mapping[str, str] | None = None, *, max_bytes: int | None = None) -> httpx.Response:
        """The successful response, after as many polite retries as the policy allows; with `max_bytes`, a body
        longer than that is refused (ResponseTooLarge) without being read further."""
        policy = self._policy
        for attempt in range(policy.retries + 1):
            self._space_requests()
            last_try = attempt == policy.retries
            backoff = policy.backoff * 2**attempt
            try:
                response = self._send(url, params, max_bytes)
            except httpx.TimeoutException:
                if last_try:
                    raise FetchError(
                        f"{url} did not answer within {policy.timeout:g} s ({attempt + 1} attempts)"
                    ) from None
                self._wait(backoff, f"timed out after {policy.timeout:g} s")
                continue
            except httpx.TransportError as error:
                if last_try:
                    raise FetchError(f"cannot reach {url}: {error} ({attempt + 1} attempts)") from None
                self._wait(backoff, f"connection failed ({error})")
                continue
            if response.is_success:
                return response
            status = response.status_code
            if status in _THROTTLED:
                asked = retry_after_seconds(response.headers.get("Retry-After"))
                if asked is not None and asked > policy.max_retry_wait:
                    raise FetchError(
                        f"{url} asked to retry after {asked:g} s, longer than the {policy.max_retry_wait:g} s "
                        "allowed (PAPERBOARD_HTTP_MAX_RETRY_WAIT)"
                    )
                if last_try:
                    raise FetchError(f"{url} still answers {status} after {attempt + 1} attempts")
                if asked is not None:
                    self._wait(asked, f"{status} Retry-After {asked:g} s")
                else:
                    self._wait(backoff, f"{status} without Retry-After")
                continue
            if status in _TRANSIENT and not last_try:
                self._wait(backoff, f"server error {status}")
                continue
            snippet = " ".join(response.text.split())[:200]
            raise FetchError(
                f"{url} answered {status} {response.reason_phrase}: {snippet}", status=status, body=response.content
            )
        raise AssertionError("unreachable: the loop returns or raises")
