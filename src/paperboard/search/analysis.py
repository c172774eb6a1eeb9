"""Turning text into search terms, and a query into terms and quoted phrases.

Text is normalised (NFKC, case-folded), split into runs of letters and digits (so hyphens, quotes, operators, `*` and
parentheses only separate words), stripped of common English words and stemmed with the Snowball English stemmer.
Queries go through the same steps and are never handed to a query language, so no input can be malformed: a query
that leaves no terms simply finds nothing.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import Stemmer

# Letters and digits: `\w` without the underscore, so that `recall_at_k` is three words, as `recall-at-k` is.
WORD = re.compile(r"[^\W_]+")
# Straight quotes, and the typographic ones phones and word processors put in their place.
_QUOTES = '"“”„'
_QUOTED = re.compile(f"[{_QUOTES}]([^{_QUOTES}]*)[{_QUOTES}]")
# Longer "words" are base64, hashes or runs of CJK text without spaces: they cannot be matched usefully.
MAX_WORD_LENGTH = 40
# A query keeps at most this many distinct terms; more narrow nothing down and only cost time.
MAX_QUERY_TERMS = 32

# Words too common in English to say anything about a paper (Snowball's list, trimmed of words that carry meaning
# in titles such as "not", "few", "more" and "same").
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me my myself of off on once only or other ought
    our ours ourselves out over own she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves""".split()  # noqa: SIM905
)

_local = threading.local()
# Stems of words seen before: a corpus repeats its words so much that looking a stem up costs a small part of
# computing it (PyStemmer spends about 2 µs a word). Emptied when it grows past the limit.
_STEMS: dict[str, str] = {}
_STEMS_LIMIT = 2_000_000


def _stemmer() -> Stemmer.Stemmer:
    # A PyStemmer stemmer keeps state between calls, so each thread has its own.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def words(text: str) -> list[str]:
    """The words of a text, normalised and case-folded, in order (stopwords included)."""
    # NFKC changes nothing in ASCII text, which most abstracts are; skipping it saves a third of the time.
    normalised = text.casefold() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
    return [word for word in WORD.findall(normalised) if len(word) <= MAX_WORD_LENGTH]


def terms(text: str) -> list[str]:
    """The index terms of a text: its words without stopwords, stemmed, in order."""
    kept = [word for word in words(text) if word not in STOPWORDS]
    unknown = [word for word in kept if word not in _STEMS]
    if unknown:
        if len(_STEMS) > _STEMS_LIMIT:
            _STEMS.clear()
        _STEMS.update(zip(unknown, _stemmer().stemWords(unknown), strict=True))
    return [_STEMS.get(word) or _stemmer().stemWord(word) for word in kept]


@dataclass(frozen=True)
class Document:
    """What the keyword index reads of a paper."""

    title: str
    abstract: str
    authors: Sequence[str] = ()


@dataclass(frozen=True)
class ParsedQuery:
    """A query's distinct terms, its quoted phrases (as word lists), and its words, for highlighting."""

    terms: list[str]
    phrases: list[list[str]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.terms


def parse_query(query: str) -> ParsedQuery:
    """Terms and phrases of a query. Text in double quotes is a phrase that results must contain word for word; an
    unpaired quote is ignored."""
    phrases = [phrase_words for phrase in _QUOTED.findall(query) if len(phrase_words := words(phrase)) > 1]
    distinct_terms = list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]
    query_words = [word for word in dict.fromkeys(words(query)) if word not in STOPWORDS]
    return ParsedQuery(terms=distinct_terms, phrases=phrases, words=query_words)


def contains_phrase(text: str, phrase: Sequence[str]) -> bool:
    """Whether `text` has the phrase's words one after another (any punctuation or spacing between them)."""
    return f" {' '.join(phrase)} " in f" {' '.join(words(text))} "
