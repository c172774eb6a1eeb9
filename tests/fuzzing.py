"""Hypothesis strategies for fuzzing the importers and parsers: hostile text and values, to mix with good records.

Each fuzz test runs a modest number of examples, so that the suite stays fast; PAPERBOARD_TEST_FUZZ_FACTOR multiplies
them for a long run (`PAPERBOARD_TEST_FUZZ_FACTOR=100 pytest -n 0 tests -k fuzz`).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from paperboard.characters import forbidden_character

_FACTOR = float(os.environ.get("PAPERBOARD_TEST_FUZZ_FACTOR", "1"))
# Characters the rule refuses (paperboard.characters), each kind of them, and some it keeps that look alike.
FORBIDDEN = "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\x9b\ud800\udfff\ufffe\uffff"
_LOOKALIKES = "\t\n\r \xa0\u2028\u200b\ufeff"
# Text that broke parsers elsewhere: digits that are not ASCII (`'²'.isdigit()` is true, `int('²')` fails), dates
# at the ends of the calendar and time zones that push them over, numbers too big for a 32-bit column.
_TRICKY = [
    "",
    " ",
    "²",
    "v²",
    "٣",
    "v٣",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "Mon, 1 Jan 0001 00:00:00 +0100",
    "2025-02-30",
    "99999999999999999999",
    "v99999999999",
    "2506.00001v99999999999",
    "cs." + "A" * 100,
    "a" * 100,
    "javascript:alert(1)",
    "NaN",
]


def fuzz_settings(examples: int) -> settings:
    """Settings of a fuzz test: `examples` examples (times the factor), no deadline on a shared machine, and huge
    values allowed."""
    return settings(
        max_examples=max(1, round(examples * _FACTOR)),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.function_scoped_fixture,
        ],
    )


def hostile_text(*, xml: bool = False) -> st.SearchStrategy[str]:
    """Any text: forbidden characters among ordinary ones, tricky values, and huge ones. With `xml`, only what an XML
    1.0 document can carry (its parser refuses the rest before any record is read)."""
    alphabet = st.sampled_from(FORBIDDEN + _LOOKALIKES) | st.characters(codec="utf-8")
    texts = st.one_of(
        st.text(alphabet, max_size=30),
        st.sampled_from(_TRICKY),
        st.builds(lambda text, times: text * times, st.text(alphabet, min_size=1, max_size=3), st.integers(1, 12_000)),
    )
    return texts.map(_xml_safe) if xml else texts


def _xml_safe(text: str) -> str:
    return "".join(
        c for c in text if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff"
    )


def hostile_values() -> st.SearchStrategy[Any]:
    """Any JSON value, nested, with hostile text and numbers of every size."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**31, 2**63, -(2**31) - 1, 10**30]),
        st.floats(),
        hostile_text(),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text(), inner, max_size=4),
        max_leaves=8,
    )


def assert_texts_allowed(value: object) -> None:
    """Every text in `value` (a record's fields, nested) passes the characters rule."""
    if isinstance(value, str):
        assert forbidden_character(value) is None, repr(value[:80])
    elif isinstance(value, tuple | list):
        for item in value:
            assert_texts_allowed(item)
