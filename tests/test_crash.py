"""Crash safety and concurrency (docs/commands.md): `kill -9` at random (seeded) moments and at
chosen crash points, a kill during OCR, two reindexes at once, and searches — in-process
and over HTTP against `kb serve` — for the whole duration of reindexes.

What "old or new state, never a mix" means here: the corpus has two states, alpha and beta
(decks changed, removed and added between them). The exact multiset of (deck, anchor, mark)
of every live document in the index must equal the one of alpha or the one of beta — a
duplicate or a half-applied change breaks the equality. Every slide carries the word
`everyslide`, so a search for it counts the slides of the state a reader sees.

Seeded: KB_CRASH_SEED (default below). KB_SLOW=1 makes the randomized runs longer.
"""

import collections
import contextlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kb.index import reindex
from kb import schema as kb_schema
from kb.schema import live_link, make_schema, open_index, schema_fingerprint
from kb.search import SlideIndex, search
from kb.settings import Settings

from helpers import serve_kb

SLOW = os.environ.get("KB_SLOW") == "1"
SEED = int(os.environ.get("KB_CRASH_SEED", "1729"))
PER_PAGE = 100


def scaled(default: int, slow: int) -> int:
    return slow if SLOW else default


# ---------------------------------------------------------------------------- the corpus

STATES = ("alpha", "beta")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def other(state: str) -> str:
    return "beta" if state == "alpha" else "alpha"


class Corpus:
    """Decks in two states; `write(state)` rewrites only files that differ, so an
    incremental reindex sees exactly the changed, removed and added decks.

    deck d (course{d%4}/deck{d:03}):
      d % 4 == 0  changed: beta has other words and one vertical slide more
      d % 4 == 1  only in alpha (removed in beta)
      d % 4 >= 2  the same in both states (an incremental reindex skips them)
    extra/new{e}: only in beta (added)
    """

    def __init__(self, content: Path, decks: int = 32, slides: int = 24, extras: int = 6):
        self.content, self.decks, self.slides, self.extras = content, decks, slides, extras

    def files(self, state: str) -> dict[str, str]:
        """deck id → file text for a state."""
        out = {}
        for d in range(self.decks):
            kind = d % 4
            if kind == 1 and state == "beta":
                continue
            mark = f"state{state}" if kind == 0 else "statesame"
            extra_v = kind == 0 and state == "beta"
            out[f"course{d % 4}/deck{d:03}"] = self.deck_text(d, mark, extra_v)
        if state == "beta":
            for e in range(self.extras):
                out[f"extra/new{e}"] = self.deck_text(1000 + e, "statebeta", False)
        return out

    def deck_text(self, d: int, mark: str, extra_vertical: bool) -> str:
        parts = []
        for s in range(self.slides):
            filler = " ".join(f"term{(d * 7 + s * 13 + k) % 997}" for k in range(30))
            parts.append(f"# Slide {s} of deck {d}\n\neveryslide {mark} w{d}x{s} cohort {filler}")
        body = "\n\n===\n\n".join(parts)
        if extra_vertical:
            body += f"\n\n--\n\n## Below\n\neveryslide {mark} w{d}below vertical"
        return (f"---\ntitle: Deck {d}\ndate: '2020-01-02T00:00:00.000Z'\ntag: C{d % 4}\n---\n"
                f"{body}\n")

    def expected(self, state: str) -> collections.Counter:
        """The multiset (deck, anchor, mark) that the index holds in this state."""
        want = collections.Counter()
        for ident, text in self.files(state).items():
            mark = re.search(r"state(alpha|beta|same)", text).group(0)
            for h in range(self.slides):
                want[(ident, str(h), mark)] += 1
            if "## Below" in text:
                want[(ident, f"{self.slides - 1}/1", mark)] += 1
        return want

    def write(self, state: str) -> None:
        files = self.files(state)
        for ident, text in files.items():
            path = self.content / f"{ident}.md"
            if path.is_file() and path.read_text("utf-8") == text:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        for path in self.content.rglob("*.md"):
            ident = path.relative_to(self.content).with_suffix("").as_posix()
            if ident not in files:
                path.unlink()


def index_contents(settings: Settings) -> collections.Counter:
    """The multiset (deck, anchor, mark) of every live document, read straight from Whoosh."""
    with open_index(settings).reader() as reader:
        got = collections.Counter()
        for doc in reader.all_stored_fields():
            mark = re.search(r"state(alpha|beta|same)", doc.get("body", ""))
            got[(doc["deck"], doc["anchor"], mark.group(0) if mark else None)] += 1
        return got


