"""Settings, read from `PAPERBOARD_*` environment variables and an optional TOML file.

Every field here is documented in docs/configuration.md; a test fails when one is not.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import ByteSize, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "PAPERBOARD_"
CONFIG_FILE_VARIABLE = "PAPERBOARD_CONFIG"


class ConfigurationError(Exception):
    """The settings cannot be used as given."""


def _private_file(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("paperboard", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    env: Literal["development", "production"] = Field(
        "development", description="`production` refuses to start without an explicit secret key."
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Folder for the SQLite database and state.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; empty means SQLite in the data folder. `postgresql://` selects PostgreSQL."
    )
    secret_key: str | None = Field(None, description="Signs sessions and links; required in production.")

    session_days: int = Field(30, ge=1, description="Days a sign-in lasts before the browser must sign in again.")
    login_failures_per_account_and_address: int = Field(
        5,
        ge=1,
        description="Failed sign-ins allowed per account from one client address within the login window; further "
        "tries from that address to that account are refused, while the owner signs in from elsewhere.",
    )
    login_failures_per_account: int = Field(
        50,
        ge=1,
        description="Failed sign-ins allowed per account, from all addresses, within the login window; then only "
        "browsers that signed in to the account before may try.",
    )
    login_failures_per_address: int = Field(
        20, ge=1, description="Failed sign-ins allowed per client address within the login window."
    )
    login_window_minutes: int = Field(15, ge=1, description="The window, in minutes, over which failures count.")
    sign_ins_per_address_per_minute: int = Field(
        10, ge=1, description="Sign-ins tried per client address per minute, successful or not."
    )
    sign_ups_per_address_per_hour: int = Field(5, ge=1, description="Accounts created per client address per hour.")
    subscription_requests_per_address_per_hour: int = Field(
        10,
        ge=1,
        description="Posts per client address per hour that may mail a subscription link (subscribing, asking for "
        "a fresh link).",
    )
    submission_max_age_days: int = Field(
        14, ge=0, description="Oldest paper (days since first published) that may be submitted to a daily list."
    )
    submission_fetch_attempts: int = Field(
        5,
        ge=1,
        description="Times the worker asks arXiv for a submitted paper the catalogue lacks while arXiv cannot be "
        "reached, before it tells the submitter it gave up.",
    )
    submission_fetch_retry_seconds: float = Field(
        60.0,
        ge=0,
        description="Pause before the worker asks arXiv again for a submitted paper after arXiv could not be "
        "reached; doubled after each attempt.",
    )

    page_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="Seconds a public page is served from memory to visitors who are not signed in, and a list or "
        "paper page made for all signed-in readers is kept; 0 turns both off.",
    )
    trending_scores_seconds: float = Field(
        5.0,
        ge=0,
        description="Seconds each worker process keeps the order of the trending ranking (community/trending.py); "
        "the papers shown are read afresh. 0 scores every request.",
    )
    page_cache_max_bytes: ByteSize = Field(
        ByteSize(32 * 2**20),
        ge=0,
        description="Most memory, in bytes (`32MiB` is understood), that each worker process's page cache keeps "
        "pages in; the least recently used go first.",
    )
    api_requests_per_minute: int = Field(
        600,
        ge=0,
        description="API requests allowed per client address per minute (counted as `rate_limit_store` says); 0 is "
        "no limit.",
    )
    api_token_requests_per_minute: int = Field(
        300,
        ge=0,
        description="API requests allowed per API token per minute (counted as `rate_limit_store` says); 0 is no "
        "limit.",
    )
    search_requests_per_minute: int = Field(
        60,
        ge=0,
        description="Searches (`/search`, `/search.bib`, `/feeds/search.*`) allowed per client address per minute "
        "(counted as `rate_limit_store` says); 0 is no limit.",
    )
    export_requests_per_minute: int = Field(
        120,
        ge=0,
        description="Feeds and exports (`/feeds/…`, `….bib`, `….md`) allowed per client address per minute (counted as "
        "`rate_limit_store` says); 0 is no limit.",
    )
    page_requests_per_minute: int = Field(
        600,
        ge=0,
        description="Requests for every other page and form allowed per client address per minute (counted as "
        "`rate_limit_store` says); 0 is no limit.",
    )
    static_requests_per_minute: int = Field(
        3000,
        ge=0,
        description="Requests for static files (`/static/…`) allowed per client address per minute (counted as "
        "`rate_limit_store` says); 0 is no limit.",
    )
    rate_limit_store: Literal["auto", "database", "memory"] = Field(
        "auto",
        description="Where the request rate limits are counted: `database` (every process of every host counts "
        "against one limit; each process takes a twentieth of a limit at a time), `memory` (each worker process "
        "counts alone, so N workers allow N times the limit), or `auto`: `database` on PostgreSQL, `memory` on "
        "SQLite.",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=0, description="Largest request body accepted (JSON and anything but forms); larger is a 413."
    )
    max_form_bytes: int = Field(
        262_144, ge=0, description="Largest HTML form body accepted (urlencoded or multipart); larger is a 413."
    )
    https_only: bool = Field(
        True,
        description="In production, the site is reached over HTTPS only: cookies are Secure and responses carry "
        "Strict-Transport-Security. `false` for a plain-HTTP test deployment. No effect in development.",
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Connections and requests a worker of `paperboard serve` handles at once; beyond, requests get "
        "503.",
    )
    max_connections_per_address: int = Field(
        100,
        ge=0,
        description="Connections one client address may hold at once in a worker of `paperboard serve`; the proxies "
        "of `forwarded_allow_ips` are not limited. 0 is no limit.",
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Seconds a client has, from connecting or from its previous response, to send a request's "
        "headers whole; then `paperboard serve` closes the connection.",
    )
    keep_alive_seconds: float = Field(
        5.0, gt=0, description="Seconds `paperboard serve` keeps an idle connection open for another request."
    )
    max_header_bytes: int = Field(
        32_768,
        ge=1024,
        description="Largest request line plus headers `paperboard serve` reads; larger is a 431 and the connection "
        "is closed.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Addresses (comma-separated, `*` for any) of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto `paperboard serve` believes.",
    )
    proxy_headers: bool = Field(
        True,
        description="Whether `paperboard serve` believes X-Forwarded-For and X-Forwarded-Proto at all (from the "
        "proxies of `forwarded_allow_ips` only); `--proxy-headers`/`--no-proxy-headers` overrides it.",
    )

    embedding_processes: int = Field(
        0,
        ge=0,
        description="Processes, of one thread each, that `paperboard index` and the worker embed papers with; 0 is "
        "one per core allowed, up to 8.",
    )
    search_rebuild_seconds: float = Field(
        300.0,
        ge=0,
        description="While the worker is embedding, it writes a new search index at most this often; papers changed "
        "meanwhile are searched from the database.",
    )
    extract_keywords: bool = Field(
        True,
        description="The worker extracts keywords for papers without the Hugging Face archive's, once they have a "
        "vector; `false` leaves them without.",
    )
    worker_poll_seconds: float = Field(
        30.0, gt=0, description="Pause, in seconds, of an idle worker before it looks for new work."
    )
    search_exact_max_vectors: int = Field(
        50_000,
        ge=0,
        description="Up to this many paper vectors, semantic search compares the query with every one; above it, "
        "it searches an HNSW graph (approximate, much faster at a million).",
    )

    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="The site's public address, without a trailing slash; every absolute address in mails, feeds "
        "and API answers is made from it, never from the request's Host header.",
    )
    smtp_url: str | None = Field(
        None,
        description="Where mail is sent: `smtp://user:password@host:port` (plain), `smtp+starttls://...` (STARTTLS, "
        "required) or `smtps://...` (TLS from the start); user and password are optional. Empty: mail waits in "
        "the outbox until it is set.",
    )
    mail_from: str = Field("Paperboard <paperboard@localhost>", description="The From address of every mail.")
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds before an SMTP connection or command times out.")
    mail_connections: int = Field(
        2, ge=1, description="SMTP connections the sender keeps open at once; each sends one mail after another."
    )
    mail_rate_per_second: float = Field(
        0.0, ge=0, description="Most mails sent per second, over all connections; 0 is no limit."
    )
    mail_retry_seconds: float = Field(
        60.0,
        ge=0,
        description="Pause before a mail that failed for a temporary reason is tried again; doubles each time.",
    )
    mail_max_attempts: int = Field(
        8, ge=1, description="Tries of one mail before a temporary failure is recorded as a permanent one."
    )
    mail_pause_after_failures: int = Field(
        3, ge=1, description="Permanent delivery failures in a row after which an address is paused."
    )
    confirmation_link_hours: int = Field(72, ge=1, description="Hours a subscription's confirmation link stays valid.")
    manage_link_days: int = Field(
        90, ge=1, description="Days a link to manage or cancel a subscription (in every digest) stays valid."
    )
    digest_hour: int = Field(7, ge=0, le=23, description="Hour of the day, in the digest time zone, digests are sent.")
    digest_time_zone: str = Field("UTC", description="IANA time zone of the digest and harvest hours (`Europe/Paris`).")
    digest_weekly_day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        "monday", description="Day the weekly digest, of the week before, is sent."
    )
    harvest_hour: int | None = Field(
        3,
        ge=0,
        le=23,
        description="Hour of the day, in the digest time zone, the worker harvests arXiv's new papers; empty turns "
        "the scheduled harvest off.",
    )
    harvest_categories: str = Field(
        "cs",
        description="The arXiv categories or archives the scheduled harvest asks for, separated by commas "
        "(`cs.CL,cs.LG`, `cs`).",
    )

    oai_pmh_url: str = Field("https://oaipmh.arxiv.org/oai", description="arXiv's OAI-PMH base URL.")
    arxiv_api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv's Atom API query URL.")
    http_timeout: float = Field(60.0, gt=0, description="Seconds before an outgoing request times out.")
    http_retries: int = Field(5, ge=0, description="Retries of a failed or throttled outgoing request.")
    http_max_retry_wait: float = Field(
        600.0, ge=0, description="Longest wait, in seconds, that a Retry-After header may impose."
    )
    http_retry_backoff: float = Field(
        2.0, ge=0, description="First pause, in seconds, before retrying a failed request; doubles each time."
    )
    arxiv_api_delay: float = Field(3.0, ge=0, description="Pause between arXiv API requests (arXiv asks for 3 s).")
    arxiv_pdf_url: str = Field(
        "https://export.arxiv.org/pdf", description="Where the worker downloads papers' PDFs for their thumbnails."
    )
    thumbnail_max_pdf_bytes: ByteSize = Field(
        ByteSize(50 * 2**20),
        gt=0,
        description="Largest PDF the worker downloads for a thumbnail; a larger one is refused.",
    )
    thumbnail_render_seconds: float = Field(
        30.0, gt=0, description="Seconds the worker gives a PDF's first page to render before refusing it."
    )
    thumbnail_render_memory: ByteSize = Field(
        ByteSize(512 * 2**20),
        ge=64 * 2**20,
        description="Address space of the process that renders a thumbnail; a PDF that needs more is refused.",
    )
    user_agent: str = Field("Paperboard/0.1 (+https://github.com/paperboard)", description="User-Agent sent to arXiv.")

    github_api_url: str = Field(
        "https://api.github.com", description="GitHub's REST API, asked for repositories' stars."
    )
    github_token: SecretStr | None = Field(
        None, description="A GitHub token sent as a Bearer header: 5,000 requests an hour instead of 60, 304s free."
    )
    github_stars_per_run: int = Field(
        50, ge=0, description="Repositories the worker asks GitHub about per round, oldest check first; 0 is none."
    )
    github_stars_max_age_hours: float = Field(
        24.0, gt=0, description="A repository's stars are checked again once they are this many hours old."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            if not Path(config_file).is_file():
                raise ConfigurationError(f"{CONFIG_FILE_VARIABLE}={config_file}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("digest_time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris or UTC") from None
        return name

    @field_validator("harvest_hour", mode="before")
    @classmethod
    def _empty_hour_is_off(cls, hour: object) -> object:
        # An environment variable cannot be None: `PAPERBOARD_HARVEST_HOUR=` is how one turns the harvest off.
        return None if hour == "" else hour

    @field_validator("smtp_url")
    @classmethod
    def _supported_smtp_url(cls, url: str | None) -> str | None:
        if url and url.split("://", 1)[0] not in ("smtp", "smtp+starttls", "smtps"):
            raise ValueError("PAPERBOARD_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
        return url or None

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ConfigurationError(
                "PAPERBOARD_SECRET_KEY must be set in production (generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return self

    @property
    def enforces_https(self) -> bool:
        """Whether every request is taken to have come over HTTPS: in production, unless `https_only` is off."""
        return self.env == "production" and self.https_only

    @cached_property
    def signing_key(self) -> bytes:
        """The secret key; in development a random one is kept in the data folder so sessions survive restarts."""
        if self.secret_key:
            return self.secret_key.encode()
        key_file = self.data_dir / "secret_key"
        if not key_file.is_file():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Written whole to a private file, then linked into place, which fails if another worker got there
            # first: every process ends up reading the same complete key.
            candidate = key_file.with_name(f".secret_key.{os.getpid()}")
            with open(candidate, "w", opener=_private_file) as out:
                out.write(secrets.token_urlsafe(32))
            with contextlib.suppress(FileExistsError):
                os.link(candidate, key_file)
            candidate.unlink()
        return key_file.read_text().strip().encode()

    @property
    def search_index_dir(self) -> Path:
        """Where the search index's generations are written; derived data, rebuilt from the database if lost."""
        return self.data_dir / "search-index"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'paperboard.sqlite3'}"


def load_settings() -> Settings:
    """The settings, or a ConfigurationError naming each setting that is not valid."""
    try:
        return Settings()
    except ValidationError as error:
        # The value given is left out: it may be a password inside a URL.
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(map(str, problem['loc'])).upper()}: {problem['msg']}" for problem in error.errors()
        )
        raise ConfigurationError(problems) from None
