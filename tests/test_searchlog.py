"""The search log (kb.searchlog) and `kb stats`: real SQLite files, the app on a real socket,
several processes writing at once, an unwritable location, `kb serve` as a real process."""

import contextlib
import datetime as dt
import json
import logging
import multiprocessing
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.index import reindex
from kb.searchlog import NoSearchLog, SearchLog, log_path, open_search_log
from kb.web import create_app
from tests.helpers import make_site, serve_kb

LONG = 60.0  # a settle time no test waits for: flush() writes what is still settling


def rows(path: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT day, query, filters, total, relaxed FROM searches "
                          "ORDER BY rowid").fetchall()


def written(path: Path) -> bool:
    """Whether the log has rows (a reader may come between its file's and its table's making)."""
    try:
        return path.exists() and bool(rows(path))
    except sqlite3.OperationalError:
        return False


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return response.status


@pytest.fixture
def site(content, settings):
    make_site(content)
    reindex(settings, jobs=1)
    return settings


def test_web_searches_are_logged_without_who_searched(site):
    path = log_path(site.index)
    search_log = SearchLog(path, settle=LONG)
    with serve_kb(create_app(site, search_log)) as base:
        for prefix in ("c", "ce", "cens", "censoring"):  # search-as-you-type
            assert get(f"{base}/search/results?q={prefix}&tag=EPI101") == 200
        assert get(f"{base}/search?q=censoring&tag=EPI101") == 200  # then Enter: same search
        assert get(f"{base}/api/search?q=zeppelinx") == 200  # the JSON twin counts too
        assert get(f"{base}/search?q=censoring+zeppelinx") == 200
        assert get(f"{base}/search?q=hazard&page=2") == 200  # a later page: not a new search
        assert get(f"{base}/search?tag=EPI101") == 200  # browsing a tag: no words to log
        assert get(f"{base}/") == 200
        assert search_log.flush()
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    logged = rows(path)
    assert [r[1] for r in logged] == ["censoring", "zeppelinx", "censoring zeppelinx"]
    censoring, zero, relaxed = logged
    assert censoring[0] == today and json.loads(censoring[2]) == {"tags": ["EPI101"]}
    assert censoring[3] >= 1 and censoring[4] == 0
    assert zero[3] == 0
    assert relaxed[3] >= 1 and relaxed[4] == 1
    with contextlib.closing(sqlite3.connect(path)) as db:  # nothing about who searched is even a column
        columns = [c[1] for c in db.execute("PRAGMA table_info(searches)")]
    assert columns == ["day", "query", "filters", "total", "relaxed"]


