"""`paperboard token ...` as real processes, on each backend: a token made on the command line works against the
API of a running server, as the account page's do, until `token revoke`; unknown accounts and tokens are named."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import select

from paperboard.catalog.store import upsert_papers
from paperboard.db import Database
from paperboard.db.models import ApiToken, User, Vote
from tests.catalog.factories import make_record
from tests.conftest import Cli, cli_environment, serving

TOKEN = re.compile(r"pb_[A-Za-z0-9_-]{43}")


def test_a_token_from_the_command_line_works_against_the_api_until_revoked(database_url, tmp_path: Path):
    cli = Cli(cli_environment(tmp_path / "data", database_url))
    with serving(cli, tmp_path / "data") as server:
        server.create_user("ada")
        database = Database(database_url)
        with database.session() as session:
            upsert_papers(session, [make_record("2506.00001")])

        created = cli.run("token", "create", "ada", "--name", "paper bot")

        assert created.returncode == 0, created.stderr
        # The token alone on standard output, for `TOKEN=$(paperboard token create ada)`; the words on standard error.
        token = created.stdout.strip()
        assert TOKEN.fullmatch(token), created.stdout
        assert "Created the API token 'paper bot' (id 1) for ada; it is shown only this once." in created.stderr
        upvote = server.url("/api/papers/2506.00001/upvote")
        answer = httpx.post(upvote, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"upvotes": 1, "upvoted": True}
        with database.read_session() as session:
            assert session.scalars(select(User.username).join(Vote, Vote.user_id == User.id)).all() == ["ada"]

        # Without --name, each token gets a name of its own.
        second = cli.run("token", "create", "ada")
        third = cli.run("token", "create", "ada")
        assert second.returncode == 0 and third.returncode == 0, second.stderr + third.stderr
        assert len({second.stdout, third.stdout, created.stdout}) == 3
        listed = cli.run("token", "list", "ada")
        assert listed.returncode == 0, listed.stderr
        assert re.search(r"│ 1\s+│ paper bot\s+│", listed.stdout)
        assert re.search(r"│ 3\s+│ command line \(2\)\s+│", listed.stdout)
        assert re.search(r"│ 2\s+│ command line\s+│", listed.stdout)
        assert token not in listed.stdout

        revoked = cli.run("token", "revoke", "ada", "1")

        assert revoked.returncode == 0, revoked.stderr
        assert revoked.stdout.strip() == "Revoked the API token 'paper bot' of ada."
        refused = httpx.delete(upvote, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert refused.status_code == 401
        with database.read_session() as session:
            assert session.scalar(select(Vote.user_id)) is not None, "the refused request changed nothing"
            assert sorted(session.scalars(select(ApiToken.id))) == [2, 3]
        database.dispose()


def test_token_commands_name_a_missing_account_or_token_and_change_nothing(cli: Cli):
    assert cli.run("init").returncode == 0
    assert cli.run("user", "create", "ada", "--password-stdin", input="a long enough password\n").returncode == 0
    assert cli.run("token", "create", "ada", "--name", "bot").returncode == 0

    unknown_user = [cli.run("token", command, "nobody", *extra) for command, extra in (("create", ()), ("list", ()))]
    unknown_token = cli.run("token", "revoke", "ada", "99")
    same_name = cli.run("token", "create", "ada", "--name", "bot")

    for result in unknown_user:
        assert result.returncode == 1
        assert result.stderr.strip() == "error: there is no user named nobody"
        assert result.stdout == ""
    assert unknown_token.returncode == 1
    assert "error: ada has no API token 99; `paperboard token list ada` shows their tokens" in unknown_token.stderr
    assert same_name.returncode == 1 and same_name.stdout == ""
    assert "You already have a token named bot" in same_name.stderr
    assert "Traceback" not in unknown_token.stderr + same_name.stderr
    listed = cli.run("token", "list", "ada").stdout
    assert listed.count("│ bot") == 1


def test_a_suspended_account_gets_no_token(cli: Cli):
    assert cli.run("init").returncode == 0
    assert cli.run("user", "create", "ada", "--password-stdin", input="a long enough password\n").returncode == 0
    assert cli.run("user", "suspend", "ada").returncode == 0

    refused = cli.run("token", "create", "ada")

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "error: A suspended account cannot create API tokens." in refused.stderr
    assert cli.run("token", "list", "ada").stdout.strip() == "ada has no API tokens."
