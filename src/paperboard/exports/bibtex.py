"""BibTeX entries for papers of the catalogue, the way arXiv's own export writes them: `@misc` with the eprint
fields (`eprint`, `archivePrefix`, `primaryClass`) that biblatex and natbib styles turn into an arXiv reference.

Keys are the first author's surname, the year and the first significant word of the title (`vaswani2017attention`),
folded to ASCII letters and digits, so the same paper gets the same key in every file. When two papers of one file
would share a key, the one with the lower arXiv id keeps it and the others get a letter (`…attentiona`,
`…attentionb`), which does not depend on the order of the file.

Titles and names are arXiv's, which is LaTeX: commands and `$…$` math are kept as written. Outside math, the
characters LaTeX would take for something else (`& % # _ ~ ^ < >`, an unpaired `$`) are escaped; inside math only
`& % #`, which are errors or comments there too. BibTeX itself counts every brace, escaped or not, to find where a
value ends, so a brace without a partner becomes a command that prints one: no title can end its field early or
start another entry. Non-ASCII text stays UTF-8, which biber and modern LaTeX read.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

from paperboard.db.models import Paper

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# A backslash with the character it escapes, a display-math delimiter, or any one character.
_TOKEN = re.compile(r"\\.|\$\$|.", re.DOTALL)
_MATH_DELIMITERS = ("$", "$$")
_TEXT_ESCAPES = {
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    # Dollars reach here only when they pair with no other.
    "$": r"\$",
    "$$": r"\$\$",
    # A backslash escapes nothing only at the very end, where it would escape the brace closing the field.
    "\\": r"\textbackslash{}",
}
_MATH_ESCAPES = {"&": r"\&", "%": r"\%", "#": r"\#"}
_OPENING_BRACES = ("{", "\\{")
_CLOSING_BRACES = ("}", "\\}")
_LONE_BRACES = {
    (False, True): r"\textbraceleft{}",
    (False, False): r"\textbraceright{}",
    (True, True): r"\lbrace{}",
    (True, False): r"\rbrace{}",
}
# BibTeX splits the author field on " and " and reads a comma as "Surname, Given names".
_NAME_SEPARATORS = re.compile(r",|\sand\s", re.IGNORECASE)
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_MATH_SPAN = re.compile(r"\$[^$]*\$")
_LETTERS = re.compile(r"[^\W\d_]+")
# Letters that Unicode does not decompose into an ASCII letter and a mark.
_ASCII_SPELLINGS = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d",
     "Đ": "D", "ð": "d", "þ": "th", "Þ": "TH", "ı": "i"}
)  # fmt: skip
# Words a key skips, so that its word says what the paper is about.
_TITLE_STOP_WORDS = frozenset({"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "at", "by", "from"})
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# The key's first part when no author's name has a letter that folds to ASCII.
_NAMELESS = "arxiv"


def _math_flags(tokens: list[str]) -> list[bool]:
    """Whether each token is math (delimiters included): a `$` or `$$` up to the next one of the same kind."""
    flags = [False] * len(tokens)
    position = 0
    while position < len(tokens):
        token = tokens[position]
        closing = None
        if token in _MATH_DELIMITERS:
            closing = next((later for later in range(position + 1, len(tokens)) if tokens[later] == token), None)
        if closing is None:
            position += 1
            continue
        flags[position : closing + 1] = [True] * (closing + 1 - position)
        position = closing + 1
    return flags


def _lone_braces(tokens: list[str]) -> set[int]:
    """The positions of braces without a partner. Plain and escaped braces pair among their own kind: LaTeX groups
    with the one and prints the other, while BibTeX counts both, which pairing within each kind keeps balanced."""
    lone: set[int] = set()
    for opening, closing in zip(_OPENING_BRACES, _CLOSING_BRACES, strict=True):
        open_positions: list[int] = []
        for position, token in enumerate(tokens):
            if token == opening:
                open_positions.append(position)
            elif token == closing:
                if open_positions:
                    open_positions.pop()
                else:
                    lone.add(position)
        lone.update(open_positions)
    return lone


def latex_text(text: str) -> str:
    """Text as a BibTeX value can hold it and LaTeX print it (see the module's docstring)."""
    tokens = _TOKEN.findall(text)
    in_math = _math_flags(tokens)
    lone = _lone_braces(tokens)
    escaped = []
    for position, token in enumerate(tokens):
        math = in_math[position]
        if position in lone:
            escaped.append(_LONE_BRACES[math, token in _OPENING_BRACES])
        elif math:
            escaped.append(_MATH_ESCAPES.get(token, token))
        else:
            escaped.append(_TEXT_ESCAPES.get(token, token))
    return "".join(escaped)


def _bibtex_name(name: str) -> str:
    """One author for the `author` field; a name BibTeX would split or reverse (an institution "X and Y", a comma)
    is braced, so that it is printed as written."""
    escaped = latex_text(name)
    return f"{{{escaped}}}" if _NAME_SEPARATORS.search(name) else escaped


def _verbatim(value: str) -> str:
    """A DOI as biblatex's verbatim fields take it: as written, with braces and backslashes percent-encoded."""
    return "".join(f"%{ord(character):02X}" if character in "{}\\" else character for character in value)


def _ascii_word(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_SPELLINGS))
    return "".join(character for character in decomposed if character.isascii() and character.isalpha()).lower()


