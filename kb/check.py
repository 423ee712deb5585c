"""`kb check`: the data-quality report of a content folder (docs/commands.md)."""

import hashlib
import os

from kb import corrections
from kb.deck import Problem, find_deck_files, read_deck
from kb.errors import KbError
from kb.index import image_paths, ocr_cache_path, ocr_problems
from kb.settings import Settings

def check(settings: Settings, jobs: int | None = None) -> list[Problem]:
    """Every finding about the content folder, sorted by file and position."""
    if not settings.content.is_dir():
        raise KbError(f"Content directory {settings.content}/ does not exist: pass --content DIR.")
    findings, decks = [], []
    for path in find_deck_files(settings.content):
        deck, problems = read_deck(path, settings.content)
        findings += problems
        if deck:
            decks.append(deck)
            findings += deck_findings(deck, os.path.relpath(path, settings.content))
    findings += ocr_findings(decks, settings, jobs or os.cpu_count() or 1)
    findings += duplicate_findings(decks, settings)
    return sorted(findings, key=lambda f: (f.file, f.line or 0, f.message))


def deck_findings(deck, name: str) -> list[Problem]:
    found = []
    missing = [key for key, ok in (("title", deck.meta.get("title")), ("date", deck.date),
                                   ("tags", deck.tags)) if not ok]
    if missing:
        found.append(Problem(name, f"deck has no {', '.join(missing)} in its frontmatter", line=1))
    for slide in deck.slides:
        if not (slide.body.strip() or slide.images or slide.notes.strip()):
            found.append(Problem(name, "empty slide", anchor=slide.anchor, line=slide.line))
    return found


def ocr_findings(decks, settings: Settings, jobs: int) -> list[Problem]:
    """Images OCR could not read or found little text in (from the cache after a reindex),
    and corrections that lost their image."""
    images = {p for d in decks for p in image_paths(d) if p.is_file()}
    batch = corrections.read_images(settings, images, ocr_cache_path(settings), jobs)
    found = [Problem("OCR", batch.warning)] if batch.warning else []
    return (found + [problem for deck in decks
                     for problem in ocr_problems(deck, batch.results, settings)]
            + corrections.candidates(decks, batch.results, settings) + corrections.stale(settings))


def duplicate_findings(decks, settings: Settings) -> list[Problem]:
    """Slides whose visible text is the same in two different decks."""
    seen, found = {}, []
    for deck in decks:
        name = os.path.relpath(deck.path, settings.content)
        for slide in deck.slides:
            text = " ".join(slide.body.split()).lower()
            if len(text) < 40:  # short slides ("Questions?") repeat by nature
                continue
            key = hashlib.sha1(text.encode()).hexdigest()
            first = seen.setdefault(key, (deck.id, name, slide.anchor))
            if first[0] != deck.id:
                found.append(Problem(name, f"duplicate slide: same text as {first[1]} #/{first[2]}",
                                     anchor=slide.anchor, line=slide.line))
    return found
