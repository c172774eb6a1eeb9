"""The renderer's child process on its own: what a PDF that needs more memory than allowed, or that is no PDF at all,
gets: a refusal that says why, not a crash of the caller."""

from __future__ import annotations

import pytest

from paperboard.thumbnails.render import RenderRefused, render_thumbnail
from tests.pdfs import pdf_document


def test_a_render_that_needs_more_memory_than_allowed_is_refused_with_the_limit():
    # 40 MiB of address space: enough for Python to start, not for PDFium to be loaded and run.
    with pytest.raises(RenderRefused, match=r"more than 40 MiB"):
        render_thumbnail(pdf_document(), seconds=60, memory_bytes=40 * 2**20)


def test_an_empty_or_truncated_file_or_a_pdf_without_pages_is_refused_as_unreadable():
    whole = pdf_document()
    for broken in (b"", whole[: len(whole) // 3], pdf_document(pages=0)):
        with pytest.raises(RenderRefused, match="it is not a PDF that can be read"):
            render_thumbnail(broken, seconds=60, memory_bytes=512 * 2**20)
