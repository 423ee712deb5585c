"""Image bytes → text with tesseract and rapidocr; an OCR cache keyed by the bytes' hash."""

import hashlib
import json
import os
import re
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from dataclasses import dataclass
from pathlib import Path

from kb import ocr_prep, ocr_rapid
from kb.media import sniff_type

# tesseract's OpenMP threads make it about twice as slow on small images (they spin while
# waiting), and kb runs one tesseract per core anyway; a user's own setting wins.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Workers are spawned, not forked: a forked one would inherit the reindex lock and hold it
# after a kill -9 of its parent.
SPAWN = get_context("spawn")
OCR_VERSION = "4"  # part of the cache key: bump whenever the text read from an image changes
# Added to the cache key of images read without rapidocr, so they are read again once it
# is installed.
ALONE = "-tesseract"

# Confidence (0-100) a word needs to be kept, per pass. The first pass is the primary
# reading; later passes only add words, so they must be surer of them, and the passes on
# doctored images (light text only, turned) surest.
LAYOUT_CONF = 30
MORE_CONF = 50
EXTRA_CONF = 75
# Numbers (tick labels) that make an image a chart, worth a pass for rotated axis labels.
CHART_NUMBERS = 3
# Seconds one image may take in all: one pathological image must not stall a reindex.
IMAGE_TIMEOUT = 60
# Problems that start so may not happen again (tesseract missing or crashed, a worker
# killed): never cached. A timeout is cached, so it costs one reindex, not every one.
TRANSIENT = "OCR did not finish:"
RAPID_MISSING = ("rapidocr, kb's second OCR engine, cannot be used ({}): images are read by "
                 "tesseract alone and miss words; run scripts/setup to install it")

@dataclass(frozen=True)
class OcrResult:
    text: str
    problem: str | None = None  # why the image could not be read, if it could not


@dataclass(frozen=True)
class OcrBatch:
    results: dict  # Path → OcrResult
    ran: int
    cached: int
    warning: str | None = None  # rapidocr could not be used: tesseract read alone


def ocr_image(data: bytes) -> OcrResult:
    """Read the words in one image; never raises (a bad image gives a `problem`)."""
    mime = sniff_type(data)
    if mime is None:
        return OcrResult("", "not an image kb can read (PNG, JPEG, GIF, WebP, TIFF, BMP)")
    if mime == "image/svg+xml":
        return OcrResult("", "SVG images are served but not OCRed")
    try:
        image = ocr_prep.decode(data)
    except ocr_prep.Unreadable as err:
        return OcrResult("", str(err))
    try:
        return _read(image)
    except Exception as err:  # tesseract missing, crashed or killed: never stop a reindex
        return OcrResult("", f"{TRANSIENT} {err}")


class _Reading:
    """The lines read so far from one image; each pass adds the words no earlier pass found."""

    def __init__(self):
        self.deadline = time.monotonic() + IMAGE_TIMEOUT
        self.lines, self.seen = [], set()

    def add(self, picture, config: str, min_conf: float) -> None:
        self.check_time()
        try:
            read = _lines(picture, config, min_conf, timeout=self.deadline - time.monotonic())
        except RuntimeError as err:  # pytesseract kills tesseract and says so this way
            if "timeout" in str(err).lower():
                raise TimeoutError from None
            raise
        self.merge(read)

    def check_time(self) -> None:
        if time.monotonic() >= self.deadline:
            raise TimeoutError

    def merge(self, read: list[list[str]]) -> None:
        """Add lines of words read by a pass or an engine.

        The first pass is kept whole (repeated words matter to phrases); later passes add
        only the words no earlier pass found.
        """
        first = not self.seen
        for words in read:
            new = words if first else [w for w in words if _key(w) not in self.seen]
            if new:
                self.lines.append(" ".join(new))
        self.seen.update(_key(w) for words in read for w in words)

    def numbers(self) -> int:
        return sum(key.isdigit() for key in self.seen)


