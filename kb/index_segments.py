"""Many decks at once: each worker process indexes its share of the decks into a Whoosh
segment of its own, and the parent publishes all of them in its one TOC commit.

Analysing text and writing postings is most of a full reindex; done in the parent it ran
on one core whatever --jobs said. The shares are contiguous runs of the decks in reindex
order, listed in the TOC in that order, so every slide keeps the document number a single
writer would have given it. A worker's segment files are invisible until the parent's
commit names them; a killed run leaves them unnamed, and the next commit deletes them
(Whoosh's clean_files), so a reader still sees the old state or the new one, never a mix.
"""

import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kb import slidekeys, whoosh_fast
from kb.deck import Deck
from kb.documents import slide_documents
from kb.manifest import image_paths
from kb.ocr import SPAWN
from kb.settings import Settings

# Fewer decks than this are parsed and indexed in the parent: starting workers costs more.
PARALLEL_DECKS = 50
# Each worker's posting pool; more spills to sorted runs on disk (same index, more I/O).
WORKER_LIMIT_MB = 128


def remove_worker_temps(folder: Path) -> None:
    """Remove the temporary folders of workers killed mid-run (`MAIN.tmp.<pid>`, see
    kb.whoosh_fast.WorkerStorage); a worker that finishes removes its own."""
    for entry in folder.glob("*.tmp.*"):
        if entry.is_dir() and entry.name.rsplit(".", 1)[1].isdigit():
            shutil.rmtree(entry, ignore_errors=True)


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=SPAWN)


@dataclass(frozen=True)
class Share:
    """One worker's task: its decks (in reindex order) and their images' OCR results."""

    folder: str
    decks: tuple  # (Deck, ...)
    ocr: dict
    settings: Settings
    digests: dict  # deck id → sha256 of its file (each slide stores it: kb.web.deckread)


@dataclass(frozen=True)
class Written:
    """What a worker wrote: its segment (None if its decks had no slides) and slide keys."""

    segment: object
    rows: list
    decks: int


def write_share(share: Share) -> Written:
    """In a worker: index `share`'s decks into a new segment, unpublished."""
    writer = whoosh_fast.worker_writer(share.folder, limitmb=WORKER_LIMIT_MB, compound=False)
    try:
        rows = []
        for deck in share.decks:
            docs = slide_documents(deck, share.ocr, share.settings, share.digests.get(deck.id))
            for doc in docs:
                writer.add_document(**doc)
            rows += slidekeys.rows(docs)
        return Written(whoosh_fast.finish_segment(writer), rows, len(share.decks))
    except BaseException:
        writer.cancel()
        raise


def split(decks: list[Deck], parts: int) -> list[list[Deck]]:
    """Contiguous runs of `decks` with about the same number of slides each: a run ends
    before the deck whose middle lies past its share."""
    total = sum(len(d.slides) for d in decks)
    runs, run, done = [], [], 0
    for deck in decks:
        n = len(deck.slides)
        if run and len(runs) < parts - 1 and (done + n / 2) * parts > total * (len(runs) + 1):
            runs.append(run)
            run = []
        run.append(deck)
        done += n
    return runs + [run] if run else runs


def write_segments(pool: ProcessPoolExecutor, folder, decks: list[Deck], ocr: dict,
                   settings: Settings, parts: int, progress=lambda n: None,
                   digests: dict | None = None) -> tuple[list, list]:
    """(segments in deck order, slide-key rows) of `decks` indexed by the pool's workers."""
    shares = []
    for run in split(decks, parts):
        paths = {p for deck in run for p in image_paths(deck)}
        shares.append(Share(str(folder), tuple(run), {p: r for p, r in ocr.items() if p in paths},
                            settings, {d.id: (digests or {}).get(d.id) for d in run}))
    segments, rows = [], []
    for written in pool.map(write_share, shares):
        if written.segment is not None:
            segments.append(written.segment)
        rows += written.rows
        progress(written.decks)
    return segments, rows
