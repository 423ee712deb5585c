"""Search on two indexes of the same archive (e.g. the 1-segment index of a `--jobs 1` or
older reindex and the 2-segment index of a `--jobs 2` one, as benchmarks/reindex.py leaves
them): whether every query gives the same total and top 10 (deck, anchor, score), and
in-process latency side by side (distinct queries, so none is answered from the cache).

    python benchmarks/reindex_search.py CONTENT INDEX_A INDEX_B [--queries 110]
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402
from kb.search import SlideIndex, search  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("content", type=Path)
    ap.add_argument("indexes", type=Path, nargs=2)
    ap.add_argument("--queries", type=int, default=110)
    ap.add_argument("--seed", type=int, default=1, help="the archive's synth.py seed")
    args = ap.parse_args()
    rng = random.Random(5)
    words = [w for w in synth.Vocabulary.build(args.seed).words if w.isalpha() and len(w) > 3]
    n = args.queries
    queries = ["hazard ratio", '"hazard ratio"', "stat*", "cohort", "regression model"]
    queries += [rng.choice(words) for _ in range(n * 6 // 11)]
    queries += [f"{rng.choice(words)} {rng.choice(words)}" for _ in range(n * 4 // 11)]
    queries += [rng.choice(words)[:4] + "*" for _ in range(n // 11)]
    indexes = [SlideIndex(Settings(content=args.content, index=i)) for i in args.indexes]
    for _ in range(20):  # open and warm both, with queries not measured
        q = f"{rng.choice(words)} {rng.choice(words)} {rng.choice(words)}"
        for index in indexes:
            search(index, q)
    results, times = [[], []], [[], []]
    for q in queries:
        for k, index in enumerate(indexes):
            started = time.perf_counter()
            r = search(index, q)
            times[k].append((time.perf_counter() - started) * 1000)
            results[k].append((r.total, [(h.deck, h.anchor, round(h.score, 9)) for h in r.hits]))
    same = sum(a == b for a, b in zip(*results))
    print(f"{len(queries)} queries: {same} with the same total and top 10 (deck, anchor, score)")
    for path, ms in zip(args.indexes, times):
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        print(f"{path}: p50 {cuts[49]:.1f} ms, p95 {cuts[94]:.1f} ms, mean {statistics.fmean(ms):.1f} ms")
    for q, a, b in [(q, a, b) for q, a, b in zip(queries, *results) if a != b][:5]:
        print(f"differs: {q!r}: {a[0]} vs {b[0]} hits; {a[1][:3]} vs {b[1][:3]}")


if __name__ == "__main__":
    main()
