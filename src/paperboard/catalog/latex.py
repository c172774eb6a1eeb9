"""The LaTeX of titles and abstracts, as readers should see it: text-mode commands rendered, maths left to KaTeX.

arXiv's records are the authors' LaTeX: `\\textbf{policy efficiency}`, `51.4\\%`, `Schr\\"odinger`, `\\url{…}`, and
maths between `$…$`, `$$…$$`, `\\(…\\)` or `\\[…\\]`. `to_html` renders the common text-mode commands (bold, italic,
small caps, typewriter, accents, escaped characters, `~`, dashes and quotes, `\\url` and `\\href`) as markup, escapes
every piece of text it emits, and leaves each formula's source, escaped, for KaTeX to typeset in the page.
Pages that do not load KaTeX (the lists' cards) get formulas as plain text in that HTML. `to_plain` gives the same
text without markup, for places that cannot show any (a browser tab's title, feeds):
simple super- and subscripts of digits and letters become Unicode (`D$^{2}$R$^{2}$OSR` is `D²R²OSR`), and other
maths keeps its TeX without the dollars. Commands it does not know are shown as typed.

The text is parsed once into a small tree (`_parse`), which both renderings walk.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from markupsafe import Markup, escape

# Accents, written `\"o`, `\"{o}` or `\c c`, as the combining characters Unicode composes them with.
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
# Commands that stand for a character or a word.
_SYMBOLS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "ldots": "…",
    "dots": "…",
    "textendash": "–",
    "textemdash": "—",
    "textasciitilde": "~",
    "textbackslash": "\\",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "%": "%",
    "&": "&",
    "#": "#",
    "_": "_",
    "$": "$",
    "{": "{",
    "}": "}",
    " ": " ",
    ",": "\u2009",
    "\\": " ",
}
# Text styles, by command (`\textbf{…}`) and by declaration (`{\bf …}`), as the element that shows them.
_STYLES = {
    "textbf": "strong",
    "textit": "em",
    "emph": "em",
    "textsl": "em",
    "textsc": "small-caps",
    "texttt": "code",
    "underline": "u",
    "textrm": "",
    "textsf": "",
    "textup": "",
    "textnormal": "",
    "mbox": "",
    "text": "",
}
_DECLARATIONS = {"bf": "strong", "it": "em", "em": "em", "sl": "em", "sc": "small-caps", "tt": "code", "rm": ""}
# Ligatures LaTeX makes in text: dashes and quotes.
_LIGATURES = re.compile(r"---|--|``|''")
_LIGATURE_TEXT = {"---": "—", "--": "–", "``": "“", "''": "”"}
_DOLLAR = Markup('<span class="tex-text">$</span>')
_MATH_OPENERS = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ",
        strict=True,
    )
)
_SUBSCRIPTS = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
# `^2`, `^{2}`, `_{ij}`, `^{-1}`: a script whose every character has a Unicode form.
_SCRIPT = re.compile(r"(?P<mark>[\^_])(?:\{(?P<group>[^{}]*)\}|(?P<single>[0-9A-Za-z]))")


@dataclass
class _Math:
    opener: str
    source: str
    closer: str


@dataclass
class _Styled:
    style: str
    children: list[_Node] = field(default_factory=list)


@dataclass
class _Link:
    url: str
    children: list[_Node]


_Node = str | _Math | _Styled | _Link


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def nodes(self, *, in_group: bool, leave_close: bool = False) -> list[_Node]:
        """Nodes up to the end, or up to the `}` closing the current group (consumed unless `leave_close`)."""
        result: list[_Node] = []
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char == "}" and in_group:
                self.at += 0 if leave_close else 1
                return result
            if char == "{":
                self.at += 1
                result.append(_Styled("", self.nodes(in_group=True)))
            elif char == "$" or text.startswith(("\\(", "\\["), self.at):
                result.append(self._math())
            elif char == "\\":
                result.append(self._command())
            elif char == "~":
                self.at += 1
                result.append("\u00a0")
            else:
                end = self._plain_end()
                result.append(_LIGATURES.sub(lambda match: _LIGATURE_TEXT[match[0]], text[self.at : end]))
                self.at = end
        return result

    def _plain_end(self) -> int:
        end = self.at + 1
        while end < len(self.text) and self.text[end] not in "{}$\\~":
            end += 1
        return end

    def _math(self) -> _Node:
        if self.text.startswith("$$", self.at):
            opener = "$$"
        else:
            opener = "$" if self.text[self.at] == "$" else self.text[self.at : self.at + 2]
        closer = _MATH_OPENERS[opener]
        start = self.at + len(opener)
        end = start
        while True:
            end = self.text.find(closer, end)
            if end < 0:
                # An unpaired delimiter is text, as KaTeX's auto-render leaves it.
                self.at += len(opener)
                return opener
            if closer == "$" and self.text[end - 1] == "\\":
                end += 1
                continue
            break
        self.at = end + len(closer)
        return _Math(opener, self.text[start:end], closer)

    def _name(self) -> str:
        """The command after a backslash: a run of letters, or one other character."""
        start = self.at + 1
        end = start
        while end < len(self.text) and self.text[end].isascii() and self.text[end].isalpha():
            end += 1
        if end == start:
            end = min(start + 1, len(self.text))
        self.at = end
        return self.text[start:end]

    def _skip_spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at] == " ":
            self.at += 1

    def _argument(self) -> list[_Node] | None:
        """A `{…}` argument, parsed, or None when the command has none."""
        self._skip_spaces()
        if self.at < len(self.text) and self.text[self.at] == "{":
            self.at += 1
            return self.nodes(in_group=True)
        return None

    def _raw_argument(self) -> str | None:
        """A `{…}` argument as typed, braces included (a URL's, or an unknown command's), or None."""
        if not self.text.startswith("{", self.at):
            return None
        depth = 0
        for end in range(self.at, len(self.text)):
            depth += {"{": 1, "}": -1}.get(self.text[end], 0)
            if depth == 0:
                raw = self.text[self.at : end + 1]
                self.at = end + 1
                return raw
        return None

    def _command(self) -> _Node:
        start = self.at
        name = self._name()
        if name in _ACCENTS:
            return self._accented(name)
        if name in _SYMBOLS:
            if name.isalpha() and self.text.startswith("{}", self.at):
                self.at += 2
            return _SYMBOLS[name]
        if name in _STYLES:
            argument = self._argument()
            if argument is not None:
                return _Styled(_STYLES[name], argument)
        elif name in _DECLARATIONS:
            # `{\bf bold}`: the rest of the group takes the style (and TeX drops the spaces after a command's name).
            self._skip_spaces()
            return _Styled(_DECLARATIONS[name], self.nodes(in_group=True, leave_close=True))
        elif name == "url":
            url = self._raw_argument()
            if url is not None:
                return _Link(url[1:-1], [url[1:-1]])
        elif name == "href":
            url = self._raw_argument()
            text = self._argument() if url is not None else None
            if url is not None and text is not None:
                return _Link(url[1:-1], text)
        # Not a command this knows: shown as typed, with its argument.
        self.at = start + 1 + len(name)
        return "\\" + name + (self._raw_argument() or "")

    def _accented(self, accent: str) -> str:
        # `\"{o}` and `\c{c}` take a group; `\"o` and `\c c` the next letter.
        argument = self._argument() if accent.isalpha() or self.text.startswith("{", self.at) else None
        if argument is None and self.text.startswith("\\", self.at):
            # `\"\i ve`: the accent of a letter written as a command.
            command = self._command()
            base = command if isinstance(command, str) else _plain([command])
            self._skip_spaces()
        elif argument is None:
            base = self.text[self.at : self.at + 1]
            self.at += len(base)
        else:
            base = _plain(argument)
        if not base:
            return accent
        # `\'{\i}` is an accented i: Unicode composes accents with i, not with the dotless ı.
        first = "i" if base[0] == "ı" else "j" if base[0] == "ȷ" else base[0]
        return unicodedata.normalize("NFC", first + _ACCENTS[accent] + base[1:])


def _parse(text: str) -> list[_Node]:
    return _Parser(text).nodes(in_group=False)


def _is_web_url(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def _html(nodes: list[_Node], katex: bool) -> Markup:
    # Markup.format and Markup.join escape every piece of text they are given.
    parts: list[Markup] = []
    for node in nodes:
        if isinstance(node, str):
            # A `$` of the text (`\$`) is marked so that KaTeX's auto-render, which reads the page's text, does not
            # take it for the start of a formula.
            parts.append(_DOLLAR.join(escape(piece) for piece in node.split("$")))
        elif isinstance(node, _Math):
            parts.append(escape(node.opener + node.source + node.closer if katex else plain_math(node.source)))
        elif isinstance(node, _Link):
            inner = _html(node.children, katex)
            if _is_web_url(node.url):
                parts.append(Markup('<a href="{}" rel="nofollow">{}</a>').format(node.url, inner))
            else:
                parts.append(inner)
        elif node.style == "small-caps":
            parts.append(Markup('<span class="small-caps">{}</span>').format(_html(node.children, katex)))
        elif node.style:
            parts.append(Markup("<{0}>{1}</{0}>").format(Markup(node.style), _html(node.children, katex)))
        else:
            parts.append(_html(node.children, katex))
    return Markup("").join(parts)


def _plain(nodes: list[_Node]) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, _Math):
            parts.append(plain_math(node.source))
        else:
            parts.append(_plain(node.children))
    return "".join(parts)


def plain_math(source: str) -> str:
    """A formula as text: super- and subscripts in Unicode where every character has a form, else as typed."""

    def script(match: re.Match[str]) -> str:
        characters = match["group"] if match["group"] is not None else match["single"]
        table = _SUPERSCRIPTS if match["mark"] == "^" else _SUBSCRIPTS
        if characters and all(character in table for character in characters):
            return "".join(table[character] for character in characters)
        return match[0]

    return _SCRIPT.sub(script, source).strip()


def to_html(text: str, *, katex: bool = True) -> Markup:
    """The text as safe HTML: text-mode commands rendered; formulas left (escaped) for KaTeX, or, on pages that do
    not load it (`katex=False`), as `to_plain` writes them."""
    return _html(_parse(text), katex)


def to_plain(text: str) -> str:
    """The text without LaTeX markup, for a title bar or a feed."""
    return _plain(_parse(text))
