"""Collections in the browser's terms, over HTTP against the app on each backend: the save button on every card,
"add to collection…", the reader's collections and a collection's page with its forms, public pages, feeds and
BibTeX, profiles, importing a library, and privacy (another account and anonymous visitors get 404 for a private
collection in pages, API, feeds and exports, and never see it listed)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from paperboard.community.accounts import user_by_name
from paperboard.community.api_tokens import create_token
from paperboard.db import Database
from paperboard.db.models import User
from paperboard.personal import collections as service
from tests.community.factories import add_listing
from tests.markup import main_of
from tests.web.conftest import csrf_from

PAPERS = [f"2506.{number:05d}" for number in range(1, 5)]


@pytest.fixture
def library(database: Database, make_paper, add_papers) -> Database:
    add_papers(database, *(make_paper(number) for number in range(1, 5)))
    return database


def collection_address(client: TestClient, title: str) -> str:
    """Create a collection through the form; the path of its page."""
    page = client.get("/collections")
    response = client.post(
        "/collections",
        data={"title": title, "description": f"About {title}", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def post_form(client: TestClient, path: str, page: str, **fields: str) -> str:
    """Post one of a page's forms as a browser would (with the page's CSRF token); the page it redirects to."""
    response = client.post(
        path, data={**fields, "csrf_token": csrf_from(client.get(page).text)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def item_ids(database: Database, path: str) -> list[str]:
    owner, slug = path.removeprefix("/collections/").split("/")
    with database.read_session() as session:
        view = service.collection_view(session, service.collection_at(session, owner, slug, None))
        return [entry.item.object_id for entry in view.items]


def titles_on(html: str) -> list[str]:
    return re.findall(r'class="paper-title">\s*<a href="[^"]+">([^<]+)</a>', html)


def test_the_save_button_of_every_card_toggles_saved(library, sign_in, client_for):
    add_listing(library, PAPERS[0], date.today())
    anonymous = client_for(library)
    assert "Sign in to save" in anonymous.get("/papers/recent").text
    client = sign_in(library, "ann")
    token = csrf_from(client.get("/papers/recent").text)

    # htmx swaps in the new button; the card pages (daily list, newest, paper page) all show it.
    swapped = client.post(
        f"/papers/{PAPERS[1]}/save", data={"action": "add", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 200
    assert 'aria-pressed="true"' in swapped.text and ">Saved<" in swapped.text
    client.post(f"/papers/{PAPERS[0]}/save", data={"action": "add", "csrf_token": token}, follow_redirects=False)
    pages = (("/papers/recent", PAPERS[1]), ("/", PAPERS[0]), (f"/papers/{PAPERS[1]}", PAPERS[1]))
    for page, arxiv_id in (*pages, ("/search?q=paper+number", PAPERS[1])):
        html = client.get(page).text
        button = re.search(rf'<form class="save" method="post" action="/papers/{arxiv_id}/save".*?</form>', html, re.S)
        assert button is not None, page
        assert 'aria-pressed="true"' in button.group(0), page
    saved = client.get("/collections").text
    saved_path = re.search(r'<a href="(/collections/ann/saved-[0-9a-f]{24})">Saved</a>', saved).group(1)
    assert titles_on(client.get(saved_path).text) == ["Paper number 2", "Paper number 1"]

    removed = client.post(
        f"/papers/{PAPERS[1]}/save", data={"action": "remove", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert 'aria-pressed="false"' in removed.text
    assert titles_on(client.get(saved_path).text) == ["Paper number 1"]


def test_a_collection_is_made_filled_noted_reordered_renamed_and_deleted_through_its_forms(library, sign_in):
    client = sign_in(library, "ann")
    path = collection_address(client, "Reading group")
    assert re.fullmatch(r"/collections/ann/reading-group-[0-9a-f]{24}", path)
    for arxiv_id, note in ((PAPERS[0], "Start here"), (f"https://arxiv.org/abs/{PAPERS[1]}", ""), (PAPERS[2], "")):
        post_form(client, f"{path}/items", path, paper=arxiv_id, note=note)
    page = client.get(path).text
    assert titles_on(page) == ["Paper number 1", "Paper number 2", "Paper number 3"]
    assert '<p class="item-note"><span class="visually-hidden">Note: </span>Start here</p>' in page

    first, _, third = item_ids(library, path)
    post_form(client, f"{path}/items/{third}/move", path, position="0")
    post_form(client, f"{path}/items/{third}/note", path, note="Best of the lot")
    post_form(client, f"{path}/items/{first}/remove", path)
    page = client.get(path).text
    assert titles_on(page) == ["Paper number 3", "Paper number 2"]
    assert "Best of the lot" in page and "Start here" not in page

    # "Add to collection…" from a paper: every collection of the reader, with the state of each.
    add_page = client.get(f"/papers/{PAPERS[3]}/collections").text
    assert "Add to Reading group" in add_page and "Add to Saved" in add_page
    object_id = path.rsplit("-", 1)[1]
    post_form(
        client,
        f"/papers/{PAPERS[3]}/collections",
        f"/papers/{PAPERS[3]}/collections",
        collection=object_id,
        action="add",
        note="From the paper page",
    )
    assert "Remove from Reading group" in client.get(f"/papers/{PAPERS[3]}/collections").text

    renamed = post_form(client, f"{path}/edit", path, title="Friday papers", description="Weekly")
    assert renamed == path.replace("reading-group", "friday-papers")
    # The old address still leads there, and says where it is now.
    moved = client.get(path, follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == renamed

    same_title = client.post(
        "/collections", data={"title": "friday PAPERS", "csrf_token": csrf_from(client.get("/collections").text)}
    )
    assert same_title.status_code == 400 and "already have a collection titled" in same_title.text

    assert post_form(client, f"{renamed}/delete", renamed) == "/collections"
    assert client.get(renamed).status_code == 404


def test_a_public_collection_has_a_page_a_feed_and_bibtex_for_everyone(library, sign_in, client_for):
    client = sign_in(library, "ann")
    path = collection_address(client, "Sparse attention")
    post_form(client, f"{path}/items", path, paper=PAPERS[0], note="The first one")
    post_form(client, f"{path}/items", path, paper=PAPERS[1])
    owner, slug = path.removeprefix("/collections/").split("/")
    anonymous = client_for(library)

    page = anonymous.get(path)
    assert page.status_code == 200
    assert titles_on(page.text) == ["Paper number 1", "Paper number 2"]
    assert "The first one" in page.text and "Delete this collection" not in page.text
    feed = anonymous.get(f"/feeds/collections/{owner}/{slug}.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    # Newest addition first; the note leads the entry's summary.
    assert re.findall(r"<title>(Paper number \d)</title>", feed.text) == ["Paper number 2", "Paper number 1"]
    assert "The first one" in feed.text
    assert anonymous.get(f"/feeds/collections/{owner}/{slug}.rss").status_code == 200
    bibtex = anonymous.get(f"{path}.bib")
    assert bibtex.status_code == 200 and bibtex.headers["content-type"].startswith("application/x-bibtex")
    assert re.findall(r"eprint = \{([^}]+)\}", bibtex.text) == PAPERS[:2]
    profile = anonymous.get("/users/ann").text
    assert f'<a href="{path}">Sparse attention</a>' in profile


def test_importing_a_library_keeps_the_good_entries_and_names_the_others(library, sign_in):
    client = sign_in(library, "ann")
    path = collection_address(client, "My papers")
    pasted = "\n".join(
        [
            f"arXiv:{PAPERS[0]}v2",
            f"https://arxiv.org/pdf/{PAPERS[1]}",
            "not an id at all",
            "2507.09999",
            PAPERS[0],
        ]
    )
    page = client.post(
        f"{path}/import", data={"ids": pasted, "csrf_token": csrf_from(client.get(f"{path}/import").text)}
    )
    assert page.status_code == 200
    report = main_of(page.text)
    assert "Added 2 papers" in report
    assert "not added (1): 2507.09999" in report
    assert "not an id at all: is not an arXiv id or address" in report

    bibtex = (
        f"@article{{lovelace2025, title={{Paper}}, eprint={{{PAPERS[2]}}}, archivePrefix={{arXiv}}}}\n"
        "@misc{broken, title = {unclosed\n"
        f"@misc{{viaurl, url={{https://arxiv.org/abs/{PAPERS[3]}}}}}\n"
        "@book{nobook, title={A book}}\n"
        f"@misc{{again, journal={{arXiv preprint arXiv:{PAPERS[1]}}}}}\n"
    )
    page = client.post(
        f"{path}/import",
        data={"ids": "", "csrf_token": csrf_from(client.get(f"{path}/import").text)},
        files={"bibtex": ("library.bib", bibtex.encode(), "application/x-bibtex")},
    )
    report = main_of(page.text)
    assert "Added 2 papers; 1 was already there" in report
    assert "broken: is not valid BibTeX" in report
    assert "nobook: has no arXiv id" in report
    assert titles_on(client.get(path).text) == [f"Paper number {n}" for n in (1, 2, 3, 4)]


def test_importing_through_the_api(library, create_user, client_for):
    ann = create_user(library, "ann")
    with library.session() as session:
        token = create_token(session, ann, "script").plaintext
        collection = service.create_collection(session, ann.id, "Imported")
        slug = service.collection_slug(ann, collection)
    client = client_for(library)
    response = client.post(
        f"/api/collections/{slug}/import",
        json={"format": "ids", "text": f"{PAPERS[0]}\n2507.09999\nnonsense"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "added": [PAPERS[0]],
        "alreadyThere": [],
        "notInCatalogue": ["2507.09999"],
        "skipped": [{"label": "nonsense", "reason": "is not an arXiv id or address"}],
    }
    too_long = client.post(
        f"/api/collections/{slug}/import",
        json={"format": "ids", "text": "x" * 1_000_001},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert too_long.status_code in (400, 413)


def _private_collection(database: Database, owner: User) -> tuple[str, str]:
    with database.session() as session:
        collection = service.create_collection(session, owner.id, "Secret plans", private=True)
        service.add_paper(session, collection, PAPERS[0], note="hidden note")
        service.set_saved(session, owner.id, service.resolve_paper(session, PAPERS[1]), saved=True)
        return service.collection_slug(owner, collection), service.collection_slug(
            owner, service.saved_collection(session, owner.id)
        )


def test_private_collections_are_not_found_by_anyone_else(library, create_user, client_for, sign_in):
    ann = create_user(library, "ann")
    secret, saved = _private_collection(library, ann)
    bob = sign_in(library, "bob")
    with library.session() as session:
        bob_token = create_token(session, user_by_name(session, "bob"), "script").plaintext
        ann_token = create_token(session, user_by_name(session, "ann"), "script").plaintext
    anonymous = client_for(library)
    bearer = {"Authorization": f"Bearer {bob_token}"}

    for slug in (secret, saved):
        owner, page_slug = slug.split("/")
        addresses = [
            f"/collections/{slug}",
            f"/collections/{slug}.bib",
            f"/feeds/collections/{owner}/{page_slug}.atom",
            f"/feeds/collections/{owner}/{page_slug}.rss",
            f"/api/collections/{slug}",
        ]
        # Another account's browser, an anonymous visitor, another account's token; the import form needs an account.
        for client, headers, extra in (
            (bob, {}, [f"/collections/{slug}/import"]),
            (anonymous, {}, []),
            (anonymous, bearer, []),
        ):
            for address in addresses + extra:
                response = client.get(address, headers=headers)
                assert response.status_code == 404, (address, response.status_code)
                assert "hidden note" not in response.text and "Secret plans" not in response.text
        # Changing it through the API is a 404 as well, not a 403 that would tell it exists.
        assert anonymous.delete(f"/api/collections/{slug}", headers=bearer).status_code == 404
        assert (
            anonymous.post(
                f"/api/collections/{slug}/items", json={"item": {"id": PAPERS[2], "type": "paper"}}, headers=bearer
            ).status_code
            == 404
        )

    for client, headers in ((anonymous, {}), (anonymous, bearer)):
        for query in ("?owner=ann", f"?item=papers/{PAPERS[0]}", f"?item=papers/{PAPERS[1]}", ""):
            assert client.get(f"/api/collections{query}", headers=headers).json() == [], query
    assert "Secret plans" not in anonymous.get("/users/ann").text
    assert "Secret plans" not in bob.get("/users/ann").text
    # Its owner sees it everywhere.
    owner_listing = anonymous.get("/api/collections?owner=ann", headers={"Authorization": f"Bearer {ann_token}"})
    assert {c["title"] for c in owner_listing.json()} == {"Secret plans", "Saved"}
