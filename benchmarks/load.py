#!/usr/bin/env python3
"""Load test for `kb serve`: N concurrent keep-alive clients, a bounded number of mixed
requests (searches as HTML and JSON, deck pages, media, listings, health), errors and
latency percentiles. Loopback only; bounded in requests and in time.

    # start kb serve on a free loopback port over the bundled sample corpus and drive it
    python benchmarks/load.py --content sample/content

    # a synthetic text corpus of 120 decks x 30 slides, reindexed while the load runs
    python benchmarks/load.py --synthetic 120 --churn

    # an already running server (loopback only)
    python benchmarks/load.py --url http://127.0.0.1:5000

Exit status 0 when every request got the answer it should (zero errors), 1 otherwise.
"""

import argparse
import contextlib
import http.client
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from driver import Clients, free_port, summary as latency_summary  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_REQUESTS = 50_000
MAX_SECONDS = 900


# ---------------------------------------------------------------------------- the server


def kb(*args) -> list[str]:
    return [sys.executable, "-m", "kb.cli", *args]


def synthetic_corpus(root: Path, decks: int, slides: int = 30, rng=None) -> None:
    """Text decks in the platform's format: 5 courses, dated, tagged, one term per slide."""
    rng = rng or random.Random(0)
    vocab = ["cohort", "hazard", "ratio", "survival", "censoring", "regression", "variance",
             "bias", "confounding", "matrix", "vector", "gradient", "sampling", "bootstrap",
             "likelihood", "posterior", "prior", "estimate", "interval", "baseline", "odds",
             "incidence", "prevalence", "screening", "exposure", "outcome", "randomized"]
    for d in range(decks):
        course = f"C{d % 5}0{d % 3}"
        parts = []
        for s in range(slides):
            words = " ".join(rng.choice(vocab) for _ in range(40))
            parts.append(f"# Slide {s}: {rng.choice(vocab)} and {rng.choice(vocab)}\n\n"
                         f"{words}\n\n- point w{d}x{s}\n- {rng.choice(vocab)}\n\n"
                         f"note: speaker notes {rng.choice(vocab)}")
        body = "\n\n===\n\n".join(parts)
        path = root / course / f"week{d:03}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: Week {d} {rng.choice(vocab)}\n"
                        f"date: '20{19 + d % 5}-0{1 + d % 9}-1{d % 10}T00:00:00.000Z'\n"
                        f"tags: [{course}, {rng.choice(vocab)}]\n---\n{body}\n", "utf-8")
    (root / "media").mkdir(exist_ok=True)