def describe(got: collections.Counter, want: collections.Counter) -> str:
    dupes = sorted(k for k, n in got.items() if n > 1)[:5]
    missing = sorted(set(want) - set(got))[:5]
    unexpected = sorted(set(got) - set(want))[:5]
    return (f"{sum(got.values())} docs (want {sum(want.values())}); duplicates {dupes}; "
            f"missing {missing}; unexpected {unexpected}")


def state_of(settings: Settings, corpus: Corpus, allowed=STATES) -> str:
    """Which state the index holds exactly; fails with a description if it is a mix."""
    got = index_contents(settings)
    for state in allowed:
        if got == corpus.expected(state):
            return state
    pytest.fail(f"index is neither {' nor '.join(allowed)}: "
                + "; ".join(f"vs {s}: {describe(got, corpus.expected(s))}" for s in allowed))


def settled_state(index: SlideIndex, corpus: Corpus, want: str, within: float = 10.0) -> str:
    """The state `index` shows once it has had time to open a new generation: a long-lived
    SlideIndex swaps generations in the background, within about a second of a commit."""
    deadline = time.monotonic() + within
    while (state := search_state(index, corpus)) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return state


def search_state(index: SlideIndex, corpus: Corpus) -> str:
    """The state that kb.search shows (through `index`), checked for consistency. The
    checks take several searches: they are read again if a generation swap came between."""
    while True:
        before = index.generation()
        everyslide = search(index, "everyslide", per_page=PER_PAGE)
        totals = {m: search(index, m, per_page=5).total for m in ("statealpha", "statebeta")}
        if index.generation() is before:
            break

    def shows(state: str) -> bool:
        marks = collections.Counter(m for _, _, m in corpus.expected(state).elements())
        return (sum(marks.values()) == everyslide.total
                and all(total == marks.get(m, 0) for m, total in totals.items()))

    states = [s for s in STATES if shows(s)]
    assert states, f"search sees {everyslide.total} slides, marks {totals}: neither state"
    state = states[0]
    keys = {(d, a) for d, a, _ in corpus.expected(state)}
    seen = [(h.deck, h.anchor) for h in everyslide.hits]
    assert len(seen) == len(set(seen)), f"duplicate hits: {seen}"
    assert set(seen) <= keys, f"hits outside state {state}: {sorted(set(seen) - keys)[:5]}"
    return state


# ---------------------------------------------------------------------------- processes


def kb_cmd(settings: Settings, *args) -> list[str]:
    return [sys.executable, "-m", "kb.cli", *args, "--content", str(settings.content),
            "--index", str(settings.index)]


# A `kb` run with a crash point: the named function SIGKILLs the process itself (or pauses).
INJECT = textwrap.dedent(r"""
    import os, signal, sys, time
    point, nth = sys.argv[1], int(sys.argv[2])
    del sys.argv[1:3]
    calls = [0]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def wrap(owner, name, before=None, after=None):
        original = getattr(owner, name)

        def patched(*args, **kwargs):
            calls[0] += 1
            if before and before(*args, **kwargs):
                die()
            result = original(*args, **kwargs)
            if after:
                after(*args, **kwargs)
            return result
        setattr(owner, name, patched)

    if point == "add":  # in the middle of adding documents
        import whoosh.writing
        wrap(whoosh.writing.SegmentWriter, "add_document", before=lambda *a, **k: calls[0] >= nth)
    elif point == "commit":  # every document added, nothing published
        import whoosh.writing
        wrap(whoosh.writing.SegmentWriter, "commit", before=lambda *a, **k: True)
    elif point == "toc-rename":  # new TOC written to its temp file, not renamed yet
        import whoosh.filedb.filestore as fs
        wrap(fs.FileStorage, "rename_file", before=lambda *a, **k: True)
    elif point == "switch":  # new schema's index committed, index/live not yet replaced
        real_replace = os.replace
        def replace(src, dst, *a, **k):
            if str(dst).endswith("/live"):
                die()
            return real_replace(src, dst, *a, **k)
        os.replace = replace
    elif point == "cleanup":  # switched to the new schema's index, the old one not removed
        import shutil
        shutil.rmtree = lambda *a, **k: die()
    elif point == "clean":  # new generation published, old files not cleaned, no manifest
        import whoosh.index
        wrap(whoosh.index, "clean_files", before=lambda *a, **k: True)
    elif point == "manifest":  # manifest written to its temp file, not renamed yet
        real_replace = os.replace
        def replace(src, dst, *a, **k):
            if str(dst).endswith("manifest.json"):
                die()
            return real_replace(src, dst, *a, **k)
        os.replace = replace
    elif point == "pool":  # worker processes started, then the parent is killed
        import concurrent.futures.process as cfp
        import threading
        original_submit = cfp.ProcessPoolExecutor.submit
        def submit_then_die(self, *args, **kwargs):
            calls[0] += 1
            if calls[0] == 1:
                threading.Timer(0.5, die).start()
            return original_submit(self, *args, **kwargs)
        cfp.ProcessPoolExecutor.submit = submit_then_die
    elif point == "pause-add":  # first document: tell the test, then take a while
        import whoosh.writing
        flag = os.environ["KB_TEST_FLAG"]
        def pause(*a, **k):
            if calls[0] == 1:
                open(flag, "w").close()
                time.sleep(nth)
            return False
        wrap(whoosh.writing.SegmentWriter, "add_document", before=pause)
    else:
        raise SystemExit(f"unknown crash point {point}")

    from kb.cli import main
    sys.argv[0] = "kb"
    main()
""")


