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
import time
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.writing import CLEAR, MERGE_SMALL

from kb import corrections, slidekeys, whoosh_fast
from kb.deck import Deck, Problem, deck_id, find_deck_files
from kb.errors import KbError
from kb.manifest import (ReadDeck, file_state, image_paths, manifest_entry, read_for_index,
                         rel, unchanged_entry, write_manifest)
from kb.index_folder import open_for_writing, remove_others, switch_to
from kb.documents import first_line, slide_documents  # noqa: F401 (first_line lived here)
from kb.index_segments import (PARALLEL_DECKS, remove_worker_temps, worker_pool,
                               write_segments)
from kb.schema import load_manifest, schema_fingerprint
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


# Lock files this process holds open. A forked child (say, a server a program forks while
# its thread reindexes) closes its copies: an flock lives as long as any copy of its
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


def read_decks(paths: list[Path], content: Path, pool=None) -> list[ReadDeck]:
    """Read and parse decks, in the worker pool when there is one."""
    if pool is None:
        return [read_for_index(p, content) for p in paths]
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
    with reindex_lock(settings, wait), contextlib.ExitStack() as stack:
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

        # Many decks: worker processes parse them, then index them into segments of their own.
        pool = None
        if jobs > 1 and len(todo) >= PARALLEL_DECKS:
            pool = stack.enter_context(worker_pool(jobs))
        parsed = read_decks([current[i] for i in todo], settings.content, pool)
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
        writer = whoosh_fast.writer(target.ix, limitmb=256, compound=False)
        written: list[tuple] = []
        segments: list = []
        try:
            # Every deck redone is deleted first, known or not: a killed run may have
            # committed it without getting as far as the manifest.
            for ident in removed + todo:
                writer.delete_by_term("deck", ident)
            with progress("Indexing", len(decks)) as bar:
                if pool:
                    segments, written = write_segments(
                        pool, target.folder, [r.deck for r in parsed if r.deck], batch.results,
                        settings, jobs, bar.update, {r.deck.id: r.digest for r in parsed if r.deck})
                for ident, read in decks.items():
                    deck, problems, path = read.deck, read.problems, current[ident]
                    if deck:
                        ocr_found = ocr_problems(deck, batch.results, settings)
                        report.warnings += ocr_found
                        problems = problems + ocr_found
                    if deck and not pool:
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
                    if not pool:
                        bar.update(1)
            if decks or removed or full:
                # One TOC names the kept segments and the workers': one publish.
                whoosh_fast.commit_with(writer, CLEAR if full else MERGE_SMALL, segments)
                slidekeys.remember(settings, written)  # the old links' slides, for relocation
            else:
                writer.cancel()
        except BaseException:
            writer.cancel()
            raise
        remove_worker_temps(target.folder)
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
