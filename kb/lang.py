"""Which language a deck is written in: its frontmatter `lang`, else the language whose stop
words its text uses most (English unless another clearly wins)."""

import re

from whoosh.lang import stopwords_for_language

from kb.schema import ENGLISH, LANGUAGES

NAMES = {"english": "en", "danish": "da", "dansk": "da"}
SAMPLE = 5000  # words read for detection: plenty for stop-word counts
MARGIN = 1.5  # another language must use this many times more stop words than English


def normalize(value) -> str | None:
    """`da`, `da-DK`, `Danish` → "da"; None for what is not a language kb stems."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    code = NAMES.get(code, code)
    return code if code in LANGUAGES else None


def detect(text: str) -> str:
    words = re.findall(r"[^\W\d_]+", text.lower())[:SAMPLE]
    counts = {}
    for lang in LANGUAGES:
        stops = stopwords_for_language(lang)
        counts[lang] = sum(1 for w in words if w in stops)
    best = max(counts, key=counts.get)
    if best != ENGLISH and counts[best] >= max(5, MARGIN * counts[ENGLISH]):
        return best
    return ENGLISH


def deck_language(meta: dict, text: str) -> str:
    return normalize(meta.get("lang") or meta.get("language")) or detect(text)
