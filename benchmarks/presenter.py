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
    start = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - start:.3f} s")
    return out


def main() -> None:
    deep = "\n".join("  " * i + f"- item {i}" for i in range(2000))
    timed("render a 2,000-deep nested list", lambda: render_slide(deep))
    quotes = "\n".join(">" * i + f" q{i}" for i in range(1, 2000))
    timed("render a 2,000-deep blockquote", lambda: render_slide(quotes))
    math = "\n\n".join(f"$$x_{i}^2 + \\frac{{a}}{{b_{i}}}$$" for i in range(200))
    timed("render a slide of 200 formulas", lambda: render_slide(math))
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / "big.md").write_text("\n\n===\n\n".join(
            f"# Slide {i}\n\nSome **text** on slide {i}, `code` and a list:\n- one\n- two"
            for i in range(20_000)))
        timed("read (split + render) a 20,000-slide deck", lambda: read_deck(content / "big.md", content))
        settings = Settings(content=content, index=Path(tmp) / "index")
        timed("reindex it", lambda: reindex(settings))
        client = create_app(settings).test_client()
        page = timed("first GET /decks/big (cold: deck read and rendered)", lambda: client.get("/decks/big"))
        page = timed("second GET /decks/big (cached)", lambda: client.get("/decks/big"))
        body = page.data.decode()
        print(f"first response: {len(page.data):,} bytes, {body.count('<section data-kb='):,} sections, "
              f"{body.count('kb-anchor'):,} of them sent whole")
        piece = timed("a piece (/api/decks/big?from=15000)", lambda: client.get("/api/decks/big?from=15000"))
        print(f"piece: {len(piece.data):,} bytes")


if __name__ == "__main__":
    main()
