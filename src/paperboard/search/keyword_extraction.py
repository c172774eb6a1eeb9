"""Keywords of a paper from its own title and abstract, as KeyBERT finds them, with our embedder and no POS tagger.

1. Candidates: the text without LaTeX markup (`catalog.latex.to_plain`) is cut into runs of words at punctuation,
   formulas' leftovers, numbers and stop-words (English function words, and the verbs and adjectives every abstract
   uses: "propose", "novel", "extensive"); every run of one to four words is a candidate, as KeyBERT's
   `CountVectorizer(ngram_range=(1, 4), stop_words="english")` makes them, except that here no candidate spans a
   stop-word, and a candidate must read as a noun phrase: no verb but a leading participle or a final gerund, and
   a last word that may be a noun (lemminflect's English lexicon, not a tagger model). The most promising
   `MAX_CANDIDATES` (seen most often, longer, in the title) go on, so that the embedding, the costly step, is
   bounded per paper.
2. Ranking: each candidate's vector against the paper's own (the stored blend of title and abstract), picked by
   maximal marginal relevance so that five near-synonyms do not fill the list; between `MIN_KEYWORDS` and
   `MAX_KEYWORDS`, fewer when the later ones say little about the paper.

Everything is deterministic: a phrase's vector is computed alone (the embedder's batch size of 1), never with
batch-mates that would move it, and ties are broken by where a phrase first appears.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from lemminflect import getAllLemmas

from paperboard.catalog.latex import to_plain
from paperboard.search.analysis import STOPWORDS
from paperboard.search.embedder import Embedder

# The title and abstract read, in characters: arXiv caps abstracts at 1,920, so only hostile or broken records reach
# it, and they cost no more than a long abstract.
MAX_TEXT_CHARACTERS = 4000
MAX_WORDS_PER_PHRASE = 4
# Words longer than this are hashes, URLs' remains or formulas, not terms; phrases longer than the other limit are
# not keywords a chip can show.
MAX_WORD_CHARACTERS = 40
MAX_PHRASE_CHARACTERS = 80
# Candidates embedded per paper. A real abstract has 100-200 distinct ones; most are fragments the cheap score
# already ranks low.
MAX_CANDIDATES = 40
MIN_KEYWORDS = 5
MAX_KEYWORDS = 10
# MMR's weight of novelty against relevance (KeyBERT's `diversity`).
DIVERSITY = 0.5
# Past `MIN_KEYWORDS`, a candidate less similar than this to the paper is left out.
MIN_RELEVANCE = 0.35

# Letters and digits, joined by the hyphens, dots and apostrophes inside names such as GPT-4o, Qwen2.5-VL, Bayes'.
_TOKEN = re.compile(r"[^\W_]+(?:[-.’'+][^\W_]+)*\+*|(?P<space>\s+)|.", re.DOTALL)
# What is left of a command after `to_plain` (\alpha, \cite): a boundary, as is everything that is not a word.
_COMMAND = re.compile(r"\\[A-Za-z]+\*?(?:\{[^{}]*\})*")
# Addresses are no terms; neither are formulas, but for short ones that are part of a name (D$^{2}$R, written D²R).
_ADDRESS = re.compile(r"(?:https?://|www\.)\S*", re.IGNORECASE)
_INLINE_MATH = re.compile(r"\$([^$]{0,400})\$")
_SHORT_MATH_LENGTH = 12
_LETTER = re.compile(r"[^\W\d_]")
# A term made of digits and one capital: 3D, 6G, 4K.
_DIGITS_AND_CAPITAL = re.compile(r"\d+[A-Z]")

# Words that bound a phrase: analysis.STOPWORDS (function words), what that list keeps for search, and the verbs,
# adverbs and generic adjectives that abstracts are written with, which a chunker without a tagger would otherwise
# glue to the nouns beside them ("model achieves", "novel framework").
PHRASE_STOPWORDS = STOPWORDS | frozenset(
    """not no nor few more most same also however thus therefore hence moreover furthermore although though yet
    via using use used uses based within without across among upon whether either neither per etc e.g i.e eg ie
    et al vs versus towards toward while whereas since around along beyond despite rather much many several
    various different existing novel new recent recently current prior previous first second third one two three
    four five six seven eight nine ten well highly significantly substantially notably particularly especially
    effectively efficiently respectively widely often typically usually generally largely simply still even
    further often only just can may might must shall will would could should
    propose proposes proposed proposing present presents presented introduce introduces introduced introducing
    show shows showed shown showing demonstrate demonstrates demonstrated demonstrating achieve achieves achieved
    achieving outperform outperforms outperformed outperforming improve improves improved improving enable enables
    enabled enabling provide provides provided providing develop develops developed developing study studies
    studied investigate investigates investigated explore explores explored exploring find finds found reveal
    reveals revealed leverage leverages leveraged leveraging allow allows allowed make makes made making yield
    yields yielded obtain obtains obtained perform performs performed address addresses addressed consider
    considers considered require requires required remain remains remained lead leads led learn learns focus
    focuses evaluate evaluates evaluated conduct conducts conducted extensive comprehensive significant
    state-of-the-art sota superior competitive strong robust simple effective efficient key main overall
    paper work approach method methods results result experiments experimental code available github https http
    www com org establish establishes established becomes become becoming affect affects affected remain struggle
    struggles suffer suffers fail fails failing exhibit exhibits exhibited incorporate incorporates integrate
    integrates integrated employ employs employed utilize utilizes utilized adopt adopts design designs designed
    construct constructs constructed offer offers offered surpass surpasses surpassing reach reaches reduce reduces
    increase increases enhance enhances enhanced boost boosts capture captures captured help helps contain contains
    achieves limited better best higher lower larger smaller stronger weaker faster slower often able unable
    throughout unlike like take takes taken""".split()  # noqa: SIM905
)
# What comes after these is a verb when it can be one ("we train sparse autoencoders", "to extract features").
_BEFORE_VERBS = frozenset("we to they it which that who can may will would could should must might also".split())  # noqa: SIM905
_ADJECTIVE_ENDINGS = ("able", "ible", "ous", "ful", "less", "ive")
# Gerunds that papers use as nouns ("reasoning chains", "question answering"), which the lexicon knows as verbs.
_GERUND_NOUNS = frozenset(
    """reasoning thinking prompting captioning tracking parsing routing pruning hashing decoding forecasting editing
    answering pooling blending tuning distilling""".split()  # noqa: SIM905
)
# Words in -ly that are nouns, not adverbs.
_NOUNS_IN_LY = frozenset(
    {"anomaly", "family", "assembly", "supply", "reply", "ally", "rally", "butterfly", "monopoly", "italy", "july"}
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A phrase as first written in the abstract (or the title when only there), and what ranks it before embedding."""

    text: str
    key: str
    count: int
    first_position: int
    in_title: bool

    @property
    def words(self) -> int:
        return self.text.count(" ") + 1

    @property
    def cheap_score(self) -> float:
        # Repeated terms and multi-word ones name a paper's subject more often than single words said once.
        return self.count * (1.0 + 0.5 * (self.words - 1)) + (1.0 if self.in_title else 0.0)