def _surname(name: str) -> str:
    """The family name in a key: the part before a comma (`Turing, Alan`), else the last word that is not a
    suffix such as Jr."""
    if "," in name:
        return _ascii_word(name.split(",", 1)[0])
    words = [_ascii_word(word) for word in name.split()]
    words = [word for word in words if word]
    while len(words) > 1 and words[-1] in _NAME_SUFFIXES:
        words.pop()
    return words[-1] if words else ""


def _title_word(title: str) -> str:
    """The first word of the title, in ASCII letters, that is neither math, a LaTeX command nor a stop word."""
    plain = _LATEX_COMMAND.sub(" ", _MATH_SPAN.sub(" ", title))
    for word in _LETTERS.findall(plain):
        folded = _ascii_word(word)
        if folded and folded not in _TITLE_STOP_WORDS:
            return folded
    return ""


def citation_key(paper: Paper) -> str:
    """The paper's key before any collision in a file: surname, year and first significant title word."""
    surname = _surname(paper.authors[0]) if paper.authors else ""
    return f"{surname or _NAMELESS}{paper.published_at.year}{_title_word(paper.title)}"


def _letters(number: int) -> str:
    """1 → a, 26 → z, 27 → aa: the suffix of the `number`-th paper to collide with a key."""
    suffix = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        suffix = chr(ord("a") + remainder) + suffix
    return suffix


def unique_keys(papers: Sequence[Paper]) -> list[str]:
    """A key for each paper, in order, unique within the sequence (see the module's docstring)."""
    by_key: dict[str, list[Paper]] = defaultdict(list)
    for paper in papers:
        by_key[citation_key(paper)].append(paper)
    taken = set(by_key)
    keys: dict[str, str] = {}
    for key, sharing in by_key.items():
        collision = 0
        for index, paper in enumerate(sorted(sharing, key=lambda paper: paper.arxiv_id)):
            if index == 0:
                keys[paper.arxiv_id] = key
                continue
            candidate = key
            # A lettered key could be another paper's own key; the next letter is then free.
            while candidate in taken:
                collision += 1
                candidate = key + _letters(collision)
            taken.add(candidate)
            keys[paper.arxiv_id] = candidate
    return [keys[paper.arxiv_id] for paper in papers]


def bibtex_entry(paper: Paper, key: str | None = None) -> str:
    """The paper as one `@misc` entry, under `key` or its own `citation_key`."""
    # Braced twice, so that styles which lower-case titles leave its capitals (acronyms, names) alone.
    fields = [("title", f"{{{{{latex_text(paper.title)}}}}}")]
    if paper.authors:
        fields.append(("author", "{" + " and ".join(_bibtex_name(name) for name in paper.authors) + "}"))
    fields += [
        ("year", f"{{{paper.published_at.year}}}"),
        # A month macro, unbraced, which every style prints in its own language.
        ("month", _MONTHS[paper.published_at.month - 1]),
        ("eprint", f"{{{paper.arxiv_id}}}"),
        ("archivePrefix", "{arXiv}"),
    ]
    if paper.categories:
        fields.append(("primaryClass", f"{{{paper.categories[0].category}}}"))
    fields.append(("url", f"{{https://arxiv.org/abs/{paper.arxiv_id}}}"))
    if paper.doi:
        fields.append(("doi", f"{{{_verbatim(paper.doi)}}}"))
    body = ",\n".join(f"  {name} = {value}" for name, value in fields)
    return f"@misc{{{key or citation_key(paper)},\n{body}\n}}\n"


def bibtex_file(papers: Sequence[Paper]) -> str:
    """Entries for the papers, in their order, with keys unique within the file."""
    return "\n".join(bibtex_entry(paper, key) for paper, key in zip(papers, unique_keys(papers), strict=True))
