"""Turning text and queries into search terms: normalisation, stopwords, stemming, and quoted phrases."""

from __future__ import annotations

import pytest

from paperboard.search.analysis import (
    MAX_QUERY_TERMS,
    MAX_WORD_LENGTH,
    STOPWORDS,
    contains_phrase,
    parse_query,
    terms,
    words,
)


def test_inflected_forms_share_a_stem():
    assert terms("training trained trains") == ["train", "train", "train"]
    assert terms("Networks") == terms("network")
    assert terms("Transformers") == terms("transformer")
    # Snowball leaves irregular forms alone: "ran" is not "run".
    assert terms("running runs ran") == ["run", "run", "ran"]


def test_stopwords_are_dropped_from_terms_but_kept_as_words():
    assert terms("The attention is all you need") == ["attent", "need"]
    assert words("The attention is all you need") == ["the", "attention", "is", "all", "you", "need"]
    # Words that carry meaning in titles are not stopwords.
    assert {"not", "few", "more", "same"}.isdisjoint(STOPWORDS)
    assert terms("not few more") == ["not", "few", "more"]


def test_hyphens_underscores_and_operators_only_separate_words():
    assert words("state-of-the-art") == ["state", "of", "the", "art"]
    assert terms("Fine-tuning (LLMs) AND/OR *BERT*: x+y") == ["fine", "tune", "llms", "bert", "x", "y"]
    assert words("recall_at_k") == ["recall", "at", "k"]
    assert words("NOT -x OR NEAR(a b)") == ["not", "x", "or", "near", "a", "b"]


def test_text_is_nfkc_normalised_and_case_folded():
    # A ligature, full-width letters, a superscript and a decomposed accent all become their plain forms.
    assert words("ﬁne-tuning ＢＥＲＴ x²") == ["fine", "tuning", "bert", "x2"]
    assert words("cafe\u0301") == words("café") == ["café"]
    assert words("Straße") == words("STRASSE") == ["strasse"]
    # Case folding maps the Greek final sigma to the ordinary one.
    assert words("ΣΊΣΥΦΟΣ") == words("Σίσυφος")


def test_non_latin_text_keeps_its_words():
    assert terms("Łukasz Kaiser") == ["łukasz", "kaiser"]
    assert terms("Jürgen Schmidhuber") == terms("JÜRGEN SCHMIDHUBER")
    assert words("Нейронные сети") == ["нейронные", "сети"]
    assert words("注意力 机制") == ["注意力", "机制"]
    assert words("مرحبا بالعالم") == ["مرحبا", "بالعالم"]
    assert words("🚀 rocket ✨") == ["rocket"]


def test_overlong_words_are_dropped():
    assert words("x" * (MAX_WORD_LENGTH + 1) + " kept " + "y" * MAX_WORD_LENGTH) == ["kept", "y" * MAX_WORD_LENGTH]


def test_a_query_has_distinct_terms_in_order_and_words_for_highlighting():
    parsed = parse_query("Sparse sparse ATTENTION for sparsity")

    assert parsed.terms == ["spars", "attent", "sparsiti"]
    assert parsed.words == ["sparse", "attention", "sparsity"]
    assert parsed.phrases == []
    assert not parsed.is_empty


def test_a_query_keeps_at_most_its_first_terms():
    parsed = parse_query(" ".join(f"w{number}" for number in range(MAX_QUERY_TERMS + 10)))

    assert parsed.terms == [f"w{number}" for number in range(MAX_QUERY_TERMS)]


WORDLESS = ["", "   ", "the of and", '"', '""', "()", "*", "-", ":", "\\", "%", "_", "\x00", "😀"]


@pytest.mark.parametrize("query", WORDLESS)
def test_a_query_without_terms_is_empty(query):
    assert parse_query(query).is_empty


def test_quoted_text_is_a_phrase():
    parsed = parse_query('"attention is all you need" transformers')

    assert parsed.phrases == [["attention", "is", "all", "you", "need"]]
    assert parsed.terms == ["attent", "need", "transform"]


def test_an_unpaired_quote_is_ignored():
    assert parse_query('"sparse attention').phrases == []
    assert parse_query('"sparse attention').terms == ["spars", "attent"]
    assert parse_query('"deep learning" "sparse attention').phrases == [["deep", "learning"]]
    assert parse_query('deep "learning').phrases == []


def test_typographic_quotes_make_phrases_too():
    # Phones and word processors turn " into “ and ”.
    assert parse_query("“deep learning” models").phrases == [["deep", "learning"]]
    assert parse_query("„deep learning“").phrases == [["deep", "learning"]]


def test_a_phrase_of_one_word_or_none_is_just_terms():
    parsed = parse_query('"attention" "" "  " "-"')

    assert parsed.phrases == []
    assert parsed.terms == ["attent"]


def test_several_phrases_are_all_kept():
    assert parse_query('"deep learning" and "graph neural networks"').phrases == [
        ["deep", "learning"],
        ["graph", "neural", "networks"],
    ]


def test_contains_phrase_needs_the_words_one_after_another():
    text = "We fine-tune a State-of-the-Art model; deep\nlearning helps."

    assert contains_phrase(text, ["state", "of", "the", "art"])
    assert contains_phrase(text, ["deep", "learning"])
    assert contains_phrase(text, ["fine", "tune"])
    assert not contains_phrase(text, ["learning", "deep"])
    assert not contains_phrase(text, ["state", "art"])
    # Whole words only: "learn" is not a word of the text even though "learning" starts with it.
    assert not contains_phrase(text, ["deep", "learn"])
    assert not contains_phrase(text, ["model", "deep", "learning", "helps", "more"])