@lru_cache(maxsize=65_536)
def parts_of_speech(word: str) -> frozenset[str]:
    """What the word can be (NOUN, VERB, ADJ, ADV …) in lemminflect's English lexicon; empty for words it does not
    know, such as names and acronyms, which are taken for nouns."""
    return frozenset(getAllLemmas(word.casefold()))


def _is_verb_only(word: str) -> bool:
    return parts_of_speech(word) == {"VERB"} and word.casefold() not in _GERUND_NOUNS


def _is_word(token: str) -> bool:
    folded = token.casefold()
    if len(token) > MAX_WORD_CHARACTERS or folded in PHRASE_STOPWORDS:
        return False
    # Adverbs ("increasingly", "directly") join no noun phrase.
    if folded.endswith("ly") and len(folded) > 4 and folded not in _NOUNS_IN_LY:
        return False
    # Nor do verbs that can be nothing else ("mitigate", "ensure"), but for participles that qualify a noun
    # ("interleaved image-text retrieval") and gerunds ("dexterous grasping"), which `_is_phrase` places.
    if _is_verb_only(token) and not folded.endswith(("ed", "ing")):
        return False
    letters = len(_LETTER.findall(token))
    return letters >= 2 or bool(_DIGITS_AND_CAPITAL.fullmatch(token))


