"""Images of a deck: where an `![](src)` points (one rule for the indexer, which OCRs it,
and the page, which shows it) and what kind of image a file holds, told from its bytes.

Read side and write side both use it: the indexer to decide what to OCR, the web app to
decide what it may serve and as what.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from kb.urls import MEDIA_PREFIX

SAFE_MEDIA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:|^//", re.IGNORECASE)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".tif", ".tiff"}

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


@dataclass(frozen=True)
class ImageSource:
    """What an image source of a deck points to.

    kind: "media" (a file of `media/`, `name` is its id), "content" (a file elsewhere in the
    content folder, `name` is its `/`-separated path there), "remote", "data" or "none"
    (unusable; `problem` says why). `path` is the local file, None unless media/content.
    """

    kind: str
    name: str | None = None
    path: Path | None = None
    problem: str | None = None
    level: str = "warning"  # of the problem: "error" when a local file is missing


def resolve_image(src: str, deck_dir: Path, content: Path) -> ImageSource:
    """The one rule for `![](src)`: `/api/media/<id>` or any path that lands in `media/` is
    a media file; `/x` is from the content folder, `x` from the deck's folder; URLs with a
    scheme are remote; nothing outside the content folder is ever used."""
    src = src.strip()
    bare = src.split("#")[0].split("?")[0]
    if bare.startswith(MEDIA_PREFIX):
        return media_source(bare[len(MEDIA_PREFIX):], src, content)
    if SCHEME.match(src):
        if src.lower().startswith("data:"):
            return ImageSource("data")
        return ImageSource("remote", problem=f"remote image {src!r} is not fetched (not OCRed)")
    if not bare:
        return ImageSource("none", problem="image without a source; ignored")
    base = content if bare.startswith("/") else deck_dir
    root = content.resolve()
    try:
        target = (base / bare.lstrip("/")).resolve()
        parts = target.relative_to(root).parts
    except (OSError, ValueError, RuntimeError):
        return ImageSource("none", problem=f"image {src!r} points outside the content directory; ignored")
    if len(parts) == 2 and parts[0] == "media":
        return media_source(parts[1], src, content)
    if not parts:
        return ImageSource("none", problem=f"missing image file {src!r}", level="error")
    missing = None if target.is_file() else f"missing image file {src!r}"
    return ImageSource("content", "/".join(parts), target, missing, "error")


def media_source(media_id: str, src: str, content: Path) -> ImageSource:
    if not SAFE_MEDIA_ID.match(media_id):
        return ImageSource("none", problem=f"image {src!r} is not a valid media id")
    media = content / "media"
    path = media / media_id
    if path.is_symlink() and path.resolve().parent != media.resolve():
        return ImageSource("media", media_id, None,
                           f"media file media/{media_id} links outside media/; ignored")
    missing = None if path.is_file() else f"missing media file media/{media_id}"
    return ImageSource("media", media_id, path, missing, "error")


def servable_asset(target: Path, root: Path) -> str | None:
    """The content-relative path of an image file the web may serve from outside `media/`
    (no dot-folders, an image suffix, a regular file), or None."""
    try:
        parts = target.relative_to(root).parts
    except ValueError:
        return None
    if not parts or any(p.startswith(".") for p in parts) or parts[0] == "media":
        return None
    if target.suffix.lower() not in IMAGE_SUFFIXES or not target.is_file():
        return None
    return "/".join(parts)
