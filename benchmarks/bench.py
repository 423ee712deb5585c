"""kb at the scale of a university's lecture archive: reindex and search, against FTS5.

For each `--slides` size: generate a synthetic archive (benchmarks/synth.py) in a temp dir,
then measure in one run

- `kb reindex --full --jobs 2` as a subprocess (wall s, slides/s, peak RSS of the largest
  process and of the whole process tree), a no-op reindex, a reindex after editing one deck
  and after adding one deck;
- search latency in-process (kb.search.search on one SlideIndex) and over HTTP against
  `kb serve` on a free loopback port: p50/p95 over a fixed mix of queries, serially and
  with 8 client threads (keep-alive connections); the server's RSS afterwards;
- the same slides and queries in SQLite FTS5 behind a stdlib HTTP server
  (benchmarks/fts5_baseline.py), measured the same way, side by side;

and prints a table with PASS/MISS per target (or `--json`). Every request loop is bounded
in count and in time, and everything listens on 127.0.0.1 only.

    python benchmarks/bench.py --slides 3000 --slides 21000
    python benchmarks/bench.py --slides 21000 --json > benchmarks/out/21k.json
    python benchmarks/bench.py --slides 21000 --profile benchmarks/out/prof   # + cProfile
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import synth  # noqa: E402
from driver import Clients, Meter, free_port, summary  # noqa: E402

MB = 2**20


def log(*args) -> None:
    print("[bench]", *args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes

def kb_command() -> list[str]:
    """The installed `kb` console script next to this interpreter, else `python -m kb.cli`."""
    script = Path(sys.executable).parent / "kb"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kb.cli"]


def run_measured(argv: list[str], timeout: float, env: dict | None = None,
                 cwd: Path | None = None) -> dict:
    """Run a command; wall seconds, exit code, stdout, peak RSS (largest process; tree sum)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
    done: dict = {}

    def reap():
        _, status, usage = os.wait4(proc.pid, 0)
        done.update(wall=time.perf_counter() - started, status=status, usage=usage)

    waiter = threading.Thread(target=reap, daemon=True)
    waiter.start()
    tree_peak = 0.0
    deadline = started + timeout
    meter = Meter(proc.pid)
    while waiter.is_alive():
        tree_peak = max(tree_peak, meter.memory()["rss_mb"])
        waiter.join(0.1)
        if time.perf_counter() > deadline and waiter.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            waiter.join()
            done["timeout"] = True
    proc.returncode = os.waitstatus_to_exitcode(done["status"])
    out.seek(0)
    err.seek(0)
    return {"wall": done["wall"], "rc": proc.returncode, "timeout": done.get("timeout", False),
            # ru_maxrss of wait4: the largest RSS of the child or any descendant it reaped.
            "peak_rss_mb": round(done["usage"].ru_maxrss / 1024, 1),
            # CPU of the command and its reaped children: steadier than wall on a busy machine.
            "cpu_s": round(done["usage"].ru_utime + done["usage"].ru_stime, 2),
            "tree_peak_rss_mb": round(tree_peak, 1),
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")[-3000:]}


class Server:
    """A server subprocess on loopback, ready when GET /healthz answers 200."""

    def __init__(self, argv: list[str], port: int, name: str, ready_timeout: float = 120):
        self.name, self.port = name, port
        self.log = tempfile.TemporaryFile()
        started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log)
        self.health = None
        while time.perf_counter() - started < ready_timeout:
            if self.proc.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    try:
                        self.health = json.loads(body)
                    except ValueError:
                        self.health = body[:200].decode("utf-8", "replace")
                    break
            except OSError:
                pass
            time.sleep(0.2)
        self.ready_seconds = time.perf_counter() - started
        self.ok = self.health is not None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-3000:]

    def rss(self) -> dict:
        """RSS of the server and its workers, split into heap and mapped files."""
        return Meter(self.proc.pid).memory(pss=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------- queries

def make_queries(content: Path, made: dict, count: int, seed: int) -> list[dict]:
    """A fixed mix of queries: {"kind", "q", "tag"}; deterministic for a given archive."""
    rng = random.Random(f"queries-{seed}")
    vocab: synth.Vocabulary = made["vocab"]
    from whoosh.analysis import STOP_WORDS
    stop = set(STOP_WORDS) | synth.FUNCTION_SET
    content_words = [w for w in vocab.words if w not in stop]

    def word(lo=0.0, hi=0.5):
        # Zipf-ish over content words: users mostly type words that occur.
        i = int(len(content_words) * (lo + (hi - lo) * rng.random() ** 2))
        return content_words[i]

    # Adjacent word pairs that really occur, for phrase queries.
    pairs = []
    sample = rng.sample(made["paths"], min(40, len(made["paths"])))
    for rel in sample:
        text = (content / rel).read_text("utf-8")
        for sentence in re.findall(r"[A-Za-z][a-z ]+[a-z]", text):
            toks = sentence.lower().split()
            for a, b in zip(toks, toks[1:]):
                if a not in stop and b not in stop and a != b:
                    pairs.append(f"{a} {b}")
    pairs = sorted(set(pairs)) or ["hazard ratio"]
    codes = [c.code for c in made["courses"]]

    kinds = [("word", 25), ("two words", 20), ("three words", 15), ("phrase", 10),
             ("prefix", 10), ("tag filter", 10), ("question", 5), ("misspelled", 5)]
    fixed = [{"kind": "prefix", "q": "stat*", "tag": None},
             {"kind": "two words", "q": "hazard ratio", "tag": None},
             {"kind": "phrase", "q": '"hazard ratio"', "tag": None}]
    out, seen = [], set()
    # Every query is distinct: kb caches results per index generation, and a benchmark that
    # repeats a query would measure the cache, not the search.
    for attempt in range(count * 50):
        if len(out) >= count:
            break
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        tag = None
        if kind == "word":
            q = word()
        elif kind == "two words":
            q = f"{word()} {word()}"
        elif kind == "three words":
            q = f"{word()} {word()} {word(0.2, 1.0)}"
        elif kind == "phrase":
            q = f'"{rng.choice(pairs)}"'
        elif kind == "prefix":
            w = word(0, 0.4)
            q = w[: rng.randint(3, min(5, max(3, len(w) - 1)))] + "*"
        elif kind == "tag filter":
            q, tag = word(), rng.choice(codes)
        elif kind == "question":
            q = f"what is the {word()} of {word()} in {word(0.1, 1.0)}"
        else:
            w = list(word(0, 0.3))
            i = rng.randrange(1, len(w))
            w[i] = rng.choice("aeioustrnl".replace(w[i], ""))
            q = "".join(w)
        if (q, tag) not in seen:
            seen.add((q, tag))
            out.append({"kind": kind, "q": q, "tag": tag})
    rng.shuffle(out)
    out = [q for q in fixed if (q["q"], q["tag"]) not in seen] + out
    return out[:count]


def split_queries(queries: list[dict], args) -> dict:
    """Disjoint sets: warm-up, serial, concurrent (so no measured query hits kb's cache)."""
    w = args.warmup
    return {"warmup": queries[-w:], "serial": queries[: args.queries],
            "concurrent": queries[args.queries : args.queries + args.concurrent_requests]}


def search_path(query: dict) -> str:
    params = {"q": query["q"]}
    if query["tag"]:
        params["tag"] = query["tag"]
    return "/api/search?" + urlencode(params)


# --------------------------------------------------------------------------- search runs

def timed_loop(fn, queries: list[dict], time_limit: float) -> tuple[list[float], dict, list]:
    by_kind: dict[str, list[float]] = {}
    all_ms, totals = [], []
    deadline = time.perf_counter() + time_limit
    for q in queries:
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        total = fn(q)
        ms = (time.perf_counter() - t0) * 1000
        all_ms.append(ms)
        by_kind.setdefault(q["kind"], []).append(ms)
        totals.append(total)
    return all_ms, by_kind, totals


def in_process_search(index_dir: Path, content: Path, sets: dict, time_limit: float) -> dict:
    from kb.search import SlideIndex, search
    from kb.settings import Settings

    index = SlideIndex(Settings(content=content, index=index_dir))

    def one(q):
        return search(index, q["q"], tags=(q["tag"],) if q["tag"] else ()).total

    t0 = time.perf_counter()
    one(sets["warmup"][0])
    first = (time.perf_counter() - t0) * 1000
    for q in sets["warmup"][1:]:
        one(q)
    all_ms, by_kind, totals = timed_loop(one, sets["serial"], time_limit)
    out = summary(all_ms)
    out["first_query_ms"] = round(first, 1)
    out["zero_hit_queries"] = sum(1 for t in totals if t == 0)
    out["median_total"] = statistics.median(totals) if totals else None
    out["by_kind"] = {k: summary(v) for k, v in sorted(by_kind.items())}
    # The same queries again: what a repeated query costs (kb caches per index generation).
    again, _, _ = timed_loop(one, sets["serial"], time_limit)
    out["repeat"] = summary(again)
    return out


def fts5_in_process(db: Path, sets: dict, time_limit: float) -> dict:
    import sqlite3
    import fts5_baseline

    conn = sqlite3.connect(db)

    def one(q):
        return fts5_baseline.search(conn, q["q"], q["tag"])["total"]

    for q in sets["warmup"]:
        one(q)
    all_ms, by_kind, totals = timed_loop(one, sets["serial"], time_limit)
    conn.close()
    out = summary(all_ms)
    out["zero_hit_queries"] = sum(1 for t in totals if t == 0)
    out["median_total"] = statistics.median(totals) if totals else None
    out["by_kind"] = {k: summary(v) for k, v in sorted(by_kind.items())}
    return out


def http_run(port: int, queries: list[dict], clients: int, time_limit: float) -> dict:
    """`clients` keep-alive connections sending distinct search queries (benchmarks/driver.py)."""
    run = Clients(port, [("search", search_path(q)) for q in queries], clients, time_limit,
                  headers={"Accept": "application/json"}).run()
    statuses: dict[str, int] = {}
    for _, _, status, _ in run.results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    out = summary(run.ok_ms())
    out.update(errors=len(run.errors), statuses=statuses, clients=clients,
               wall_s=round(run.wall, 2),
               req_per_s=round(len(run.ok_ms()) / run.wall, 1) if run.wall else None)
    return out


def http_bench(server: Server, sets: dict, args) -> dict:
    out: dict = {"ready_s": round(server.ready_seconds, 2), "healthz": server.health}
    path = search_path(sets["warmup"][0])
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    out["first_request_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    out["first_status"] = resp.status
    try:
        out["first_total"] = json.loads(body).get("total")
    except ValueError:
        out["first_total"] = None
    out["warmup"] = http_run(server.port, sets["warmup"][1:], 1, 60)
    meter = Meter(server.proc.pid)

    def measured(queries, clients):
        cpu = meter.cpu_s()
        run = http_run(server.port, queries, clients, args.time_limit)
        # Server CPU per answered request: latency's floor, and steady under outside load.
        run["server_cpu_ms_per_req"] = round((meter.cpu_s() - cpu) * 1000 / max(1, run["n"]), 2)
        return run

    out["serial"] = measured(sets["serial"], 1)
    # Right away, before other queries can push them out of a result cache.
    out["repeat_serial"] = measured(sets["serial"], 1)
    out["concurrent"] = measured(sets["concurrent"], args.clients)
    out.update(server.rss())
    return out


# --------------------------------------------------------------------------- reindex runs

def index_stats(index_dir: Path) -> dict:
    whoosh = index_dir / "whoosh"
    files = list(whoosh.glob("*")) if whoosh.is_dir() else []
    return {"segments": sum(1 for f in files if f.suffix == ".seg"),
            "index_mb": round(sum(f.stat().st_size for f in files if f.is_file()) / MB, 1)}


def reindex(content: Path, index_dir: Path, full: bool, jobs: int, timeout: float) -> dict:
    argv = kb_command() + ["reindex", "--content", str(content), "--index", str(index_dir),
                           "--jobs", str(jobs), "--json"] + (["--full"] if full else [])
    run = run_measured(argv, timeout)
    out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in run.items()
           if k not in ("stdout", "stderr")}
    try:
        report = json.loads(run["stdout"])
        out["report"] = {k: report.get(k) for k in ("decks", "slides", "added", "updated",
                                                      "removed", "unchanged", "seconds")}
        out["warnings"] = len(report.get("warnings", []))
    except ValueError:
        out["report"] = None
        out["stderr"] = run["stderr"]
    out.update(index_stats(index_dir))
    return out


def edit_deck(content: Path, rel: str, n: int) -> None:
    path = content / rel
    text = path.read_text("utf-8")
    marker = "\n===\n"
    at = text.find(marker, len(text) // 2)
    added = f"\n\nAn edited paragraph number {n} about benchedit{n} and hazard ratios.\n"
    path.write_text(text[:at] + added + text[at:] if at > 0 else text + added, encoding="utf-8")


def add_deck(content: Path, made: dict, seed: int, n: int) -> str:
    vocab = made["vocab"]
    course = made["courses"][n % len(made["courses"])]
    rel, text = synth.deck_text(10**6 + n, course, vocab, seed)
    (content / rel).parent.mkdir(parents=True, exist_ok=True)
    (content / rel).write_text(text, encoding="utf-8")
    return rel


def median_run(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda r: r["wall"])
    best = dict(ordered[len(ordered) // 2])
    best["all_wall"] = [round(r["wall"], 3) for r in runs]
    return best


# --------------------------------------------------------------------------- profiling

def profile_text(prof: cProfile.Profile, sort: str, limit: int) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    return buf.getvalue()


def profile_size(content: Path, work: Path, made: dict, queries: list[dict], outdir: Path,
                 label: str, seed: int) -> dict:
    """cProfile of kb's own work, in-process: full reindex (jobs=1, so parsing is inside the
    profile), no-op and one-deck reindex, and the query mix. Writes .prof and .txt files."""
    from kb.index import reindex as kb_reindex
    from kb.search import SlideIndex, search
    from kb.settings import Settings

    outdir.mkdir(parents=True, exist_ok=True)
    index_dir = work / "index-profile"
    shutil.rmtree(index_dir, ignore_errors=True)
    settings = Settings(content=content, index=index_dir)
    written = {}

    def run(name, fn):
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        try:
            fn()
        finally:
            prof.disable()
        seconds = time.perf_counter() - t0
        prof.dump_stats(str(outdir / f"{label}-{name}.prof"))
        text = (f"# {name} at {label}: {seconds:.2f} s under cProfile\n\n"
                + profile_text(prof, "cumulative", 45) + "\n" + profile_text(prof, "tottime", 30))
        (outdir / f"{label}-{name}.txt").write_text(text)
        written[name] = {"seconds_profiled": round(seconds, 2), "file": str(outdir / f"{label}-{name}.txt")}
        log(f"profile {label} {name}: {seconds:.2f} s")

    run("reindex-full", lambda: kb_reindex(settings, full=True, jobs=1))
    run("reindex-noop", lambda: kb_reindex(settings, jobs=1))
    edit_deck(content, made["paths"][len(made["paths"]) // 3], 99)
    run("reindex-edit", lambda: kb_reindex(settings, jobs=1))
    index = SlideIndex(settings)
    search(index, "warm up")

    def searches():
        for q in queries:
            search(index, q["q"], tags=(q["tag"],) if q["tag"] else ())

    run("search", searches)
    written["stages"] = search_stages(settings, queries)
    (outdir / f"{label}-search-stages.json").write_text(json.dumps(written["stages"], indent=2))
    shutil.rmtree(index_dir, ignore_errors=True)
    return written


def search_stages(settings, queries: list[dict]) -> dict:
    """Exclusive wall ms per stage of kb.search.run_search, overall and per query kind.

    Wraps the stage functions kb.search calls by name (and Whoosh's two search passes) for
    the duration of the measurement, on a fresh SlideIndex so no result is cached."""
    import functools
    import kb.matcher as km
    import kb.search as ks
    import whoosh.searching as ws

    acc: dict[str, float] = {}
    stack: list[list] = []

    def timed(name, fn, materialize=False):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            stack.append([name, 0.0])
            try:
                out = fn(*a, **k)
                return list(out) if materialize else out
            finally:
                _, inner = stack.pop()
                spent = time.perf_counter() - t0
                acc[name] = acc.get(name, 0.0) + spent - inner
                if stack:
                    stack[-1][1] += spent
        return wrapper

    patches = [(ks, "parse", "parse query", False), (ks, "matched_fields", "matched fields", False),
               (ks, "to_hit", "hit: stored fields + highlight", False),
               (ks, "suggest", "suggest", False), (ks, "facets_of", "facets", False),
               (ks, "run_search", "other", False),
               (km, "run", "matcher: match set, scores, top k", False),
               (km.Generation, "postings", "matcher: posting reads", False),
               (ws.Searcher, "docs_for_query", "Whoosh unscored pass (fallback)", True),
               (ws.Searcher, "search", "Whoosh scored pass (fallback)", False)]
    patches = [p for p in patches if hasattr(p[0], p[1])]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _, _ in patches]
    try:
        for obj, attr, name, mat in patches:
            setattr(obj, attr, timed(name, getattr(obj, attr), mat))
        index = ks.SlideIndex(settings)
        ks.search(index, "warm up")
        acc.clear()
        kinds: dict[str, dict] = {}
        for q in queries:
            before = dict(acc)
            t0 = time.perf_counter()
            ks.search(index, q["q"], tags=(q["tag"],) if q["tag"] else ())
            kind = kinds.setdefault(q["kind"], {"n": 0, "ms": 0.0, "stages": {}})
            kind["n"] += 1
            kind["ms"] += (time.perf_counter() - t0) * 1000
            for name, v in acc.items():
                kind["stages"][name] = kind["stages"].get(name, 0.0) + (v - before.get(name, 0.0)) * 1000
    finally:
        for obj, attr, fn in saved:
            setattr(obj, attr, fn)
    total = sum(acc.values()) or 1.0
    return {
        "ms_per_query": round(total * 1000 / max(1, len(queries)), 2),
        "stages": {name: {"ms_per_query": round(v * 1000 / max(1, len(queries)), 2),
                          "share": round(v / total, 3)}
                   for name, v in sorted(acc.items(), key=lambda kv: -kv[1])},
        "by_kind": {k: {"n": v["n"], "mean_ms": round(v["ms"] / v["n"], 1),
                        "stages_ms": {s: round(x / v["n"], 1) for s, x in
                                      sorted(v["stages"].items(), key=lambda kv: -kv[1])[:4]}}
                    for k, v in sorted(kinds.items())},
    }


# --------------------------------------------------------------------------- targets

def targets_for(size: int, r: dict) -> list[dict]:
    def t(name, value, limit, op="<="):
        ok = None if value is None else (value <= limit if op == "<=" else value >= limit)
        return {"target": name, "value": value, "limit": f"{op} {limit}",
                "result": "N/A" if ok is None else ("PASS" if ok else "MISS")}

    http = r.get("http_kb") or {}
    serial = http.get("serial", {})
    conc = http.get("concurrent", {})
    fts = (r.get("http_fts5") or {}).get("serial", {})
    ratio = round(serial["p50"] / fts["p50"], 2) if serial.get("p50") and fts.get("p50") else None
    out = []
    fts_p95 = fts.get("p95")
    if size < 100_000:
        out += [
            t("no-op reindex wall s", r["reindex"]["noop"]["wall"], 0.5),
            t("one edited deck reindex wall s", r["reindex"]["edit"]["wall"], 1.0),
            t("full reindex slides/s (wall)", r["reindex"]["full"]["slides_per_s"], 2000, ">="),
            t("HTTP search p50 ms (serial)", serial.get("p50"), 10),
            t("HTTP search p95 ms (serial)", serial.get("p95"), 40),
            t("HTTP search p95 ms (8 clients)", conc.get("p95"), 100),
            t("kb/FTS5 HTTP p50 ratio", ratio, 2.0),
            t("HTTP search p95 ms (serial) vs FTS5's p95", serial.get("p95"), fts_p95)
            if fts_p95 else t("HTTP search p95 vs FTS5's", None, 0),
            t("server RSS MB (all workers)", http.get("rss_mb"), 250),
            t("server PSS MB (all workers, shared pages once)", http.get("pss_mb"), 250),
        ]
    else:
        out += [
            t("HTTP search p95 ms (serial)", serial.get("p95"), 60),
            t("HTTP search p95 ms (8 clients)", conc.get("p95"), 250),
            t("reindex peak RSS MB (largest process)", r["reindex"]["full"]["peak_rss_mb"], 1024),
            t("reindex peak RSS MB (process tree)", r["reindex"]["full"]["tree_peak_rss_mb"], 1024),
        ]
        if not http:
            out.append(t("in-process search p95 ms (no HTTP)", r["search_inprocess"]["p95"], 60))
    return out


# --------------------------------------------------------------------------- one size

def bench_size(size: int, args) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"kb-bench-{size}-", dir=args.tmp))
    content, index_dir = work / "content", work / "index"
    result: dict = {"slides": size, "workdir": str(work),
                    "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        t0 = time.perf_counter()
        made = synth.generate(content, size, args.seed)
        result["decks"] = made["decks"]
        result["generate_s"] = round(time.perf_counter() - t0, 2)
        result["content_mb"] = round(sum(p.stat().st_size for p in content.rglob("*.md")) / MB, 1)
        log(f"{size}: generated {made['decks']} decks in {result['generate_s']} s")
        queries = make_queries(content, made, args.queries + args.concurrent_requests
                               + args.warmup, args.seed)
        sets = split_queries(queries, args)
        result["queries"] = {"count": len(queries),
                             "serial": len(sets["serial"]), "concurrent": len(sets["concurrent"]),
                             "warmup": len(sets["warmup"]),
                             "kinds": {k: sum(1 for q in queries if q["kind"] == k)
                                       for k in sorted({q["kind"] for q in queries})},
                             "examples": [q["q"] + (f"  [tag={q['tag']}]" if q["tag"] else "")
                                          for q in queries[:12]]}

        rx: dict = {}
        full = reindex(content, index_dir, True, args.jobs, args.reindex_timeout)
        full["slides_per_s"] = round(size / full["wall"], 1) if full["rc"] == 0 else None
        rx["full"] = full
        log(f"{size}: full reindex {full['wall']:.1f} s rc={full['rc']} "
            f"peak {full['peak_rss_mb']} MB (tree {full['tree_peak_rss_mb']} MB)")
        if full["rc"] != 0:
            log(full.get("stderr", ""))
            raise RuntimeError(f"kb reindex --full failed at {size} slides")
        rx["noop"] = median_run([reindex(content, index_dir, False, args.jobs, 600)
                                 for _ in range(args.repeat)])
        log(f"{size}: no-op reindex {rx['noop']['all_wall']}")
        edits = []
        for n in range(args.repeat):
            edit_deck(content, made["paths"][(n * 7919 + len(made["paths"]) // 2) % len(made["paths"])], n)
            edits.append(reindex(content, index_dir, False, args.jobs, 600))
        rx["edit"] = median_run(edits)
        log(f"{size}: edit-one-deck reindex {rx['edit']['all_wall']}")
        adds = []
        for n in range(args.repeat):
            add_deck(content, made, args.seed, n)
            adds.append(reindex(content, index_dir, False, args.jobs, 600))
        rx["add"] = median_run(adds)
        log(f"{size}: add-one-deck reindex {rx['add']['all_wall']}")
        result["reindex"] = rx

        result["search_inprocess"] = in_process_search(index_dir, content, sets, args.time_limit)
        log(f"{size}: in-process search p50 {result['search_inprocess']['p50']} ms "
            f"p95 {result['search_inprocess']['p95']} ms")

        if not args.no_http:
            port = free_port()
            server = Server(kb_command() + ["serve", "--content", str(content), "--index",
                                            str(index_dir), "--host", "127.0.0.1", "--port",
                                            str(port)], port, "kb")
            try:
                if server.ok:
                    result["http_kb"] = http_bench(server, sets, args)
                    log(f"{size}: kb HTTP serial p50 {result['http_kb']['serial'].get('p50')} "
                        f"p95 {result['http_kb']['serial'].get('p95')}; 8 clients p95 "
                        f"{result['http_kb']['concurrent'].get('p95')}; RSS {result['http_kb']['rss_mb']} MB")
                else:
                    result["http_kb"] = None
                    result["http_kb_error"] = server.output()
                    log(f"{size}: kb serve did not come up:\n{server.output()[-800:]}")
            finally:
                server.stop()

        db = work / "fts5.sqlite3"
        build = run_measured([sys.executable, str(HERE / "fts5_baseline.py"), "build",
                              "--content", str(content), "--db", str(db)], args.reindex_timeout)
        fts: dict = {"build_wall": round(build["wall"], 3), "build_cpu_s": build["cpu_s"],
                     "build_peak_rss_mb": build["peak_rss_mb"]}
        try:
            fts.update(json.loads(build["stdout"]))
        except ValueError:
            raise RuntimeError("FTS5 build failed: " + build["stderr"])
        fts["slides_per_s"] = round(fts["slides"] / build["wall"], 1)
        result["fts5_build"] = fts
        result["fts5_inprocess"] = fts5_in_process(db, sets, args.time_limit)
        log(f"{size}: FTS5 build {fts['build_wall']:.1f} s; in-process p50 "
            f"{result['fts5_inprocess']['p50']} ms")
        if not args.no_http:
            port = free_port()
            server = Server([sys.executable, str(HERE / "fts5_baseline.py"), "serve", "--db",
                             str(db), "--port", str(port)], port, "fts5")
            try:
                if server.ok:
                    result["http_fts5"] = http_bench(server, sets, args)
                    log(f"{size}: FTS5 HTTP serial p50 {result['http_fts5']['serial'].get('p50')} "
                        f"p95 {result['http_fts5']['serial'].get('p95')}")
                else:
                    result["http_fts5"] = None
                    result["http_fts5_error"] = server.output()
            finally:
                server.stop()

        if args.profile:
            result["profile"] = profile_size(content, work, made, sets["serial"], Path(args.profile),
                                             f"{size}", args.seed)
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        result["targets"] = targets_for(size, result)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- output

def fmt(v, unit="") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        v = f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
    return f"{v}{unit}"


def table(report: dict) -> str:
    rows: list[tuple[str, list[str]]] = []
    sizes = report["sizes"]

    def row(name, fn):
        vals = []
        for r in sizes:
            try:
                vals.append(fn(r))
            except (KeyError, TypeError):
                vals.append("—")
        rows.append((name, vals))

    row("decks", lambda r: fmt(r["decks"]))
    row("content MB", lambda r: fmt(r["content_mb"]))
    row("full reindex wall s (--jobs 2)", lambda r: fmt(r["reindex"]["full"]["wall"]))
    row("  kb's own seconds", lambda r: fmt(r["reindex"]["full"]["report"]["seconds"]))
    row("  CPU s (all processes)", lambda r: fmt(r["reindex"]["full"]["cpu_s"]))
    row("  slides/s", lambda r: fmt(r["reindex"]["full"]["slides_per_s"]))
    row("  peak RSS MB (largest proc)", lambda r: fmt(r["reindex"]["full"]["peak_rss_mb"]))
    row("  peak RSS MB (process tree)", lambda r: fmt(r["reindex"]["full"]["tree_peak_rss_mb"]))
    row("  index MB / segments", lambda r: f"{fmt(r['reindex']['full']['index_mb'])} / {r['reindex']['full']['segments']}")
    for key, name in (("noop", "no-op"), ("edit", "edit one deck"), ("add", "add one deck")):
        row(f"{name} reindex wall s (runs)", lambda r, k=key: fmt(r["reindex"][k]["wall"]) + "  ("
            + ", ".join(f"{w:.2f}" for w in r["reindex"][k]["all_wall"]) + ")")
        row("  kb's own seconds", lambda r, k=key: fmt(r["reindex"][k]["report"]["seconds"]))
    row("no-op: outside reindex() s (start-up)", lambda r: fmt(round(r["reindex"]["noop"]["wall"] - r["reindex"]["noop"]["report"]["seconds"], 2)))
    row("segments after edits", lambda r: fmt(r["reindex"]["add"]["segments"]))
    row("kb in-process search p50/p95 ms", lambda r: f"{fmt(r['search_inprocess']['p50'])} / {fmt(r['search_inprocess']['p95'])}")
    row("  first query ms (cold)", lambda r: fmt(r["search_inprocess"]["first_query_ms"]))
    row("  same queries again p50/p95 ms", lambda r: f"{fmt(r['search_inprocess']['repeat']['p50'])} / {fmt(r['search_inprocess']['repeat']['p95'])}")
    row("FTS5 in-process p50/p95 ms", lambda r: f"{fmt(r['fts5_inprocess']['p50'])} / {fmt(r['fts5_inprocess']['p95'])}")
    for eng, name in (("http_kb", "kb"), ("http_fts5", "FTS5")):
        row(f"{name} HTTP serial p50/p95 ms", lambda r, e=eng: f"{fmt(r[e]['serial']['p50'])} / {fmt(r[e]['serial']['p95'])}")
        row(f"{name} HTTP 8 clients p50/p95 ms", lambda r, e=eng: f"{fmt(r[e]['concurrent']['p50'])} / {fmt(r[e]['concurrent']['p95'])}")
        row(f"  {name} server CPU ms/request (serial)", lambda r, e=eng: fmt(r[e]["serial"]["server_cpu_ms_per_req"]))
        row(f"  {name} repeated queries p50/p95 ms", lambda r, e=eng: f"{fmt(r[e]['repeat_serial']['p50'])} / {fmt(r[e]['repeat_serial']['p95'])}")
        row(f"  {name} 8 clients req/s", lambda r, e=eng: fmt(r[e]["concurrent"]["req_per_s"]))
        row(f"  {name} HTTP errors", lambda r, e=eng: fmt(r[e]["serial"]["errors"] + r[e]["concurrent"]["errors"]))
        row(f"  {name} server RSS MB (processes)", lambda r, e=eng: f"{fmt(r[e]['rss_mb'])} ({fmt(r[e]['processes'])})")
        row(f"  {name} RSS heap / mapped files MB", lambda r, e=eng: f"{fmt(r[e].get('anon_mb'))} / {fmt(r[e].get('file_mb'))}")
    row("FTS5 build wall s / slides/s", lambda r: f"{fmt(r['fts5_build']['build_wall'])} / {fmt(r['fts5_build']['slides_per_s'])}")
    row("load avg start → end", lambda r: f"{r['loadavg_start'][0]} → {r['loadavg_end'][0]}")

    head = ["", *[f"{r['slides']:,} slides" for r in sizes]]
    widths = [max(len(head[0]), *(len(n) for n, _ in rows))]
    for i in range(len(sizes)):
        widths.append(max(len(head[i + 1]), *(len(v[i]) for _, v in rows)))
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for name, vals in rows:
        lines.append("  ".join([name.ljust(widths[0])] + [v.rjust(w) for v, w in zip(vals, widths[1:])]))
    lines.append("")
    for r in sizes:
        lines.append(f"Targets at {r['slides']:,} slides:")
        for t in r["targets"]:
            lines.append(f"  {t['result']:4}  {t['target']}: {fmt(t['value'])} (target {t['limit']})")
        stages = (r.get("profile") or {}).get("stages")
        if stages:
            lines.append(f"  kb search time by stage (in-process, {stages['ms_per_query']} ms/query):")
            for name, st in stages["stages"].items():
                lines.append(f"    {st['share'] * 100:5.1f}%  {st['ms_per_query']:7.2f} ms  {name}")
        if r.get("http_kb_error"):
            lines.append("  kb serve did not start: " + r["http_kb_error"].strip().splitlines()[-1])
    return "\n".join(lines)


def git_state() -> dict:
    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return None
    dirty = git("status", "--porcelain", "--", "kb")
    return {"commit": (git("rev-parse", "--short", "HEAD") or "").strip() or None,
            "kb_dirty_files": [line[3:] for line in (dirty or "").splitlines()]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slides", type=int, action="append",
                    help="archive size (repeatable; 3,000 to 100,000; default 3000 and 21000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2, help="kb reindex --jobs (default 2)")
    ap.add_argument("--queries", type=int, default=300, help="distinct queries timed serially (default 300)")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up queries (default 20)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (default 8)")
    ap.add_argument("--concurrent-requests", type=int, default=800,
                    help="distinct queries over all concurrent clients (default 800)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each incremental reindex; the median is reported (default 3)")
    ap.add_argument("--time-limit", type=float, default=180,
                    help="seconds any one request loop may take (default 180)")
    ap.add_argument("--reindex-timeout", type=float, default=3600)
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP measurements")
    ap.add_argument("--profile", metavar="DIR", help="also cProfile kb in-process; write to DIR")
    ap.add_argument("--tmp", help="parent of the temp work dir (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated archive and index")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    sizes = args.slides or [3000, 21000]
    for s in sizes:
        if not 1000 <= s <= 200_000:
            ap.error("--slides must be between 1,000 and 200,000")

    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(),
                          "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
              "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
              "kb": kb_command(), "git": git_state(), "sizes": []}
    started = time.perf_counter()
    for size in sizes:
        report["sizes"].append(bench_size(size, args))
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(table(report))


if __name__ == "__main__":
    main()
