"""The baseline kb is measured against: the same slides in SQLite FTS5, over HTTP.

Stdlib only (sqlite3, http.server). One FTS5 row per slide, read by kb's own deck reader
so both engines index the same text; `tokenize='porter'`, `bm25()` ranking with kb's field
weights, `snippet()` with <mark>. The endpoint does the same job as kb's `/api/search`
for the benchmark's queries: top 10 with snippets, the total, tag and year facets, and
"most of the words" when no slide has all of them (all but one, then fewer, as kb does;
stop words dropped, as kb drops them). It does not suggest spellings.

    python benchmarks/fts5_baseline.py build --content DIR --db slides.sqlite3
    python benchmarks/fts5_baseline.py serve --db slides.sqlite3 --port 8765
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import combinations
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

COLUMNS = ["deck_title", "title", "body", "notes", "tags"]
# Same order as COLUMNS: kb's BM25F boosts (title 3, deck title 2, body 1, notes 0.6, tags 1).
WEIGHTS = "2.0, 3.0, 1.0, 0.6, 1.0"
PER_PAGE = 10


def build(content: Path, db: Path) -> dict:
    """Index every slide of the content dir; returns counts and seconds (parse vs insert)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from kb.deck import find_deck_files, read_deck

    started = time.monotonic()
    if db.exists():
        db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"CREATE VIRTUAL TABLE slides USING fts5({', '.join(COLUMNS)}, "
                 "deck UNINDEXED, anchor UNINDEXED, year UNINDEXED, tagcase UNINDEXED, "
                 "tokenize='porter')")
    parse_s = insert_s = 0.0
    decks = slides = 0
    rows = []
    for path in find_deck_files(content):
        t0 = time.monotonic()
        deck, _ = read_deck(path, content)
        parse_s += time.monotonic() - t0
        if not deck:
            continue
        decks += 1
        year = str(deck.date.year) if deck.date else ""
        for s in deck.slides:
            rows.append((deck.title, s.title, s.body, s.notes, " ".join(deck.tags), deck.id,
                         s.anchor, year, ",".join(deck.tags)))
            slides += 1
        if len(rows) >= 5000:
            t0 = time.monotonic()
            conn.executemany("INSERT INTO slides VALUES (?,?,?,?,?,?,?,?,?)", rows)
            insert_s += time.monotonic() - t0
            rows = []
    t0 = time.monotonic()
    conn.executemany("INSERT INTO slides VALUES (?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.execute("INSERT INTO slides(slides) VALUES ('optimize')")
    conn.commit()
    insert_s += time.monotonic() - t0
    conn.close()
    return {"decks": decks, "slides": slides, "seconds": round(time.monotonic() - started, 3),
            "parse_seconds": round(parse_s, 3), "insert_seconds": round(insert_s, 3),
            "db_mb": round(db.stat().st_size / 2**20, 1)}


TOKEN = re.compile(r'"([^"]*)"|(\S+)')
WORD = re.compile(r"[^\W_]+")
# kb's stop words (Whoosh's list plus the question words students type), dropped from
# queries as kb drops them, so both engines look for the same words.
STOP_WORDS = set("""a an and are as at be by can for from have if in is it may not of on or tbd
that the this to us we when will with yet you your what how why which who does do i my
me""".split())
MAX_RELAXED = 6  # words; beyond that "most of the words" is simply any of them, as in kb


def query_parts(text: str) -> list[str]:
    """kb-style query text → FTS5 terms: "phrases", "word" and "prefix"*, stop words dropped."""
    parts = []
    for phrase, word in TOKEN.findall(text):
        if phrase:
            words = WORD.findall(phrase)
            if words:
                parts.append('"' + " ".join(words) + '"')
        elif word.endswith("*") and WORD.fullmatch(word[:-1] or "-"):
            parts.append(f'"{word[:-1]}"*')
        else:
            parts += [f'"{w}"' for w in WORD.findall(word) if w.lower() not in STOP_WORDS]
    return parts


def relaxations(parts: list[str]):
    """As kb does: all but one of the words (any such subset), then fewer, then any."""
    if len(parts) > MAX_RELAXED:
        yield " OR ".join(parts)
        return
    for k in range(len(parts) - 1, 0, -1):
        yield " OR ".join("(" + " AND ".join(c) + ")" for c in combinations(parts, k))


def search(conn: sqlite3.Connection, text: str, tag: str | None = None) -> dict:
    parts = query_parts(text)
    expr = " AND ".join(parts) or None
    tag_words = " ".join(WORD.findall(tag or ""))
    tag_expr = f'tags : "{tag_words}"' if tag_words else None
    if expr is None and tag_expr is None:
        return {"query": text, "total": 0, "hits": [], "facets": {"tags": {}, "years": {}}}

    def run(match: str):
        facet_rows = conn.execute(
            "SELECT tagcase, year, count(*) FROM slides WHERE slides MATCH ? GROUP BY tagcase, year",
            (match,)).fetchall()
        total = sum(n for _, _, n in facet_rows)
        hits = []
        if total:
            hits = [{"deck": d, "anchor": a, "title": t, "deck_title": dt_, "snippet": snip,
                     "score": round(-score, 4)}
                    for d, a, t, dt_, snip, score in conn.execute(
                        f"SELECT deck, anchor, title, deck_title, "
                        f"snippet(slides, -1, '<mark>', '</mark>', ' … ', 24), bm25(slides, {WEIGHTS}) "
                        f"FROM slides WHERE slides MATCH ? ORDER BY bm25(slides, {WEIGHTS}) LIMIT ?",
                        (match, PER_PAGE))]
        return total, hits, facet_rows

    def combine(e):
        return f"({e}) AND {tag_expr}" if e and tag_expr else (e or tag_expr)

    total, hits, facet_rows = run(combine(expr))
    relaxed = False
    if total == 0 and len(parts) > 1:
        for looser in relaxations(parts):
            total, hits, facet_rows = run(combine(looser))
            if total:
                relaxed = True
                break
    tags: dict[str, int] = {}
    years: dict[str, int] = {}
    for tagcase, year, n in facet_rows:
        for t in filter(None, tagcase.split(",")):
            tags[t] = tags.get(t, 0) + n
        if year:
            years[year] = years.get(year, 0) + n
    return {"query": text, "total": total, "relaxed": relaxed, "page": 1, "per_page": PER_PAGE,
            "facets": {"tags": dict(sorted(tags.items(), key=lambda kv: -kv[1])),
                       "years": dict(sorted(years.items(), reverse=True))},
            "hits": hits}


def serve(db: Path, host: str, port: int) -> None:
    local = threading.local()

    def conn() -> sqlite3.Connection:
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
        return c

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as waitress does
        disable_nagle_algorithm = True  # else headers and body wait on a delayed ACK (~40 ms)

        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlsplit(self.path)
            args = parse_qs(url.query)
            if url.path == "/api/search":
                try:
                    body = search(conn(), args.get("q", [""])[0], args.get("tag", [None])[0])
                    status = 200
                except sqlite3.Error as err:
                    body, status = {"error": str(err)}, 400
            elif url.path == "/healthz":
                n = conn().execute("SELECT count(*) FROM slides").fetchone()[0]
                body, status = {"slides": n}, 200
            else:
                body, status = {"error": "not found"}, 404
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    print(f"fts5 baseline on http://{host}:{port}/", file=sys.stderr, flush=True)
    server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--content", type=Path, required=True)
    b.add_argument("--db", type=Path, required=True)
    s = sub.add_parser("serve")
    s.add_argument("--db", type=Path, required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    if args.cmd == "build":
        print(json.dumps(build(args.content, args.db)))
    else:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("loopback only")
        serve(args.db, args.host, args.port)


if __name__ == "__main__":
    main()
