"""`paperboard user ...` as real processes: creating accounts, changing a role, and suspending and reinstating an
account of any role (the command line answers to no role), which signs it out everywhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from paperboard.community.accounts import user_by_name
from paperboard.community.sessions import start_session, user_for_token
from paperboard.db import Database
from tests.conftest import PASSWORD, Cli


def database_of(cli: Cli) -> Database:
    return Database(f"sqlite:///{Path(cli.env['PAPERBOARD_DATA_DIR']) / 'paperboard.sqlite3'}")


def created(cli: Cli, username: str, *flags: str) -> None:
    assert cli.run("init").returncode == 0
    result = cli.run("user", "create", username, *flags, "--password-stdin", input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Created {'admin' if flags else 'user'} {username}."


def test_suspending_from_the_command_line_signs_out_even_an_administrator_and_reinstating_undoes_it(cli):
    created(cli, "root", "--admin")
    database = database_of(cli)
    with database.session() as session:
        token = start_session(session, user_by_name(session, "root"), timedelta(days=1))

    suspended = cli.run("user", "suspend", "root")

    assert suspended.returncode == 0, suspended.stderr
    assert suspended.stdout.strip() == "root is suspended and signed out everywhere."
    with database.read_session() as session:
        assert user_by_name(session, "root").suspended_at is not None
        assert user_for_token(session, token) is None

    reinstated = cli.run("user", "reinstate", "root")

    assert reinstated.returncode == 0, reinstated.stderr
    assert reinstated.stdout.strip() == "root may sign in again."
    with database.read_session() as session:
        assert user_by_name(session, "root").suspended_at is None
    database.dispose()


def test_user_commands_name_a_missing_account_and_change_nothing(cli):
    created(cli, "ada")

    for command in ("suspend", "reinstate"):
        result = cli.run("user", command, "nobody")
        assert result.returncode == 1
        assert "there is no user named nobody" in result.stderr
        assert "Traceback" not in result.stderr
    role = cli.run("user", "role", "ada", "moderator")
    assert (role.returncode, role.stdout.strip()) == (0, "ada is now moderator.")


def test_a_display_name_holding_a_control_character_is_refused(cli):
    """The command line is a way in too: an escape sequence in a display name would be shown on every page."""
    assert cli.run("init").returncode == 0

    result = cli.run("user", "create", "ann", "--display-name", "Ann\x1b[2J", "--password-stdin", input=PASSWORD + "\n")

    assert result.returncode == 2
    assert "holds a control character (U+001B) at position 4" in result.stderr
    database = database_of(cli)
    with database.read_session() as session:
        assert user_by_name(session, "ann") is None
    database.dispose()
