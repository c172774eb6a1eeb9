"""The systemd units of deploy/ run commands the real CLI accepts, and the web and worker units run the commands the
multi-host harness runs; the example settings file sets only settings Paperboard has."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from paperboard.config import ENV_PREFIX, Settings
from tests.conftest import REPOSITORY, Cli, cli_environment
from tests.multihost.conftest import WORKER_COMMAND, serve_command

DEPLOY = REPOSITORY / "deploy"
PROGRAM = "/opt/paperboard/.venv/bin/paperboard"
EXEC_KEYS = {"ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop"}


def commands(unit: Path) -> list[list[str]]:
    """The arguments of each Exec line of a unit, split as systemd splits them (quotes, no shell)."""
    lines = [line.partition("=") for line in unit.read_text().splitlines() if not line.startswith("#")]
    return [shlex.split(value) for key, _, value in lines if key.strip() in EXEC_KEYS]


def options(arguments: list[str]) -> list[str]:
    return sorted(argument for argument in arguments if argument.startswith("--"))


@pytest.mark.parametrize("unit", sorted(DEPLOY.glob("*.service")), ids=lambda path: path.name)
def test_each_unit_runs_a_command_the_cli_accepts(unit, tmp_path):
    cli = Cli(cli_environment(tmp_path / "data"))
    found = commands(unit)
    assert found, f"{unit.name} runs nothing"
    for program, *arguments in found:
        assert program == PROGRAM
        # Click reads every option before it answers --help: an option the command lacks fails here.
        result = cli.run(*arguments, "--help")
        assert result.returncode == 0, f"{shlex.join(arguments)}: {result.stderr}"


def test_the_web_and_worker_units_run_what_the_harness_runs():
    [[_, *web]] = commands(DEPLOY / "paperboard-web.service")
    [[_, *worker]] = commands(DEPLOY / "paperboard-worker.service")

    harness = serve_command(port=8000, workers=2)
    assert web[0] == harness[0] and options(web) == options(harness)
    assert worker == WORKER_COMMAND


def test_the_example_settings_are_settings():
    names = [
        line.partition("=")[0]
        for line in (DEPLOY / "paperboard.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    unknown = [name for name in names if name.removeprefix(ENV_PREFIX).lower() not in Settings.model_fields]
    assert names and not unknown
