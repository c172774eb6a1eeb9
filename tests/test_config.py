"""Settings: environment, optional file, production rules, and documentation of every setting."""

import re

import pytest

from paperboard.config import ConfigurationError, Settings, load_settings
from tests.conftest import REPOSITORY


def test_defaults_put_sqlite_in_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERBOARD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PAPERBOARD_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'paperboard.sqlite3'}"


def test_environment_variables_override_the_file(monkeypatch, tmp_path):
    config = tmp_path / "paperboard.toml"
    config.write_text('http_timeout = 12.5\noai_pmh_url = "http://from-file/oai"\n')
    monkeypatch.setenv("PAPERBOARD_CONFIG", str(config))
    monkeypatch.setenv("PAPERBOARD_OAI_PMH_URL", "http://from-env/oai")
    settings = Settings()
    assert settings.http_timeout == 12.5
    assert settings.oai_pmh_url == "http://from-env/oai"


def test_a_missing_config_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERBOARD_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigurationError, match="no such file"):
        Settings()


def test_production_needs_a_secret_key(monkeypatch):
    monkeypatch.delenv("PAPERBOARD_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings(env="production")
    assert Settings(env="production", secret_key="s3cret").secret_key == "s3cret"


def test_a_setting_out_of_range_is_named_without_its_value(monkeypatch):
    monkeypatch.setenv("PAPERBOARD_EMBEDDING_PROCESSES", "-1")
    monkeypatch.setenv("PAPERBOARD_SMTP_URL", "http://user:hunter2@mail.example.org")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "PAPERBOARD_EMBEDDING_PROCESSES: Input should be greater than or equal to 0" in message
    assert "PAPERBOARD_SMTP_URL: Value error, PAPERBOARD_SMTP_URL must start with smtp://" in message
    assert "hunter2" not in message


def test_every_setting_is_documented():
    documentation = (REPOSITORY / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`(PAPERBOARD_[A-Z_]+)`", documentation))
    expected = {f"PAPERBOARD_{name.upper()}" for name in Settings.model_fields} | {"PAPERBOARD_CONFIG"}
    assert expected - documented == set(), "settings missing from docs/configuration.md"
    assert documented - expected == set(), "docs/configuration.md describes settings that do not exist"
