"""Keywords: extraction from fixed abstracts (sensible phrases, no stop-word or LaTeX junk, deterministic, bounded on
hostile text), the worker's job on each backend (resumes, skips papers with the archive's keywords, follows text
changes), the archive's keywords through `paperboard import-hf-daily`, the paper page's chips, and the API field read
by the real `huggingface_hub` client from a served site whose keywords the real worker extracted."""

from __future__ import annotations

import gzip
import html
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from huggingface_hub import HfApi
from sqlalchemy import func, select, update

from paperboard.db import Database
from paperboard.db.models import Paper, PaperKeywords
from paperboard.search import paper_keywords
from paperboard.search.embedder import Embedder
from paperboard.search.embeddings import blend, embed_pending, model_key
from paperboard.search.keyword_extraction import (
    MAX_CANDIDATES,
    MAX_KEYWORDS,
    MAX_WORDS_PER_PHRASE,
    MIN_KEYWORDS,
    PHRASE_STOPWORDS,
    PhraseVectors,
    candidates,
    extract_keywords,
)
from paperboard.search.paper_keywords import (
    ARCHIVE,
    EXTRACTED,
    extract_pending,
    keyword_counts,
    keywords_of,
    store_archive_keywords,
)
from tests.community.factories import add_listing, add_paper, paper_id
from tests.conftest import Cli, LiveServer, cli_environment, serving
from tests.markup import main_of

SPARSE_TITLE = "Feature-Level Insights into Artificial Text Detection with Sparse Autoencoders"
SPARSE_ABSTRACT = (
    "Artificial text detection (ATD) is becoming ever more important with the rise of advanced large language "
    "models (LLMs). Despite many efforts, no single algorithm performs consistently well across different types "
    "of unseen text or guarantees effective generalization to new LLMs. We train sparse autoencoders (SAEs) on the "
    "residual stream of the Gemma-2-2b model and use them to extract interpretable features, which we study with "
    "\\textbf{domain-specific} and model-specific statistics, a steering approach, and manual or LLM-based "
    "interpretation. Features found this way improve detection accuracy by 4.2\\% on the $\\mathcal{D}_{test}$ "
    "split, where $p < 0.05$, and reveal how machine-written text differs from human writing style."
)
ROBOT_TITLE = "Learning Dexterous Grasping from Human Videos with Tactile Feedback"
ROBOT_ABSTRACT = (
    "Dexterous grasping with multi-fingered robot hands remains hard to learn from demonstrations alone. We collect "
    "human videos of grasping everyday objects, retarget the hand poses to a robot hand, and train a grasping policy "
    "with tactile feedback in simulation before transferring it to the real robot. The tactile policy grasps "
    "unseen objects with a success rate of 87% across 30 objects, and tactile sensing halves the failures caused by "
    "slipping. Code and videos are available at https://example.org/grasp."
)
TOPICS = [
    (SPARSE_TITLE, SPARSE_ABSTRACT),
    (ROBOT_TITLE, ROBOT_ABSTRACT),
    ("Gauge fields on the lattice", "We simulate quantum chromodynamics on the lattice with dynamical quarks."),
    ("Crop yields under drought", "A survey of crop yields and irrigation in sub-Saharan agriculture."),
    ("Protein structure prediction", "Predicting how proteins fold from their amino acid sequence."),
]
PUBLISHED = datetime(2025, 6, 1, 12)


def paper_vector(embedder: Embedder, title: str, abstract: str) -> np.ndarray:
    """The paper's vector as the embedding job stores it: the blend of its title's and its abstract's."""
    return blend(embedder.embed([title]), embedder.embed([abstract]))[0]


def keywords_for(embedder: Embedder, title: str, abstract: str) -> list[str]:
    return extract_keywords(title, abstract, paper_vector(embedder, title, abstract), PhraseVectors(embedder))


# Extraction -------------------------------------------------------------------------------------------------------


def test_the_keywords_of_an_abstract_are_its_subject_in_its_own_words(embedder: Embedder) -> None:
    found = keywords_for(embedder, SPARSE_TITLE, SPARSE_ABSTRACT)
    robot = keywords_for(embedder, ROBOT_TITLE, ROBOT_ABSTRACT)

    assert MIN_KEYWORDS <= len(found) <= MAX_KEYWORDS
    assert MIN_KEYWORDS <= len(robot) <= MAX_KEYWORDS
    folded = {keyword.casefold() for keyword in found}
    # The paper's subject, as the abstract writes it (not in the title's capitals).
    assert "sparse autoencoders" in folded
    assert {"artificial text detection", "residual stream", "gemma-2-2b model"} & folded
    assert any("tactile" in keyword.casefold() for keyword in robot)
    assert any("robot hand" in keyword.casefold() for keyword in robot)
    # Each keyword is a phrase of the text itself, once.
    text = f"{SPARSE_TITLE} {SPARSE_ABSTRACT}".casefold()
    assert all(keyword.casefold() in text for keyword in found)
    assert len(folded) == len(found)