def _is_phrase(words: Sequence[str]) -> bool:
    """Whether the words can be a noun phrase: they end in what may be a noun, and a participle only leads."""
    last = parts_of_speech(words[-1])
    # A gerund at the end is the head noun ("dexterous grasping", "visual question answering"), but for one after a
    # plural, which is its subject ("websites containing").
    gerund = last == {"VERB"} and words[-1].endswith("ing") and not (len(words) > 1 and words[-2].endswith("s"))
    if last and not last & {"NOUN", "PROPN"} and not gerund:
        return False
    # A word the lexicon lacks is taken for a name, unless it is made like an adjective ("interpretable").
    if not last and words[-1].islower() and words[-1].endswith(_ADJECTIVE_ENDINGS):
        return False
    # "generating long-form outputs" and "questions requiring multi-step" hold a verb and its object; a participle
    # after the noun it qualifies reads as a verb too ("papers retrieved").
    if any(_is_verb_only(word) and word.endswith("ing") for word in words[:-1]):
        return False
    return not any(_is_verb_only(word) and word.endswith("ed") for word in words[1:])


def _runs(text: str) -> list[list[str]]:
    """The text's words in runs that no punctuation, number, formula remains or stop-word interrupts."""
    runs: list[list[str]] = [[]]
    previous = ""
    for match in _TOKEN.finditer(_COMMAND.sub(" , ", text)):
        if match["space"] is not None:
            continue
        token = match[0]
        if _is_word(token) and not (previous in _BEFORE_VERBS and "VERB" in parts_of_speech(token)):
            runs[-1].append(token)
        elif runs[-1]:
            runs.append([])
        previous = token.casefold()
    return [run for run in runs if run]


def _math_or_boundary(match: re.Match[str]) -> str:
    formula = match[1]
    if len(formula) > _SHORT_MATH_LENGTH or re.search(r"\\[A-Za-z]|\s", formula):
        return " , "
    return match[0]


def plain_text(text: str) -> str:
    """Addresses, formulas and LaTeX markup gone, NFKC-normalised (ligatures, full-width letters), bounded in
    length."""
    text = _INLINE_MATH.sub(_math_or_boundary, _ADDRESS.sub(" , ", text[:MAX_TEXT_CHARACTERS]))
    return unicodedata.normalize("NFKC", to_plain(text))


def candidates(title: str, abstract: str) -> list[Candidate]:
    """The paper's candidate phrases, best first by the cheap score (ties: first seen first), at most
    `MAX_CANDIDATES`. A phrase always followed by the same word is left for the longer one ("Large Language" when
    the text only says "Large Language Models")."""
    found: dict[str, list[object]] = {}
    # The word after each phrase, each time it appears (None where no longer candidate goes on from it).
    followers: dict[str, set[str | None]] = {}
    position = 0
    for in_title, text in ((True, title), (False, abstract[: max(0, MAX_TEXT_CHARACTERS - len(title))])):
        for run in _runs(plain_text(text)):
            for start in range(len(run)):
                for length in range(1, MAX_WORDS_PER_PHRASE + 1):
                    if start + length > len(run):
                        break
                    words = run[start : start + length]
                    phrase = " ".join(words)
                    if len(phrase) > MAX_PHRASE_CHARACTERS:
                        break
                    if not _is_phrase(words):
                        continue
                    key = phrase.casefold()
                    position += 1
                    # Only a longer phrase that is a candidate itself can stand for this one.
                    end = start + length
                    longer = end < len(run) and _is_phrase(run[start : end + 1])
                    followers.setdefault(key, set()).add(run[end].casefold() if longer else None)
                    entry = found.get(key)
                    if entry is None:
                        found[key] = [phrase, 1, position, in_title, in_title]
                        continue
                    entry[1] = int(entry[1]) + 1  # type: ignore[call-overload]
                    if not in_title and entry[4]:
                        # Written as the abstract writes it, not in the title's capitals.
                        entry[0], entry[4] = phrase, False
    ranked = [
        Candidate(str(text), key, int(count), int(first), bool(titled))  # type: ignore[call-overload]
        for key, (text, count, first, titled, _) in found.items()
        if not (len(followers[key]) == 1 and None not in followers[key] and key.count(" ") < MAX_WORDS_PER_PHRASE - 1)
    ]
    ranked.sort(key=lambda candidate: (-candidate.cheap_score, candidate.first_position))
    return ranked[:MAX_CANDIDATES]


