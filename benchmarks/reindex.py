"""Full reindex throughput (issue 11): `kb reindex --full --jobs N` of bench.py's synthetic
archive into a fresh index, as a subprocess, for one or more versions of kb's code run in
turn (interleaved rounds, so a busy machine slows each about the same).

Prints per run and as medians: slides/s (wall), wall s, CPU s of the process tree (user +
system, from wait4), peak RSS of the largest process (wait4) and of the process tree
(psutil, sampled every 0.1 s), and the number of segments written.

    python benchmarks/reindex.py --slides 21000 --rounds 3
    python benchmarks/reindex.py --slides 21000 --code before=/tmp/kb-main --code after=.
        # /tmp/kb-main: e.g. `git archive main | tar -x -C /tmp/kb-main`

`--profile DIR` writes instead a cProfile of this checkout's full reindex with the work of
both stages in one process: parsing every deck (kb.manifest.read_for_index) and the
workers' indexing (kb.index_segments.write_share on all decks, then the commit), as
DIR/reindex-<slides>.txt (cumulative and internal time).

Each `--code LABEL=DIR` runs `python -m kb.cli` with DIR first on PYTHONPATH (worker
processes inherit it); the default is this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402
from bench import run_measured  # noqa: E402


def one_run(code: Path, content: Path, index: Path, jobs: int, timeout: float) -> dict:
    shutil.rmtree(index, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(code)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}
    argv = [sys.executable, "-m", "kb.cli", "reindex", "--full", "--json", "--jobs", str(jobs),
            "--content", str(content), "--index", str(index)]
    # Not from this checkout: `python -m` puts the working directory first on sys.path.
    run = run_measured(argv, timeout, env=env, cwd=index.parent)
    if run["rc"] != 0:
        raise RuntimeError(f"kb reindex failed ({code}): {run['stderr']}")
    report = json.loads(run["stdout"])
    live = (index / "live").resolve()
    return {"slides": report["slides"], "wall": round(run["wall"], 2), "cpu_s": run["cpu_s"],
            "slides_per_s": round(report["slides"] / run["wall"]),
            "peak_rss_mb": run["peak_rss_mb"], "tree_peak_rss_mb": run["tree_peak_rss_mb"],
            "segments": len(list(live.glob("*.trm")))}


def profile(content: Path, out: Path, size: int) -> None:
    """cProfile of what a full reindex's workers and parent do, in this process."""
    import cProfile
    import io
    import pstats

    sys.path.insert(0, str(ROOT))
    from whoosh import index as whoosh_index

    from kb import whoosh_fast
    from kb.deck import find_deck_files
    from kb.index_segments import Share, write_share
    from kb.manifest import read_for_index
    from kb.schema import make_schema
    from kb.settings import Settings

    folder = out / f"index-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), make_schema())
    settings = Settings(content=content, index=out)
    prof = cProfile.Profile()
    prof.enable()
    decks = [read_for_index(p, content).deck for p in find_deck_files(content)]
    written = write_share(Share(str(folder), tuple(d for d in decks if d), {}, settings, {}))
    whoosh_fast.commit_with(whoosh_fast.writer(ix), lambda w, s: [], [written.segment])
    prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    (out / f"reindex-{size}.txt").write_text(text.getvalue())
    print(f"{out / f'reindex-{size}.txt'}", file=sys.stderr)


def median_of(runs: list[dict]) -> dict:
    keys = ("wall", "cpu_s", "slides_per_s", "peak_rss_mb", "tree_peak_rss_mb")
    return {k: round(statistics.median(r[k] for r in runs), 1) for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slides", type=int, action="append", help="archive size (repeatable)")
    ap.add_argument("--code", action="append", default=[], metavar="LABEL=DIR",
                    help="a version of kb to measure (repeatable; default: this checkout)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, help="keep the archives here (default: a temp dir)")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", type=Path, metavar="DIR", help="cProfile this checkout instead")
    args = ap.parse_args()
    codes = dict(c.split("=", 1) for c in args.code) or {"this": str(ROOT)}
    codes = {label: Path(d).resolve() for label, d in codes.items()}
    work = args.work or Path(tempfile.mkdtemp(prefix="kb-reindex-bench-"))
    results = {}
    for size in args.slides or [21000]:
        content = work / f"content-{size}-{args.seed}"
        if not content.is_dir():
            synth.generate(content, size, args.seed)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            profile(content, args.profile, size)
            continue
        runs = {label: [] for label in codes}
        for n in range(args.rounds):
            for label, code in codes.items():
                r = one_run(code, content, work / f"index-{label}", args.jobs, args.timeout)
                runs[label].append(r)
                print(f"{size} slides, round {n + 1}, {label}: {r['slides_per_s']} slides/s, "
                      f"wall {r['wall']} s, CPU {r['cpu_s']} s, RSS {r['peak_rss_mb']} MB "
                      f"(tree {r['tree_peak_rss_mb']} MB), {r['segments']} segment(s)",
                      file=sys.stderr, flush=True)
        results[size] = {label: {"median": median_of(rs), "runs": rs} for label, rs in runs.items()}
    if args.profile:
        return
    if args.json:
        print(json.dumps({"load_average": os.getloadavg(), "jobs": args.jobs, "results": results},
                         indent=1))
        return
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'slides':>8} {'code':<10} {'slides/s':>9} {'wall s':>7} {'CPU s':>7} "
          f"{'RSS MB':>7} {'tree MB':>8}")
    for size, by_code in results.items():
        for label, r in by_code.items():
            m = r["median"]
            print(f"{size:>8} {label:<10} {m['slides_per_s']:>9} {m['wall']:>7} {m['cpu_s']:>7} "
                  f"{m['peak_rss_mb']:>7} {m['tree_peak_rss_mb']:>8}")


if __name__ == "__main__":
    main()
