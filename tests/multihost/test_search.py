"""Search on web hosts that share nothing but PostgreSQL: a generation built on one machine is downloaded by every
host into its own empty data dir, and a paper imported through one host is found on the other within 5 s."""

from __future__ import annotations

from sqlalchemy import select

from paperboard.db.models import SearchIndexGeneration
from paperboard.search.index_store import IndexStore
from tests.catalog.test_jsonl import write_lines
from tests.cli.test_index import records
from tests.multihost.conftest import wait_for

FOUND_WITHIN_SECONDS = 5.0


def published_generations(cluster) -> list[str]:
    with cluster.database.read_session() as session:
        return list(
            session.scalars(
                select(SearchIndexGeneration.generation)
                .where(SearchIndexGeneration.published_at.is_not(None))
                .order_by(SearchIndexGeneration.published_at)
            )
        )


def local_generation(process) -> str | None:
    manifest = IndexStore(process.data_dir / "search-index").current_manifest()
    return None if manifest is None else manifest.generation


def found(host, word: str) -> list[str]:
    response = host.get("/api/papers/search", params={"q": word, "mode": "keyword"})
    assert response.status_code == 200, response.text
    return [paper["paper"]["id"] for paper in response.json()]


def paper(arxiv_id: str, word: str) -> dict:
    return {
        "arxiv_id": arxiv_id,
        "title": f"On {word} and its uses",
        "abstract": f"A study of {word}.",
        "authors": ["Ada Lovelace"],
        "categories": ["cs.CL"],
        "published": "2025-06-03",
    }


def test_a_paper_imported_through_one_host_is_found_on_the_other_within_5_seconds(cluster, hosts, workers, tmp_path):
    first, second = hosts(2)
    workers(2)
    path = write_lines(tmp_path / "papers.jsonl", [*records(20), paper("2507.00001", "zymurgy")])

    # On the first host's machine: its data dir, its build, published to the database.
    result = first.cli.run("import", str(path))
    assert result.returncode == 0, result.stderr

    waited = wait_for(lambda: found(second, "zymurgy") == ["2507.00001"], FOUND_WITHIN_SECONDS)
    print(f"found on the other host {waited:.2f} s after the import returned")
    # The second host searched a generation it downloaded, never one it built.
    assert local_generation(second) in published_generations(cluster)
    assert found(first, "zymurgy") == ["2507.00001"]


def test_a_host_with_an_empty_data_dir_downloads_the_newest_generation_and_follows_the_next(cluster, hosts, tmp_path):
    cli = cluster.cli()
    assert cli.run("import", str(write_lines(tmp_path / "one.jsonl", records(30)))).returncode == 0
    [built] = published_generations(cluster)

    [host] = hosts(1)
    assert len(found(host, "lattice")) == 6
    assert local_generation(host) == built

    for number, name in enumerate(("two", "three"), start=1):
        batch = write_lines(tmp_path / f"{name}.jsonl", [paper(f"2507.{number:05d}", f"zymurgy{name}")])
        assert cli.run("import", str(batch)).returncode == 0
        newest = published_generations(cluster)[-1]
        # Searched from the database at once, then from the new generation once downloaded in the background.
        assert found(host, f"zymurgy{name}") == [f"2507.{number:05d}"]
        wait_for(lambda newest=newest: found(host, "lattice") and local_generation(host) == newest, 5)

    # Only the last two generations stay in the database.
    assert len(published_generations(cluster)) == 2
