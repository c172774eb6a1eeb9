"""Schemathesis, run as its command-line tool against a running Paperboard's /openapi.json: generated requests to
every API operation, valid and invalid, with a valid API token, must never get a server error, a status the schema
does not declare, or a body that breaks the schema."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from paperboard.clock import utcnow
from paperboard.community.api_tokens import create_token
from paperboard.db import Database
from paperboard.db.models import Comment
from tests.community.factories import add_comment, add_listing, add_paper, add_user
from tests.conftest import Cli, cli_environment, free_port, serving

# Each operation gets this many generated cases per phase: enough to try every parameter's bounds and types, and
# to keep the run to a minute or two on two cores.
EXAMPLES_PER_OPERATION = 40
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    )
)


def run_schemathesis(schema_url: str, token: str, report_dir: Path, config: Path | None = None) -> str:
    """`schemathesis run` against the schema; its report, after asserting it found nothing."""
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if schemathesis is None:
        pytest.fail("schemathesis is not installed beside this Python (pip install -e '.[test]')")
    result = subprocess.run(
        [
            schemathesis,
            *(["--config-file", str(config)] if config else []),
            "run",
            schema_url,
            "--include-path-regex",
            "^/api/",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "1",
            "--generation-database",
            "none",
            "--no-color",
            "--report-dir",
            str(report_dir),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        # Schemathesis keeps a cache of crashes in its working folder: the test's, not the repository.
        cwd=report_dir.parent,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert generated, result.stdout[-5000:]
    assert int(generated[1]) == int(generated[2]) > 0
    return result.stdout


def test_the_api_meets_its_openapi_schema(tmp_path: Path):
    data_dir = tmp_path / "data"
    # arXiv is a closed local port: a generated submission of an unknown paper fails at once, as "unreachable".
    cli = Cli(
        cli_environment(
            data_dir,
            api_requests_per_minute="0",
            api_token_requests_per_minute="0",
            arxiv_api_url=f"http://127.0.0.1:{free_port()}/api/query",
            arxiv_api_delay="0",
            http_retries="0",
        )
    )
    assert cli.run("init").returncode == 0
    database = Database(f"sqlite:///{data_dir / 'paperboard.sqlite3'}")
    writer = add_user(database, "writer")
    for number in range(1, 4):
        add_paper(database, f"2506.0000{number}", days_old=number)
        add_listing(database, f"2506.0000{number}", (utcnow() - timedelta(days=number)).date(), submitter=writer)
        add_comment(database, f"2506.0000{number}", writer)
    with database.session() as session:
        token = create_token(session, writer, "schemathesis").plaintext
        comment_id = session.scalars(select(Comment.id).order_by(Comment.id)).first()
    database.dispose()
    # The second run fixes the path to a stored paper and comment, so that generated queries and bodies reach the
    # code behind the 404s that random ids meet.
    known = tmp_path / "known-ids.toml"
    known.write_text(f'[parameters]\n"path.arxiv_id" = "2506.00001"\n"path.comment_id" = {comment_id}\n')

    with serving(cli, data_dir) as server:
        run_schemathesis(f"{server.base_url}/openapi.json", token, tmp_path / "random-ids")
        run_schemathesis(f"{server.base_url}/openapi.json", token, tmp_path / "known-ids", known)
