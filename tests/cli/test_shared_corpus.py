"""The real shared corpus through the real CLI: all 128,267 papers in, again with no change, out and back."""

import re

import pytest

from tests.conftest import Cli, cli_environment

pytestmark = pytest.mark.shared_data
CORPUS_PAPERS = 128_267


def test_the_shared_corpus_imports_completely_idempotently_and_round_trips(shared_data, tmp_path):
    cli = Cli(cli_environment(tmp_path / "first"))
    assert cli.run("init").returncode == 0
    corpus = shared_data / "papers.jsonl.gz"

    first = cli.run("import", str(corpus), timeout=900)
    assert first.returncode == 0, first.stderr
    assert f"{CORPUS_PAPERS:,} new, 0 updated, 0 unchanged; 0 skipped" in first.stdout

    again = cli.run("import", str(corpus), timeout=900)
    assert again.returncode == 0, again.stderr
    assert f"0 new, 0 updated, {CORPUS_PAPERS:,} unchanged; 0 skipped" in again.stdout

    stats = cli.run("stats")
    assert re.search(rf"^{CORPUS_PAPERS:,} papers$", stats.stdout, re.MULTILINE)

    exported = tmp_path / "export-1.jsonl.gz"
    assert cli.run("export", str(exported), timeout=900).returncode == 0

    fresh = Cli(cli_environment(tmp_path / "second"))
    assert fresh.run("init").returncode == 0
    reimported = fresh.run("import", str(exported), timeout=900)
    assert f"{CORPUS_PAPERS:,} new" in reimported.stdout, reimported.stderr
    exported_again = tmp_path / "export-2.jsonl.gz"
    assert fresh.run("export", str(exported_again), timeout=900).returncode == 0
    assert exported.read_bytes() == exported_again.read_bytes()
