"""The manifest: what the last finished reindex indexed, so the next one touches only changes.

It is written after the index commit, so it can lag the index but never lead it.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kb.deck import Deck, Problem, read_deck
from kb.ocr import OCR_VERSION
from kb.schema import manifest_path
from kb.settings import Settings


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def file_state(path: Path) -> list | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def image_paths(deck: Deck) -> set[Path]:
    return {image.path for slide in deck.slides for image in slide.images if image.path}


def rel(path: Path, settings: Settings) -> str:
    return os.path.relpath(path, settings.content)


def unchanged_entry(entry: dict | None, path: Path, settings: Settings) -> dict | None:
    """The deck's manifest entry if neither it nor its images changed, else None.

    Stat first: a deck whose file kept size and mtime is not read at all; one that was only
    touched is read and hashed, but not parsed again.
    """
    if not entry or entry.get("ocr") != OCR_VERSION:
        return None
    if any(file_state(settings.content / p) != s for p, s in entry["media"].items()):
        return None
    state = file_state(path)
    if entry["state"] == state:
        return entry
    try:
        same = hashlib.sha256(path.read_bytes()).hexdigest() == entry["hash"]
    except OSError:
        return None
    return {**entry, "state": state} if same else None


@dataclass(frozen=True)
class ReadDeck:
    """A deck as one reindex read it: parsed, with the state and hash of the bytes parsed."""

    deck: Deck | None
    problems: list
    state: list | None
    digest: str | None


def read_for_index(path: Path, content: Path) -> ReadDeck:
    """Read a deck file once: stat, bytes, hash and parse all come from the same read."""
    state = file_state(path)
    try:
        data = path.read_bytes()
    except OSError:
        return ReadDeck(*read_deck(path, content), state, None)
    return ReadDeck(*read_deck(path, content, data), state, hashlib.sha256(data).hexdigest())


def manifest_entry(read: ReadDeck, path: Path, problems: list[Problem], settings: Settings) -> dict:
    """What the manifest remembers of a deck: enough to skip it next time and to list it."""
    deck = read.deck
    media = {rel(p, settings): file_state(p) for p in (image_paths(deck) if deck else ())}
    return {
        "path": rel(path, settings),
        "state": read.state,
        "hash": read.digest,
        "media": media,
        "ocr": OCR_VERSION,
        "title": deck.title if deck else "",
        "date": deck.date.isoformat() if deck and deck.date else None,
        "tags": list(deck.tags) if deck else [],
        "slides": len(deck.slides) if deck else 0,
        "problems": [p.as_dict() for p in problems],
    }


def write_manifest(settings: Settings, schema: str, entries: dict) -> None:
    write_atomic(manifest_path(settings), json.dumps({"schema": schema, "decks": entries},
                                                     ensure_ascii=False))
