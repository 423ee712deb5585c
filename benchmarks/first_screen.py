"""First screen of big decks in a real browser: from the click on a link to the slide shown.

A 20,000-slide deck and a slide with a 2,000-deep nested list (issue 13), served by `kb serve`
(the production server) and opened in headless Chromium. Each link is opened twice on a
server that has not shown the deck yet (it answered /healthz: its index is open): first
(the deck is split and its slides read from the index), then again (the deck is cached).

Usage: .venv/bin/python benchmarks/first_screen.py [--slides 20000]   (prints figures)
"""

import argparse
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import chromium, serve_kb  # noqa: E402
from kb.index import reindex  # noqa: E402
from kb.settings import Settings  # noqa: E402

LINKS = [  # (link, words on the slide it must show)
    ("/decks/big#/15000", "slide 15000,"),
    ("/decks/big#/0", "slide 0,"),
    ("/decks/big?q=text#/12345", "slide 12345,"),
    ("/decks/deep#/0", "item 1999"),
]


def shown(page, base: str, link: str, words: str) -> tuple[float, float]:
    """(seconds to the first byte of the page, seconds until reveal.js shows `words`)."""
    start = time.perf_counter()
    page.goto(base + link, wait_until="commit")
    first = time.perf_counter() - start
    page.wait_for_function("words => window.Reveal && Reveal.isReady() && "
                           "Reveal.getCurrentSlide().textContent.includes(words)", arg=words,
                           timeout=120_000)
    return first, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slides", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / "big.md").write_text("\n\n===\n\n".join(
            f"# Slide {i}\n\nSome **text** on slide {i}, `code` and a list:\n- one\n- two"
            for i in range(args.slides)))
        deep = "\n".join("  " * i + f"- item {i}" for i in range(2000))
        (content / "deep.md").write_text(f"# Deep\n\n{deep}\n\n===\n\n# After")
        settings = Settings(content=content, index=Path(tmp) / "index")
        start = time.perf_counter()
        reindex(settings)
        print(f"{args.slides:,}-slide deck indexed in {time.perf_counter() - start:.1f} s")
        print("| link | server | page's first byte | slide shown |\n|---|---|---:|---:|")
        with chromium() as browser:
            for link, words in LINKS:
                with serve_kb(settings) as base:  # a new server: no deck cached
                    urllib.request.urlopen(base + "/healthz").read()
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    for state in ("first view", "again"):
                        first, total = shown(page, base, link, words)
                        print(f"| `{link}` | {state} | {first:.2f} s | {total:.2f} s |")
                    page.close()


if __name__ == "__main__":
    main()
