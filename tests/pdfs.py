"""Small PDFs written by hand for the thumbnail tests: pages of a given size with a black band across the top and a
line of text, so that a rendered first page can be told from a blank one. No network, no PDF library."""

from __future__ import annotations


def pdf_document(pages: int = 1, *, width: int = 612, height: int = 792, padding: int = 0) -> bytes:
    """A valid PDF of `pages` pages of `width` x `height` points; `padding` bytes of comment make it larger."""
    band = f"0 0 0 rg 36 {height - 120} {width - 72} 84 re f BT /F1 24 Tf 36 {height - 180} Td (A test paper) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * page} 0 R".encode() for page in range(pages))
        + f"] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for page in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * page} 0 R >>".encode()
        )
        stream = band.encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    if padding:
        out += b"%" + b"x" * padding + b"\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
