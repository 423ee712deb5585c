"""Links that survive edits: a short key of each slide's content, and where a key is now.

Every link kb gives out carries `?s=<key>` beside reveal.js's `#/h/v`. The key is 8 hex
chars of a hash of the slide's own words (body, image alt text, OCR text), so it is the
same wherever the slide moves and changes when the slide is edited.

The hash fragment never reaches the server, so the work is split: the server answers
"which slides of this deck have key K now" (exact), or — when none has — "which slide is
most like the slide K was made from". For that it needs the old text, which the deck no
longer holds: every reindex remembers key → (deck, anchor, words) of the slides it
writes in `slidekeys.sqlite3` in the index folder (`remember`, the writer's side). The
page carries the server's answer; deck-links.js compares it with the slide at the hash.
"""

import hashlib
import logging
import re
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from math import sqrt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from kb.schema import text_analyzer
from kb.settings import Settings

log = logging.getLogger(__name__)
KEY = re.compile(r"[0-9a-f]{8}")
MOVED_MIN = 0.5  # cosine of word counts: above it an edited slide is "the same slide"
CLOSEST = 3  # slides offered when the slide is gone
MAX_TEXT = 4000  # characters of a slide's words kept per key


def slide_text(body: str, alt: str, ocr: str) -> str:
    """The words a key is made from: case and spacing do not count."""
    return "\n".join(" ".join((part or "").lower().split()) for part in (body, alt, ocr))


def slide_key(body: str, alt: str, ocr: str) -> str:
    """The 8-hex-char key of a slide's content."""
    return hashlib.sha1(slide_text(body, alt, ocr).encode("utf-8")).hexdigest()[:8]


def stored_key(doc: dict) -> str:
    """The key of a slide as the index stores it."""
    return slide_key(doc.get("body") or "", doc.get("alt") or "", doc.get("ocr") or "")


def clean_key(value) -> str | None:
    """The `?s=` value if it is a key kb makes, else None (a malformed key is ignored)."""
    value = (value or "").strip().lower()
    return value if KEY.fullmatch(value) else None


def key_of(url: str) -> str | None:
    """The key a link carries (its `?s=`), if any."""
    values = parse_qs(urlsplit(url).query).get("s")
    return clean_key(values[0]) if values else None


def store_path(settings: Settings) -> Path:
    return settings.index / "slidekeys.sqlite3"


# ------------------------------------------------------------ the writer's side
def rows(docs: list[dict]) -> list[tuple]:
    """What `remember` keeps of slide documents: (deck, key, anchor, words)."""
    return [(d["deck"], stored_key(d), d["anchor"],
             slide_text(d.get("body") or "", d.get("alt") or "", d.get("ocr") or "")[:MAX_TEXT])
            for d in docs]


def remember(settings: Settings, written: list[tuple]) -> None:
    """Keep key → (deck, anchor, words) of the slides a reindex just committed (`rows`).
    Old keys stay: a link made years ago still finds its slide's words. A failure here
    costs only the relocation of edited slides, never the reindex."""
    if not written:
        return
    try:
        with closing(sqlite3.connect(store_path(settings), timeout=30)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS keys (deck TEXT, key TEXT, anchor TEXT, "
                       "text TEXT, PRIMARY KEY (deck, key))")
            db.executemany("INSERT OR REPLACE INTO keys VALUES (?, ?, ?, ?)", written)
    except (sqlite3.Error, OSError) as exc:
        log.warning("could not remember the slide keys in %s: %s", store_path(settings), exc)


# ------------------------------------------------------------ the reader's side
def remembered(settings: Settings, deck: str, key: str) -> tuple[str, str] | None:
    """(last anchor, words) of the slide `key` was made from, if a reindex saw it."""
    path = store_path(settings)
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            return db.execute("SELECT anchor, text FROM keys WHERE deck = ? AND key = ?",
                              (deck, key)).fetchone()
    except sqlite3.Error:
        return None  # no store yet, or being written: the link then works as a plain one


def words(text: str) -> Counter:
    return Counter(t.text for t in text_analyzer()(text))


def cosine(a: Counter, b: Counter) -> float:
    dot = sum(n * b[w] for w, n in a.items() if w in b)
    norm = sqrt(sum(n * n for n in a.values())) * sqrt(sum(n * n for n in b.values()))
    return dot / norm if norm else 0.0


@dataclass(frozen=True)
class Relocation:
    """Where the slide of a `?s=` key is in the deck now.

    `matches`: anchors of slides with that very key. Else `target`: the most similar slide
    (similarity ≥ MOVED_MIN), the slide edited. Else the slide is gone and `closest` are
    the most similar slides left. `was`: its anchor when a reindex last saw it."""

    key: str
    matches: tuple[str, ...] = ()
    target: str | None = None
    similarity: float = 0.0
    was: str | None = None
    closest: tuple = ()  # the SlideViews offered instead

    @property
    def gone(self) -> bool:
        return not self.matches and self.target is None

    def as_dict(self) -> dict:
        return {"key": self.key, "matches": list(self.matches), "target": self.target,
                "similarity": round(self.similarity, 3), "was": self.was, "gone": self.gone,
                "closest": [{"anchor": s.anchor, "title": s.title, "url": s.url}
                            for s in self.closest]}


def relocate(settings: Settings, deck: str, slides, key: str, at=None) -> Relocation | None:
    """Find the slide of `key` among `slides` (objects with `key`, `anchor`, `text`,
    `alt`, `ocr`): one sqlite lookup and one pass over the deck's slides. None when kb
    never gave out that key for this deck: the link then works as one without a key.
    `at` (anchor → slide or None) skips the pass when the slide is still where the last
    reindex saw it (a big deck: the pass would read every slide)."""
    old = remembered(settings, deck, key)
    was = old[0] if old else None
    if at and not old:  # every slide's key is remembered when it is indexed
        return None
    if at and getattr(at(old[0]), "key", None) == key:
        return Relocation(key, (old[0],), was=was)
    matches = tuple(s.anchor for s in slides if s.key == key)
    if matches:
        return Relocation(key, matches, was=was)
    if not old:
        return None
    before = words(old[1])
    scored = sorted(((cosine(before, words(slide_text(s.text, s.alt, s.ocr))), i)
                     for i, s in enumerate(slides)), reverse=True)
    if scored and scored[0][0] >= MOVED_MIN:
        best = slides[scored[0][1]]
        return Relocation(key, target=best.anchor, similarity=scored[0][0], was=was)
    closest = tuple(slides[i] for score, i in scored[:CLOSEST] if score > 0)
    return Relocation(key, similarity=scored[0][0] if scored else 0.0, was=was, closest=closest)
