"""Media files: what kind of image a file holds, told from its bytes (never its name).

Read side and write side both use it: the indexer to decide what to OCR, the web app to
decide what it may serve and as what.
"""

import re

# How decks reference a media file, `/api/media/<id>`, and what an id may look like.
MEDIA_PREFIX = "/api/media/"
SAFE_MEDIA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
]
# The XML prolog, comments and doctype that may come before an SVG's root element.
SVG_ROOT = re.compile(rb"(?:\s+|<\?xml[^>]*>|<!--.*?-->|<!doctype svg[^>]*>)*<svg[\s>/]",
                      re.IGNORECASE | re.DOTALL)


def sniff_type(data: bytes) -> str | None:
    """The MIME type of image bytes from their magic numbers; None if not an image."""
    for magic, mime in SIGNATURES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    # "BM" alone would catch text files; the DIB header after it has one of a few sizes.
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        return "image/bmp"
    if SVG_ROOT.match(data[:4096].removeprefix(b"\xef\xbb\xbf")):
        return "image/svg+xml"
    return None
