"""`paperboard import-hf-daily`, the real command: a small archive with bad lines, and the real shared archive."""

import gzip
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Listing
from paperboard.web.app import create_app
from tests.catalog.test_jsonl import SHARED_FORMAT, write_lines
from tests.community.test_hf_daily import ARCHIVE
from tests.conftest import Cli, cli_environment

HF_ROWS = 9_881
HF_PAPERS = 9_877
HF_DAYS = 580


def test_bad_lines_are_named_the_good_ones_kept_and_the_exit_status_is_one(cli, tmp_path):
    assert cli.run("init").returncode == 0
    papers = write_lines(
        tmp_path / "papers.jsonl",
        [{**SHARED_FORMAT, "arxiv_id": f"2506.0000{number}", "published": "2025-05-30"} for number in range(1, 6)],
    )
    assert cli.run("import", str(papers)).returncode == 0
    archive = tmp_path / "archive.jsonl.gz"
    archive.write_bytes(gzip.compress(ARCHIVE.read_bytes()))

    first = cli.run("import-hf-daily", str(archive))

    assert first.returncode == 1
    assert f"skipped {archive}:4: bad JSON" in first.stderr
    assert f"skipped {archive}:9: 2506.09999 is not in the catalogue" in first.stderr
    assert "7 line(s) skipped; every good line was stored" in first.stderr
    assert "15 lines; listings: 5 new, 2 updated, 0 unchanged;" in first.stdout
    assert "7 skipped" in first.stdout

    again = cli.run("import-hf-daily", str(archive))

    assert again.returncode == 1
    assert (
        "listings: 0 new, 0 updated, 7 unchanged; 0 papers given code or project links, "
        "0 the archive's keywords; 7 skipped" in again.stdout
    )


def test_a_missing_file_is_a_clear_error(cli, tmp_path):
    assert cli.run("init").returncode == 0

    result = cli.run("import-hf-daily", str(tmp_path / "absent.jsonl.gz"))

    assert result.returncode == 1
    assert f"error: {tmp_path / 'absent.jsonl.gz'}: no such file" in result.stderr


@pytest.mark.shared_data
def test_the_real_archive_imports_completely_and_idempotently(shared_data, tmp_path):
    """Only the archive's papers are taken from the corpus: the whole corpus has a test of its own."""
    archive = shared_data / "hf_daily.jsonl.gz"
    with gzip.open(archive, "rt", encoding="utf-8") as lines:
        listed = {json.loads(line)["arxiv_id"] for line in lines}
    papers = tmp_path / "hf_papers.jsonl"
    with gzip.open(shared_data / "papers.jsonl.gz", "rt", encoding="utf-8") as corpus, open(papers, "w") as out:
        out.writelines(line for line in corpus if json.loads(line)["arxiv_id"] in listed)
    data_dir = tmp_path / "data"
    cli = Cli(cli_environment(data_dir))
    assert cli.run("init").returncode == 0
    assert cli.run("import", str(papers), timeout=600).returncode == 0

    first = cli.run("import-hf-daily", str(archive), timeout=600)
    again = cli.run("import-hf-daily", str(archive), timeout=600)

    assert first.returncode == 0, first.stderr
    # Four papers were listed on two days each: their second line merges into the first listing.
    assert f"{HF_ROWS:,} lines; listings: {HF_PAPERS:,} new, 4 updated, 0 unchanged;" in first.stdout
    assert first.stdout.rstrip().endswith("0 skipped")
    assert again.returncode == 0, again.stderr
    assert f"listings: 0 new, 0 updated, {HF_ROWS:,} unchanged; 0 papers given code or project links" in again.stdout
    settings = Settings(data_dir=data_dir)
    database = Database(settings.resolved_database_url)
    with database.read_session() as session:
        listings, days, last_day = session.execute(
            select(func.count(), func.count(func.distinct(Listing.day)), func.max(Listing.day))
        ).one()
    database.dispose()
    assert (listings, days, last_day) == (HF_PAPERS, HF_DAYS, date(2026, 8, 21))
    with TestClient(create_app(settings)) as client:
        home = client.get("/")
    assert home.status_code == 200
    assert "21 Aug 2026" in home.text and home.text.count('<article class="paper listed-paper"') > 10
