"""`kb stats`: what the search log says students look for, and what they do not find."""

import datetime as dt
import sqlite3
from collections import Counter
from pathlib import Path

from kb.errors import KbError
from kb.searchlog import log_path


def ranked(queries: list[str], limit: int) -> list[dict]:
    """The most frequent queries, counting spellings that differ only in case as one (shown
    as their most frequent spelling)."""
    counts, spellings = Counter(), {}
    for query in queries:
        key = query.casefold()
        counts[key] += 1
        spellings.setdefault(key, Counter())[query] += 1
    return [{"query": spellings[key].most_common(1)[0][0], "count": n}
            for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def stats(index: Path, since: dt.date | None = None, limit: int = 20) -> dict:
    """The most frequent queries, zero-result queries and relaxed-only queries since a day."""
    path = log_path(index)
    if not path.is_file():
        raise KbError(f"No search log at {path}: `kb serve` keeps one (unless started with "
                      "--no-search-log) once people search; pass --index DIR if it is elsewhere.")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT day, query, total, relaxed FROM searches WHERE day >= ? "
                              "ORDER BY day", ((since or dt.date.min).isoformat(),)).fetchall()
        finally:
            db.close()
    except sqlite3.Error as err:
        raise KbError(f"Cannot read the search log {path} ({err}).") from None
    return {
        "since": since.isoformat() if since else None,
        "searches": len(rows),
        "first_day": rows[0][0] if rows else None,
        "last_day": rows[-1][0] if rows else None,
        "top": ranked([q for _, q, _, _ in rows], limit),
        "zero_results": ranked([q for _, q, total, _ in rows if total == 0], limit),
        "relaxed_only": ranked([q for _, q, total, relaxed in rows if relaxed and total], limit),
    }