def _read(image) -> OcrResult:
    """Read an image in the passes that suit slides, keeping the confident words.

    tesseract reads first (its lines and its title line come first in the text); then
    rapidocr adds the words tesseract missed. Without rapidocr, two more tesseract passes
    take its place.
    """
    image = ocr_prep.without_grain(image)
    big = ocr_prep.resize_for_ocr(image)
    reading = _Reading()
    try:
        # Page layout analysis: keeps paragraphs and table rows as lines.
        reading.add(big, "--psm 3", LAYOUT_CONF)
        second = ocr_rapid.engine()  # loaded by a worker's first image that tesseract reads
        if second is None:
            # The same without tints: pastel boxes around dark text make tesseract's
            # global threshold black out the box, text and all.
            untinted = ocr_prep.without_tints(big)
            reading.add(untinted, "--psm 3", MORE_CONF)
            # Sparse text: labels scattered over diagrams and charts, which layout
            # analysis merges with the graphics or skips.
            reading.add(untinted, "--psm 11", MORE_CONF)
        if ocr_prep.has_colour_blocks(image):
            # Light text on colour or photos: white captions, banner titles, buttons.
            reading.add(ocr_prep.light_text(image, big), "--psm 11", EXTRA_CONF)
        if second is not None:
            # Hand lettering, outlined captions, logos, accents, coloured labels: rapidocr
            # reads those that tesseract's passes miss (BENCHMARKS.md, OCR).
            reading.check_time()
            try:
                extra = ocr_rapid.lines(second, big)
            except Exception:  # rapidocr failing on one image must not cost tesseract's words
                extra = []
            reading.merge(extra)
        if reading.numbers() >= CHART_NUMBERS:
            # A chart: its y-axis label is written bottom-to-top, and tesseract reads
            # such lines upside down unless they are turned upright.
            reading.add(ocr_prep.turn_clockwise(big), "--psm 11", EXTRA_CONF)
    except TimeoutError:
        return OcrResult("\n".join(reading.lines), f"OCR stopped after {IMAGE_TIMEOUT} s "
                         "(image too complex): its text may be incomplete")
    return OcrResult("\n".join(reading.lines))


def _key(word: str) -> str:
    """What makes two readings the same word for search: letters and digits, any case."""
    return "".join(ch for ch in word.casefold() if ch.isalnum())


def _lines(picture, config: str, min_conf: float, timeout: float) -> list[list[str]]:
    """tesseract's lines of words, keeping words read with at least `min_conf` confidence."""
    import pytesseract  # here, not at the top: it imports numpy, 0.2 s off every kb command

    data = pytesseract.image_to_data(picture, config=config, timeout=timeout,
                                     output_type=pytesseract.Output.DICT)
    lines = {}
    for word, conf, *where in zip(data["text"], data["conf"], data["block_num"],
                                  data["par_num"], data["line_num"]):
        word = word.strip()
        if word and _key(word) and float(conf) >= min_conf:
            lines.setdefault(tuple(where), []).append(word)
    return list(lines.values())


class OcrCache:
    """Text per image content (sha256 + OCR version), in SQLite beside the index."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS ocr (key TEXT PRIMARY KEY, result TEXT)")

    def get(self, digest: str, version: str) -> OcrResult | None:
        row = self.db.execute("SELECT result FROM ocr WHERE key = ?",
                              (f"{digest}:{version}",)).fetchone()
        return OcrResult(**json.loads(row[0])) if row else None

    def put(self, digest: str, version: str, result: OcrResult) -> None:
        self.db.execute("INSERT OR REPLACE INTO ocr VALUES (?, ?)",
                        (f"{digest}:{version}", json.dumps(result.__dict__)))
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def _ocr_file(path: Path, digest: str) -> tuple[OcrResult, bool, str | None]:
    """OCR a file in a worker; also says whether it still has the content hashed earlier,
    and why rapidocr could not help (None when it did)."""
    data = path.read_bytes()
    result = ocr_image(data)
    return result, hashlib.sha256(data).hexdigest() == digest, ocr_rapid.missing()


def ocr_files(paths, cache_path: Path, jobs: int = 1, progress=None) -> OcrBatch:
    """OCR each distinct image content once, in `jobs` processes, using the cache.

    `progress(n)` is called as images finish (n = files done). A result is cached only
    when the file still had the content hashed and its problem (if any) may not pass;
    one read without rapidocr is cached apart, to be read again once rapidocr works.
    """
    cache = OcrCache(cache_path)
    results, todo, cached, warning = {}, {}, 0, None
    version = OCR_VERSION if ocr_rapid.installed() else OCR_VERSION + ALONE
    try:
        for path in sorted(set(paths)):
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as err:
                results[path] = OcrResult("", f"cannot read image: {err.strerror}")
                continue
            hit = cache.get(digest, version)
            if hit is not None:
                results[path] = hit
                cached += 1
            else:
                todo.setdefault(digest, []).append(path)
        if progress and cached:
            progress(cached)
        if todo:
            with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo))),
                                     mp_context=SPAWN) as pool:
                running = {pool.submit(_ocr_file, group[0], digest): digest
                           for digest, group in todo.items()}
                for future in as_completed(running):
                    digest = running[future]
                    try:
                        result, unchanged, alone = future.result()
                    except Exception as err:  # the file vanished, or a worker died
                        result, unchanged, alone = OcrResult("", f"{TRANSIENT} {err}"), False, None
                    if unchanged and not (result.problem or "").startswith(TRANSIENT):
                        cache.put(digest, OCR_VERSION + ALONE if alone else OCR_VERSION, result)
                    warning = warning or alone
                    for path in todo[digest]:
                        results[path] = result
                    if progress:
                        progress(len(todo[digest]))
    finally:
        cache.close()
    if version != OCR_VERSION and results and not warning:
        warning = "not installed"
    return OcrBatch(results, len(todo), cached, warning and RAPID_MISSING.format(warning))