def test_entries_settle_before_they_are_written(tmp_path):
    search_log = SearchLog(tmp_path / "log.sqlite3", settle=0.2)
    search_log.record("regression", {}, 3, False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not written(tmp_path / "log.sqlite3"):
        time.sleep(0.05)
    assert [r[1] for r in rows(tmp_path / "log.sqlite3")] == ["regression"]


def test_a_burst_on_other_filters_is_another_search(tmp_path):
    search_log = SearchLog(tmp_path / "log.sqlite3", settle=LONG)
    search_log.record("cohort", {"tags": ["EPI101"]}, 1, False)
    search_log.record("cohort", {"tags": ["STA202"]}, 0, False)
    search_log.record("cohort studies", {"tags": ["EPI101"]}, 1, False)
    search_log.record("coh", {"tags": ["EPI101"]}, 4, False)  # backspaced: the last one wins
    assert search_log.flush()
    assert [(r[1], r[3]) for r in rows(tmp_path / "log.sqlite3")] == [("cohort", 0), ("coh", 4)]


def test_unwritable_location_never_fails_a_search_and_loses_nothing(site, tmp_path, caplog):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the log's folder should be")
    path = blocker / "searchlog.sqlite3"
    search_log = SearchLog(path, settle=LONG)
    with caplog.at_level(logging.WARNING, logger="kb.searchlog"):
        with serve_kb(create_app(site, search_log)) as base:
            for word in ("censoring", "hazard", "regression"):
                assert get(f"{base}/search?q={word}") == 200
                assert search_log.flush() is False  # tried, and failed
    warnings = [r for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(warnings) == 1 and str(path) in warnings[0].getMessage()
    # Once the location can be written, the backlog is written: nothing was lost.
    blocker.unlink()
    blocker.mkdir()
    assert search_log.flush()
    assert [r[1] for r in rows(path)] == ["censoring", "hazard", "regression"]


def write_many(path: str, worker: int, count: int) -> None:
    search_log = SearchLog(Path(path), settle=LONG)
    for i in range(count):
        search_log.record(f"w{worker} query {i} x", {}, i, False)
        if i % 25 == 0:
            search_log.flush()
    assert search_log.flush(30)


def test_several_processes_write_one_log(tmp_path):
    path = tmp_path / "log.sqlite3"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=write_many, args=(str(path), w, 150)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0]
    logged = rows(path)
    assert len(logged) == 450 and len({r[1] for r in logged}) == 450


def test_old_entries_are_pruned(tmp_path):
    path = tmp_path / "log.sqlite3"
    old = SearchLog(path, days=30, settle=LONG, today=lambda: dt.date(2026, 1, 1))
    old.record("january", {}, 1, False)
    assert old.flush()
    recent = SearchLog(path, days=30, settle=LONG, today=lambda: dt.date(2026, 1, 20))
    recent.record("later", {}, 1, False)
    assert recent.flush()
    assert [r[1] for r in rows(path)] == ["january", "later"]  # within 30 days: kept
    march = SearchLog(path, days=30, settle=LONG, today=lambda: dt.date(2026, 3, 1))
    march.record("march", {}, 1, False)
    assert march.flush()
    assert [r[1] for r in rows(path)] == ["march"]


def fill(path: Path, day: dt.date, searches) -> None:
    search_log = SearchLog(path, days=10_000, settle=LONG, today=lambda: day)
    for query, total, relaxed in searches:
        search_log.record(query, {}, total, relaxed)
        search_log.flush()  # each its own search, not a burst
    assert search_log.flush()


def kb(settings, *args):
    return CliRunner().invoke(main, [*args, "--content", str(settings.content),
                                     "--index", str(settings.index)])


def test_kb_stats(settings):
    path = log_path(settings.index)
    fill(path, dt.date(2026, 9, 1), [("old query", 1, False)] * 5)
    fill(path, dt.date(2026, 10, 2), [("Hazard ratio", 4, False), ("hazard ratio", 4, False),
                                      ("censoring", 2, False), ("hazard ratio", 4, False),
                                      ("zeppelin", 0, False), ("zeppelin", 0, False),
                                      ("censoring zeppelin", 2, True)])
    data = json.loads(kb(settings, "stats", "--since", "2026-10-01", "--json").output)
    assert data["searches"] == 7 and data["first_day"] == "2026-10-02"
    assert data["top"][:2] == [{"query": "hazard ratio", "count": 3},
                               {"query": "zeppelin", "count": 2}]
    assert data["zero_results"] == [{"query": "zeppelin", "count": 2}]
    assert data["relaxed_only"] == [{"query": "censoring zeppelin", "count": 1}]
    everything = json.loads(kb(settings, "stats", "--json").output)
    assert everything["top"][0] == {"query": "old query", "count": 5}
    text = kb(settings, "stats", "--limit", "1")
    assert text.exit_code == 0
    assert "12 searches (2026-09-01 to 2026-10-02)" in text.output
    assert "found nothing" in text.output and "zeppelin" in text.output


def test_kb_stats_without_a_log_or_with_a_bad_date(settings):
    result = kb(settings, "stats")
    assert result.exit_code == 1
    assert result.output.startswith("Error: No search log at") and "--no-search-log" in result.output
    assert len(result.output.strip().splitlines()) == 1
    bad = kb(settings, "stats", "--since", "last week")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_stats_escape_what_they_print(settings):
    fill(log_path(settings.index), dt.date(2026, 10, 2), [("evil \x1b[2J query", 0, False)])
    assert "\x1b" not in kb(settings, "stats").output


def test_off_means_no_log(tmp_path):
    assert isinstance(open_search_log(tmp_path, enabled=False), NoSearchLog)
    assert type(open_search_log(tmp_path)) is SearchLog


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("flags, logged", [((), True), (("--no-search-log",), False)])
def test_kb_serve_logs_unless_told_not_to(site, flags, logged):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--port", str(port),
                               "--content", str(site.content), "--index", str(site.index),
                               *flags], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        assert get(f"http://127.0.0.1:{port}/search?q=censoring") == 200
        path = log_path(site.index)
        if logged:  # written once the search settled (a few seconds), while serving
            while not written(path):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert [r[1] for r in rows(path)] == ["censoring"]
        # One more, still settling when the server stops: Ctrl-C writes it on the way out.
        assert get(f"http://127.0.0.1:{port}/search?q=regression") == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    if logged:
        assert [r[1] for r in rows(log_path(site.index))] == ["censoring", "regression"]
    else:
        assert not log_path(site.index).exists()


def test_settling_is_bounded_work():
    from kb.searchlog import MAX_WAITING, Entry, settle
    waiting, written_early = [], []
    for i in range(MAX_WAITING + 50):
        waiting, done = settle(waiting, (0.0, Entry("2026-10-02", f"q{i} x", "{}", 1, False)),
                               now=1.0, seconds=60.0)
        written_early += done
        assert len(waiting) <= MAX_WAITING
    # the 50 oldest went to be written at once, none was lost
    assert [e.query for e in written_early] == [f"q{i} x" for i in range(50)]
    assert len(waiting) == MAX_WAITING
    waiting, done = settle(waiting, None, now=61.0, seconds=60.0)
    assert waiting == [] and len(done) == MAX_WAITING
