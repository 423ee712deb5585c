"""OCR benchmark: word recall and time of each OCR engine, their union, and kb's pipeline.

    python benchmarks/ocr_bench.py [--seeds 0 1 2 3] [--real DIR --truth FILE.json]
                                   [--steps] [--no-jobs] [-v]

The generated set comes from tests/images.py. Per image it runs: "plain" tesseract
(pytesseract.image_to_string on the decoded image as it is); "tesseract" (kb's tesseract
pipeline alone, as kb runs without rapidocr); "rapidocr" alone (kb's settings and filters,
on the image kb's tesseract passes see); and "kb" (kb.ocr.ocr_image: tesseract's passes,
then rapidocr's words merged). From those it also scores the union of the two engines and
the alternative of running rapidocr only where tesseract is unsure (mean confidence of its
first pass under a threshold). Recall counts, per image, the distinct words (and numbers)
of the ground truth that the OCR text contains, summed over all images; CPU seconds count
this process (rapidocr runs in it) and its tesseract children. Then ocr_files runs the
generated set with jobs=1 and jobs=2, each with a fresh cache. --real adds a folder of
real images with a JSON ground truth {"file name": "the text a person reads", ...};
--steps measures kb's pipeline with each of its steps switched off.
"""

import argparse
import io
import json
import resource
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pytesseract  # noqa: E402
from PIL import Image  # noqa: E402

import images  # noqa: E402  (tests/images.py)
from kb import ocr, ocr_prep, ocr_rapid  # noqa: E402

UNSURE = (70, 80, 90)  # thresholds tried for "rapidocr only where tesseract is unsure"


def plain(data: bytes) -> str:
    """What tesseract reads with no help: the decoded image, default settings."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return pytesseract.image_to_string(image)
    except Exception:  # plain tesseract has no answer for some inputs
        return ""


def alone(data: bytes) -> str:
    """kb's tesseract pipeline, as it runs where rapidocr cannot be imported."""
    saved = dict(ocr_rapid._loaded)
    ocr_rapid._loaded.clear()
    ocr_rapid._loaded["missing"] = "switched off by the benchmark"
    try:
        return ocr.ocr_image(data).text
    finally:
        ocr_rapid._loaded.clear()
        ocr_rapid._loaded.update(saved)


def big(data: bytes):
    """The image as kb's passes see it (smoothed if grainy, resized)."""
    return ocr_prep.resize_for_ocr(ocr_prep.without_grain(ocr_prep.decode(data)))


def rapid(data: bytes) -> str:
    return "\n".join(" ".join(words) for words in ocr_rapid.lines(ocr_rapid.engine(), big(data)))


def kb(data: bytes) -> str:
    return ocr.ocr_image(data).text


def confidence(data: bytes) -> float:
    """Mean confidence of the words of tesseract's first pass (the "unsure" signal)."""
    read = pytesseract.image_to_data(big(data), config="--psm 3",
                                     output_type=pytesseract.Output.DICT)
    confs = [float(c) for w, c in zip(read["text"], read["conf"]) if w.strip()]
    return sum(confs) / len(confs) if confs else 0.0


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the tesseract runs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


READERS = {"plain": plain, "tesseract": alone, "rapidocr": rapid, "kb": kb}


def run(items):
    """Per image: {reader: (text, CPU s)} and tesseract's first-pass confidence."""
    ocr_rapid.engine()  # loaded once, before the clock starts
    out = {}
    for name, _, data, _ in items:
        row = {}
        for reader, read in READERS.items():
            cpu = cpu_seconds()
            text = read(data)
            row[reader] = (text, cpu_seconds() - cpu)
        row["conf"] = confidence(data)
        out[name] = row
    return out


def variants(row):
    """(text, CPU s) of each way of reading one image, from the readers' runs."""
    (t_text, t_cpu), (r_text, r_cpu) = row["tesseract"], row["rapidocr"]
    found = {name: row[name] for name in READERS}
    found["union (both engines, full tesseract)"] = (t_text + "\n" + r_text, t_cpu + r_cpu)
    for level in UNSURE:
        unsure = row["conf"] < level
        found[f"rapidocr only where tesseract < {level}"] = (
            t_text + "\n" + r_text if unsure else t_text, t_cpu + (r_cpu if unsure else 0))
    return found


def compare(title, items, verbose):
    """Recall and CPU time of every reader and variant on `items` (name, group, data, truth)."""
    print(f"\n### {title}: {len(items)} images\n")
    runs = run(items)
    scores, groups = {}, {}
    for name, group, _, truth in items:
        want = images.words_in(" ".join(truth))
        for variant, (text, cpu) in variants(runs[name]).items():
            got = images.words_in(text) & want
            score = scores.setdefault(variant, [0, 0, 0.0, 0])
            score[0] += len(got)
            score[1] += len(want)
            score[2] += cpu
            score[3] += variant.startswith("rapidocr only") and runs[name]["conf"] < int(variant[-2:])
            if variant in READERS:
                cell = groups.setdefault(group, {}).setdefault(variant, [0, 0, []])
                cell[0] += len(got)
                cell[1] += len(want)
                cell[2] += sorted(want - got)
    print("| reading | recall | CPU s/image | note |")
    print("|---|---:|---:|---|")
    for variant, (found, total, cpu, unsure) in scores.items():
        note = f"rapidocr ran on {unsure} of {len(items)}" if variant.startswith("rapidocr only") else ""
        print(f"| {variant} | {found / total:.1%} | {cpu / len(items):.2f} | {note} |")
    print(f"\n| images | n | words | {' | '.join(READERS)} |")
    print("|---|---:|---:|" + "---:|" * len(READERS))
    for group, cells in groups.items():
        n = sum(1 for _, g, _, _ in items if g == group)
        row = []
        for reader in READERS:
            found, total, missed = cells[reader]
            note = f" ({' '.join(missed[:6])})" if verbose and missed else ""
            row.append(f"{found}{note}")
        print(f"| {group} | {n} | {cells['kb'][1]} | {' | '.join(row)} |")


# Steps of kb's pipeline switched off one at a time (module settings patched in-process).
STEPS = {
    "no upscaling of small images": [(ocr_prep, "MAX_UPSCALE", 1.0)],
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
        found = total = 0
        cpu = cpu_seconds()
        try:
            for _, _, data, truth in items:
                want = images.words_in(" ".join(truth))
                found += len(want & images.words_in(kb(data)))
                total += len(want)
            cpu = cpu_seconds() - cpu
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
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(f"\nPeak memory of one OCR worker (rapidocr loaded): {peak} MB; of this process "
          f"(every engine loaded): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


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
    print(f"tesseract {pytesseract.get_tesseract_version()}, rapidocr {version('rapidocr')}, "
          f"onnxruntime {version('onnxruntime')}, OCR_VERSION {ocr.OCR_VERSION}")
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