def test_candidates_hold_no_stop_words_numbers_latex_or_addresses() -> None:
    found = candidates(SPARSE_TITLE, SPARSE_ABSTRACT) + candidates(ROBOT_TITLE, ROBOT_ABSTRACT)

    assert found
    for candidate in found:
        words = candidate.text.split()
        assert 1 <= len(words) <= MAX_WORDS_PER_PHRASE
        assert not any(word.casefold() in PHRASE_STOPWORDS for word in words), candidate
        assert not re.search(r"[\\$%{}^_()<>:/]", candidate.text), candidate
        assert not any(word.replace(".", "").isdigit() for word in words), candidate
    texts = {candidate.key for candidate in found}
    # Verb-led fragments and adverbs, which a chunker without a tagger would otherwise keep.
    assert not texts & {"performs consistently", "train sparse autoencoders", "mathcal", "test split", "https"}
    assert not any("example" in text or text == "grasp" for text in texts)
    assert {"interpretable features", "model-specific statistics", "tactile feedback"} <= texts


def test_candidates_read_as_noun_phrases() -> None:
    abstract = (
        "Models trained on documents retrieved from websites containing images excel at generating long-form "
        "outputs that are human-readable, with detailed reasoning chains for visual question answering."
    )

    texts = {candidate.key for candidate in candidates("", abstract)}

    # A participle after its noun, a gerund with its object or its subject, a last word made like an adjective: not
    # noun phrases.
    assert not texts & {
        "models trained",
        "documents retrieved",
        "websites containing",
        "generating long-form outputs",
        "human-readable",
    }
    # Gerunds that are nouns, heading the phrase or in it.
    assert {
        "long-form outputs",
        "documents",
        "models",
        "detailed reasoning chains",
        "visual question answering",
    } <= texts


def test_extraction_is_deterministic(embedder: Embedder) -> None:
    vector = paper_vector(embedder, SPARSE_TITLE, SPARSE_ABSTRACT)
    shared = PhraseVectors(embedder)

    first = extract_keywords(SPARSE_TITLE, SPARSE_ABSTRACT, vector, shared)
    # Phrases remembered from another paper, or embedded afresh, give the same result.
    extract_keywords(ROBOT_TITLE, ROBOT_ABSTRACT, paper_vector(embedder, ROBOT_TITLE, ROBOT_ABSTRACT), shared)
    again = extract_keywords(SPARSE_TITLE, SPARSE_ABSTRACT, vector, shared)
    fresh = extract_keywords(SPARSE_TITLE, SPARSE_ABSTRACT, vector, PhraseVectors(embedder))

    assert first == again == fresh
    assert shared.embedded < shared.asked


def test_hostile_text_is_bounded(embedder: Embedder) -> None:
    vector = paper_vector(embedder, SPARSE_TITLE, SPARSE_ABSTRACT)
    phrase_vectors = PhraseVectors(embedder)
    # A megabyte of words, none repeated, and a megabyte of one brace-and-dollar soup.
    huge = " ".join(f"term{number}x widget{number}y" for number in range(60_000))
    soup = "$\\frac{{{{" * 100_000
    odd = (
        "Ｆｕｌｌ-ｗｉｄｔｈ ｍｏｄｅｌｓ and ﬁne-tuning (ligatures), Zalgo t̸̢e̵x̷t̶, right-to-left "
        "\u202eelbaT\u202c, zero\u200bwidth joiners, emoji 🧪🔬 pipelines, 𝐦𝐚𝐭𝐡 𝐛𝐨𝐥𝐝 letters, "
        "\ufeff byte-order marks and \U000e0041 tags, Ελληνικά κείμενα, 中文关键词提取."
    )

    for title, abstract in (("A long one", huge), ("Soup", soup), ("Odd unicode", odd), ("", ""), ("$x$", "\\")):
        started = time.monotonic()
        found = candidates(title, abstract)
        keywords = extract_keywords(title, abstract, vector, phrase_vectors)
        assert len(found) <= MAX_CANDIDATES
        assert len(keywords) <= MAX_KEYWORDS
        assert time.monotonic() - started < 30
        for keyword in keywords:
            assert keyword.strip() == keyword and keyword
            assert not re.search(r"[\\$\x00-\x1f]", keyword), keyword
    assert keywords_for(embedder, "", soup) == []
    # NFKC folds full-width letters and ligatures into the letters they stand for.
    assert {"full-width models", "fine-tuning"} <= {candidate.key for candidate in candidates("Odd unicode", odd)}