def start_kb(settings: Settings, *args, inject: tuple | None = None, env=None):
    """Start `kb ARGS` in its own process group (so the test can reap what it started)."""
    cmd = kb_cmd(settings, *args)
    if inject:
        cmd = [sys.executable, "-c", INJECT, inject[0], str(inject[1]), *cmd[3:]]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env={**os.environ, **(env or {})})


def reap(proc) -> None:
    """Kill what is left of a process group this test started (e.g. orphaned workers)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(10)


def children(pid: int) -> list[int]:
    """Process ids whose parent is pid (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def run_reindex(settings: Settings, *args, timeout=180) -> dict:
    """`kb reindex --json ARGS` to completion: exit 0 and its JSON report."""
    proc = start_kb(settings, "reindex", "--json", *args)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        reap(proc)
    assert proc.returncode == 0, f"kb reindex exited {proc.returncode}: {err.decode()[-2000:]}"
    assert b"Traceback" not in err, err.decode()[-2000:]
    return json.loads(out)


def complete_and_check(settings: Settings, corpus: Corpus, state: str, *args) -> dict:
    """The next `kb reindex` brings the index to exactly `state`, its report agreeing."""
    report = run_reindex(settings, "--wait", "60", *args)
    want = corpus.expected(state)
    assert report["slides"] == sum(want.values()), report
    assert state_of(settings, corpus, allowed=(state,)) == state
    return report


# ---------------------------------------------------------------------------- kill -9


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_kill_9_at_random_moments(tmp_path, mode):
    """kill -9 a reindex at seeded random moments; each time the index opens and holds the
    old or the new state exactly, and the next `kb reindex` completes to the new state."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=24, slides=16)
    corpus.write("alpha")
    started = time.monotonic()
    complete_and_check(settings, corpus, "alpha", "--jobs", "1")
    duration = time.monotonic() - started
    server_like = SlideIndex(settings)  # one long-lived reader, as `kb serve` keeps
    assert search_state(server_like, corpus) == "alpha"

    rng = random.Random(f"{SEED}-{mode}")
    current, landed, log = "alpha", 0, []
    for _ in range(scaled(3, 12)):
        target = other(current)
        corpus.write(target)
        args = ["reindex", "--jobs", "1"] + (["--full"] if mode == "full" else [])
        delay = rng.uniform(0.05, 1.1) * duration
        proc = start_kb(settings, *args)
        try:
            time.sleep(delay)
            killed = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            reap(proc)
        landed += killed
        seen = state_of(settings, corpus, allowed=(current, target))
        assert search_state(SlideIndex(settings), corpus) == seen
        assert settled_state(server_like, corpus, seen) == seen
        log.append((round(delay, 2), killed, seen))
        started = time.monotonic()
        complete_and_check(settings, corpus, target, "--jobs", "1")
        duration = max(0.5, time.monotonic() - started) if mode == "full" else duration
        assert settled_state(server_like, corpus, target) == target
        current = target
    print(f"kills (delay s, landed mid-run, state seen): {log}")
    assert landed, f"no kill landed while the reindex ran: {log}"
    report = run_reindex(settings, "--jobs", "1")
    assert report["unchanged"] == len(corpus.files(current)) and report["slides"] == sum(
        corpus.expected(current).values())


CRASH_POINTS = ["add", "commit", "toc-rename", "clean", "manifest"]


@pytest.mark.parametrize("mode", ["incremental", "full"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_9_at_each_crash_point(tmp_path, point, mode):
    """The worst moments, hit on purpose: mid-add, before the commit, between writing and
    renaming the new TOC, right after the commit (before cleanup and the manifest), and
    between writing and renaming the manifest."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=12, slides=4, extras=3)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    corpus.write("beta")
    args = ["reindex", "--jobs", "1"] + (["--full"] if mode == "full" else [])
    proc = start_kb(settings, *args, inject=(point, 10))
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        reap(proc)
    assert proc.returncode == -signal.SIGKILL, f"crash point {point} not reached: {err.decode()}"
    seen = state_of(settings, corpus)
    assert search_state(SlideIndex(settings), corpus) == seen
    complete_and_check(settings, corpus, "beta", "--jobs", "1")
    again = reindex(settings, jobs=1)  # and it stays exact
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert state_of(settings, corpus, allowed=("beta",)) == "beta"
    assert search_state(SlideIndex(settings), corpus) == "beta"


# A rebuild for a new schema, killed: before anything is added, mid-add, before the commit,
# between writing and renaming the new TOC, before the switch of index/live, after it
# (before the old index is removed), and between writing and renaming the manifest.
REBUILD_POINTS = ["add", "commit", "toc-rename", "switch", "cleanup", "manifest"]
AFTER_SWITCH = {"cleanup", "manifest"}


def build_with_another_analyzer(settings: Settings, monkeypatch) -> str:
    """The index as an older kb would have left it: the same fields, but text analyzed
    without stemming. Returns that schema's fingerprint."""
    import kb.schema
    original = kb.schema.text_analyzer
    monkeypatch.setattr(kb.schema, "text_analyzer", lambda stem=True, **kwargs: original(stem=False))
    old = schema_fingerprint()
    reindex(settings, jobs=1)
    monkeypatch.undo()
    return old


@pytest.mark.parametrize("point", REBUILD_POINTS)
def test_kill_9_during_a_schema_changing_rebuild(tmp_path, monkeypatch, point):
    """The analyzer changed: the next reindex builds a new index beside the live one. Killed
    at each point, the complete old (or, after the switch, new) index still answers, also to
    a reader open all along; the next reindex completes the new one and removes the old."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=12, slides=4, extras=3)
    corpus.write("alpha")
    old, new = build_with_another_analyzer(settings, monkeypatch), schema_fingerprint()
    assert old != new, "an analyzer change must change the fingerprint"
    reader = SlideIndex(settings)
    assert search_state(reader, corpus) == "alpha"

    proc = start_kb(settings, "reindex", "--jobs", "1", inject=(point, 10))
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        reap(proc)
    assert proc.returncode == -signal.SIGKILL, f"crash point {point} not reached: {err.decode()}"
    live = os.readlink(live_link(settings))
    assert live == f"whoosh-{new if point in AFTER_SWITCH else old}", (point, live)
    assert state_of(settings, corpus, allowed=("alpha",)) == "alpha"
    assert search_state(SlideIndex(settings), corpus) == "alpha"
    assert search_state(reader, corpus) == "alpha"

    complete_and_check(settings, corpus, "alpha", "--jobs", "1")
    assert os.readlink(live_link(settings)) == f"whoosh-{new}"
    assert sorted(p.name for p in settings.index.glob("whoosh*")) == [f"whoosh-{new}"]
    body = open_index(settings).schema["body"]
    assert kb_schema.describe(body) == kb_schema.describe(make_schema()["body"])
    assert search_state(reader, corpus) == "alpha"  # the open reader moved to the new index
    again = reindex(settings, jobs=1)
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(corpus.files("alpha")))


def test_an_index_of_kb_before_the_live_link_is_upgraded(tmp_path):
    """An index folder as earlier kb versions wrote it (index/whoosh, no link) is searched
    until the first reindex, which builds the new one beside it and then removes it."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=4, slides=3, extras=1)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    live = settings.index / os.readlink(live_link(settings))
    live_link(settings).unlink()
    live.rename(settings.index / "whoosh")
    assert search_state(SlideIndex(settings), corpus) == "alpha"
    complete_and_check(settings, corpus, "alpha", "--jobs", "1")
    assert sorted(p.name for p in settings.index.glob("whoosh*")) == [f"whoosh-{schema_fingerprint()}"]


def test_readers_keep_the_old_state_when_the_first_reindex_was_killed(tmp_path):
    """The very first reindex is killed right after its commit (so no manifest exists); the
    next reindex must still be atomic for a reader that is open all along: old state while
    it runs, the new one as soon as it is done."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=8, slides=3, extras=2)
    corpus.write("alpha")
    proc = start_kb(settings, "reindex", "--jobs", "1", inject=("clean", 0))
    try:
        proc.communicate(timeout=120)
    finally:
        reap(proc)
    assert proc.returncode == -signal.SIGKILL
    reader = SlideIndex(settings)
    assert state_of(settings, corpus) == "alpha" and search_state(reader, corpus) == "alpha"

    corpus.write("beta")
    flag = tmp_path / "adding"
    proc = start_kb(settings, "reindex", "--jobs", "1", inject=("pause-add", 3),
                    env={"KB_TEST_FLAG": str(flag)})
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert flag.exists(), proc.communicate()[1].decode()
        during = search(SlideIndex(settings), "everyslide", per_page=1).total
        during_open = search(reader, "everyslide", per_page=1).total
        _, err = proc.communicate(timeout=120)
    finally:
        reap(proc)
    assert proc.returncode == 0, err.decode()
    alpha = sum(corpus.expected("alpha").values())
    assert (during, during_open) == (alpha, alpha), \
        f"a reader saw {during}/{during_open} slides during the reindex, not the old {alpha}"
    guard = time.monotonic() + 60  # a guard against a hang, not a limit
    while search_state(reader, corpus) != "beta" and time.monotonic() < guard:
        time.sleep(0.05)
    assert search_state(reader, corpus) == "beta", "the open reader never saw the new state"
    assert state_of(settings, corpus, allowed=("beta",)) == "beta"


# ---------------------------------------------------------------------------- worker processes


def png_with_words(path: Path, words: str, size=(900, 260)) -> None:
    from PIL import Image, ImageDraw, ImageFont
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((30, 90), words, fill="black", font=ImageFont.truetype(FONT, 56))
    image.save(path, format="PNG")


OCR_WORDS = ["marmalade", "harpsichord", "zeppelin", "lighthouse", "saxophone", "pelican",
             "volcano", "umbrella", "cathedral", "dolphin", "lantern", "biscuit", "orchestra",
             "meadow", "penguin", "tornado", "waffle", "compass", "glacier", "kangaroo"]


class ImageCorpus:
    """Decks with one image slide each; every image shows one word (and a round number so
    that each round's images are new bytes, OCRed afresh)."""

    def __init__(self, content: Path):
        self.content = content
        (content / "media").mkdir(parents=True, exist_ok=True)

    def write(self, words: list[str], round_no: int) -> None:
        for old in self.content.glob("pic*.md"):
            old.unlink()
        for i, word in enumerate(words):
            media = f"img-{round_no}-{i}"
            png_with_words(self.content / "media" / media, f"{word.upper()} {round_no}")
            (self.content / f"pic{i}.md").write_text(
                f"---\ntitle: Picture {i}\n---\n# Slide with text {i}\n\neveryslide\n\n===\n\n"
                f"![](/api/media/{media})\n", "utf-8")

    @staticmethod
    def found(settings: Settings, word: str) -> list[tuple[str, str]]:
        return [(h.deck, h.anchor) for h in search(SlideIndex(settings), word).hits]


@pytest.mark.slow
def test_kill_9_during_ocr(tmp_path):
    """kill -9 (the main process only, as the OOM killer or `kill -9 PID` does) while
    tesseract runs: the index holds the old or the new state, and the next `kb reindex`
    completes — it must not wait for the dead run's worker processes — with every image's
    text searchable."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    images = ImageCorpus(settings.content)
    rng = random.Random(f"{SEED}-ocr")
    words = list(OCR_WORDS)
    rng.shuffle(words)
    per_round = 3
    images.write(words[:per_round], 0)
    started = time.monotonic()
    run_reindex(settings, "--jobs", "2")
    duration = time.monotonic() - started
    for word in words[:per_round]:
        assert len(images.found(settings, word)) == 1, f"tesseract did not read {word}"
    log = []
    for round_no in range(1, scaled(1, 5) + 1):
        new = words[round_no * per_round:(round_no + 1) * per_round]
        old = words[(round_no - 1) * per_round:round_no * per_round]
        images.write(new, round_no)
        delay = rng.uniform(0.0, 0.5) * duration
        proc = start_kb(settings, "reindex", "--jobs", "2")
        try:
            deadline = time.monotonic() + 60  # OCR has begun when the workers are there
            while not children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            ocr_running = bool(children(proc.pid))
            time.sleep(delay)
            killed = proc.poll() is None and ocr_running
            proc.send_signal(signal.SIGKILL)  # the main process only, if it still runs
            proc.wait(30)
            hits = {w: images.found(settings, w) for w in old + new}
            olds, news = sum(bool(hits[w]) for w in old), sum(bool(hits[w]) for w in new)
            assert (olds, news) in ((len(old), 0), (0, len(new))), f"a mix: {hits}"
            log.append((round(delay, 2), killed, "old" if olds else "new"))
            report = run_reindex(settings, "--jobs", "2", "--wait", "20")
        finally:
            reap(proc)
        assert report["images"] == per_round
        for word in new:
            assert images.found(settings, word) == [(f"pic{new.index(word)}", "1")], word
        for word in old:
            assert images.found(settings, word) == [], word
    print(f"OCR kills (delay s, landed during OCR, state): {log}")
    assert any(landed for _, landed, _ in log), f"no kill landed while OCR ran: {log}"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_kill_9_with_worker_processes_running_does_not_block_the_next_reindex(tmp_path, jobs):
    """The parent is killed while its worker processes (OCR; with --jobs 2 and many decks
    also parsing) are alive: the lock must die with the killed `kb reindex`, so the next
    one runs at once."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    if jobs == "2":  # parsing in a pool needs many decks
        corpus = Corpus(settings.content, decks=64, slides=2, extras=0)
        corpus.write("alpha")
    images = ImageCorpus(settings.content)
    images.write(OCR_WORDS[:2], 0)
    proc = start_kb(settings, "reindex", "--jobs", jobs, inject=("pool", 0))
    try:
        proc.wait(120)
        assert proc.returncode == -signal.SIGKILL
        lingering = group_alive(proc.pid)
        nxt = start_kb(settings, "reindex", "--json", "--wait", "5")
        try:
            out, err = nxt.communicate(timeout=120)
        finally:
            reap(nxt)
    finally:
        reap(proc)
    assert nxt.returncode == 0, (
        f"the next reindex could not start (worker processes of the killed run still alive: "
        f"{lingering}): {err.decode().strip()}")
    assert json.loads(out)["images"] == 2


# ---------------------------------------------------------------------------- two at once


def test_two_reindexes_at_once(tmp_path):
    """While one reindex holds the lock, a second waits for it and then runs; one with a
    short --wait gives up with a clear message; the index ends exact, nothing corrupt."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=16, slides=6)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    corpus.write("beta")
    flag = tmp_path / "adding"
    first = start_kb(settings, "reindex", "--json", "--full", "--jobs", "1",
                     inject=("pause-add", 2), env={"KB_TEST_FLAG": str(flag)})
    procs = [first]
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert flag.exists(), first.communicate()[1].decode()
        second = start_kb(settings, "reindex", "--json", "--jobs", "1")
        impatient = start_kb(settings, "reindex", "--wait", "0.2", "--jobs", "1")
        procs += [second, impatient]
        _, impatient_err = impatient.communicate(timeout=60)
        ended = {}
        while len(ended) < 2 and time.monotonic() < deadline + 120:
            for name, p in (("first", first), ("second", second)):
                if name not in ended and p.poll() is not None:
                    ended[name] = time.monotonic()
            time.sleep(0.01)
        outs = [p.communicate(timeout=60) for p in (first, second)]
    finally:
        for p in procs:
            reap(p)
    assert impatient.returncode == 1, impatient_err.decode()
    assert b"Another `kb reindex`" in impatient_err and b"Traceback" not in impatient_err
    for p, (out, err) in zip((first, second), outs):
        assert p.returncode == 0 and b"Traceback" not in err, err.decode()
    assert ended["first"] <= ended["second"], "the second reindex did not wait for the first"
    first_report, second_report = (json.loads(out) for out, _ in outs)
    want = sum(corpus.expected("beta").values())
    assert first_report["slides"] == second_report["slides"] == want
    assert second_report["unchanged"] == len(corpus.files("beta"))  # the first did it all
    assert state_of(settings, corpus, allowed=("beta",)) == "beta"


# ---------------------------------------------------------------------------- readers during reindexes


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_an_open_reader_sees_exactly_the_new_state(tmp_path, mode):
    """A SlideIndex opened before a reindex (as `kb serve` keeps one for its whole life)
    shows exactly the new state afterwards: no slide of a removed deck, no second copy of
    an updated one."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=12, slides=4, extras=3)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    reader = SlideIndex(settings)
    assert search_state(reader, corpus) == "alpha"
    for state in ("beta", "alpha", "beta"):
        corpus.write(state)
        reindex(settings, jobs=1, full=mode == "full")
        assert search_state(SlideIndex(settings), corpus) == state
        assert settled_state(reader, corpus, state) == state



@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_a_search_that_straddles_a_reindex_leaves_no_stale_answer(tmp_path, monkeypatch, mode):
    """A search that began on the old generation and ends after a reindex committed (and
    cleaned up the old files, and after another thread already searched the new one)
    answers with the old state, and leaves no old answer — or old facet counts — behind
    for the new generation."""
    import kb.matcher

    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=8, slides=3, extras=2)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    index = SlideIndex(settings)
    assert search_state(index, corpus) == "alpha"
    entered, slowed = threading.Event(), []
    original = kb.matcher.run

    def search_slowly(*args, **kwargs):
        if threading.current_thread().name == "straddler":
            slowed.append(True)
            entered.set()
            time.sleep(1.0)  # the reindex commits meanwhile
        return original(*args, **kwargs)

    monkeypatch.setattr(kb.matcher, "run", search_slowly)
    outcome = {}

    def straddle():
        try:
            outcome["total"] = search(index, "everyslide", per_page=7).total
        except Exception as err:  # noqa: BLE001 — the finding
            outcome["error"] = f"{type(err).__name__}: {err}"

    straddler = threading.Thread(name="straddler", daemon=True, target=straddle)
    straddler.start()
    assert entered.wait(30), "the straddling search never reached the matcher"
    corpus.write("beta")
    reindex(settings, jobs=1, full=mode == "full")
    deadline = time.monotonic() + 10  # another thread's search: the new generation in use
    while not search(index, "statebeta").total and time.monotonic() < deadline:
        time.sleep(0.05)
    straddler.join(30)
    assert slowed
    alpha = sum(corpus.expected("alpha").values())
    assert outcome.get("total") == alpha, f"the straddling search: {outcome}"
    beta = sum(corpus.expected("beta").values())
    late = search(index, "everyslide", per_page=7)
    assert late.total == beta, f"a stale answer stayed cached: {late.total} slides, not {beta}"
    fresh = search(SlideIndex(settings), "everyslide", per_page=3)
    assert search(index, "everyslide", per_page=3).facets == fresh.facets


class Observer:
    """Searches in a loop from several threads; records every answer's state and time."""

    def __init__(self, corpus: Corpus, query_fn, threads: int = 4, pages: int = 8):
        self.corpus, self.query_fn, self.pages = corpus, query_fn, pages
        self.counts = {s: sum(corpus.expected(s).values()) for s in STATES}
        self.keys = {s: {(d, a) for d, a, _ in corpus.expected(s)} for s in STATES}
        self.records: list[tuple[float, int, int, str | None]] = []  # (at, thread, page, state)
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, args=(i,), daemon=True)
                        for i in range(threads)]

    def classify(self, total: int, hits: list[tuple[str, str]]) -> str | None:
        for state, count in self.counts.items():
            if total == count and set(hits) <= self.keys[state] and len(set(hits)) == len(hits):
                return state
        return None

    def loop(self, n: int) -> None:
        rng = random.Random(f"{SEED}-observer-{n}")
        while not self.stop.is_set():
            page = rng.randint(1, self.pages)
            at = time.monotonic()
            try:
                total, hits = self.query_fn(n, page)
                state = self.classify(total, hits)
                if state is None:
                    self.errors.append(f"page {page}: {total} slides, hits {hits[:3]}…: a mix")
            except Exception as err:  # noqa: BLE001 — every failure is a finding
                state = None
                self.errors.append(f"page {page}: {type(err).__name__}: {err}")
            with self.lock:
                self.records.append((at, n, page, state))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def settled(self, done: float, target: str) -> bool:
        """Every thread has answered in `target` since `done`."""
        with self.lock:
            answered = {n for at, n, _, state in self.records if at > done and state == target}
        return answered == set(range(len(self.threads)))

    def went_back(self, since: float, target: str) -> list:
        """Answers, since `since`, in another state after the same thread already answered
        in `target`: a reader that saw the new state must never see the old one again."""
        seen, back = set(), []
        with self.lock:
            for at, n, page, state in self.records:
                if at <= since:
                    continue
                if state == target:
                    seen.add(n)
                elif n in seen:
                    back.append((n, page, state))
        return back


