"""The site's stylesheet is well formed: every rule closed, and rules nested only inside at-rules (@media). A rule
opened inside another, as a bad merge leaves them, makes browsers drop the rest of the sheet's layout silently."""

from __future__ import annotations

import re

from paperboard.web.app import STATIC_DIR


def test_every_rule_is_closed_and_only_at_rules_hold_rules():
    text = re.sub(r"/\*.*?\*/", "", (STATIC_DIR / "style.css").read_text(encoding="utf-8"), flags=re.S)
    open_rules: list[str] = []
    misplaced: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for character in line:
            if character == "{":
                if open_rules and not open_rules[-1].startswith("@"):
                    misplaced.append(f"line {number}: {line.strip()!r} inside {open_rules[-1]!r}")
                open_rules.append(line.split("{")[0].strip() or line.strip())
            elif character == "}":
                assert open_rules, f"line {number}: a closing brace with no rule open"
                open_rules.pop()
    assert misplaced == []
    assert open_rules == [], f"rules never closed: {open_rules}"
