"""The first page of a PDF as a small WebP, rendered by PDFium (pypdfium2) in a child process of bounded memory and
time.

PDFium is C++ reading files from outside: a corrupt or hostile PDF may make it allocate without end, loop, or
crash. So the worker never renders in its own process: `render_thumbnail` runs `python -m
paperboard.thumbnails.render` with the PDF on its standard input, an address-space limit (RLIMIT_AS) the child
sets on itself before it reads anything, and a deadline after which the child is killed. Every way it can fail is
a `RenderRefused` whose message says why, in words for the job's record; nothing of it reaches the worker.

The image is `WIDTH` pixels wide at WebP quality `QUALITY`; a page taller than `MAX_HEIGHT` at that width is cut at
the bottom (A4 and Letter pages fit whole), so that no page shape can make a large bitmap.
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
from dataclasses import dataclass

from PIL import Image

# As wide as a card's image is shown on a high-density screen; about 15–40 KB of WebP for a page of text.
WIDTH = 400
QUALITY = 70
# 1.5 times the width: an A4 page (1.41) fits whole.
MAX_HEIGHT = 600
# The child's exit status for a PDF it refused (its reason on standard error); any other failure is a crash.
_REFUSED = 3


class RenderRefused(Exception):
    """A PDF gives no thumbnail; the message says why."""


@dataclass(frozen=True, slots=True)
class Rendered:
    image: bytes
    width: int
    height: int


def render_first_page(pdf: bytes) -> bytes:
    """The WebP of `pdf`'s first page, in this process (the child's work); RenderRefused for a PDF PDFium cannot
    read (one without pages among them) or whose first page has no size."""
    # Imported here: the worker itself never loads PDFium, only the child does.
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as error:
        raise RenderRefused(f"it is not a PDF that can be read ({error})") from None
    try:
        page = document[0]
        width, height = page.get_size()
        if not (width >= 1 and height >= 1):
            raise RenderRefused(f"its first page has no size ({width:g} x {height:g} points)")
        scale = WIDTH / width
        # Cropped in points from the bottom, before rendering: the bitmap is never taller than MAX_HEIGHT.
        cut = max(0.0, height - MAX_HEIGHT / scale)
        bitmap = page.render(scale=scale, crop=(0, cut, 0, 0), may_draw_forms=False)
        image = bitmap.to_pil().convert("RGB")
    except pdfium.PdfiumError as error:
        raise RenderRefused(f"its first page cannot be rendered ({error})") from None
    finally:
        document.close()
    if image.width > WIDTH or image.height > MAX_HEIGHT:
        # A page rotated a quarter turn comes out as wide as it is tall in points.
        image.thumbnail((WIDTH, MAX_HEIGHT))
    webp = io.BytesIO()
    image.save(webp, "WEBP", quality=QUALITY)
    return webp.getvalue()


def render_thumbnail(pdf: bytes, *, seconds: float, memory_bytes: int) -> Rendered:
    """The first page of `pdf` as a WebP, rendered by a child process given `memory_bytes` of address space and
    killed after `seconds`; RenderRefused for every way that fails."""
    command = [sys.executable, "-m", __name__, str(memory_bytes)]
    try:
        child = subprocess.run(command, input=pdf, capture_output=True, timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        raise RenderRefused(f"rendering its first page took longer than {seconds:g} s") from None
    reason = child.stderr.decode("utf-8", "replace").strip().splitlines()
    if child.returncode == _REFUSED and reason:
        raise RenderRefused(reason[-1])
    if child.returncode != 0:
        last_words = f": {reason[-1]}" if reason else ""
        raise RenderRefused(
            f"the renderer stopped (exit status {child.returncode}{last_words}); it may need more than "
            f"{memory_bytes / 2**20:.0f} MiB (PAPERBOARD_THUMBNAIL_RENDER_MEMORY)"
        )
    with Image.open(io.BytesIO(child.stdout)) as image:
        width, height = image.size
    return Rendered(child.stdout, width, height)


def _child(memory_bytes: int) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        image = render_first_page(sys.stdin.buffer.read())
    except RenderRefused as refusal:
        print(refusal, file=sys.stderr)
        return _REFUSED
    except MemoryError:
        print(f"rendering its first page needs more than {memory_bytes / 2**20:.0f} MiB", file=sys.stderr)
        return _REFUSED
    sys.stdout.buffer.write(image)
    return 0


if __name__ == "__main__":
    sys.exit(_child(int(sys.argv[1])))