@contextlib.contextmanager
def kb_server(content: Path, index: Path, threads: int, log: Path):
    port = free_port()
    out = open(log, "wb")
    proc = subprocess.Popen(kb("serve", "--content", str(content), "--index", str(index),
                               "--port", str(port), "--threads", str(threads)),
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"kb serve exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                if get(url, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("kb serve did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def get(url: str, path: str, conn=None):
    parts = urlsplit(url)
    own = conn is None
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


# ---------------------------------------------------------------------------- the mix


def discover(url: str, rng: random.Random) -> dict:
    """Deck ids, media URLs and words to search for, from the server's own JSON."""
    status, body = get(url, "/api/decks")
    if status != 200:
        raise SystemExit(f"/api/decks answered {status}: is there an index?")
    decks = [d["id"] for d in json.loads(body)["decks"]]
    if not decks:
        raise SystemExit("the server has no decks")
    tags = list(json.loads(body)["tags"])
    words, media, anchors = set(), set(), {}
    for ident in rng.sample(decks, min(len(decks), 40)):
        status, body = get(url, "/api/decks/" + quote(ident, safe="/"))
        if status != 200:
            continue
        data = json.loads(body)
        anchors[ident] = [s["anchor"] for s in data["slides"]]
        for slide in data["slides"]:
            words.update(w.lower() for w in slide["title"].split() if w.isalpha() and len(w) > 3)
            for src in re.findall(r'src="(/api/(?:media|asset)/[^"]+)"', slide["html"]):
                media.add(src)
    words = sorted(words) or ["slide"]
    # Decks may point at media that is missing (kb check reports it): load only real files.
    served = sorted(m for m in media if get(url, m)[0] == 200)
    return {"decks": decks, "tags": tags, "words": words, "media": served,
            "missing_media": sorted(media - set(served)), "anchors": anchors}


def misspell(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + rng.choice("aeioust") + word[i + 1:]


def plan(site: dict, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """n (kind, path) requests: searches, deck pages, media, listings, health."""
    words, decks = site["words"], site["decks"]
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.25:
            q = " ".join(rng.sample(words, min(len(words), rng.choice([1, 1, 2, 3]))))
            out.append(("search-json", "/api/search?" + urlencode({"q": q})))
        elif roll < 0.45:
            choice = rng.random()
            if choice < 0.5:
                q = rng.choice(words)
            elif choice < 0.65:
                q = f'"{" ".join(rng.sample(words, min(2, len(words))))}"'
            elif choice < 0.8:
                q = rng.choice(words)[:3] + "*"
            elif choice < 0.9:
                q = misspell(rng.choice(words), rng)  # "did you mean"
            else:
                q = f"{rng.choice(words)} -{rng.choice(words)}"
            params = [("q", q)]
            if site["tags"] and rng.random() < 0.3:
                params.append(("tag", rng.choice(site["tags"])))
            if rng.random() < 0.2:
                params.append(("page", "2"))
            out.append(("search-html", "/search?" + urlencode(params)))
        elif roll < 0.65:
            ident = rng.choice(decks)
            path = "/decks/" + quote(ident, safe="/")
            if rng.random() < 0.3:
                path += "?" + urlencode({"q": rng.choice(words)})
            out.append(("deck", path))
        elif roll < 0.72:
            out.append(("deck-json", "/api/decks/" + quote(rng.choice(decks), safe="/")))
        elif roll < 0.85:
            if site["media"]:
                out.append(("media", rng.choice(site["media"])))
            else:
                out.append(("home", "/"))
        elif roll < 0.93:
            out.append(("listing", rng.choice(["/decks/", "/api/decks"])))
        elif roll < 0.97:
            out.append(("home", "/"))
        else:
            out.append(("health", "/healthz"))
    return out


# ---------------------------------------------------------------------------- the load


def churn(content: Path, index: Path, stop: threading.Event, log: list, rng: random.Random):
    """Rewrite a few decks and reindex, again and again, while the load runs."""
    files = sorted(content.rglob("*.md"))
    round_no = 0
    while not stop.is_set() and files:
        round_no += 1
        for path in rng.sample(files, min(3, len(files))):
            text = path.read_text("utf-8")
            path.write_text(text + f"\n\n===\n\n# Churn {round_no}\n\nchurned{round_no}\n", "utf-8")
        started = time.monotonic()
        done = subprocess.run(kb("reindex", "--content", str(content), "--index", str(index),
                                 "--jobs", "1"), capture_output=True)
        log.append((round(time.monotonic() - started, 2), done.returncode))
        stop.wait(0.5)


def stale_answers(url: str, content: Path, index: Path, words: list, errors: list, rng) -> None:
    """A second after the last reindex, the server answers as a fresh `kb search` does."""
    time.sleep(1.5)
    for word in rng.sample(words, min(8, len(words))):
        status, body = get(url, "/api/search?" + urlencode({"q": word, "per_page": "1"}))
        fresh = subprocess.run(kb("search", word, "--json", "--limit", "1", "--content",
                                  str(content), "--index", str(index)), capture_output=True)
        want = json.loads(fresh.stdout)["total"] if fresh.returncode == 0 else None
        got = json.loads(body)["total"] if status == 200 else None
        if got != want:
            errors.append(("after-reindex", f"/api/search?q={word}",
                           f"server says {got} slides, the index has {want}"))


def summarize(results, seconds: float) -> dict:
    by_kind = defaultdict(list)
    for kind, took, status, size in results:
        by_kind[kind].append(took)
        by_kind["all"].append(took)
    out = {}
    for kind, values in sorted(by_kind.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        figures = latency_summary([v * 1000 for v in values])
        out[kind] = {"n": figures.pop("n"), **{f"{k}_ms": round(v, 1) for k, v in figures.items()}}
    out["all"]["per_second"] = round(len(results) / seconds, 1) if seconds else 0.0
    return out


def table(summary: dict) -> str:
    rows = ["| requests | n | mean ms | p50 ms | p90 ms | p95 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, s in summary.items():
        rows.append(f"| {kind} | {s['n']} | {s['mean_ms']} | {s['p50_ms']} | {s['p90_ms']} | "
                    f"{s['p95_ms']} | {s['p99_ms']} | {s['max_ms']} |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="a running kb serve (loopback only)")
    where.add_argument("--content", help="content folder to serve (default: sample/content)")
    where.add_argument("--synthetic", type=int, metavar="DECKS",
                       help="generate a text corpus of DECKS decks x 30 slides and serve it")
    parser.add_argument("--index", help="index folder (default: a temporary one, reindexed)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--threads", type=int, default=8, help="threads per worker of kb serve (gunicorn)")
    parser.add_argument("--churn", action="store_true",
                        help="with --synthetic: edit decks and reindex while the load runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS or not 0 < args.max_seconds <= MAX_SECONDS:
        parser.error(f"--requests must be 1..{MAX_REQUESTS}, --max-seconds 0..{MAX_SECONDS}")
    if not 1 <= args.clients <= 256:
        parser.error("--clients must be 1..256")
    if args.churn and not args.synthetic:
        parser.error("--churn edits the corpus: only with --synthetic")
    rng = random.Random(args.seed)

    server_log = None
    with contextlib.ExitStack() as stack:
        if args.url:
            host = urlsplit(args.url).hostname
            if host not in LOOPBACK:
                parser.error(f"{host} is not a loopback address: this tool only loads 127.0.0.1")
            url = args.url.rstrip("/")
            content = index = None
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kb-load-")))
            if args.synthetic:
                content = tmp / "content"
                synthetic_corpus(content, args.synthetic, rng=random.Random(args.seed))
            else:
                content = Path(args.content or Path(__file__).parent.parent / "sample" / "content")
            index = Path(args.index) if args.index else tmp / "index"
            if not (index / "manifest.json").exists():
                started = time.monotonic()
                subprocess.run(kb("reindex", "--content", str(content), "--index", str(index)),
                               check=True, capture_output=True)
                print(f"reindexed {content} in {time.monotonic() - started:.1f} s", file=sys.stderr)
            server_log = tmp / "serve.log"
            url = stack.enter_context(kb_server(content, index, args.threads, server_log))
        site = discover(url, rng)
        requests = plan(site, args.requests, rng)
        print(f"{args.clients} clients, {len(requests)} requests against {url} "
              f"({len(site['decks'])} decks, {len(site['media'])} media, "
              f"{len(site['words'])} words)", file=sys.stderr)
        if site["missing_media"]:
            print(f"not loaded (decks link them, the server has no such file): "
                  f"{site['missing_media']}", file=sys.stderr)
        stop, churn_log = threading.Event(), []
        if args.churn:
            worker = threading.Thread(target=churn, args=(content, index, stop, churn_log, rng),
                                      daemon=True)
            worker.start()
        load = Clients(urlsplit(url).port, requests, args.clients, args.max_seconds,
                       host=urlsplit(url).hostname).run()
        seconds = load.wall
        stop.set()
        if args.churn:
            worker.join(120)
            stale_answers(url, content, index, site["words"], load.errors, rng)
        if load.errors and not args.url:  # what the server logged about them
            logged = server_log.read_text(errors="replace")
            last = logged.rfind("Traceback")
            if last >= 0:
                print("the server's last logged traceback:\n" + logged[last:last + 4000],
                      file=sys.stderr)

    summary = summarize(load.results, seconds)
    report = {"url": url, "clients": args.clients, "planned": len(requests),
              "done": len(load.results), "seconds": round(seconds, 2),
              "errors": len(load.errors), "error_samples": load.errors[:10],
              "reindexes_during_load": churn_log, "latency": summary}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(summary))
        print(f"\n{len(load.results)} requests in {seconds:.1f} s "
              f"({summary['all']['per_second']}/s), {len(load.errors)} errors"
              + (f"; {len(churn_log)} reindexes during the load: {churn_log}" if churn_log else ""))
        for kind, path, message in load.errors[:10]:
            print(f"error: {kind} {path[:100]}: {message}")
    unfinished = len(load.results) < len(requests)
    if unfinished:
        print(f"stopped by --max-seconds after {len(load.results)} of {len(requests)} requests",
              file=sys.stderr)
    return 1 if load.errors or unfinished or any(rc for _, rc in churn_log) else 0


if __name__ == "__main__":
    sys.exit(main())
