"""Long lists of keys split into `IN (...)` lists a statement can bind on every backend."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

Key = TypeVar("Key")

# SQLite accepts 32,766 bound parameters per statement (999 before 3.32); stay well below.
IN_LIST_SIZE = 900


def in_batches(keys: Sequence[Key], size: int = IN_LIST_SIZE) -> Iterator[list[Key]]:
    """`keys` in lists of at most `size`, in order."""
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])
