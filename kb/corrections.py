"""OCR corrections: text that staff wrote for an image, used instead of what OCR read.

A correction is a UTF-8 file `media/.ocr/<media id>.txt` in the content folder, so it
travels with the decks and their backups. It is under `media/` (which deck discovery skips)
and in a dot-folder (which the media route never serves: media ids start with a letter or
digit). The reindex takes a corrected image's text from here and never OCRs it; the
manifest keeps each correction's size and mtime beside its image's, so writing or removing
one redoes exactly the decks that show that image.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kb.deck import Deck, Problem
from kb.media import SAFE_MEDIA_ID
from kb.urls import MEDIA_PREFIX
from kb.errors import KbError
from kb.ocr import OcrBatch, OcrResult, ocr_files
from kb.schema import load_manifest
from kb.settings import Settings

FOLDER = ".ocr"
# Fewer words than this and an image is a candidate for a correction (`kb check`).
LITTLE_TEXT = 3
MAX_CORRECTION = 200_000  # characters: a slide image does not hold a book


def folder(settings: Settings) -> Path:
    return settings.media / FOLDER


def correction_path(settings: Settings, media_id: str) -> Path:
    return folder(settings) / f"{media_id}.txt"


def media_id_of(path: Path, settings: Settings) -> str | None:
    """The media id of an image file directly in media/, else None (relative-path images)."""
    try:
        same = path.parent.resolve() == settings.media.resolve()
    except OSError:
        return None
    return path.name if same and SAFE_MEDIA_ID.match(path.name) else None


def checked_id(settings: Settings, media_id: str, must_exist: bool = True) -> str:
    """The media id, or a KbError saying what to do when it names no image."""
    media_id = media_id.strip()
    media_id = media_id.removeprefix(MEDIA_PREFIX)  # pasted from a deck: accept it
    if not SAFE_MEDIA_ID.match(media_id) or ".." in media_id:
        raise KbError(f"{media_id!r} is not a media id: use the name of a file in "
                      f"{settings.media}/ (as in /api/media/<id>).")
    if must_exist and not (settings.media / media_id).is_file():
        raise KbError(f"No image {settings.media}/{media_id}: check the id "
                      "(`kb check` lists the images whose OCR needs a correction).")
    return media_id


def read_correction(settings: Settings, media_id: str) -> str | None:
    """The corrected text of an image, or None when it has no correction."""
    try:
        return correction_path(settings, media_id).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise KbError(f"Cannot read the correction {correction_path(settings, media_id)} "
                      f"({err}): save it as UTF-8 text, or `kb ocr reset {media_id}`.") from None


def set_correction(settings: Settings, media_id: str, text: str) -> Path:
    """Write an image's correction (atomically: a reindex never reads half of one)."""
    media_id = checked_id(settings, media_id)
    if len(text) > MAX_CORRECTION:
        raise KbError(f"The correction is {len(text):,} characters; at most {MAX_CORRECTION:,} "
                      "are kept for one image. Shorten it.")
    path = correction_path(settings, media_id)
    text = text.replace("\r\n", "\n").strip() + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        raise KbError(f"Cannot write {path} ({err.strerror}): the content folder must be "
                      "writable by whoever runs `kb ocr set`.") from None
    return path


def reset_correction(settings: Settings, media_id: str) -> bool:
    """Remove an image's correction (also when its image is gone); False if it had none."""
    media_id = checked_id(settings, media_id, must_exist=False)
    path = correction_path(settings, media_id)
    if not path.is_file():
        checked_id(settings, media_id)  # an unknown id is an error, a known one a no-op
        return False
    try:
        path.unlink()
    except OSError as err:
        raise KbError(f"Cannot remove {path} ({err.strerror}).") from None
    return True


def corrected(settings: Settings, images) -> dict[Path, OcrResult]:
    """The corrected images among `images` (paths), with their text as an OCR result."""
    out = {}
    for path in images:
        media_id = media_id_of(path, settings)
        try:
            text = read_correction(settings, media_id) if media_id else None
        except KbError:  # an unreadable correction: OCR's text, and `kb check` says why
            continue
        if text is not None:
            out[path] = OcrResult(text.strip())
    return out


