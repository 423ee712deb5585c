"""The search log: what students searched for (and did not find), for `kb stats`.

Each entry is the query text, its filters, the hit count, whether only relaxed matches were
found, and the day — no IP, no cookie, no user agent, no time of day. It is kept in SQLite
beside the index (`searchlog.sqlite3`, WAL mode: several server processes append to it
with short transactions) and pruned after `days` days.

A search never waits for the log: `record()` only puts the entry on an in-memory queue, and
one background thread per process writes batches. When the log cannot be written (full
disk, read-only folder) the thread keeps a bounded backlog, retries now and then, and logs
one warning; searching goes on.

Search-as-you-type sends a request per pause in typing ("haz", "hazard", "hazard rat", …).
Only the settled query is kept: an entry waits `settle` seconds, and a later entry with the
same filters whose text extends it or is cut from it (one is a prefix of the other) takes
its place. So a burst of typing, and the Enter that ends it, is one entry. The queue is per
process: a burst whose requests land on two server processes may count twice, and two
people typing the same words within seconds may count once — good enough for "what do
students look for".
"""

import atexit
import datetime as dt
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILE = "searchlog.sqlite3"
DEFAULT_DAYS = 90
SETTLE = 3.0  # seconds an entry waits for the rest of its burst
FLUSH_EVERY = 1.0  # seconds between batched writes
RETRY_EVERY = 30.0  # seconds between attempts while the log cannot be written
MAX_WAITING = 500  # entries settling at once (each new one is compared with them all)
MAX_BACKLOG = 10_000  # entries kept in memory while writes fail (then the oldest go)
MAX_QUERY = 500

SCHEMA = """CREATE TABLE IF NOT EXISTS searches (
    day TEXT NOT NULL, query TEXT NOT NULL, filters TEXT NOT NULL,
    total INTEGER NOT NULL, relaxed INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS searches_day ON searches (day);"""


def log_path(index: Path) -> Path:
    return index / FILE


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@dataclass(frozen=True)
class Entry:
    day: str
    query: str
    filters: str  # JSON, keys sorted: one spelling per filter set
    total: int
    relaxed: bool


def related(a: str, b: str) -> bool:
    """Whether two queries are steps of one burst of typing."""
    a, b = a.casefold(), b.casefold()
    return a.startswith(b) or b.startswith(a)


def settle(waiting: list, item, now: float, seconds: float) -> tuple[list, list]:
    """(still waiting, settled entries): a new `item` takes the place of an entry of its
    burst; entries that waited `seconds` have settled."""
    if item is not None:
        new = item[1]
        waiting = [(t, e) for t, e in waiting
                   if not (e.filters == new.filters and related(e.query, new.query))]
        waiting = waiting + [item]
    done = [e for t, e in waiting if now - t >= seconds]
    waiting = [(t, e) for t, e in waiting if now - t < seconds]
    if len(waiting) > MAX_WAITING:  # a busy server: bounded work per search, oldest go first
        done += [e for t, e in waiting[:-MAX_WAITING]]
        waiting = waiting[-MAX_WAITING:]
    return waiting, done


class NoSearchLog:
    """The log when it is off (`kb serve --no-search-log`): records nothing."""

    def record(self, query, filters, total, relaxed) -> None:
        pass

    def record_search(self, form, result) -> None:
        pass

    def flush(self, timeout: float = 5.0) -> bool:
        return True


