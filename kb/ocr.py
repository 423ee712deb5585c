"""Image bytes → text with tesseract; an OCR cache keyed by the bytes' hash."""

import hashlib
import io
import json
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytesseract
from PIL import Image

OCR_VERSION = "1"

SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
]


@dataclass(frozen=True)
class OcrResult:
    text: str
    problem: str | None = None  # why the image could not be read, if it could not


@dataclass(frozen=True)
class OcrBatch:
    results: dict  # Path → OcrResult
    ran: int
    cached: int


def sniff_type(data: bytes) -> str | None:
    """The MIME type of image bytes from their magic numbers; None if not an image."""
    for magic, mime in SIGNATURES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "image/svg+xml"
    return None


def ocr_image(data: bytes) -> OcrResult:
    """Read the words in one image."""
    mime = sniff_type(data)
    if mime is None:
        return OcrResult("", "not an image kb can read (PNG, JPEG, GIF, WebP, TIFF, BMP)")
    if mime == "image/svg+xml":
        return OcrResult("", "SVG images are served but not OCRed")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = image.convert("RGBA")
            page = Image.new("RGBA", image.size, "white")
            page.alpha_composite(image)
            text = pytesseract.image_to_string(page.convert("L"))
    except Exception as err:  # a corrupt image must never stop a reindex
        return OcrResult("", f"image could not be read: {err}")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return OcrResult("\n".join(line for line in lines if line))


class OcrCache:
    """Text per image content (sha256 + OCR_VERSION), in SQLite beside the index."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS ocr (key TEXT PRIMARY KEY, result TEXT)")

    def get(self, digest: str) -> OcrResult | None:
        row = self.db.execute("SELECT result FROM ocr WHERE key = ?",
                              (f"{digest}:{OCR_VERSION}",)).fetchone()
        return OcrResult(**json.loads(row[0])) if row else None

    def put(self, digest: str, result: OcrResult) -> None:
        self.db.execute("INSERT OR REPLACE INTO ocr VALUES (?, ?)",
                        (f"{digest}:{OCR_VERSION}", json.dumps(result.__dict__)))
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def _ocr_file(path: Path) -> OcrResult:
    return ocr_image(path.read_bytes())


def ocr_files(paths, cache_path: Path, jobs: int = 1, progress=None) -> OcrBatch:
    """OCR each distinct image content once; `progress(n)` is called as images finish."""
    cache = OcrCache(cache_path)
    results, todo, cached = {}, {}, 0
    try:
        for path in sorted(set(paths)):
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as err:
                results[path] = OcrResult("", f"cannot read image: {err.strerror}")
                continue
            hit = cache.get(digest)
            if hit is not None:
                results[path] = hit
                cached += 1
            else:
                todo.setdefault(digest, []).append(path)
        if progress and cached:
            progress(cached)
        firsts = [group[0] for group in todo.values()]
        with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
            for digest, result in zip(todo, pool.map(_ocr_file, firsts)):
                cache.put(digest, result)
                for path in todo[digest]:
                    results[path] = result
                if progress:
                    progress(len(todo[digest]))
    finally:
        cache.close()
    return OcrBatch(results, len(todo), cached)
