"""OCR benchmark: word recall and time of plain tesseract vs kb's pipeline.

    python benchmarks/ocr_bench.py [--seeds 0 1 2 3] [--real DIR --truth FILE.json]
                                   [--steps] [--no-jobs] [-v]

The generated set comes from tests/images.py. "Plain" is pytesseract.image_to_string on
the decoded image as it is; "kb" is kb.ocr.ocr_image. Recall counts, per image, the
distinct words (and numbers) of the ground truth that the OCR text contains, summed over
all images. Then ocr_files runs the same set with jobs=1 and jobs=2, each with a fresh
cache. --real adds a folder of real images with a JSON ground truth
{"file name": "the text a person reads", ...}; --steps measures the pipeline with each of
its steps switched off.
"""

import argparse
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pytesseract  # noqa: E402
from PIL import Image  # noqa: E402

import images  # noqa: E402  (tests/images.py)
from kb import ocr, ocr_prep  # noqa: E402


def plain(data: bytes) -> str:
    """What tesseract reads with no help: the decoded image, default settings."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return pytesseract.image_to_string(image)
    except Exception:  # plain tesseract has no answer for some inputs
        return ""


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the tesseract runs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(items, read):
    """(found, total, wall s, cpu s, per-item (found, total, missed)) for reader `read`."""
    found = total = 0
    per, start, cpu = {}, time.perf_counter(), cpu_seconds()
    for name, _, data, truth in items:
        want = images.words_in(" ".join(truth))
        got = images.words_in(read(data)) & want
        per[name] = (len(got), len(want), sorted(want - got))
        found, total = found + len(got), total + len(want)
    return found, total, time.perf_counter() - start, cpu_seconds() - cpu, per


def compare(title, items, verbose):
    """Recall and time of plain tesseract and kb on `items` (name, group, data, truth)."""
    print(f"\n### {title}: {len(items)} images\n")
    p_found, total, p_secs, p_cpu, p_per = measure(items, plain)
    k_found, _, k_secs, k_cpu, k_per = measure(items, lambda data: ocr.ocr_image(data).text)
    groups = {}
    for name, group, _, _ in items:
        row = groups.setdefault(group, [0, 0, 0, 0, []])
        row[0] += 1
        row[1] += p_per[name][1]
        row[2] += p_per[name][0]
        row[3] += k_per[name][0]
        row[4] += k_per[name][2]
    print("| images | n | words | plain tesseract | kb pipeline |")
    print("|---|---:|---:|---:|---:|")
    for group, (n, words, plain_found, kb_found, missed) in groups.items():
        note = f" (missed: {' '.join(missed[:8])})" if verbose and missed else ""
        print(f"| {group} | {n} | {words} | {plain_found} | {kb_found}{note} |")
    n = len(items)
    print(f"| **recall** | {n} | {total} | **{p_found / total:.1%}** | **{k_found / total:.1%}** |")
    print(f"| wall s/image (one at a time) | | | {p_secs / n:.2f} | {k_secs / n:.2f} |")
    print(f"| CPU s/image | | | {p_cpu / n:.2f} | {k_cpu / n:.2f} |")


# Steps of kb's pipeline switched off one at a time (module settings patched in-process).
STEPS = {
    "no upscaling of small images": [(ocr_prep, "MAX_UPSCALE", 1.0)],
    "sparse/second passes on colour instead of untinted": [(ocr_prep, "without_tints", lambda im: im)],
    "no light-text pass": [(ocr_prep, "BLOCKS_SHARE", 2.0)],
    "no rotated pass for charts": [(ocr, "CHART_NUMBERS", 10**9)],
    "no grain smoothing": [(ocr_prep, "GRAIN_LEVEL", 10**9)],
}


def steps(title, items):
    """Recall of kb's pipeline with each step switched off, to show what each one buys."""
    print(f"\n### Each step, {title}: {len(items)} images\n")
    print("| pipeline | recall | CPU s/image |")
    print("|---|---:|---:|")
    for name, patches in [("full pipeline", [])] + list(STEPS.items()):
        saved = [(module, attr, getattr(module, attr)) for module, attr, _ in patches]
        for module, attr, value in patches:
            setattr(module, attr, value)
        try:
            found, total, _, cpu, _ = measure(items, lambda data: ocr.ocr_image(data).text)
        finally:
            for module, attr, value in saved:
                setattr(module, attr, value)
        print(f"| {name} | {found / total:.1%} | {cpu / len(items):.2f} |")


def parallel(samples, rounds=2):
    """Wall time of ocr_files with one and two processes, fresh cache each time; the best
    of `rounds` alternating runs, as other work on the machine only ever adds time."""
    print(f"\n### ocr_files on the generated set ({len(samples)} images, fresh cache each run,"
          f" best of {rounds})\n")
    print("| jobs | wall seconds | s/image |")
    print("|---:|---:|---:|")
    best = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for sample in samples:
            path = Path(tmp) / sample.name
            path.write_bytes(sample.data)
            paths.append(path)
        for run in range(rounds):
            for jobs in (1, 2):
                start = time.perf_counter()
                batch = ocr.ocr_files(paths, Path(tmp) / f"cache-{jobs}-{run}.sqlite", jobs=jobs)
                secs = time.perf_counter() - start
                assert batch.ran == len(samples), batch
                best[jobs] = min(secs, best.get(jobs, secs))
    for jobs, secs in best.items():
        print(f"| {jobs} | {secs:.1f} | {secs / len(samples):.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--real", type=Path, help="folder of real slide images")
    parser.add_argument("--truth", type=Path, help="JSON: file name -> text in the image")
    parser.add_argument("--no-jobs", action="store_true", help="skip the jobs=1/2 timing")
    parser.add_argument("--steps", action="store_true",
                        help="also measure the pipeline with each step switched off")
    parser.add_argument("-v", "--verbose", action="store_true", help="list missed words")
    args = parser.parse_args()
    print(f"tesseract {pytesseract.get_tesseract_version()}, OCR_VERSION {ocr.OCR_VERSION}")
    samples = images.samples(tuple(args.seeds))
    generated = [(s.name, s.kind, s.data, s.words) for s in samples]
    compare("Generated slides (tests/images.py)", generated, args.verbose)
    real = []
    if args.real:
        truth = json.loads(args.truth.read_text())
        real = [(name, name, (args.real / name).read_bytes(), [text])
                for name, text in truth.items()]
        compare(f"Real images in {args.real}", real, args.verbose)
    if args.steps:
        steps("generated slides", generated)
        if real:
            steps("real images", real)
    if not args.no_jobs:
        parallel(samples)


if __name__ == "__main__":
    main()
