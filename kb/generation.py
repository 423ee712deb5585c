"""The index as searchers see it, one generation at a time: a generation's Whoosh searcher
with the per-docnum arrays built from it once (live documents, field lengths, facet values),
and SlideIndex, which keeps the newest generation per process and swaps in the next one
from a background thread when a reindex commits."""

import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh import scoring

from kb import postings
from kb.errors import KbError
from kb.query import make_parser
from kb.schema import open_index
from kb.settings import Settings
from kb.vocabulary import vocabulary_of

CACHE_SIZE = 512  # results kept per index generation
CACHED_POSTINGS = 400_000  # postings kept decoded per generation (16 bytes each)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FacetArrays:
    """(docnum, value id) pairs of one facet field, read from its postings once."""
    names: tuple[str, ...]
    docs: np.ndarray
    ids: np.ndarray

    def counts(self, mask: np.ndarray) -> dict[str, int]:
        found = np.bincount(self.ids[mask[self.docs]], minlength=len(self.names))
        return {self.names[i]: int(found[i]) for i in np.flatnonzero(found)}


class Generation:
    """One index generation opened for searching: its Whoosh searcher, and the per-docnum
    arrays built from it once (live documents, field lengths, facet values). Whoosh
    readers seek and read shared files, so every use of `searcher` holds `lock`."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.number = self.reader.generation()
        self.lock = threading.RLock()
        self.schema = searcher.schema
        self.parser = make_parser(self.schema)
        # Segments with documents only: an index being created has an empty reader.
        self.leaves = [(leaf, offset) for leaf, offset in self.reader.leaf_readers()
                       if leaf.doc_count_all()]
        postings.check_codec(self.leaves)
        self.size = self.reader.doc_count_all()
        self.live = np.ones(self.size, dtype=bool)
        for leaf, offset in self.leaves:
            if leaf.has_deletions():
                self.live[[offset + d for d in postings.deleted_docs(leaf)]] = False
        self.recent: OrderedDict = OrderedDict()  # (field, term) → (ids, weights)
        self.recent_size = 0
        self.lengths = {name: self.concat(lambda leaf: postings.field_lengths(leaf, name))
                        for name, field in self.schema.items() if field.scorable}
        # tagcase and year are the result facets; deck maps each slide to its deck (for
        # deck-level questions: kb.matcher.decks_of).
        self.facets = {name: self.facet_arrays(name) for name in ("tagcase", "year", "deck")}
        # The real words, for prefixes and "did you mean" (kept on the reader, kb.vocabulary).
        self.vocabulary = vocabulary_of(self.reader)

    def concat(self, per_leaf) -> np.ndarray:
        parts = [per_leaf(leaf) for leaf, _ in self.leaves]
        return np.concatenate(parts) if parts else np.zeros(0)

    def postings(self, fieldname: str, btext: bytes):
        """(global ids, weights) of a term over every segment; recently used terms come
        from a bounded cache (words recur across queries: search-as-you-type sends each
        query's first words again)."""
        key = (fieldname, btext)
        found = self.recent.get(key)
        if found is None:
            found = self.recent[key] = self.read(fieldname, btext)
            self.recent_size += len(found[0])
            while self.recent_size > CACHED_POSTINGS and len(self.recent) > 1:
                _, old = self.recent.popitem(last=False)
                self.recent_size -= len(old[0])
        else:
            self.recent.move_to_end(key)
        return found

    def read(self, fieldname: str, btext: bytes):
        ids, weights = [], []
        for leaf, offset in self.leaves:
            got = postings.read_postings(leaf, fieldname, btext)
            if got is not None:
                ids.append(got[0] + offset)
                weights.append(got[1])
        if not ids:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(ids), np.concatenate(weights)

    def facet_arrays(self, fieldname: str) -> FacetArrays:
        names, docs, ids = [], [], []
        if fieldname in self.schema:
            for btext in self.reader.lexicon(fieldname):
                gids, _ = self.read(fieldname, btext)
                docs.append(gids)
                ids.append(np.full(len(gids), len(names), dtype=np.int64))
                names.append(btext.decode("utf-8"))
        join = (lambda a: np.concatenate(a)) if docs else (lambda a: np.zeros(0, np.int64))
        return FacetArrays(tuple(names), join(docs), join(ids))


CHECK_EVERY = 0.5  # seconds between two looks at the index's TOC for a new generation


class SlideIndex:
    """The index as a reader, per process: the newest generation opened (kb.matcher's
    Generation: searcher plus per-docnum arrays), swapped in the background when a reindex
    commits, and results cached per generation. No search waits for a searcher to open
    except the very first one."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.pid = os.getpid()
        self.local = threading.local()
        self.lock = threading.Lock()
        self.ix = None
        self.current: Generation | None = None
        self.cache: OrderedDict = OrderedDict()  # (generation, query…) → SearchResult

    def generation(self) -> Generation:
        """The newest generation ready. The first call opens it; from then on a watcher
        thread looks at the TOC every CHECK_EVERY s and, when a reindex committed, opens
        the new generation and swaps it in: searches never wait for it, and whether or not
        any search came in meanwhile, a commit is seen within about a second."""
        if self.pid != os.getpid():
            # Forked (a pre-forking server that opened the index first): the parent's open
            # files share their read offsets with us, and its watcher thread is gone.
            self.reset()
        if self.current is None:
            with self.lock:
                if self.current is None:
                    self.ix = open_index(self.settings)
                    self.current = Generation(self.open_searcher())
                    watcher = threading.Thread(target=watch, args=(weakref.ref(self),),
                                               daemon=True, name="kb-open-generation")
                    watcher.start()
        return self.current

    def refresh(self) -> None:
        """Open and swap in the newest generation if a reindex committed one."""
        try:
            if self.ix.latest_generation() != self.current.number:
                self.current = Generation(self.open_searcher())
        except Exception:  # noqa: BLE001 — a reindex removed it meanwhile: the next look retries
            log.debug("could not open the new index generation", exc_info=True)

    def searcher(self):
        """A Whoosh searcher of the current generation for this thread alone (deck pages
        read stored fields with it; searches use the generation's own under its lock)."""
        gen = self.generation()
        current = getattr(self.local, "searcher", None)
        if current is None or current.ixreader.generation() != gen.number:
            current = self.local.searcher = self.open_searcher()
        return current

    def open_searcher(self):
        """A searcher whose files are all open. Whoosh opens a segment's stored fields and
        field lengths on first use, and a reindex may delete them before that: opened now,
        they stay readable (an open file outlives its deletion) for the searcher's life."""
        for _ in range(3):
            searcher = self.ix.searcher(weighting=scoring.BM25F())
            try:
                scorable = [name for name, field in searcher.schema.items() if field.scorable]
                for leaf, _ in searcher.reader().leaf_readers():
                    if leaf.doc_count_all():
                        leaf.stored_fields(0)
                        for name in scorable:
                            leaf.doc_field_length(0, name)
                return searcher
            except (OSError, TypeError):  # its generation was deleted meanwhile: again
                searcher.close()
        return self.ix.searcher(weighting=scoring.BM25F())

    def warm(self) -> None:
        """Open the searcher and build the per-docnum arrays now, not on the first query."""
        try:
            self.generation()
        except KbError:
            pass  # no index yet: the first search will say what to run

    def cached(self, key, compute):
        """A result per (index generation, query): a reindex never leaves a stale answer."""
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        value = compute()
        with self.lock:
            self.cache[key] = value
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
        return value


def watch(ref) -> None:
    """A SlideIndex's watcher: refreshes it every CHECK_EVERY s while it exists."""
    while True:
        time.sleep(CHECK_EVERY)
        index = ref()
        if index is None or index.pid != os.getpid():
            return
        index.refresh()
        del index