def reindex_cycles(settings: Settings, corpus: Corpus, observer: Observer, cycles: int):
    """Alternate states with full and incremental reindexes while `observer` searches."""
    current = "alpha"
    for cycle in range(cycles):
        target = other(current)
        corpus.write(target)
        args = ["--jobs", "1"] + (["--full"] if cycle % 2 == 0 else [])
        started = time.monotonic()
        proc = start_kb(settings, "reindex", *args)
        try:
            _, err = proc.communicate(timeout=180)
        finally:
            reap(proc)
        done = time.monotonic()
        assert proc.returncode == 0, err.decode()
        guard = done + 120  # a guard against a hang, not a limit
        while not observer.settled(done, target) and time.monotonic() < guard:
            time.sleep(0.05)
        assert observer.settled(done, target), (
            f"not every searching thread reached state {target}; errors: {observer.errors[-5:]}")
        back = observer.went_back(started, target)
        assert not back, f"threads saw {target}, then the old state again: {back[:10]}"
        current = target
    return current


@pytest.mark.slow
def test_searches_in_process_during_reindexes(tmp_path):
    """Threads share one SlideIndex (as the web app does) and search during full and
    incremental reindexes: no error, every answer the old or the new state, and the new
    state after each reindex (every thread, and none of them back to the old one)."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=24, slides=16)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    shared = SlideIndex(settings)

    def query(_n, page):
        result = search(shared, "everyslide", page=page, per_page=PER_PAGE)
        return result.total, [(h.deck, h.anchor) for h in result.hits]

    with Observer(corpus, query) as observer:
        reindex_cycles(settings, corpus, observer, scaled(2, 6))
    assert not observer.errors, observer.errors[:10]
    assert len(observer.records) > 50, "the observers hardly searched"


class KbServer:
    """`kb serve` (tests/helpers.serve_kb) with a small HTTP client for the tests."""

    def __init__(self, settings: Settings, workers: int = 1, threads: int = 8):
        self.settings, self.workers, self.threads = settings, workers, threads
        self.log: list[str] = []
        self.served = None

    def __enter__(self):
        self.served = serve_kb(self.settings, self.workers, self.threads, self.log)
        self.port = int(self.served.__enter__().rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc):
        return self.served.__exit__(*exc)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self) -> http.client.HTTPConnection:
        # A guard against a hung server, not a speed limit.
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def get(self, path: str, conn=None, headers=None):
        """(status, headers, body) of a GET."""
        own = conn is None
        conn = conn or self.connection()
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            if own:
                conn.close()

    def output(self) -> str:
        return "".join(self.log)


@pytest.mark.slow
def test_searches_over_http_during_reindexes(tmp_path):
    """The same over HTTP: `kb serve` answers every request with 200 and the old or the
    new state while reindexes run, and then the new state, no restart."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=24, slides=16)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    with KbServer(settings) as server:
        local = threading.local()

        def query(_n, page):
            if getattr(local, "conn", None) is None:
                local.conn = server.connection()
            try:
                status, _, body = server.get(
                    f"/api/search?q=everyslide&page={page}&per_page={PER_PAGE}", local.conn)
            except (OSError, http.client.HTTPException):
                local.conn.close()
                local.conn = None
                raise
            if status != 200:
                raise AssertionError(f"HTTP {status}: {body[:300]!r}")
            data = json.loads(body)
            return data["total"], [(h["deck"], h["anchor"]) for h in data["hits"]]

        with Observer(corpus, query, threads=6) as observer:
            reindex_cycles(settings, corpus, observer, scaled(2, 6))
        log = server.output()
    assert not observer.errors, observer.errors[:10]
    assert len(observer.records) > 50, "the observers hardly searched"
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]


