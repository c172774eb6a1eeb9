"""`huggingface_hub.HfApi(endpoint=...)`, installed from PyPI, drives collections of papers on a running Paperboard
(`paperboard serve`), on SQLite and on PostgreSQL: every collection method of the client, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from paperboard.catalog.record import build_record
from paperboard.catalog.store import upsert_papers
from paperboard.community import accounts
from paperboard.community.api_tokens import create_token
from paperboard.db import Database
from paperboard.personal.collections import collection_paper_ids
from tests.conftest import PASSWORD, Cli, LiveServer, cli_environment, serving

PAPERS = [f"2506.{number:05d}" for number in range(1, 5)]


@dataclass
class Site:
    server: LiveServer
    database: Database
    tokens: dict[str, str]
    user_ids: dict[str, int]

    def api(self, user: str | None) -> HfApi:
        # token=False: an anonymous call sends no token, not even one the machine may have saved.
        return HfApi(endpoint=self.server.base_url, token=self.tokens[user] if user else False)


@pytest.fixture
def site(database: Database, tmp_path: Path) -> Iterator[Site]:
    records = [
        build_record(
            arxiv_id=arxiv_id,
            title=f"Paper number {number}",
            abstract="An abstract.",
            authors=["Ada Lovelace"],
            categories=["cs.CL"],
            published_at=datetime(2025, 6, 1) + timedelta(days=number),
        )
        for number, arxiv_id in enumerate(PAPERS)
    ]
    password_hash = accounts.hash_password(PASSWORD)
    tokens, user_ids = {}, {}
    with database.session() as session:
        upsert_papers(session, records)
        for name in ("ann", "bob"):
            user = accounts.create_user(session, name, password_hash)
            tokens[name] = create_token(session, user, "hf client").plaintext
            user_ids[name] = user.id
    cli = Cli(cli_environment(tmp_path / "data", database.url.render_as_string(hide_password=False)))
    with serving(cli, tmp_path / "data") as server:
        yield Site(server, database, tokens, user_ids)


def status_of(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    return error.value.response.status_code


def test_every_collection_method_of_the_client_works_for_papers(site: Site) -> None:
    ann = site.api("ann")

    # No namespace: the client asks /api/whoami-v2 whose token it holds.
    created = ann.create_collection("Reading list", description="Papers for Friday")
    slug = created.slug
    assert slug.startswith("ann/reading-list-") and len(slug.rsplit("-", 1)[1]) == 24
    assert (created.title, created.description, created.private, created.items) == (
        "Reading list",
        "Papers for Friday",
        False,
        [],
    )
    assert created.owner["name"] == "ann"
    assert created.url == f"{site.server.base_url}/collections/{slug}"
    assert ann.create_collection("reading LIST", exists_ok=True).slug == slug
    with pytest.raises(HfHubHTTPError) as duplicate:
        ann.create_collection("Reading list")
    assert status_of(duplicate) == 409

    ann.add_collection_item(slug, PAPERS[0], "paper", note="Start here")
    ann.add_collection_item(slug, f"https://arxiv.org/abs/{PAPERS[1]}v2", "paper")
    filled = ann.add_collection_item(slug, PAPERS[2], "paper", note="Then this")
    assert [(item.item_id, item.item_type, item.position, item.note) for item in filled.items] == [
        (PAPERS[0], "paper", 0, "Start here"),
        (PAPERS[1], "paper", 1, None),
        (PAPERS[2], "paper", 2, "Then this"),
    ]
    assert ann.add_collection_item(slug, PAPERS[0], "paper", exists_ok=True).slug == slug
    with pytest.raises(HfHubHTTPError) as again:
        ann.add_collection_item(slug, PAPERS[0], "paper")
    assert status_of(again) == 409
    with pytest.raises(HfHubHTTPError) as model:
        ann.add_collection_item(slug, "openai-community/gpt2", "model")
    assert status_of(model) == 400 and "papers only" in model.value.response.json()["error"]
    with pytest.raises(HfHubHTTPError) as unknown:
        ann.add_collection_item(slug, "2507.09999", "paper")
    assert status_of(unknown) == 404

    last = filled.items[2].item_object_id
    ann.update_collection_item(slug, last, position=0, note="Best of the lot")
    ann.delete_collection_item(slug, filled.items[0].item_object_id)
    ann.delete_collection_item(slug, filled.items[0].item_object_id, missing_ok=True)
    read = ann.get_collection(slug)
    assert [(item.item_id, item.position, item.note) for item in read.items] == [
        (PAPERS[2], 0, "Best of the lot"),
        (PAPERS[1], 1, None),
    ]
    # Saved comes first in ann's list.
    assert read.position == 1

    updated = ann.update_collection_metadata(slug, title="Reading group", description="Weekly", private=True)
    assert (updated.title, updated.description, updated.private) == ("Reading group", "Weekly", True)
    assert updated.slug.startswith("ann/reading-group-")
    # The address written before the rename still leads to the collection: it is found by its id.
    assert ann.get_collection(slug).title == "Reading group"
    with pytest.raises(HfHubHTTPError) as theme:
        ann.update_collection_metadata(slug, theme="green")
    assert status_of(theme) == 400

    # What the ranker reads: every paper of the reader's collections, with the collection's title.
    with site.database.read_session() as session:
        holding = collection_paper_ids(session, site.user_ids["ann"])
    assert sorted(titles for titles in holding.values()) == [[("Reading group", False)]] * 2

    ann.delete_collection(updated.slug)
    with pytest.raises(HfHubHTTPError) as gone:
        ann.get_collection(slug)
    assert status_of(gone) == 404
    ann.delete_collection(slug, missing_ok=True)


def test_list_collections_filters_by_owner_and_paper_and_pages(site: Site) -> None:
    ann, bob = site.api("ann"), site.api("bob")
    slugs = []
    for number in range(6):
        collection = ann.create_collection(f"Topic {number}", private=number == 5)
        ann.add_collection_item(collection.slug, PAPERS[number % 2], "paper")
        slugs.append(collection.slug)
    theirs = bob.create_collection("Bob's picks")
    bob.add_collection_item(theirs.slug, PAPERS[0], "paper")

    everything = [c.slug for c in bob.list_collections(owner="ann")]
    assert everything == list(reversed(slugs[:5]))
    # Pages are chained by a Link header, as Hugging Face's are (the client follows it).
    pages, url = [], site.server.url("/api/collections?owner=ann&limit=2")
    while url:
        response = httpx.get(url)
        pages.append([c["slug"] for c in response.json()])
        url = response.links.get("next", {}).get("url")
    assert pages == [everything[:2], everything[2:4], everything[4:]]
    holding = {c.slug for c in bob.list_collections(item=f"papers/{PAPERS[0]}")}
    assert holding == {slugs[0], slugs[2], slugs[4], theirs.slug}
    assert {c.slug for c in ann.list_collections(owner="ann", item=f"papers/{PAPERS[1]}")} == {
        slugs[1],
        slugs[3],
        slugs[5],
    }
    assert [c.slug for c in ann.list_collections(owner=["ann", "bob"], limit=3)] == [theirs.slug, slugs[5], slugs[4]]
    with pytest.raises(HfHubHTTPError) as models:
        list(bob.list_collections(item="models/openai-community/gpt2"))
    assert status_of(models) == 400
    with pytest.raises(HfHubHTTPError) as not_hers:
        bob.delete_collection(slugs[0])
    assert status_of(not_hers) == 403
