"""Similar papers on the paper page over HTTP: by meaning once papers have vectors, by the title's words before,
never the paper itself, at most six; and the page keeps its caching and its Markdown form."""

from __future__ import annotations

import re

from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import embed_pending
from paperboard.web.pages.paper import SIMILAR_PAPERS_SHOWN

PAPERS = {
    1: ("Sparse attention for long documents", "We make attention sparse to read long documents."),
    2: ("Attention sinks in streaming language models", "The first tokens keep streaming generation stable."),
    3: ("Graph neural networks for molecules", "Message passing over molecular graphs predicts properties."),
    4: ("Predicting chemical properties of compounds", "A model of drug molecules and their chemistry."),
    5: ("Ocean waves on a windy day", "Surface gravity waves and the wind that raises them."),
}


def similar_numbers(html: str) -> list[int]:
    if 'class="similar-papers"' not in html:
        return []
    section = html.split('class="similar-papers"')[1].split("</section>")[0]
    return [int(number) for number in re.findall(r'<a href="/papers/2506\.(\d{5})">', section)]


def add(database, make_paper, add_papers, numbers):
    add_papers(database, *(make_paper(n, title=PAPERS[n][0], abstract=PAPERS[n][1]) for n in numbers))


def test_before_papers_have_vectors_similar_papers_share_words_of_the_title(
    sqlite_database, client_for, make_paper, add_papers
):
    add(sqlite_database, make_paper, add_papers, PAPERS)
    client = client_for(sqlite_database)

    page = client.get("/papers/2506.00001").text

    assert similar_numbers(page) == [2]
    section = page.split('class="similar-papers"')[1].split("</section>")[0]
    assert '<a href="/papers/2506.00002">Attention sinks in streaming language models</a>' in section
    assert '<time datetime="2025-06-01">1 Jun 2025</time>' in section
    # A paper whose title shares no word with any other has no such section.
    assert 'class="similar-papers"' not in client.get("/papers/2506.00005").text


def test_with_vectors_similar_papers_are_the_nearest_in_meaning(database, client_for, make_paper, add_papers):
    add(database, make_paper, add_papers, PAPERS)
    assert embed_pending(database, Embedder(threads=1)) == len(PAPERS)
    client = client_for(database)

    molecules = similar_numbers(client.get("/papers/2506.00003").text)
    attention = similar_numbers(client.get("/papers/2506.00001").text)

    # The chemistry paper shares no title word with the one about molecules, but means much the same.
    assert molecules[0] == 4 and 3 not in molecules
    assert attention[0] == 2 and 1 not in attention
    assert len(set(molecules)) == len(molecules)


def test_at_most_six_similar_papers_are_shown(sqlite_database, client_for, make_paper, add_papers):
    add_papers(
        sqlite_database,
        *(make_paper(n, title=f"Sparse attention, variant {n}", abstract="Attention.") for n in range(1, 12)),
    )

    shown = similar_numbers(client_for(sqlite_database).get("/papers/2506.00001").text)

    assert len(shown) == SIMILAR_PAPERS_SHOWN == 6
    assert 1 not in shown and set(shown) <= set(range(2, 12))


def test_the_page_keeps_its_cache_and_its_markdown_form(sqlite_database, client_for, make_paper, add_papers):
    add(sqlite_database, make_paper, add_papers, [1, 2])
    client = client_for(sqlite_database, page_cache_seconds=60)

    first = client.get("/papers/2506.00001")
    add(sqlite_database, make_paper, add_papers, [3])
    add_papers(sqlite_database, make_paper(6, title="Long attention spans", abstract="Attention."))
    second = client.get("/papers/2506.00001")
    markdown = client.get("/papers/2506.00001", headers={"Accept": "text/markdown"})

    assert first.status_code == second.status_code == 200
    assert first.headers["vary"] == second.headers["vary"] == "Accept"
    assert "set-cookie" not in first.headers
    # Served from the page cache: the paper added since is not among the similar papers yet.
    assert second.text == first.text and similar_numbers(second.text) == [2]
    assert set(similar_numbers(client_for(sqlite_database).get("/papers/2506.00001").text)) == {2, 6}
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "Similar papers" not in markdown.text