def test_two_worker_processes_see_a_reindex_without_an_error(tmp_path):
    """`kb serve --workers 2`: every request answered 200 in one state, and after a reindex
    both worker processes move to the new one without a restart (polled: a run of answers
    on fresh connections, which the workers share, must all be the new state)."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=8, slides=3, extras=2)
    corpus.write("alpha")
    reindex(settings, jobs=1)
    counts = {s: sum(corpus.expected(s).values()) for s in STATES}
    errors, answers = [], []

    def ask() -> int | None:
        status, _, body = server.get("/api/search?q=everyslide&per_page=5")
        if status != 200:
            errors.append((status, body[:200]))
            return None
        answers.append(json.loads(body)["total"])
        return answers[-1]

    with KbServer(settings, workers=2, threads=2) as server:
        assert all(ask() == counts["alpha"] for _ in range(20)), answers
        corpus.write("beta")
        run_reindex(settings, "--jobs", "1")
        streak, deadline = 0, time.monotonic() + 120  # a guard against a hang, not a limit
        while streak < 30 and time.monotonic() < deadline:
            total = ask()
            streak = streak + 1 if total == counts["beta"] else 0
            assert total in (counts["alpha"], counts["beta"]), (total, counts)
            time.sleep(0.02)
        log = server.output()
    assert not errors, errors
    assert streak == 30, f"the workers did not all move to the new state: {answers[-40:]}"
    assert "Traceback" not in log, log[-3000:]
