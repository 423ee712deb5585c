"""`kb watch`: reindex when decks or media change, so uploads are searchable by themselves.

watchdog (inotify on Linux; polling where inotify is not available) reports changes under
the content folder. The watcher waits until no change has come for `settle` seconds (an
upload or an editor's save is many writes), then runs the same incremental, locked
`kb.index.reindex` that `kb reindex` runs — a reindex by hand simply waits for the lock, or
the watcher waits for it. Changes that come during a reindex make another one. A deck
caught half-written is indexed as it is on disk (its problems are logged as warnings); the
write that completes it comes as one more change, and the next reindex fixes it. Nothing a
reindex raises stops the watcher.
"""

import logging
import os
import threading
import time
from pathlib import Path

from watchdog.events import EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_OPENED, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from kb.corrections import FOLDER as CORRECTIONS
from kb.errors import KbError
from kb.index import reindex
from kb.settings import Settings

log = logging.getLogger(__name__)

SETTLE = 1.0  # seconds without a change before reindexing
MAX_DELAY = 30.0  # seconds of changes that never stop before reindexing anyway
# Reading a file is no change: the reindex's own reads must not start another reindex.
NOT_CHANGES = {EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE}
EDITOR_LEFTOVERS = ("~", ".swp", ".swx", ".tmp", ".part", ".crdownload")


def matters(path: str, settings: Settings) -> bool:
    """Whether a change to `path` can change the index: decks, media and images, and OCR
    corrections — not hidden files, editors' temporary files or the index folder itself."""
    target = Path(path)
    if target.resolve().is_relative_to(settings.index.resolve()):  # an index inside content/
        return False
    try:
        parts = target.relative_to(settings.content).parts
    except ValueError:
        return False
    if not parts or parts[-1].endswith(EDITOR_LEFTOVERS):
        return False
    if parts[:2] == ("media", CORRECTIONS):
        parts = parts[2:]  # corrections live in a dot-folder on purpose
    return not any(part.startswith((".", "#")) for part in parts)


def check_content(settings: Settings) -> None:
    """A KbError saying what to pass when there is no content folder to watch."""
    if not settings.content.is_dir():
        raise KbError(f"Content directory {settings.content}/ does not exist: pass "
                      "--content DIR (or set KB_CONTENT) to the folder that holds your decks.")


class Watcher(FileSystemEventHandler):
    """Watches a content folder and reindexes when it settles; `start()`, then `stop()`."""

    def __init__(self, settings: Settings, settle: float = SETTLE, max_delay: float = MAX_DELAY,
                 jobs: int | None = None, poll: bool = False):
        self.settings, self.settle, self.max_delay, self.jobs = settings, settle, max_delay, jobs
        self.poll = poll
        self.changed = threading.Condition()
        self.first = self.last = None  # monotonic times of the first and last pending change
        self.stopping = False
        self.reindexes = 0  # finished reindex runs, failed or not (for tests and logs)
        self.thread = threading.Thread(target=self._run, name="kb-watch", daemon=True)
        self.observer = None

    # ---------------------------------------------------------------- watchdog's side
    def on_any_event(self, event) -> None:
        if event.event_type in NOT_CHANGES:
            return
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        if any(p and matters(str(p), self.settings) for p in paths):
            with self.changed:
                now = time.monotonic()
                self.first = self.first or now
                self.last = now
                self.changed.notify()

    # ---------------------------------------------------------------- lifecycle
    def start(self, catch_up: bool = True) -> "Watcher":
        """Start watching; with `catch_up`, first reindex what changed while nobody watched."""
        check_content(self.settings)
        self.observer = self._observe()
        if catch_up:
            with self.changed:
                self.first = self.last = time.monotonic() - self.settle
        self.thread.start()
        return self

    def _observe(self):
        for kind in ([PollingObserver] if self.poll else [Observer, PollingObserver]):
            observer = kind()
            try:
                observer.schedule(self, str(self.settings.content), recursive=True)
                observer.start()
            except OSError as err:  # e.g. the inotify watch limit: poll instead
                log.warning("watch: %s cannot watch %s (%s); polling instead", kind.__name__,
                            self.settings.content, err)
                continue
            return observer
        raise KbError(f"Cannot watch {self.settings.content}/ for changes.")

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify()
        if self.observer:
            self.observer.stop()
            self.observer.join(10)
        self.thread.join(600)

    def wait(self, parent: int | None = None) -> None:
        """Block until stopped (Ctrl-C in `kb watch`) or, with `parent`, until the process
        with that id is no longer this one's parent (it ended, even by kill -9)."""
        while self.thread.is_alive() and (parent is None or os.getppid() == parent):
            self.thread.join(1)

    # ---------------------------------------------------------------- reindexing
    def _settled(self) -> bool:
        """Wait (holding `changed`) until the pending changes settle; False when stopping."""
        while not self.stopping:
            if self.last is None:
                self.changed.wait()
                continue
            now = time.monotonic()
            due = min(self.last + self.settle, self.first + self.max_delay)
            if now >= due:
                self.first = self.last = None
                return True
            self.changed.wait(due - now)
        return False

    def _run(self) -> None:
        while True:
            with self.changed:
                if not self._settled():
                    return
            self._reindex()

    def _reindex(self) -> None:
        try:
            report = reindex(self.settings, jobs=self.jobs)
        except (KbError, OSError) as err:  # e.g. the index folder cannot be written
            log.error("watch: reindex failed: %s; retried at the next change", err)
        except Exception:  # a bug must not end the watching; the next change retries
            log.exception("watch: reindex failed")
        else:
            for problem in report.warnings:
                log.warning("watch: %s", problem)
            if report.added or report.updated or report.removed:
                log.info("watch: reindexed in %.2f s: %d added, %d updated, %d removed; "
                         "%d decks, %d slides", report.seconds, report.added, report.updated,
                         report.removed, report.decks, report.slides)
        finally:
            self.reindexes += 1
