"""The real `paperboard` command: init, import, export and stats, run as separate processes."""

import gzip
import json
import zipfile

import pytest

from paperboard.db.schema import head_revision
from tests.catalog.test_jsonl import SHARED_FORMAT, write_lines
from tests.conftest import Cli, cli_environment


def test_init_creates_the_schema_and_is_safe_to_repeat(cli):
    first = cli.run("init")
    assert first.returncode == 0, first.stderr
    assert "Created the database" in first.stdout
    second = cli.run("init")
    assert second.returncode == 0, second.stderr
    assert f"up to date (schema {head_revision()})" in second.stdout


def test_commands_on_an_uninitialised_database_say_to_run_init(cli):
    result = cli.run("stats")
    assert result.returncode == 1
    assert "has no schema yet: run `paperboard init`" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unsupported_database_url_is_a_configuration_error(tmp_path):
    cli = Cli(cli_environment(tmp_path, "mysql://localhost/papers"))
    result = cli.run("init")
    assert result.returncode == 2
    assert "unsupported database 'mysql'" in result.stderr


def test_production_mode_refuses_to_run_without_a_secret_key(tmp_path):
    cli = Cli(cli_environment(tmp_path, env="production"))
    result = cli.run("init")
    assert result.returncode == 2
    assert "PAPERBOARD_SECRET_KEY must be set in production" in result.stderr
    cli.env["PAPERBOARD_SECRET_KEY"] = "a-long-random-secret"
    assert cli.run("init").returncode == 0


def test_import_names_bad_lines_keeps_good_ones_and_exits_non_zero(cli, tmp_path):
    cli.run("init")
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            {**SHARED_FORMAT, "arxiv_id": "2405.00001"},
            "{truncated",
            {**SHARED_FORMAT, "arxiv_id": "2405.00002", "title": ""},
            {**SHARED_FORMAT, "arxiv_id": "2405.00003"},
        ],
    )
    result = cli.run("import", str(path))
    assert result.returncode == 1
    assert f"skipped {path}:2: bad JSON" in result.stderr
    assert f"skipped {path}:3: title: missing" in result.stderr
    assert "2 new, 0 updated, 0 unchanged; 2 skipped" in result.stdout
    assert "2 bad line(s) skipped; every good record was stored" in result.stderr
    again = cli.run("import", str(path))
    assert "0 new, 0 updated, 2 unchanged" in again.stdout


