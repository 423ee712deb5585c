"""Deck page figures: render time of hostile slides, and a 20,000-slide deck's first response.

Usage: .venv/bin/python benchmarks/presenter.py   (prints figures; writes only to a temp dir)
"""

import tempfile
import time
from pathlib import Path

from kb.deck import read_deck
from kb.index import reindex
from kb.render import render_slide
from kb.settings import Settings
from kb.web import create_app


def timed(label: str, fn):
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    print(f"{label}: {time.perf_counter() - start:.3f} s (CPU {time.process_time() - cpu:.3f} s)")
    return out


def main() -> None:
    deep = "\n".join("  " * i + f"- item {i}" for i in range(2000))
    timed("render a 2,000-deep nested list", lambda: render_slide(deep))
    quotes = "\n".join(">" * i + f" q{i}" for i in range(1, 2000))
    timed(f"render a 2,000-deep blockquote ({len(quotes) / 1e6:.1f} MB: plain text past 100 kB)",
          lambda: render_slide(quotes))
    math = "\n\n".join(f"$$x_{i}^2 + \\frac{{a}}{{b_{i}}}$$" for i in range(200))
    timed("render a slide of 200 formulas", lambda: render_slide(math))
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / "big.md").write_text("\n\n===\n\n".join(
            f"# Slide {i}\n\nSome **text** on slide {i}, `code` and a list:\n- one\n- two"
            for i in range(20_000)))
        timed("read (split + render) a 20,000-slide deck", lambda: read_deck(content / "big.md", content))
        (content / "deep.md").write_text(f"# Deep\n\n{deep}\n\n===\n\n# After")
        settings = Settings(content=content, index=Path(tmp) / "index")
        timed("reindex them", lambda: reindex(settings))
        app = create_app(settings)
        client, catalog = app.test_client(), app.extensions["kb"]["catalog"]
        client.get("/healthz")  # the app's index is open (a server opens it before its first page)
        page = timed("first GET /decks/big (cold: deck split, slides from the index)", lambda: client.get("/decks/big"))
        print(f"  slides rendered: {catalog.renders}")
        timed("second GET /decks/big (cached)", lambda: client.get("/decks/big"))
        body = page.data.decode()
        print(f"first response: {len(page.data):,} bytes, {body.count('<section'):,} sections, "
              f"{body.count('kb-anchor'):,} of them sent whole")
        timed("GET /decks/big?from=15000 (a page without script, cached deck)",
              lambda: client.get("/decks/big?from=15000"))
        piece = timed("a piece (/api/decks/big?from=15040)", lambda: client.get("/api/decks/big?from=15040"))
        print(f"piece: {len(piece.data):,} bytes; slides rendered in all: {catalog.renders}")
        timed("first GET /decks/deep (the 2,000-deep list, cold)", lambda: client.get("/decks/deep"))


if __name__ == "__main__":
    main()
