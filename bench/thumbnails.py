"""First-page thumbnails: render time and memory per PDF, as the worker renders them.

    .venv/bin/python bench/thumbnails.py [PDF ...] [--repeat 5]

For each PDF (those given, else the few found under /usr/share/doc, plus ones made here: a page of text, 500 pages,
a page holding a 24-megapixel photograph-like image, and 45 MB of padding), prints its size and pages, the time the
worker's call takes (`render_thumbnail`: a child process started, PDFium loaded, page 1 rendered, WebP written; the
median of --repeat runs), the time of the rendering alone in this process (`render_first_page`), the child's peak
resident memory (GNU time's %M), and the size of the WebP. Nothing here needs the network.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from paperboard.thumbnails import render
from paperboard.thumbnails.render import render_first_page, render_thumbnail

MEMORY = 512 * 2**20
DOCS = Path("/usr/share/doc")


def text_pdf(pages: int) -> bytes:
    """`pages` Letter pages, each with a band and a line of text, written by hand as tests/pdfs.py does."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pdfs import pdf_document

    return pdf_document(pages=pages)


def image_pdf(width: int, height: int) -> bytes:
    """One page holding a noisy RGB image of `width` x `height` pixels (JPEG in the PDF, as scanned pages are)."""
    noise = np.random.default_rng(5).integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
    image = Image.fromarray(noise).resize((width, height))
    out = io.BytesIO()
    image.save(out, "PDF", resolution=300.0)
    return out.getvalue()


def pages_of(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def child_peak_rss(pdf: bytes) -> int:
    """The peak resident memory, in bytes, of one render child, measured by GNU time: a child forked from this
    process would count this process's own memory in its peak, which Linux keeps across exec."""
    child = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", render.__name__, str(MEMORY)],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return int(child.stderr.decode().split()[-1]) * 1024


def measure(name: str, pdf: bytes, repeat: int) -> None:
    worker_times, inline_times = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        rendered = render_thumbnail(pdf, seconds=120, memory_bytes=MEMORY)
        worker_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        render_first_page(pdf)
        inline_times.append(time.perf_counter() - began)
    print(
        f"{name:<34} {len(pdf) / 2**20:>8.2f} {pages_of(pdf):>6} {statistics.median(worker_times) * 1000:>9.0f} "
        f"{statistics.median(inline_times) * 1000:>9.0f} {child_peak_rss(pdf) / 2**20:>9.0f} "
        f"{len(rendered.image) / 1024:>7.1f} {rendered.width}x{rendered.height}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    found = arguments.pdfs or sorted(DOCS.glob("**/*.pdf"))[:4]
    documents = [(path.name, path.read_bytes()) for path in found]
    if not arguments.pdfs:
        documents += [
            ("made: 1 page of text", text_pdf(1)),
            ("made: 500 pages of text", text_pdf(500)),
            ("made: a 6000x4000 image page", image_pdf(6000, 4000)),
            (
                "made: 1 page + 45 MB padding",
                text_pdf(1).replace(b"%PDF-1.4\n", b"%PDF-1.4\n%" + b"x" * 45_000_000 + b"\n", 1),
            ),
        ]
    versions = f"Python {platform.python_version()}, pypdfium2 {pdfium.version.PYPDFIUM_INFO}"
    print(f"{platform.node()}: {os.cpu_count()} cores, {versions}")
    print(
        f"{'PDF':<34} {'MiB':>8} {'pages':>6} {'worker ms':>9} {'inline ms':>9} {'child MiB':>9} {'WebP KiB':>7} size"
    )
    for name, pdf in documents:
        measure(name, pdf, arguments.repeat)


if __name__ == "__main__":
    main()
