"""Decks → a per-slide Whoosh index on disk, kept in step by `reindex()`.

Safety rests on two facts: Whoosh publishes a commit by renaming one TOC file (readers see
the old or the new generation, and a killed writer leaves the old one), and the manifest of
what is indexed is written only after the commit — so a stale manifest can only make the
next reindex redo a deck, which is idempotent (delete the deck's slides, add them again).
A schema change is built beside the live index and switched to at commit (kb/index_folder.py).
"""

import contextlib
import fcntl
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.writing import CLEAR

from kb import corrections, slidekeys
from kb.deck import Deck, Problem, deck_id, find_deck_files
from kb.errors import KbError
from kb.manifest import (ReadDeck, file_state, image_paths, manifest_entry, read_for_index,
                         rel, unchanged_entry, write_manifest)
from kb.index_folder import open_for_writing, remove_others, switch_to
from kb.lang import deck_language
from kb.ocr import SPAWN
from kb.schema import ENGLISH, lang_field, load_manifest, schema_fingerprint, text_analyzer
from kb.settings import Settings


@dataclass
class ReindexReport:
    decks: int = 0
    slides: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    images: int = 0
    ocr_run: int = 0
    ocr_cached: int = 0
    warnings: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["warnings"] = [w.as_dict() for w in self.warnings]
        out["seconds"] = round(self.seconds, 3)
        return out


def ocr_cache_path(settings: Settings) -> Path:
    return settings.index / "ocr-cache.sqlite3"


# Lock files this process holds open. A forked child (a gunicorn worker forked while
# `kb serve --watch` reindexes) closes its copies: an flock lives as long as any copy of its
# file is open, so an inherited copy would hold the lock for the child's whole life.
HELD_LOCKS: set = set()
os.register_at_fork(after_in_child=lambda: [handle.close() for handle in list(HELD_LOCKS)])


@contextlib.contextmanager
def reindex_lock(settings: Settings, wait: float | None):
    """One reindex at a time; the lock dies with its process, so a kill -9 never leaves it."""
    settings.index.mkdir(parents=True, exist_ok=True)
    with open(settings.index / "reindex.lock", "w") as handle, held(handle):
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise KbError(f"Another `kb reindex` is running on {settings.index}/ and did "
                                  f"not finish within {wait:g} s; try again later or raise --wait.")
                time.sleep(0.1)
        yield


@contextlib.contextmanager
def held(handle):
    HELD_LOCKS.add(handle)
    try:
        yield
    finally:
        HELD_LOCKS.discard(handle)


def looks_like_words(line: str) -> bool:
    """Whether an OCR line reads as words rather than specks ("ae eel", "| =~ ii"): most of
    its pieces are words of letters with a vowel, one of them at least four letters long."""
    pieces = line.split()
    words = [p for p in (re.sub(r"^\W+|\W+$", "", p) for p in pieces)
             if re.fullmatch(r"[^\W\d_]{2,}(?:[-'][^\W\d_]+)*", p) and re.search(r"[aeiouyæøåäöü]", p, re.I)]
    return (any(len(w) >= 4 for w in words) and len(words) * 2 >= len(pieces)
            and sum(map(len, words)) * 2 >= len(line.replace(" ", "")))


def first_line(text: str, limit: int = 80) -> str:
    """The first line of OCR text that reads like words (OCR often starts with specks),
    without leading specks and cut at a word boundary; "" when no line does (the slide is
    then shown as an image slide of its deck)."""
    for line in text.split("\n"):
        line = re.sub(r"^[\W_]+", "", line).strip()
        if looks_like_words(line):
            return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + "…"
    return ""


def slide_documents(deck: Deck, ocr: dict, settings: Settings, digest: str | None = None) -> list[dict]:
    """The Whoosh documents of one deck: one per slide. Its text goes to the fields of its
    language (stored under the English names, so readers need not know it)."""
    docs, texts_seen = [], [deck.title]
    slides = []
    for slide in deck.slides:
        texts = [ocr[i.path].text for i in slide.images if i.path in ocr and ocr[i.path].text]
        slides.append((slide, "\n".join(texts)))
    lang = deck_language(deck.meta, "\n".join(s.body + "\n" + s.notes for s, _ in slides))
    for slide, ocr_text in slides:
        title = slide.title or first_line(ocr_text)
        first = next((i for i in slide.images if i.path), None)
        doc = dict(
            deck=deck.id, anchor=slide.anchor, h=slide.h, v=slide.v, lang=lang,
            tags=list(deck.tags),
            tag=",".join(deck.tags), tagcase=",".join(deck.tags), tagtext=" ".join(deck.tags),
            image=(first.media_id or rel(first.path, settings)) if first else None,
            image_only=slide.image_only, source=digest,
        )
        texts = dict(deck_title=deck.title, title=title, body=slide.body, alt=slide.alt,
                     ocr=ocr_text, notes=slide.notes)
        for name, text in texts.items():
            doc[lang_field(name, lang)] = text
            if lang != ENGLISH:  # stored once, under the English name, unindexed there
                doc[name], doc["_stored_" + name] = "", text
        if deck.date:
            doc.update(date=deck.date, year=str(deck.date.year))
        docs.append(doc)
        texts_seen += [title, slide.body, slide.alt, ocr_text, slide.notes]
    if docs:
        vocabulary = {t.text for t in text_analyzer(stem=False)("\n".join(texts_seen))}
        docs[0]["words"] = " ".join(sorted(vocabulary))
    return docs