def _overlaps(first: str, second: str) -> bool:
    """Whether one phrase is the other or holds it whole ("language models", "large language models")."""
    first, second = f" {first.casefold()} ", f" {second.casefold()} "
    return first in second or second in first


def select_keywords(phrases: Sequence[str], phrase_vectors: np.ndarray, paper_vector: np.ndarray) -> list[str]:
    """Maximal marginal relevance over the phrases (rows of unit vectors) against the paper's unit vector; a phrase
    inside a chosen one, or holding one, is not chosen as well."""
    if not phrases:
        return []
    relevance = phrase_vectors @ paper_vector
    likeness = phrase_vectors @ phrase_vectors.T
    available = np.ones(len(phrases), dtype=bool)
    # How like each phrase is to the nearest one chosen so far.
    nearest = np.zeros(len(phrases), dtype=np.float32)
    chosen: list[int] = []
    while len(chosen) < MAX_KEYWORDS and available.any():
        weights = (1 - DIVERSITY) * relevance - DIVERSITY * nearest if chosen else relevance
        best = int(np.argmax(np.where(available, weights, -np.inf)))
        if len(chosen) >= MIN_KEYWORDS and relevance[best] < MIN_RELEVANCE:
            break
        chosen.append(best)
        nearest = np.maximum(nearest, likeness[best])
        for index in np.flatnonzero(available):
            if _overlaps(phrases[index], phrases[best]):
                available[index] = False
    return [phrases[index] for index in chosen]


class PhraseVectors:
    """Phrase vectors, remembered: papers of one field share most of their terms, and a phrase's vector does not
    depend on the paper it is found in. Up to `limit` vectors are kept (1.5 KiB each); the store is emptied when
    full."""

    def __init__(self, embedder: Embedder, limit: int = 50_000) -> None:
        self.embedder = embedder
        self.limit = limit
        self._vectors: dict[str, np.ndarray] = {}
        # Phrases embedded, and phrases asked for (the difference was remembered).
        self.embedded = 0
        self.asked = 0

    def add(self, keys: Iterable[str]) -> None:
        """Embed the phrases not known yet, in one call."""
        missing = [key for key in dict.fromkeys(keys) if key not in self._vectors]
        if not missing:
            return
        if len(self._vectors) + len(missing) > self.limit:
            self._vectors.clear()
        # The model reads lower-case text, so the case-folded key is what it would see anyway.
        self._vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        self.embedded += len(missing)

    def __call__(self, keys: Sequence[str]) -> np.ndarray:
        """The phrases' vectors, one row each."""
        self.add(keys)
        self.asked += len(keys)
        if not keys:
            return np.empty((0, self.embedder.dimensions), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys])


def extract_keywords(title: str, abstract: str, paper_vector: np.ndarray, phrase_vectors: PhraseVectors) -> list[str]:
    """The paper's keywords, most telling first."""
    found = candidates(title, abstract)
    vectors = phrase_vectors([candidate.key for candidate in found])
    return select_keywords([candidate.text for candidate in found], vectors, paper_vector)
