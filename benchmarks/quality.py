"""Search quality on the judged query set (tests/judged/queries.json): success@3 and top-1.

    .venv/bin/python benchmarks/quality.py            # this checkout's kb
    PYTHONPATH=/tmp/old-kb .venv/bin/python benchmarks/quality.py   # an older kb, to compare

Indexes the sample decks and tests/judged/content into a temporary folder, runs every case
and prints the figures and each failing case.
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tests"))

import judged  # noqa: E402  (tests/judged.py)
from kb.index import reindex  # noqa: E402
from kb.search import SlideIndex, search  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kb-quality-") as tmp:
        content = judged.make_content(Path(tmp) / "content")
        settings = Settings(content=content, index=Path(tmp) / "index")
        reindex(settings, jobs=1)
        figures = judged.evaluate(search, SlideIndex(settings))
    import kb
    print(f"kb from {Path(kb.__file__).parent}")
    for query, reasons in figures["failures"]:
        print(f"  FAIL {query!r}: {'; '.join(reasons)}")
    print(f"{figures['cases']} judged queries: success@3 {figures['success_at_3']:.1%}, "
          f"top-1 {figures['top_1']:.1%}")


if __name__ == "__main__":
    main()