# The worker's job -------------------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(database: Database, embedder: Embedder) -> Database:
    """Five papers with their vectors stored, as the worker leaves them before extracting keywords."""
    for number, (title, abstract) in enumerate(TOPICS, start=1):
        add_paper(database, f"2506.{number:05d}", title=title, abstract=abstract, published_at=PUBLISHED)
    assert embed_pending(database, embedder) == len(TOPICS)
    return database


def stored(database: Database) -> dict[str, tuple[str, list[str], datetime]]:
    with database.read_session() as session:
        rows = session.execute(
            select(Paper.arxiv_id, PaperKeywords.source, PaperKeywords.keywords, PaperKeywords.made_at).join(
                PaperKeywords, PaperKeywords.paper_id == Paper.id
            )
        ).all()
    return {arxiv_id: (source, list(keywords), made_at) for arxiv_id, source, keywords, made_at in rows}


def test_the_job_resumes_skips_archive_keywords_and_follows_text_changes(
    catalogue: Database, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paper_keywords, "BATCH_SIZE", 2)
    archive = ["Sparse Autoencoders (SAEs)", "Gemma-2-2b", "residual stream"]
    with catalogue.session() as session:
        assert store_archive_keywords(session, {paper_id(catalogue, "2506.00001"): archive}) == 1
    model = model_key(embedder)
    phrase_vectors = PhraseVectors(embedder)
    with catalogue.read_session() as session:
        assert keyword_counts(session, model).pending == 4

    # A run stopped after three papers (across batches of two) keeps them; the next does the rest, once.
    assert extract_pending(catalogue, phrase_vectors, limit=3) == 3
    first = stored(catalogue)
    assert sorted(first) == ["2506.00001", "2506.00002", "2506.00003", "2506.00004"]
    assert extract_pending(catalogue, phrase_vectors) == 1
    assert extract_pending(catalogue, phrase_vectors) == 0
    second = stored(catalogue)
    assert len(second) == len(TOPICS)
    for arxiv_id, row in first.items():
        assert second[arxiv_id] == row
    # The archive's keywords were never replaced by extracted ones.
    assert second["2506.00001"][:2] == (ARCHIVE, archive)
    assert {source for source, _, _ in second.values()} == {ARCHIVE, EXTRACTED}
    for arxiv_id, (source, keywords, _) in second.items():
        if source == EXTRACTED:
            assert 1 <= len(keywords) <= MAX_KEYWORDS, arxiv_id
    assert any("tactile" in keyword.casefold() for keyword in second["2506.00002"][1])
    with catalogue.read_session() as session:
        counts = keyword_counts(session, model)
    assert (counts.papers, counts.archive, counts.extracted, counts.pending) == (5, 1, 4, 0)

    # A new abstract, once embedded again, gets new keywords; the others stay as they were.
    add_paper(
        catalogue,
        "2506.00003",
        title="Gauge fields on the lattice",
        abstract="Lattice gauge theory with staggered fermions and Monte Carlo sampling of gauge configurations.",
        published_at=PUBLISHED,
    )
    assert extract_pending(catalogue, phrase_vectors) == 0
    assert embed_pending(catalogue, embedder) == 1
    assert extract_pending(catalogue, phrase_vectors) == 1
    third = stored(catalogue)
    assert third["2506.00003"][1] != second["2506.00003"][1]
    assert {"staggered fermions", "monte carlo sampling"} & {keyword.casefold() for keyword in third["2506.00003"][1]}
    assert {arxiv_id: row for arxiv_id, row in third.items() if arxiv_id != "2506.00003"} == {
        arxiv_id: row for arxiv_id, row in second.items() if arxiv_id != "2506.00003"
    }

    # The archive's keywords replace extracted ones when they come; a shorter list for a paper that has some does not.
    with catalogue.session() as session:
        assert store_archive_keywords(session, {paper_id(catalogue, "2506.00002"): ["tactile feedback"]}) == 1
        assert store_archive_keywords(session, {paper_id(catalogue, "2506.00001"): ["SAEs"]}) == 0
    with catalogue.read_session() as session:
        found = keywords_of(session, [paper_id(catalogue, "2506.00001"), paper_id(catalogue, "2506.00002")])
    assert list(found.values()) == [archive, ["tactile feedback"]]


def test_withdrawn_papers_and_papers_without_vectors_wait(database: Database, embedder: Embedder) -> None:
    add_paper(database, "2506.00001", title=SPARSE_TITLE, abstract=SPARSE_ABSTRACT, published_at=PUBLISHED)
    phrase_vectors = PhraseVectors(embedder)

    # Without a vector there is nothing to rank the candidates against.
    assert extract_pending(database, phrase_vectors) == 0
    assert embed_pending(database, embedder) == 1
    with database.session() as session:
        session.execute(update(Paper).values(deleted_at=PUBLISHED))
    assert extract_pending(database, phrase_vectors) == 0
    with database.read_session() as session:
        assert session.scalar(select(func.count()).select_from(PaperKeywords)) == 0


