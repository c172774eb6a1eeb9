"""The one rule on which characters text from outside may hold, for every way in (files, feeds, forms, the API).

Refused, wherever they appear:
- NUL and the other C0 control characters, except tab, line feed and carriage return (U+0000–U+0008, U+000B,
  U+000C, U+000E–U+001F): PostgreSQL cannot store a NUL in text at all, and XML 1.0, in which the feeds are
  written, cannot carry any of them;
- DEL and the C1 control characters (U+007F–U+009F): invisible on a page, but a terminal or an editor opening an
  export may act on them (U+009B starts an escape sequence);
- lone surrogates (U+D800–U+DFFF), which JSON's `\\ud800` escapes can produce but which are no characters: they
  cannot be written as UTF-8, so no page, mail or database could hold them;
- U+FFFE and U+FFFF, which are no characters either, and which XML 1.0 refuses too.

Text holding one is refused whole, never cleaned up: no real paper, name or comment needs these characters (the
128,267 papers and 9,881 listings of the shared corpus hold none), and quietly removing them would store something
other than what was sent. Each edge says so in its own way: an importer names the record and skips it, keeping the
good ones (`catalog.record.RecordError`); a web request is answered 400 before any route runs (`web.inputs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def forbidden_character(text: str) -> str | None:
    """What is wrong with `text`, naming its first forbidden character and where it is; None when it has none."""
    match = _FORBIDDEN.search(text)
    if match is None:
        return None
    code = ord(match.group())
    if code == 0:
        kind = "a NUL character"
    elif 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate"
    elif code in (0xFFFE, 0xFFFF):
        kind = "a noncharacter"
    else:
        kind = "a control character"
    return f"holds {kind} (U+{code:04X}) at position {match.start() + 1}, which no text here may contain"


def forbidden_in(value: object, location: str = "") -> Iterator[tuple[str, str]]:
    """(where, what is wrong) for each string, key or value, of decoded JSON that holds a forbidden character;
    `where` reads like `authors[2]` or `comment`."""
    if isinstance(value, str):
        problem = forbidden_character(value)
        if problem is not None:
            yield location or "body", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            # A bad key is named by where it is, not by itself: messages must not carry the character back out.
            key_problem = forbidden_character(str(key))
            if key_problem is not None:
                yield f"a name in {location or 'the object'}", key_problem
            else:
                yield from forbidden_in(item, f"{location}.{key}" if location else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from forbidden_in(item, f"{location}[{index}]")
