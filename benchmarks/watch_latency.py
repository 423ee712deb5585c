"""From a file written to its words searchable, with `kb watch` running (goal: ≤ 5 s).

Generates a synthetic archive (benchmarks/synth.py) in a temp dir, indexes it with
`kb reindex`, starts `kb watch` as a subprocess (as beside `kb serve`), then repeatedly
writes a deck (new, edited, in a new folder) holding a word found nowhere else and polls
one long-lived SlideIndex (as a server holds) every 20 ms until the word is found; and
removes a deck and polls until its word is gone. Prints each trial and the median / max.

    python benchmarks/watch_latency.py --slides 21000 --trials 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.synth import generate  # noqa: E402
from kb.search import SlideIndex, search  # noqa: E402
from kb.settings import Settings  # noqa: E402

GOAL = 5.0
POLL = 0.02
PATIENCE = 120.0


def deck(title: str, word: str) -> str:
    return (f"---\ntitle: {title}\ndate: 2026-10-01\ntags: BENCH101\n---\n\n# {title}\n\n"
            f"A slide about {word} and more.\n\n===\n\n## Second\n\nOther words.\n")


def until(check) -> float:
    """Seconds until check() is true, polling every POLL seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > PATIENCE:
            raise SystemExit("gave up: the change never became searchable")
        time.sleep(POLL)
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slides", type=int, default=21000)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="kb-watch-bench-") as tmp:
        settings = Settings(content=Path(tmp) / "content", index=Path(tmp) / "index")
        made = generate(settings.content, args.slides)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "kb.cli", "reindex", "--jobs", str(args.jobs),
                        "--content", str(settings.content), "--index", str(settings.index)],
                       check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        print(f"{made['decks']} decks, {made['slides']} slides; first reindex "
              f"{time.monotonic() - started:.1f} s")

        watcher = subprocess.Popen(
            [sys.executable, "-m", "kb.cli", "watch", "--settle", str(args.settle),
             "--jobs", str(args.jobs), "--content", str(settings.content),
             "--index", str(settings.index)], stderr=subprocess.PIPE, text=True)
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(watcher.stderr), daemon=True).start()
        index = SlideIndex(settings)
        try:
            until(lambda: any("watching" in line for line in log))
            time.sleep(args.settle * 3)  # let the catch-up reindex (a no-op) pass
            rows = []
            for trial in range(args.trials):
                word = f"zq{trial}vortexium"
                kind = ("new deck", "edited deck", "deck in a new folder")[trial % 3]
                if kind == "new deck":
                    path = settings.content / f"bench/new-{trial}.md"
                    path.parent.mkdir(parents=True, exist_ok=True)
                elif kind == "edited deck":
                    path = settings.content / made["paths"][trial * 7 % len(made["paths"])]
                else:
                    path = settings.content / f"bench/folder-{trial}/deck.md"
                    path.parent.mkdir(parents=True, exist_ok=True)
                text = deck(f"Bench {trial}", word)
                if kind == "edited deck":
                    text = path.read_text(encoding="utf-8") + f"\n===\n\n## Added\n\n{word}\n"
                written = time.monotonic()
                path.write_text(text, encoding="utf-8")
                until(lambda: search(index, word).total > 0)
                seconds = time.monotonic() - written
                rows.append((kind, seconds))
                print(f"  {kind:22} searchable after {seconds:5.2f} s")
                time.sleep(args.settle)
            gone = settings.content / "bench/new-0.md"
            removed = time.monotonic()
            gone.unlink()
            until(lambda: search(index, "zq0vortexium").total == 0)
            rows.append(("removed deck", time.monotonic() - removed))
            print(f"  {'removed deck':22} gone after       {rows[-1][1]:5.2f} s")
        finally:
            watcher.send_signal(2)
            watcher.wait(60)
        figures = [s for _, s in rows]
        worst = max(figures)
        reindexes = [line.split("reindexed in ")[1].split(" s")[0] for line in log
                     if "reindexed in" in line]
        print(f"median {statistics.median(figures):.2f} s, max {worst:.2f} s "
              f"(settle {args.settle:g} s; the watcher's reindexes took {', '.join(reindexes)} s)"
              f" — goal ≤ {GOAL:g} s: {'PASS' if worst <= GOAL else 'MISS'}")


if __name__ == "__main__":
    main()
