"""`paperboard subscribers import|export` as real processes: a summary, bad rows named by line with exit status 1,
files that cannot be read refused whole, and an export that another site imports back as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import Cli, cli_environment

GOOD_AND_BAD = (
    "email,frequency,categories,keywords\n"
    'ada@example.org,weekly,cs.CL cs.LG,"graph neural networks, retrieval"\n'
    "not-an-address,daily,,\n"
    "bob@example.org,monthly,,\n"
    "cy@example.org,,,\n"
)


def initialised(cli: Cli) -> Cli:
    result = cli.run("init")
    assert result.returncode == 0, result.stderr
    return cli


def stored(cli: Cli) -> list[tuple[str, str, str, str, str]]:
    path = Path(cli.env["PAPERBOARD_DATA_DIR"]) / "paperboard.sqlite3"
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT email, frequency, categories, keywords, status FROM subscribers ORDER BY email"
        ).fetchall()


def test_import_names_bad_rows_keeps_good_ones_and_exits_non_zero(cli, tmp_path):
    initialised(cli)
    path = tmp_path / "list.csv"
    path.write_text(GOOD_AND_BAD)

    result = cli.run("subscribers", "import", str(path))

    assert result.returncode == 1
    assert "skipped line 3: not-an-address: An email address must have an @-sign." in result.stderr
    assert "skipped line 4: bob@example.org: choose daily or weekly digests" in result.stderr
    assert f"{path}: 2 imported, 0 updated, 0 unchanged; 2 skipped" in result.stdout
    assert "2 bad row(s) skipped; every good row was stored" in result.stderr
    assert "Traceback" not in result.stderr
    assert stored(cli) == [
        ("ada@example.org", "weekly", '["cs.CL", "cs.LG"]', '["graph neural networks", "retrieval"]', "active"),
        ("cy@example.org", "daily", "[]", "[]", "active"),
    ]

    # From standard input: one address is updated, one is new, one is as it was; nothing is added twice.
    again = cli.run(
        "subscribers",
        "import",
        "-",
        input="email,frequency\nada@example.org,daily\ncy@example.org,daily\nbob@example.org,weekly\n",
    )

    assert again.returncode == 0, again.stderr
    assert "-: 1 imported, 1 updated, 1 unchanged; 0 skipped" in again.stdout
    assert len(stored(cli)) == 3


def test_files_that_cannot_be_read_are_refused_and_nothing_is_stored(cli, tmp_path):
    initialised(cli)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("email\nada@example.org\nrené@example.org\n".encode("latin-1"))
    no_header = tmp_path / "no-header.csv"
    no_header.write_text("ada@example.org,daily,,\n")

    not_utf8 = cli.run("subscribers", "import", str(latin1))
    headless = cli.run("subscribers", "import", str(no_header))

    assert not_utf8.returncode == 1
    assert f"{latin1}:3: not UTF-8 text; save the file as CSV in UTF-8 (nothing was imported)" in not_utf8.stderr
    assert headless.returncode == 1
    assert "the first line must name the columns, among email, frequency, categories, keywords, status" in (
        " ".join(headless.stderr.split())
    )
    assert stored(cli) == []


def test_an_export_imports_back_into_another_site_as_it_was(cli, tmp_path):
    initialised(cli)
    # Saved by a spreadsheet: a byte order mark, CRLF line ends, columns in another order.
    source = tmp_path / "from-a-spreadsheet.csv"
    source.write_bytes(
        "\ufeffkeywords,email,categories,frequency\r\n"
        '"sparse attention, Zoë\'s method",ada@example.org,cs.CL,weekly\r\n'
        ",bob@example.org,hep-th math,daily\r\n".encode()
    )
    assert cli.run("subscribers", "import", str(source)).returncode == 0

    exported = cli.run("subscribers", "export", str(tmp_path / "export.csv"))

    assert exported.returncode == 0, exported.stderr
    assert f"Exported 2 subscribers to {tmp_path / 'export.csv'}" in exported.stderr
    text = (tmp_path / "export.csv").read_text(encoding="utf-8")
    assert text.splitlines() == [
        "email,frequency,categories,keywords,status",
        'ada@example.org,weekly,cs.CL,"sparse attention, Zoë\'s method",active',
        "bob@example.org,daily,hep-th math,,active",
    ]

    other = initialised(Cli(cli_environment(tmp_path / "other")))
    imported = other.run("subscribers", "import", str(tmp_path / "export.csv"))
    assert imported.returncode == 0, imported.stderr
    assert "2 imported" in imported.stdout
    to_stdout = other.run("subscribers", "export")
    assert to_stdout.stdout == text
    assert "Exported 2 subscribers" in to_stdout.stderr