def test_import_skips_records_holding_nul_or_other_forbidden_characters_and_keeps_the_rest(database_url, tmp_path):
    """On PostgreSQL a NUL in a title aborted the import with a traceback, losing the good lines of its batch; on
    SQLite it was stored, and came out raw in the BibTeX exports."""
    cli = Cli(cli_environment(tmp_path / "data", database_url))
    assert cli.run("init").returncode == 0
    path = write_lines(
        tmp_path / "hostile.jsonl",
        [
            {**SHARED_FORMAT, "arxiv_id": "2405.00001"},
            {**SHARED_FORMAT, "arxiv_id": "2405.00002", "title": "Nul\u0000led"},
            {**SHARED_FORMAT, "arxiv_id": "2405.00003", "authors": ["Ann", "B\u0000b"]},
            {**SHARED_FORMAT, "arxiv_id": "2405.00004", "abstract": "An escape \u001b[2J sequence."},
            {**SHARED_FORMAT, "arxiv_id": "2405.00005", "comment": "Half a pair: \ud800"},
            {**SHARED_FORMAT, "arxiv_id": "2405.00006"},
        ],
    )
    result = cli.run("import", str(path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{path}:2: title: holds a NUL character (U+0000) at position 4" in result.stderr
    assert f"{path}:3: authors: holds a NUL character (U+0000) at position 2" in result.stderr
    assert f"{path}:4: abstract: holds a control character (U+001B) at position 11" in result.stderr
    assert f"{path}:5: comment: holds a lone surrogate (U+D800) at position 14" in result.stderr
    assert "2 new, 0 updated, 0 unchanged; 4 skipped" in result.stdout
    exported = cli.run("export", "-")
    assert [json.loads(line)["arxiv_id"] for line in exported.stdout.splitlines()] == ["2405.00001", "2405.00006"]


def _zip_archive(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("papers.jsonl", json.dumps(SHARED_FORMAT))


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("nope.jsonl", lambda path: None, "{path}: no such file"),
        ("folder", lambda path: path.mkdir(), "{path} is a folder, not a file: name the files in it"),
        (
            "papers.jsonl.gz",
            lambda path: path.write_text("arxiv_id,title\n2405.00001,A title\n"),
            "{path} is not gzip-compressed though its name ends in .gz, and its first line is not JSON",
        ),
        ("papers.zip", _zip_archive, "{path} is a zip archive; Paperboard reads JSON Lines, plain or gzip-compressed"),
        ("papers.jsonl", lambda path: path.write_bytes(b"\x00\x01\x02 binary"), "{path} is not a text file"),
    ],
)
def test_import_says_what_is_wrong_with_a_file_it_cannot_read_and_imports_nothing(cli, tmp_path, name, make, message):
    cli.run("init")
    good = write_lines(tmp_path / "good.jsonl", [SHARED_FORMAT])
    path = tmp_path / name
    make(path)
    result = cli.run("import", str(good), str(path))
    assert result.returncode == 1
    assert f"error: {message.format(path=path)}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert "0 papers" in cli.run("stats").stdout


def test_a_plain_file_named_gz_still_imports(cli, tmp_path):
    cli.run("init")
    path = tmp_path / "papers.jsonl.gz"
    path.write_text(json.dumps(SHARED_FORMAT) + "\n")
    result = cli.run("import", str(path))
    assert result.returncode == 0, result.stderr
    assert "1 new" in result.stdout


def test_an_import_that_changes_nothing_does_not_rebuild_the_search_index(cli, tmp_path):
    cli.run("init")
    path = write_lines(tmp_path / "papers.jsonl", [{**SHARED_FORMAT, "arxiv_id": f"2405.0000{n}"} for n in range(3)])
    first = cli.run("import", str(path))
    assert "Search index: 3 papers" in first.stderr
    pointer = tmp_path / "data" / "search-index" / "current.json"
    built = pointer.read_bytes(), pointer.stat().st_mtime_ns

    again = cli.run("import", str(path))
    assert again.returncode == 0, again.stderr
    assert "0 new, 0 updated, 3 unchanged" in again.stdout
    assert "Search index: up to date, nothing changed since it was built" in again.stderr
    assert (pointer.read_bytes(), pointer.stat().st_mtime_ns) == built

    write_lines(path, [{**SHARED_FORMAT, "arxiv_id": "2405.00009"}])
    changed = cli.run("import", str(path))
    assert "Search index: 4 papers" in changed.stderr
    assert pointer.read_bytes() != built[0]


def test_export_import_export_round_trip_through_the_cli(cli, tmp_path):
    cli.run("init")
    source = write_lines(
        tmp_path / "in.jsonl.gz",
        [{**SHARED_FORMAT, "arxiv_id": f"2405.{n:05d}", "categories": ["cs.CL"] if n % 2 else []} for n in range(50)],
    )
    assert cli.run("import", str(source)).returncode == 0
    first = tmp_path / "first.jsonl"
    result = cli.run("export", str(first))
    assert result.returncode == 0, result.stderr
    assert "Exported 50 papers" in result.stderr
    other = Cli(cli_environment(tmp_path / "other"))
    other.run("init")
    assert other.run("import", str(first)).returncode == 0
    second = other.run("export", "-")
    assert second.returncode == 0
    assert second.stdout == first.read_text()
    lines = [json.loads(line) for line in second.stdout.splitlines()]
    assert len(lines) == 50 and lines[0]["published"] == "2024-05-23T00:00:00Z"


def test_stats_prints_counts(cli, tmp_path):
    cli.run("init")
    path = tmp_path / "papers.jsonl.gz"
    with gzip.open(path, "wt") as out:
        for n, (category, day) in enumerate(
            [("cs.CL", "2025-05-02"), ("cs.CL", "2025-06-01"), ("hep-th", "2025-06-03")]
        ):
            out.write(
                json.dumps({**SHARED_FORMAT, "arxiv_id": f"2506.0000{n}", "categories": [category], "published": day})
                + "\n"
            )
    cli.run("import", str(path))
    result = cli.run("stats")
    assert result.returncode == 0
    assert "3 papers" in result.stdout
    rows = [line.split("│")[1:3] for line in result.stdout.splitlines() if line.count("│") >= 3]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert ["cs.CL", "2"] in cells and ["hep-th", "1"] in cells
    assert ["2025-05", "1"] in cells and ["2025-06", "2"] in cells
