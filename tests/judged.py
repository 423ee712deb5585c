"""The judged query set (tests/judged/queries.json) and how a search is scored against it.

A case passes at k when one of its expected slides is among the first k hits and every check
it names holds (the suggestion, a notice, how many rows, that the top hits match on their own
text, …). test_quality.py asserts floors; benchmarks/quality.py prints the figures.
Written against the plain search API so the same run can score an older kb for comparison.
"""

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "tests" / "judged" / "queries.json"
SOURCES = [ROOT / "sample" / "content", ROOT / "tests" / "judged" / "content"]


def cases() -> list[dict]:
    return json.loads(QUERIES.read_text("utf-8"))["cases"]


def make_content(folder: Path) -> Path:
    """The sample decks and our own judged decks in one content folder."""
    for source in SOURCES:
        shutil.copytree(source, folder, dirs_exist_ok=True)
    return folder


def run(search, index, case: dict):
    kwargs = {"tags": case.get("tags", ())}
    if case.get("live"):
        kwargs["live"] = True
    try:
        return search(index, case["q"], **kwargs)
    except TypeError:  # an older kb without `live`
        kwargs.pop("live", None)
        return search(index, case["q"], **kwargs)


def failed_checks(result, case: dict) -> list[str]:
    """The checks of a case that this result does not meet."""
    hits = result.hits
    failed = []
    if "suggestion" in case and result.suggestion != case["suggestion"]:
        failed.append(f"suggestion {result.suggestion!r}")
    if "notice" in case and not any(case["notice"] in n for n in getattr(result, "notices", ())):
        failed.append("no notice")
    if "max_total" in case and result.total > case["max_total"]:
        failed.append(f"total {result.total}")
    if "own_top" in case:
        own = ("title", "body", "notes", "alt", "ocr")
        top = hits[: case["own_top"]]
        if len(top) < case["own_top"] or not all(
                getattr(h, "kind", "slide") == "slide" and set(h.matched) & set(own) for h in top):
            failed.append("top hits not on their own text")
    if "within" in case and not all(h.deck in case["within"] for h in hits):
        failed.append("hits outside " + ", ".join(case["within"]))
    if case.get("distinct_snippets") and len({h.snippet for h in hits}) < len(hits):
        failed.append("repeated snippets")
    return failed


def score(result, case: dict) -> tuple[bool, bool, list[str]]:
    """(success at 3, top-1, what failed) for one case."""
    ranked = [f"{h.deck}#{h.anchor}" for h in result.hits]
    failed = failed_checks(result, case)
    expect = set(case["expect"])
    if not expect:
        return not failed, not failed, failed
    at3 = bool(expect & set(ranked[:3]))
    top1 = bool(ranked) and ranked[0] in expect
    if not at3:
        failed.append("expected not in top 3: got " + ", ".join(ranked[:3]))
    return at3 and not failed, top1 and not failed, failed


def evaluate(search, index) -> dict:
    """Run every case: {"cases", "success_at_3", "top_1", "failures": [(query, reasons)]}."""
    at3 = top1 = 0
    failures = []
    for case in cases():
        result = run(search, index, case)
        ok3, ok1, failed = score(result, case)
        at3 += ok3
        top1 += ok1
        if ok3 and not ok1:
            failed = [f"not first: got {result.hits[0].deck}#{result.hits[0].anchor}"]
        if failed:
            failures.append((case["q"] + (" (live)" if case.get("live") else ""), failed))
    n = len(cases())
    return {"cases": n, "success_at_3": at3 / n, "top_1": top1 / n, "failures": failures}