def ocr_problems(deck: Deck, ocr: dict, settings: Settings, empty: bool = False) -> list[Problem]:
    """Images OCR could not read; with `empty`, also those in which it found no text."""
    found = []
    for slide in deck.slides:
        for image in slide.images:
            result = ocr.get(image.path)
            level = "warning"
            if result and result.problem:
                message = f"{image.src}: {result.problem}"
                # An image that exists but cannot be decoded loses its words: an error.
                if "could not be read" in result.problem or "cannot read" in result.problem:
                    level = "error"
            elif result and empty and not result.text.strip():
                message = f"{image.src}: OCR found no text in this image"
            else:
                continue
            found.append(Problem(rel(deck.path, settings), message, anchor=slide.anchor,
                                 line=slide.line, level=level))
    return found


def read_decks(paths: list[Path], content: Path, jobs: int) -> list[ReadDeck]:
    """Read and parse decks, in parallel processes when there are many."""
    if jobs <= 1 or len(paths) < 50:
        return [read_for_index(p, content) for p in paths]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=SPAWN) as pool:
        return list(pool.map(read_for_index, paths, [content] * len(paths), chunksize=16))


class NullProgress:
    """The progress bar used when nobody watches: does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


def null_progress(label, total):
    return NullProgress()


def reindex(settings: Settings, full: bool = False, jobs: int | None = None,
            wait: float | None = None, progress=null_progress) -> ReindexReport:
    """Bring the index in line with the content dir: only what changed is touched."""
    started = time.monotonic()
    if not settings.content.is_dir():
        raise KbError(f"Content directory {settings.content}/ does not exist: pass --content DIR "
                      "(or set KB_CONTENT) to the folder that holds your decks.")
    jobs = jobs or os.cpu_count() or 1
    with reindex_lock(settings, wait):
        manifest = load_manifest(settings)
        target = open_for_writing(settings)
        fingerprint = schema_fingerprint()
        full = full or target.rebuilding or manifest.get("schema") != fingerprint
        old = manifest.get("decks", {})
        report = ReindexReport()

        current = {deck_id(p, settings.content): p for p in find_deck_files(settings.content)}
        entries, todo = {}, []
        for ident, path in current.items():
            entry = None if full else unchanged_entry(old.get(ident), path, settings)
            if entry and corrections.changed(entry, settings, file_state):
                entry = None
            if entry:
                entries[ident] = entry
            else:
                todo.append(ident)
        removed = [ident for ident in old if ident not in current]

        parsed = read_decks([current[i] for i in todo], settings.content, jobs)
        decks = dict(zip(todo, parsed))
        for read in parsed:
            report.warnings += read.problems
        images = {p for r in parsed if r.deck for p in image_paths(r.deck) if p.is_file()}
        with progress("OCR", len(images)) as bar:  # staff's corrections win over OCR
            batch = corrections.read_images(settings, images, ocr_cache_path(settings), jobs,
                                            bar.update)
        report.images, report.ocr_run, report.ocr_cached = len(images), batch.ran, batch.cached
        if batch.warning:
            report.warnings.append(Problem("OCR", batch.warning))

        # Separate segment files, not one compound file: readers map them instead of copying
        # each segment into memory (a compound file costs every searcher a copy).
        writer = target.ix.writer(limitmb=256, compound=False)
        written: list[tuple] = []
        try:
            # Every deck redone is deleted first, known or not: a killed run may have
            # committed it without getting as far as the manifest.
            for ident in removed + todo:
                writer.delete_by_term("deck", ident)
            with progress("Indexing", len(decks)) as bar:
                for ident, read in decks.items():
                    deck, problems, path = read.deck, read.problems, current[ident]
                    if deck:
                        ocr_found = ocr_problems(deck, batch.results, settings)
                        report.warnings += ocr_found
                        problems = problems + ocr_found
                        docs = slide_documents(deck, batch.results, settings, read.digest)
                        for doc in docs:
                            writer.add_document(**doc)
                        written += slidekeys.rows(docs)
                    entries[ident] = entry = manifest_entry(read, path, problems, settings)
                    entry["media"] |= corrections.correction_states(entry["media"], settings,
                                                                    file_state)
                    if ident in old:
                        report.updated += 1
                    else:
                        report.added += 1
                    bar.update(1)
            if decks or removed or full:
                writer.commit(mergetype=CLEAR if full else None)
                slidekeys.remember(settings, written)  # the old links' slides, for relocation
            else:
                writer.cancel()
        except BaseException:
            writer.cancel()
            raise
        if target.rebuilding:
            switch_to(settings, target.folder)
        remove_others(settings, target.folder)
        report.removed = len(removed)
        report.unchanged = len(current) - len(todo)
        if entries != old or manifest.get("schema") != fingerprint:  # a no-op writes nothing
            write_manifest(settings, fingerprint, entries)
        report.decks = sum(1 for e in entries.values() if e["slides"])
        report.slides = sum(e["slides"] for e in entries.values())
        report.seconds = time.monotonic() - started
        return report