# The archive, the page and the API --------------------------------------------------------------------------------


def write_archive(path: Path, lines: list[dict[str, object]]) -> Path:
    path.write_bytes(gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode()))
    return path


def archive_line(arxiv_id: str, keywords: object) -> dict[str, object]:
    return {"date": "2025-06-04", "arxiv_id": arxiv_id, "upvotes": 3, "comments": 0, "ai_keywords": keywords}


@pytest.fixture
def site(database: Database, tmp_path: Path) -> Iterator[tuple[Cli, LiveServer]]:
    """A served site whose first paper's listing came with the archive's keywords and whose worker, run for real,
    embedded the papers and then extracted keywords for the others."""
    for number, (title, abstract) in enumerate(TOPICS[:3], start=1):
        add_paper(database, f"2506.{number:05d}", title=title, abstract=abstract, published_at=PUBLISHED)
    add_listing(database, "2506.00002", PUBLISHED.date())
    url = database.url.render_as_string(hide_password=False)
    cli = Cli(cli_environment(tmp_path / "data", url, embedding_processes="1"))
    assert cli.run("init").returncode == 0
    archive = write_archive(
        tmp_path / "archive.jsonl.gz",
        [
            archive_line("2506.00001", ["Sparse Autoencoders (SAEs)", "Gemma-2-2b", "residual stream"]),
            # The same paper on another day with a shorter list, and a bad list: the longest is kept, the bad
            # line named.
            archive_line("2506.00001", ["SAEs"]) | {"date": "2025-06-05"},
            archive_line("2506.00003", "lattice, quarks"),
        ],
    )
    imported = cli.run("import-hf-daily", str(archive))
    assert "ai_keywords: expected a list of text, got str" in imported.stderr
    assert "1 the archive's keywords" in imported.stdout
    again = cli.run("import-hf-daily", str(archive))
    assert "0 the archive's keywords" in again.stdout
    # The first round embeds the papers; keywords wait for a round in which the embedding has caught up.
    for _ in range(2):
        assert (worker := cli.run("worker", "--once", timeout=600)).returncode == 0, worker.stderr
    assert "keywords extracted for 2 papers" in worker.stderr
    with serving(cli, tmp_path / "data") as server:
        yield cli, server


def test_the_archive_and_the_worker_give_every_paper_keywords_the_client_and_the_page_show(
    site: tuple[Cli, LiveServer], database: Database
) -> None:
    _, server = site
    api = HfApi(endpoint=server.base_url)
    extracted = stored(database)

    archived = api.paper_info("2506.00001")
    robot = api.paper_info("arXiv:2506.00002")
    [listed] = list(api.list_daily_papers(date="2025-06-01"))
    found = list(api.list_papers(query="dexterous grasping tactile"))

    assert archived.ai_keywords == ["Sparse Autoencoders (SAEs)", "Gemma-2-2b", "residual stream"]
    assert extracted["2506.00002"][0] == EXTRACTED
    assert robot.ai_keywords == extracted["2506.00002"][1]
    assert any("tactile" in keyword.casefold() for keyword in robot.ai_keywords)
    assert listed.id == "2506.00002" and listed.ai_keywords == robot.ai_keywords
    assert found[0].id == "2506.00002" and found[0].ai_keywords == robot.ai_keywords
    # The bad line left the third paper to the extraction.
    assert extracted["2506.00003"][0] == EXTRACTED
    assert api.paper_info("2506.00003").ai_keywords == extracted["2506.00003"][1]

    # The page: a chip per keyword, each a search.
    page = httpx.get(server.url("/papers/2506.00002"))
    archived_page = httpx.get(server.url("/papers/2506.00001"))

    assert page.status_code == 200
    chips = [
        (html.unescape(href), html.unescape(keyword))
        for href, keyword in re.findall(r'<a class="keyword" href="([^"]+)">([^<]+)</a>', main_of(page.text))
    ]
    assert [keyword for _, keyword in chips] == extracted["2506.00002"][1]
    assert "Extracted from the title and abstract." in page.text
    for href, keyword in chips:
        assert href == f"/search?{httpx.QueryParams({'q': keyword})}"
    # A chip is a search that finds the paper.
    results = httpx.get(server.url(chips[0][0]))
    assert results.status_code == 200
    assert 'href="/papers/2506.00002"' in main_of(results.text)
    assert "From the Hugging Face Daily Papers archive." in archived_page.text
    assert '<a class="keyword" href="/search?q=Sparse+Autoencoders+%28SAEs%29">' in archived_page.text
