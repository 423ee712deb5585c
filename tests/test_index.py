"""Reindexing: incremental paths, the JSON summary, locking, and kill -9 safety."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from helpers import write
from kb.errors import KbError
from kb.index import reindex, reindex_lock
from kb.search import SlideIndex, search

REPORT_KEYS = {"decks", "slides", "added", "updated", "removed", "unchanged", "images",
               "ocr_run", "ocr_cached", "warnings", "seconds"}


def deck(title, *slides, tags="EPI101"):
    body = "\n\n===\n\n".join(slides)
    return f"---\ntitle: {title}\ndate: '2020-01-02T00:00:00.000Z'\ntag: {tags}\n---\n{body}\n"


def found(settings, text, **kw):
    return [(h.deck, h.anchor) for h in search(SlideIndex(settings), text, **kw).hits]


def test_first_reindex_indexes_every_slide(settings, content):
    write(content, "a.md", deck("Cohorts", "# Cohort studies\n\nfollow people", "# Bias"))
    write(content, "week2/b.md", deck("Survival", "# Censoring\n\nlost to follow-up"))
    report = reindex(settings, jobs=1)
    assert (report.decks, report.slides, report.added, report.unchanged) == (2, 3, 2, 0)
    assert set(report.as_dict()) == REPORT_KEYS
    assert found(settings, "censoring") == [("week2/b", "0")]


def test_noop_edit_add_delete_rename(settings, content):
    write(content, "a.md", deck("A", "# alpha words"))
    write(content, "b.md", deck("B", "# beta words"))
    reindex(settings, jobs=1)

    report = reindex(settings, jobs=1)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 2)

    write(content, "a.md", deck("A", "# alpha words", "# gamma words"))
    report = reindex(settings, jobs=1)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    assert found(settings, "gamma") == [("a", "1")]

    write(content, "c.md", deck("C", "# delta words"))
    report = reindex(settings, jobs=1)
    assert (report.added, report.updated, report.unchanged) == (1, 0, 2)

    (content / "b.md").unlink()
    report = reindex(settings, jobs=1)
    assert report.removed == 1 and found(settings, "beta") == []

    (content / "c.md").rename(content / "d.md")
    report = reindex(settings, jobs=1)
    assert (report.added, report.removed) == (1, 1)
    assert found(settings, "delta") == [("d", "0")]
    assert report.slides == 3  # a: 2, d: 1 — nothing duplicated


def test_touch_without_change_rereads_nothing(settings, content):
    path = write(content, "a.md", deck("A", "# alpha"))
    reindex(settings, jobs=1)
    os.utime(path, (time.time() + 10, time.time() + 10))
    report = reindex(settings, jobs=1)
    assert report.unchanged == 1 and report.updated == 0


def test_full_rebuilds_everything(settings, content):
    write(content, "a.md", deck("A", "# alpha"))
    reindex(settings, jobs=1)
    report = reindex(settings, full=True, jobs=1)
    assert (report.updated, report.unchanged, report.slides) == (1, 0, 1)
    assert found(settings, "alpha") == [("a", "0")]


def test_broken_deck_never_stops_a_reindex(settings, content):
    write(content, "good.md", deck("Good", "# hazard ratio"))
    (content / "bad.md").write_bytes(b"\x00\x01binary")
    write(content, "yaml.md", "---\ntitle: [oops\n---\n# still indexed\n")
    report = reindex(settings, jobs=1)
    files = {w.file for w in report.warnings}
    assert files == {"bad.md", "yaml.md"}
    assert report.decks == 2
    assert found(settings, "indexed") == [("yaml", "0")]


def test_media_change_reindexes_the_deck(settings, content):
    write(content, "a.md", "# Figure\n\n![image.png](/api/media/fig1)\n")
    report = reindex(settings, jobs=1)
    assert any("missing media" in w.message for w in report.warnings)
    (content / "media" / "fig1").write_bytes(b"not an image")
    report = reindex(settings, jobs=1)
    assert report.updated == 1 and report.images == 1


def test_missing_content_dir_is_a_clear_error(tmp_path):
    from kb.settings import Settings
    with pytest.raises(KbError, match="--content"):
        reindex(Settings(content=tmp_path / "nope", index=tmp_path / "ix"))


def test_search_without_index_says_what_to_run(settings):
    with pytest.raises(KbError, match="kb reindex"):
        search(SlideIndex(settings), "anything")


def test_second_reindex_waits_for_the_first(settings, content):
    write(content, "a.md", deck("A", "# alpha"))
    reindex(settings, jobs=1)
    with reindex_lock(settings, wait=None):
        with pytest.raises(KbError, match="Another `kb reindex`"):
            reindex(settings, jobs=1, wait=0.2)
        done = []
        worker = threading.Thread(target=lambda: done.append(reindex(settings, jobs=1, wait=30)))
        worker.start()
        time.sleep(0.5)
        assert not done  # still waiting for the lock
    worker.join(30)
    assert done and done[0].unchanged == 1


def big_corpus(content, decks=120, slides=30):
    for d in range(decks):
        parts = [f"# Slide {s} of deck {d}\n\nword{d}x{s} cohort hazard survival "
                 + " ".join(f"term{(d * 7 + s * 13 + k) % 997}" for k in range(40))
                 for s in range(slides)]
        write(content, f"course{d % 5}/deck{d:03}.md", deck(f"Deck {d}", *parts, tags=f"C{d % 5}"))
    return decks * slides


def run_kb(settings, *args, **kw):
    cmd = [sys.executable, "-m", "kb.cli", *args, "--content", str(settings.content),
           "--index", str(settings.index)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_kill_9_during_reindex_leaves_a_working_index(settings, content):
    total = big_corpus(content)
    write(content, "old.md", deck("Old", "# oldstate marker"))
    first = run_kb(settings, "reindex", "--jobs", "1")
    assert first.wait(120) == 0
    (content / "old.md").unlink()
    write(content, "new.md", deck("New", "# newstate marker"))
    for delay in (0.3, 1.0, 2.0):
        proc = run_kb(settings, "reindex", "--full", "--jobs", "1")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # The index opens and answers with the old state or the new one, never a mix.
        old, new = found(settings, "oldstate"), found(settings, "newstate")
        assert (old, new) in (([("old", "0")], []), ([], [("new", "0")]))
        assert len(search(SlideIndex(settings), "cohort").hits) == 10
    proc = run_kb(settings, "reindex", "--json", "--jobs", "1")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["slides"] == total + 1
    assert found(settings, "newstate") == [("new", "0")] and found(settings, "oldstate") == []
    assert search(SlideIndex(settings), "word7x3").total == 1


def test_image_slide_words_and_phrases_are_searchable(settings, content):
    from PIL import Image, ImageDraw
    from images import font
    picture = Image.new("RGB", (1100, 260), "black")
    draw = ImageDraw.Draw(picture)
    for row, line in enumerate(["attempt 1 failed: timed out", "attempt 2 failed: timed out",
                                "RuntimeError: gave up"]):
        draw.text((30, 20 + row * 75), line, font=font("mono", 44), fill=(230, 230, 230))
    picture.save(content / "media" / "2024-01-01t000000.000z", format="PNG")
    write(content, "retries.md", "# Retries\n\ntext slide\n\n===\n\n"
                                 "![image.png](/api/media/2024-01-01t000000.000z)\n")
    report = reindex(settings, jobs=1)
    assert (report.images, report.ocr_run) == (1, 1)
    assert found(settings, '"attempt 2 failed"') == [("retries", "1")]
    hit = search(SlideIndex(settings), "runtimeerror").hits[0]
    assert hit.matched == ("ocr",) and hit.snippet_field == "ocr" and hit.image_only
    assert hit.title.startswith("attempt 1 failed")  # an image slide's title is its first line
    again = reindex(settings, full=True, jobs=1)
    assert (again.ocr_run, again.ocr_cached) == (0, 1)  # the OCR cache survives --full
