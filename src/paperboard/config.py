"""Settings, read from `PAPERBOARD_*` environment variables and an optional TOML file.

Every field here is documented in docs/configuration.md; a test fails when one is not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, model_validator
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
    user_agent: str = Field("Paperboard/0.1 (+https://github.com/paperboard)", description="User-Agent sent to arXiv.")

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

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ConfigurationError(
                "PAPERBOARD_SECRET_KEY must be set in production (generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'paperboard.sqlite3'}"


def load_settings() -> Settings:
    return Settings()
