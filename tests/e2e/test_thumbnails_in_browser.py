"""Thumbnails in Chromium: the day's list shows each paper's first page, made by the real worker from PDFs written in
the test, and a placeholder of the same size for a paper without one; nothing on the page moves when the images
arrive (they are held back until the layout has been measured)."""

from __future__ import annotations

import json

from playwright.sync_api import Route, expect

from paperboard.catalog.jsonl import record_to_json
from tests.arxiv_server import ArxivServer
from tests.catalog.factories import make_record
from tests.catalog.test_jsonl import write_lines
from tests.conftest import Cli
from tests.pdfs import pdf_document
from tests.thumbnails.support import serve_pdf

DAY = "2025-06-02"
WITH_THUMBNAILS = ["2506.00021", "2506.00022"]
WITHOUT = "2506.00023"

# Every card's box and its thumbnail's (or placeholder's), as the page lays them out now.
LAYOUT = """() => [...document.querySelectorAll('.listed-paper')].map(card => {
  const box = element => { const r = element.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
  return {card: box(card), thumbnail: box(card.querySelector('.thumbnail'))};
})"""


def test_the_day_shows_thumbnails_and_placeholders_without_moving_when_the_images_arrive(
    live_server, tmp_path, page, arxiv_server: ArxivServer
):
    ids = [*WITH_THUMBNAILS, WITHOUT]
    records = [make_record(arxiv_id, title=f"Paper {arxiv_id}", published_at=DAY) for arxiv_id in ids]
    assert (
        live_server.cli.run("import", str(write_lines(tmp_path / "p.jsonl", map(record_to_json, records)))).returncode
        == 0
    )
    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        "".join(
            json.dumps({"date": DAY, "arxiv_id": arxiv_id, "title": "", "upvotes": 9 - rank, "comments": 0}) + "\n"
            for rank, arxiv_id in enumerate(ids)
        )
    )
    assert live_server.cli.run("import-hf-daily", str(archive)).returncode == 0
    for arxiv_id in WITH_THUMBNAILS:
        serve_pdf(arxiv_server, arxiv_id, pdf_document())
    worker = Cli({**live_server.cli.env, "PAPERBOARD_ARXIV_PDF_URL": arxiv_server.url("/pdf")})
    assert worker.run("thumbnails", "queue").returncode == 0
    worked = worker.run("worker", "--once", timeout=600)
    assert "thumbnails: 2 made, 1 refused" in worked.stderr, worked.stderr

    held: list[Route] = []
    page.route("**/thumbnail.webp", lambda route: held.append(route))
    page.goto(live_server.url(f"/papers/date/{DAY}"), wait_until="domcontentloaded")
    expect(page.locator(".listed-paper")).to_have_count(3)
    before = page.evaluate(LAYOUT)
    for _ in range(100):
        if len(held) == len(WITH_THUMBNAILS):
            break
        page.wait_for_timeout(50)
    assert len(held) == len(WITH_THUMBNAILS)
    for route in held:
        route.continue_()
    # expect() polls from Playwright's own world: wait_for_function evaluates a string in the page, which the
    # site's Content-Security-Policy refuses once it has to poll (a slow machine).
    images = page.locator(".thumbnail img")
    expect(images).to_have_count(len(WITH_THUMBNAILS))
    for index in range(len(WITH_THUMBNAILS)):
        expect(images.nth(index)).to_have_js_property("naturalWidth", 400)

    assert page.evaluate(LAYOUT) == before
    assert page.evaluate("[...document.querySelectorAll('.thumbnail img')].map(image => image.naturalWidth)") == [
        400,
        400,
    ]
    placeholder = page.locator(f'[id="paper-{WITHOUT}"] .thumbnail-placeholder')
    expect(placeholder).to_be_visible()
    sizes = {(round(layout["thumbnail"][2]), round(layout["thumbnail"][3])) for layout in before}
    assert len(sizes) == 1 and sizes.pop()[0] > 100
    page.screenshot(path=str(tmp_path / "day-with-thumbnails.png"), full_page=True)
