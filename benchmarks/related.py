"""Cost of a deck page's related slides (uncached, then cached) and of relocating a link.

    .venv/bin/python benchmarks/related.py --content DIR --index DIR

Reindexes CONTENT into INDEX if INDEX has no index yet, then prints, per deck, the time to
compute its related slides, and the time to relocate one key of each deck.
"""

import argparse
import statistics
import time
from pathlib import Path

from kb.index import reindex
from kb.related import RelatedSlides
from kb.schema import load_manifest
from kb.search import SlideIndex
from kb.settings import Settings
from kb.slidekeys import relocate, stored_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--content", required=True, type=Path)
    parser.add_argument("--index", required=True, type=Path)
    args = parser.parse_args()
    settings = Settings(content=args.content, index=args.index)
    if not load_manifest(settings):
        reindex(settings)
    index = SlideIndex(settings)
    related = RelatedSlides(index)
    searcher = index.searcher()
    decks = sorted({doc["deck"] for doc in searcher.all_stored_fields()})
    uncached, cached, found, slides, moves = [], [], 0, 0, []
    for deck in decks:
        started = time.perf_counter()
        answer = related.for_deck(deck)
        uncached.append(time.perf_counter() - started)
        started = time.perf_counter()
        related.for_deck(deck)
        cached.append(time.perf_counter() - started)
        found += sum(len(v) for v in answer.values())
        docs = list(searcher.documents(deck=deck))
        slides += len(docs)
        # An unknown key: a store lookup and no scan; the worst case (edited slide) scans.
        started = time.perf_counter()
        relocate(settings, deck, [], stored_key(docs[0]))
        moves.append(time.perf_counter() - started)
    print(f"{len(decks)} decks, {slides} slides, {found} related links")
    print(f"related per deck page, uncached: median {statistics.median(uncached) * 1000:.0f} ms, "
          f"max {max(uncached) * 1000:.0f} ms; cached: max {max(cached) * 1e6:.0f} µs")
    print(f"relocation lookup: median {statistics.median(moves) * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