class SearchLog(NoSearchLog):
    """Appends searches to the log file from a background thread (see the module doc)."""

    def __init__(self, path: Path, days: int = DEFAULT_DAYS, settle: float = SETTLE,
                 today=utc_today):
        self.path, self.days, self.settle, self.today = Path(path), days, settle, today
        self._lock = threading.Lock()
        self._pid = None  # the thread is started in the process that records (after a fork)
        self._failing = self._warned = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        atexit.register(self.flush, 2.0)

    # ---------------------------------------------------------------- request side
    def record(self, query: str, filters: dict, total: int, relaxed: bool) -> None:
        """Queue one search; returns at once and never raises."""
        query = " ".join(str(query).split())[:MAX_QUERY]
        if not query:
            return
        try:
            kept = {k: v for k, v in sorted((filters or {}).items()) if v not in (None, "", [], ())}
            entry = Entry(self.today().isoformat(), query, json.dumps(kept, ensure_ascii=False),
                          int(total), bool(relaxed))
            self._started().put((time.monotonic(), entry))
        except Exception:  # a log must never fail a search
            log.exception("search log: could not queue a search")

    def record_search(self, form, result) -> None:
        """Record a web search (a SearchForm and its SearchResult); later pages of one search
        are the same search and are not counted again."""
        if form.page == 1:
            self.record(form.q, {"tags": list(form.tags), "deck": form.deck, "year": form.year},
                        result.total, result.relaxed)

    def flush(self, timeout: float = 5.0) -> bool:
        """Write everything queued, settled or not; True when it was written in time."""
        if self._pid != os.getpid():
            return True  # nothing was recorded in this process
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout) and not self._failing

    def _started(self) -> queue.SimpleQueue:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()  # a forked copy's queue has no reader
                    self._failing, self._warned = False, False
                    threading.Thread(target=self._run, name="kb-search-log", daemon=True).start()
                    self._pid = os.getpid()
        return self._queue

    # ---------------------------------------------------------------- writer thread
    def _run(self) -> None:
        waiting: list[tuple[float, Entry]] = []  # (queued at, entry): still settling
        ready: list[Entry] = []
        next_write = 0.0
        db, pruned = None, None
        while True:
            try:
                item = self._queue.get(timeout=FLUSH_EVERY / 2)
            except queue.Empty:
                item = None
            now = time.monotonic()
            forced = isinstance(item, threading.Event)
            waiting, settled = settle(waiting, None if forced else item, now,
                                      0 if forced else self.settle)
            ready = (ready + settled)[-MAX_BACKLOG:]
            due = ready or pruned != self.today()
            if due and (forced or now >= next_write):
                try:
                    db = self._write(db, ready, prune=pruned != self.today())
                    ready, pruned = [], self.today()
                    if self._failing:
                        log.warning("search log: writing to %s again", self.path)
                    self._failing = False
                    next_write = now + FLUSH_EVERY
                except Exception as err:  # sqlite3.Error, OSError, …: the thread must live on
                    db = self._close(db)
                    self._failing = True
                    next_write = now + RETRY_EVERY
                    if not self._warned:  # once: a full disk must not also flood the log
                        self._warned = True
                        log.warning("search log: cannot write %s (%s); searches go on, and the "
                                    "log is retried every %g s", self.path, err, RETRY_EVERY)
            if forced:
                item.set()

    def _write(self, db, entries: list[Entry], prune: bool) -> sqlite3.Connection:
        """Append entries in one transaction (pruning first, once a day); raises on failure."""
        db = db or self._connect()
        if prune:
            self._prune(db)
        with db:
            db.executemany("INSERT INTO searches VALUES (?, ?, ?, ?, ?)",
                           [(e.day, e.query, e.filters, e.total, int(e.relaxed)) for e in entries])
        return db

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            db.isolation_level = ""  # `with db:` makes one transaction per batch
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _prune(self, db: sqlite3.Connection) -> None:
        cutoff = (self.today() - dt.timedelta(days=self.days)).isoformat()
        with db:
            db.execute("DELETE FROM searches WHERE day < ?", (cutoff,))

    @staticmethod
    def _close(db):
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass
        return None


def open_search_log(index: Path, enabled: bool = True, days: int = DEFAULT_DAYS):
    """What `kb serve` gives the app: the log in the index folder, or NoSearchLog."""
    return SearchLog(log_path(index), days) if enabled else NoSearchLog()
