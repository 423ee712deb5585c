"""`kb watch` (kb.watch.Watcher): a real watchdog observer on a real content folder, a real
index; every test polls for the result (it never assumes how long a reindex takes)."""

import functools
import json
import logging
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.index import reindex, reindex_lock
from kb.search import SlideIndex, search
from kb.settings import Settings
from kb.watch import Watcher, matters
from tests.helpers import text_png, write

SETTLE = 0.3
PATIENCE = 90  # seconds: a shared, loaded machine may be slow; a pass is usually far sooner


def eventually(check, what: str):
    deadline = time.monotonic() + PATIENCE
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@functools.lru_cache(maxsize=None)
def index_of(settings) -> SlideIndex:
    """One reader per index, as a server holds (it refreshes when a reindex commits)."""
    return SlideIndex(settings)


def hits(settings, words: str) -> list[str]:
    return [f"{h.deck}#/{h.anchor}" for h in search(index_of(settings), words).hits]


def deck(title: str, words: str) -> str:
    return f"---\ntitle: {title}\ntags: EPI101\n---\n\n# {title}\n\n{words}\n"


@pytest.fixture
def watched(content, settings):
    write(content, "courses/first.md", deck("First", "aardvark"))
    watcher = Watcher(settings, settle=SETTLE, jobs=1).start()
    eventually(lambda: hits_or_none(settings, "aardvark") == ["courses/first#/0"], "the catch-up")
    yield watcher
    watcher.stop()
    assert not watcher.thread.is_alive()


def test_decks_added_changed_and_removed_become_searchable(watched, content, settings):
    write(content, "courses/new/second.md", deck("Second", "platypus"))  # a new folder too
    eventually(lambda: hits(settings, "platypus") == ["courses/new/second#/0"], "added deck")
    write(content, "courses/first.md", deck("First", "wombat"))
    eventually(lambda: hits(settings, "wombat") == ["courses/first#/0"], "changed deck")
    assert hits(settings, "aardvark") == []
    (content / "courses/new/second.md").unlink()
    eventually(lambda: hits(settings, "platypus") == [], "removed deck")
    (content / "courses/first.md").rename(content / "moved.md")
    eventually(lambda: hits(settings, "wombat") == ["moved#/0"], "renamed deck")


def test_media_and_corrections_are_watched(watched, content, settings):
    write(content, "plots.md", deck("Plots", "![](/api/media/km-plot)"))
    eventually(lambda: "plots#/0" in hits(settings, "plots"), "deck showing a missing image")
    (content / "media" / "km-plot").write_bytes(text_png("Kaplan Meier curve"))
    eventually(lambda: hits(settings, "kaplan") == ["plots#/0"], "the image's OCR text")
    result = CliRunner().invoke(main, ["ocr", "set", "km-plot", "--text", "survival by arm",
                                       "--content", str(content), "--index", str(settings.index)])
    assert result.exit_code == 0, result.output
    eventually(lambda: hits(settings, "survival arm") == ["plots#/0"], "the correction")
    assert hits(settings, "kaplan") == []


def test_half_written_deck_is_fixed_by_the_next_settle(watched, content, settings, caplog):
    full = deck("Half", "echidna burrows — déjà vu").encode()
    path = content / "half.md"
    runs = watched.reindexes
    with caplog.at_level(logging.WARNING, logger="kb.watch"):
        # Cut inside the frontmatter and inside a UTF-8 character: what a slow upload leaves.
        path.write_bytes(full[: full.index(b"\xc3") + 1])
        eventually(lambda: watched.reindexes > runs, "a reindex of the half deck")
        eventually(lambda: any("half.md" in r.getMessage() for r in caplog.records),
                   "a warning naming the half-written deck")
    assert watched.thread.is_alive()
    path.write_bytes(full)
    eventually(lambda: hits(settings, "echidna") == ["half#/0"], "the completed deck")
    assert hits(settings, "aardvark") == ["courses/first#/0"]  # nothing else was lost


def test_a_reindex_by_hand_takes_turns_with_the_watcher(watched, content, settings):
    with reindex_lock(settings, wait=None):  # as if `kb reindex` were running
        # A watcher reindex that held the lock until now counts itself just after it lets go.
        time.sleep(0.2)
        runs = watched.reindexes
        write(content, "during.md", deck("During", "pangolin"))
        time.sleep(SETTLE * 3)  # give the watcher time to want the lock (it must wait)
        assert watched.reindexes == runs
    eventually(lambda: hits(settings, "pangolin") == ["during#/0"], "the change made meanwhile")
    write(content, "after.md", deck("After", "narwhal"))
    report = reindex(settings, jobs=1)  # by hand, while the watcher may be at it too
    assert report.decks == 3 or report.unchanged == 3
    eventually(lambda: hits(settings, "narwhal") == ["after#/0"], "deck after")
    assert watched.thread.is_alive()


