"""Thumbnails from a listing to the page: a listed paper is queued, the worker's round downloads its PDF (written in
the test, served by a local server) once and stores a WebP of its first page, which the site serves with an ETag and
shows on the day's card, on the paper page and in the API; a listed paper without one gets a placeholder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from paperboard.community.listings import today
from paperboard.config import Settings
from paperboard.thumbnails.jobs import ThumbnailRound
from paperboard.thumbnails.render import WIDTH
from tests.arxiv_server import ArxivServer
from tests.community.factories import add_listing, add_paper
from tests.markup import main_of
from tests.pdfs import pdf_document
from tests.thumbnails.support import jobs, listed, run_round, serve_pdf, stored, thumbnail_settings


@pytest.fixture
def settings(arxiv_server: ArxivServer, tmp_path: Path) -> Settings:
    return thumbnail_settings(arxiv_server, tmp_path)


def test_a_listed_paper_gets_its_first_page_as_a_webp_served_on_its_card_and_in_the_api(
    database, arxiv_server, settings, client_for
):
    serve_pdf(arxiv_server, "2611.00042", pdf_document(pages=3))
    listed(database, "2611.00042")
    add_paper(database, "2611.00043", title="Listed without a thumbnail")
    add_listing(database, "2611.00043", today())
    assert list(jobs(database).values()) == [("pending", 0, None)]

    assert run_round(database, settings) == ThumbnailRound(made=1)
    assert run_round(database, settings) == ThumbnailRound()

    assert [request.path for request in arxiv_server.requests] == ["/pdf/2611.00042"]
    assert list(jobs(database).values()) == [("done", 1, None)]
    [thumbnail] = stored(database)
    image = Image.open(io.BytesIO(thumbnail.image))
    # A Letter page 400 px wide; the black band across its top is there, the white below it too.
    assert (image.format, image.size, (thumbnail.width, thumbnail.height)) == ("WEBP", (WIDTH, 518), (WIDTH, 518))
    assert max(image.getpixel((200, 50))) < 40 and min(image.getpixel((200, 400))) > 215
    assert len(thumbnail.image) < 20_000

    client = client_for(database)
    served = client.get("/papers/2611.00042/thumbnail.webp")
    assert served.status_code == 200 and served.content == thumbnail.image
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["cache-control"] == "public, max-age=604800"
    again = client.get("/papers/2611.00042/thumbnail.webp", headers={"If-None-Match": served.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert client.get("/papers/arXiv:2611.00042v1/thumbnail.webp", follow_redirects=False).headers["location"] == (
        "/papers/2611.00042/thumbnail.webp"
    )
    assert client.get("/papers/2611.00043/thumbnail.webp").status_code == 404

    day_page = main_of(client.get("/").text)
    card_with, card_without = (
        day_page.split(f'id="paper-{arxiv_id}"')[1].split("</article>")[0] for arxiv_id in ("2611.00042", "2611.00043")
    )
    assert '<img src="/papers/2611.00042/thumbnail.webp" width="400" height="518"' in card_with
    assert "<img" not in card_without and 'class="thumbnail thumbnail-placeholder"' in card_without
    paper_page = main_of(client.get("/papers/2611.00042").text)
    assert 'src="/papers/2611.00042/thumbnail.webp"' in paper_page
    assert 'class="thumbnail' not in main_of(client.get("/papers/2611.00043").text)

    items = {item["paper"]["id"]: item for item in client.get("/api/daily_papers").json()}
    assert items["2611.00042"]["thumbnail"] == "http://127.0.0.1:8000/papers/2611.00042/thumbnail.webp"
    assert items["2611.00043"]["thumbnail"] is None
