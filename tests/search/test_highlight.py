"""Marking a query's words in a text, and cutting a snippet around the first of them."""

from __future__ import annotations

from paperboard.search.analysis import parse_query
from paperboard.search.highlight import ELLIPSIS, SNIPPET_LENGTH, Segment, segments, snippet


def marked(parts: list[Segment]) -> list[str]:
    return [text for text, match in parts if match]


def joined(parts: list[Segment]) -> str:
    return "".join(text for text, _ in parts)


def test_segments_cover_the_whole_text_and_mark_each_matching_word():
    text = "Sparse attention, and attention sinks."

    parts = segments(text, parse_query("attention"))

    assert parts == [
        Segment("Sparse ", False),
        Segment("attention", True),
        Segment(", and ", False),
        Segment("attention", True),
        Segment(" sinks.", False),
    ]


def test_a_word_matches_through_its_stem_whatever_its_case():
    text = "A Transformer learns; transformers learned what LEARNING is."

    parts = segments(text, parse_query("transformer learning"))

    assert marked(parts) == ["Transformer", "learns", "transformers", "learned", "LEARNING"]
    assert joined(parts) == text


def test_exactly_the_words_that_search_matches_are_marked():
    parts = segments("Attending to attentive attentions, attentional maps.", parse_query("attention"))

    # The stemmer takes these three to the query's term, so search finds them; "attending" is another word.
    assert marked(parts) == ["attentive", "attentions", "attentional"]


def test_stopwords_of_the_query_mark_nothing_outside_a_phrase():
    text = "All you need is the attention of the reader: attention is all you need."

    plain = segments(text, parse_query("attention is all you need"))
    quoted = segments(text, parse_query('"attention is all you need"'))

    assert marked(plain) == ["need", "attention", "attention", "need"]
    # The quoted phrase is marked as one run, stopwords included, only where its words come together.
    assert marked(quoted) == ["need", "attention", "attention is all you need"]
    assert joined(quoted) == text


def test_a_phrase_matches_across_punctuation_and_spacing():
    text = "Large-language  model agents"

    assert marked(segments(text, parse_query('"large language model"'))) == ["Large-language  model"]


def test_nothing_is_marked_for_an_empty_query_or_one_without_words():
    text = "Sparse attention."

    for query in ["", "   ", "the of and", '"" ()*']:
        assert segments(text, parse_query(query)) == [Segment(text, False)], query


def test_segments_are_plain_text_with_markup_left_as_it_is():
    text = "<b>Attention</b> & \"attention\" <script>alert('attention')</script>"

    parts = segments(text, parse_query("attention"))

    # The text is cut, never escaped or wrapped: that is the template's work.
    assert joined(parts) == text
    assert marked(parts) == ["Attention", "attention", "attention"]
    assert Segment("<b>", False) in parts


def test_a_short_text_is_its_own_snippet():
    text = "Sparse attention for long documents."

    assert snippet(text, parse_query("attention")) == segments(text, parse_query("attention"))


def test_a_snippet_starts_shortly_before_the_first_match_and_cuts_between_words():
    opening = "This opening sentence is about something else entirely. " * 8
    text = opening + "Here we study sparse attention in long documents. " + "Many more words follow here. " * 20
    query = parse_query("attention")

    parts = snippet(text, query)

    body = parts[1:-1]
    assert parts[0] == Segment(ELLIPSIS, False) and parts[-1] == Segment(ELLIPSIS, False)
    assert marked(parts) == ["attention"]
    excerpt = joined(body)
    assert excerpt in text
    assert len(excerpt) <= SNIPPET_LENGTH
    start = text.index(excerpt)
    assert 0 < text.index("attention") - start <= 60 + 1
    # Whole words at both ends.
    assert text[start - 1] == " " and not excerpt[0].isspace()
    assert text[start + len(excerpt)] == " " and not excerpt[-1].isspace()


def test_a_snippet_without_a_match_is_the_start_of_the_text():
    text = "First words of the abstract. " + "Filler words that go on. " * 30

    parts = snippet(text, parse_query("nothing matches here"))

    assert marked(parts) == []
    assert parts[-1] == Segment(ELLIPSIS, False)
    assert parts[0].text.startswith("First words of the abstract.")
    assert len(joined(parts[:-1])) <= SNIPPET_LENGTH


def test_a_match_near_the_end_gets_a_full_window_ending_with_the_text():
    text = "Filler words that go on. " * 30 + "The last words mention attention."

    parts = snippet(text, parse_query("attention"))

    assert parts[0] == Segment(ELLIPSIS, False)
    assert parts[-1] != Segment(ELLIPSIS, False)
    assert joined(parts[1:]).endswith("mention attention.")
    assert marked(parts) == ["attention"]
    assert SNIPPET_LENGTH - 30 <= len(joined(parts[1:])) <= SNIPPET_LENGTH


def test_a_snippet_can_be_asked_for_at_another_length():
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"

    parts = snippet(text, parse_query("theta"), length=20)

    excerpt = joined(parts).strip(ELLIPSIS)
    assert len(excerpt) <= 20 and "theta" in marked(parts)
    assert excerpt in text