def test_a_failing_reindex_does_not_end_the_watching(content, tmp_path, caplog):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the index folder should be")
    settings = Settings(content=content, index=blocker / "index")
    write(content, "one.md", deck("One", "quokka"))
    watcher = Watcher(settings, settle=SETTLE, jobs=1)
    with caplog.at_level(logging.ERROR, logger="kb.watch"):
        watcher.start()
        try:
            eventually(lambda: watcher.reindexes >= 1, "the first (failing) reindex")
            assert any("reindex failed" in r.getMessage() for r in caplog.records)
            assert watcher.thread.is_alive()
            blocker.unlink()
            blocker.mkdir()
            write(content, "one.md", deck("One", "quokka again"))
            eventually(lambda: (blocker / "index" / "manifest.json").exists()
                       and hits(settings, "quokka") == ["one#/0"], "the reindex after the fix")
        finally:
            watcher.stop()


def test_reads_and_hidden_files_start_no_reindex(watched, content, settings):
    runs = watched.reindexes
    (content / ".notes.md.swp").write_text("editor swap file")
    (content / "draft.md~").write_text("editor backup")
    write(content, "real.md", deck("Real", "okapi"))
    eventually(lambda: hits(settings, "okapi") == ["real#/0"], "the real deck")
    done = watched.reindexes
    assert done - runs <= 2  # the reindex reads every deck: those reads are no changes
    write(content, "real2.md", deck("Real two", "tapir"))
    eventually(lambda: hits(settings, "tapir") == ["real2#/0"], "the second deck")
    assert watched.reindexes - done <= 2


def test_what_matters(settings):
    c = settings.content
    assert matters(str(c / "a.md"), settings)
    assert matters(str(c / "media" / "2019-10-23t032650.743z"), settings)
    assert matters(str(c / "media" / ".ocr" / "km-plot.txt"), settings)
    assert matters(str(c / "courses" / "img"), settings)  # a folder removed
    assert not matters(str(c / "media" / ".ocr" / ".km-plot.txt.123.tmp"), settings)
    assert not matters(str(c / ".git" / "index"), settings)
    assert not matters(str(c / "a.md.swp"), settings)
    assert not matters(str(c / "a.md~"), settings)
    inside = Settings(content=c, index=c / "index")
    assert not matters(str(c / "index" / "manifest.json"), inside)


def test_kb_watch_command(content, settings):
    write(content, "one.md", deck("One", "capybara"))
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "watch", "--settle", "0.3",
                             "--content", str(content), "--index", str(settings.index)],
                            stderr=subprocess.PIPE, text=True)
    try:
        eventually(lambda: hits_or_none(settings, "capybara") == ["one#/0"], "the catch-up")
        write(content, "two.md", deck("Two", "axolotl"))
        eventually(lambda: hits_or_none(settings, "axolotl") == ["two#/0"], "a new deck")
    finally:
        proc.send_signal(2)  # Ctrl-C
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "watching" in err and "1 added" in err and "Traceback" not in err


def hits_or_none(settings, words):
    try:
        return hits(settings, words)
    except Exception:  # no index yet
        return None


@pytest.mark.parametrize("command", [["watch"], ["serve", "--watch", "--port", "0"]])
def test_kb_watch_on_a_missing_folder(tmp_path, command):
    """Said at once, also by `kb serve --watch` (its watcher is another process)."""
    result = CliRunner().invoke(main, command + ["--content", str(tmp_path / "nope"),
                                                 "--index", str(tmp_path / "index")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Content directory") and "Traceback" not in result.output


@pytest.mark.parametrize("stop", ["ctrl-c", "kill -9"])
def test_kb_serve_watch(content, settings, stop):
    """The watcher is a process of its own (gunicorn forks workers from the server's process,
    which must hold no reindexing thread then) and ends with the server, even a killed one."""
    import signal
    import socket
    import urllib.request

    import psutil
    write(content, "one.md", deck("One", "capybara"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--watch", "--no-search-log",
                             "--port", str(port), "--content", str(content),
                             "--index", str(settings.index)], stderr=subprocess.PIPE, text=True)

    def served(words):
        try:
            url = f"http://127.0.0.1:{port}/api/search?q={words}"
            with urllib.request.urlopen(url, timeout=10) as response:
                return [h["deck"] for h in json.load(response)["hits"]]
        except OSError:
            return None

    try:
        eventually(lambda: served("capybara") == ["one"], "the catch-up, served")
        write(content, "two.md", deck("Two", "axolotl"))
        eventually(lambda: served("axolotl") == ["two"], "an upload, served")
        children = psutil.Process(proc.pid).children()
        assert [c for c in children if "watch" in c.cmdline()], "no kb watch process"
    finally:
        proc.send_signal(signal.SIGINT if stop == "ctrl-c" else signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err  # e.g. a search while the first index was being made
    eventually(lambda: not [c for c in children if c.is_running() and c.status() != "zombie"],
               "the watcher and the workers end with the server")
