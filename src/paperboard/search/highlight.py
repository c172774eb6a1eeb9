"""Which words of a text a query matched, and which part of a long text to show, as plain segments.

A result page shows a title and a passage of the abstract with the query's words marked. The marking is data,
`[Segment(text, match)]`, that a template escapes and wraps (`<mark>`), so that no markup is ever made from a
paper's text here. A word matches when its stem is one of the query's terms (so "transformers" matches a query for
"transformer"), and the words of a quoted phrase match where they occur together as that phrase.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from paperboard.search.analysis import WORD, ParsedQuery, terms, words

# About as long as the start of an abstract that the lists show.
SNIPPET_LENGTH = 300
# Context kept before the first match (at most a quarter of the snippet), so that a snippet does not open on the
# matched word itself.
SNIPPET_LEAD = 60
ELLIPSIS = "…"

# The same runs of letters and digits that `analysis.words` finds, but in the original text, to keep its positions.
_TOKEN = WORD
_SPACE = re.compile(r"\s")
# Each token's terms, whatever the query: a page of results has some 2,500 tokens, mostly seen before, and analysing
# each of them for every page took a quarter of the page's time (docs/benchmarks.md). Emptied past the limit.
_TOKEN_TERMS: dict[str, tuple[str, ...]] = {}
_TOKEN_TERMS_LIMIT = 200_000


class Segment(NamedTuple):
    text: str
    match: bool


def segments(text: str, query: ParsedQuery) -> list[Segment]:
    """The whole text as segments, the matched words (and phrases) marked."""
    return _cut(text, _match_spans(text, query), 0, len(text))


def snippet(text: str, query: ParsedQuery, length: int = SNIPPET_LENGTH) -> list[Segment]:
    """About `length` characters of the text from shortly before its first match (its start when nothing
    matches), cut between words, with an ellipsis where text was left out."""
    if len(text) <= length:
        return segments(text, query)
    spans = _match_spans(text, query)
    first = spans[0][0] if spans else 0
    lead = min(SNIPPET_LEAD, length // 4)
    start = _word_start_after(text, max(0, min(first - lead, len(text) - length)), first)
    end = _word_end_before(text, start + length, start)
    cut = _cut(text, spans, start, end)
    if start > 0:
        cut.insert(0, Segment(ELLIPSIS, False))
    if end < len(text):
        cut.append(Segment(ELLIPSIS, False))
    return cut


def _token_terms(token: str) -> tuple[str, ...]:
    found = _TOKEN_TERMS.get(token)
    if found is None:
        if len(_TOKEN_TERMS) > _TOKEN_TERMS_LIMIT:
            _TOKEN_TERMS.clear()
        found = _TOKEN_TERMS[token] = tuple(terms(token))
    return found


def _match_spans(text: str, query: ParsedQuery) -> list[tuple[int, int]]:
    """(start, end) of each matched word or phrase in `text`, in order, overlapping ones merged."""
    wanted = set(query.terms)
    tokens = list(_TOKEN.finditer(text))
    spans = (
        [(token.start(), token.end()) for token in tokens if not wanted.isdisjoint(_token_terms(token.group()))]
        if wanted
        else []
    )
    spans.extend(_phrase_spans(tokens, query.phrases))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _phrase_spans(tokens: list[re.Match[str]], phrases: list[list[str]]) -> Iterator[tuple[int, int]]:
    if not phrases:
        return
    # A token can normalise to several words (a ligature, a fraction), each remembered with its token.
    flat = [(word, index) for index, token in enumerate(tokens) for word in words(token.group())]
    flat_words = [word for word, _ in flat]
    for phrase in phrases:
        size = len(phrase)
        for position in range(len(flat) - size + 1):
            if flat_words[position : position + size] == phrase:
                yield tokens[flat[position][1]].start(), tokens[flat[position + size - 1][1]].end()


def _cut(text: str, spans: list[tuple[int, int]], start: int, end: int) -> list[Segment]:
    """`text[start:end]` as segments; a span crossing either edge is marked as far as it reaches."""
    cut: list[Segment] = []
    position = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        if span_start > position:
            cut.append(Segment(text[position:span_start], False))
        cut.append(Segment(text[span_start:span_end], True))
        position = span_end
    if position < end:
        cut.append(Segment(text[position:end], False))
    return cut


def _word_start_after(text: str, position: int, limit: int) -> int:
    """The start of the first word at or after `position` (never past `limit`, the first match)."""
    if position <= 0:
        return 0
    if not _SPACE.match(text, position - 1):
        space = _SPACE.search(text, position, limit)
        if space is None:
            return limit
        position = space.end()
    while position < limit and _SPACE.match(text, position):
        position += 1
    return position


def _word_end_before(text: str, position: int, limit: int) -> int:
    """The end of the last whole word before `position` (after `limit`, the snippet's start, if it can)."""
    if position >= len(text):
        return len(text)
    if _SPACE.match(text, position):
        end = position
    else:
        end = max((match.start() for match in _SPACE.finditer(text, limit, position)), default=position)
    while end > limit and _SPACE.match(text, end - 1):
        end -= 1
    return end if end > limit else position
