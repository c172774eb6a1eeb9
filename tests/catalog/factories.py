"""Building records for tests with sensible defaults."""

from __future__ import annotations

from typing import Any

from paperboard.catalog.record import PaperRecord, build_record


def make_record(arxiv_id: str = "2506.00001", **fields: Any) -> PaperRecord:
    values: dict[str, Any] = {
        "arxiv_id": arxiv_id,
        "title": f"A paper numbered {arxiv_id}",
        "abstract": "We study something and find something else.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.CL", "cs.LG"],
        "published_at": "2025-06-02",
    }
    values.update(fields)
    return build_record(**values)