def read_images(settings: Settings, images, cache_path: Path, jobs: int = 1,
                progress=None) -> OcrBatch:
    """The text of each image: its correction if it has one, else OCR's (`ocr_files`)."""
    fixed = corrected(settings, images)
    batch = ocr_files(set(images) - fixed.keys(), cache_path, jobs, progress)
    if progress and fixed:
        progress(len(fixed))
    return OcrBatch(batch.results | fixed, batch.ran, batch.cached, batch.warning)


def correction_states(media: dict, settings: Settings, state) -> dict:
    """For a manifest entry's media ({rel path: state}), the states of their corrections
    (None when there is none), so that adding or removing one redoes the deck."""
    out = {}
    for rel in media:
        media_id = media_id_of(settings.content / rel, settings)
        if media_id:
            path = correction_path(settings, media_id)
            out[os.path.relpath(path, settings.content)] = state(path)
    return out


def changed(entry: dict, settings: Settings, state) -> bool:
    """Whether a correction of one of a manifest entry's images was written or removed
    since (entries from before corrections existed have no states: None, as if none)."""
    return any(entry["media"].get(rel) != now
               for rel, now in correction_states(entry["media"], settings, state).items())


def users(settings: Settings, media_id: str) -> list[str]:
    """The decks (ids) that the last reindex found showing this image."""
    key = os.path.join("media", media_id)
    return sorted(ident for ident, entry in load_manifest(settings).get("decks", {}).items()
                  if key in entry.get("media", {}))


@dataclass(frozen=True)
class Candidate:
    """An image OCR found little or nothing in, and where it is shown."""

    name: str  # media/<id> or the path under the content folder
    words: int
    where: tuple[tuple[str, str], ...]  # (deck file, anchor)


def word_count(text: str) -> int:
    return len(re.findall(r"[^\W\d_]{2,}", text))


def candidates(decks: list[Deck], results: dict, settings: Settings) -> list[Problem]:
    """`kb check` findings: one per image whose OCR found little or nothing (and that has
    no correction), naming the command that fixes it."""
    found: dict[Path, list] = {}
    for deck in decks:
        name = os.path.relpath(deck.path, settings.content)
        for slide in deck.slides:
            for image in slide.images:
                result = results.get(image.path)
                if result and not result.problem and word_count(result.text) < LITTLE_TEXT:
                    found.setdefault(image.path, []).append((name, slide.anchor))
    problems = []
    for path, where in sorted(found.items()):
        media_id = media_id_of(path, settings)
        if media_id and read_correction(settings, media_id) is not None:
            continue
        words = word_count(results[path].text)
        amount = "no text" if not words else f"little text ({words} word{'s' * (words > 1)})"
        shown = ", ".join(f"{f} #/{a}" for f, a in where[:3]) + (" …" if len(where) > 3 else "")
        fix = (f"fix with `kb ocr set {media_id} --text '…'`" if media_id else
               "only /api/media/ images take corrections")
        problems.append(Problem(os.path.relpath(path, settings.content),
                                f"OCR found {amount} in this image (shown on {shown}); {fix}"))
    return problems


def stale(settings: Settings) -> list[Problem]:
    """`kb check` errors: corrections whose image is gone from media/, or unreadable."""
    problems = []
    root = folder(settings)
    for path in sorted(root.glob("*.txt")) if root.is_dir() else ():
        media_id = path.name[: -len(".txt")]
        try:
            read_correction(settings, media_id)
        except KbError as err:
            problems.append(Problem(os.path.relpath(path, settings.content), str(err),
                                    level="error"))
        if not (settings.media / media_id).is_file():
            problems.append(Problem(os.path.relpath(path, settings.content),
                                    f"correction for media/{media_id}, which is gone: restore "
                                    f"the image or `kb ocr reset {media_id}`", level="error"))
    return problems
