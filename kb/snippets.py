"""The snippet of a hit: the part of its stored text that holds the most of the query's words.

Made from the stored text of the hits on the page only: each field is analysed as it was
indexed (in the deck's language) and its words compared with the query's stems, so no
posting list is read. The window is cut at word boundaries, with "…" where text was cut.
"""

import functools
import re
from dataclasses import dataclass
from html import escape

from kb.schema import ENGLISH, LANGUAGES, base_field, text_analyzer

ORDER = ("body", "ocr", "notes", "alt", "title", "deck_title")  # ties go to the first
WINDOW = 32  # words in a snippet
MAX_TEXT = 20_000  # characters of a field looked at: a snippet never needs a whole book
TOKEN = re.compile(r"\S+")
# What the slide text may still carry of its source: TeX math and markdown marks. A span
# between dollars is math when it holds TeX (a command, _ ^ or braces): "$5 and $10" is not.
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]*[\\^_{][^$\n]*)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
TEX_SYMBOLS = {"rightarrow": "→", "to": "→", "leftarrow": "←", "Rightarrow": "⇒", "ldots": "…",
               "cdots": "…", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠", "ne": "≠",
               "times": "×", "cdot": "·", "in": "∈", "sum": "Σ", "infty": "∞", "approx": "≈"}
TEX_COMMAND = re.compile(r"\\(?:begin|end)\{[^}]*\}|\\([A-Za-z]+)\*?|[{}^_]|\\.")
MARKS = re.compile(r"(?<!\w)(\*{1,3}|_{1,3}|`+|~~)(?=\S)|(?<=\S)(\*{1,3}|_{1,3}|`+|~~)(?!\w)|^\s*(#{1,6}|>+)\s+",
                   re.MULTILINE)


@dataclass(frozen=True)
class Snippet:
    field: str
    html: str  # escaped text, matched words in <mark>
    matched: frozenset  # the fields whose text holds a query word


def plain_math(tex: str) -> str:
    """`a_1 \\rightarrow b^2` → `a1 → b2`: symbols a reader knows, no TeX commands."""
    def plain(m):
        if m.group(1):
            return f" {TEX_SYMBOLS.get(m.group(1), '')} "
        return " " if m.group(0) in "{}" else ""
    return TEX_COMMAND.sub(plain, tex)


def clean(text: str) -> str:
    """Plain words a reader sees: TeX math reduced to its letters, markdown marks dropped."""
    text = MATH.sub(lambda m: " " + plain_math(next(g for g in m.groups() if g)) + " ", text)
    text = MARKS.sub(" ", text)
    return " ".join(text[:MAX_TEXT].split())


def query_stems(terms) -> dict[str, set]:
    """(field, term) pairs of a query → per language, the stems it looks for."""
    stems: dict[str, set] = {lang: set() for lang in LANGUAGES}
    for fieldname, text in terms:
        lang = fieldname.rpartition("_")[2] if base_field(fieldname) != fieldname else ENGLISH
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        stems.setdefault(lang, set()).add(text)
    return stems


@functools.cache
def analyzer_for(lang: str):
    """One analyzer per language, kept: its stemmer caches the words it has stemmed."""
    return text_analyzer(lang=lang if lang in LANGUAGES else ENGLISH)


MAX_TERMS = 200_000  # words whose term each language keeps (a slide archive's vocabulary)
_terms: dict[str, dict[str, str | None]] = {}


def term_of(word: str, lang: str) -> str | None:
    """The term the index holds for one token (None: a stop word), from the analyzer itself
    and kept: a word is stemmed the same wherever it stands, so each is analysed once, not
    once per occurrence in every hit's text (that was most of a search's snippet time)."""
    terms = _terms.setdefault(lang, {})
    if word not in terms:
        if len(terms) >= MAX_TERMS:
            terms.clear()
        found = [t.text for t in analyzer_for(lang)(word)]
        terms[word] = found[0] if len(found) == 1 else None
    return terms[word]


def marked_spans(text: str, stems: set, lang: str) -> list[tuple[int, int, str]]:
    """(start, end, stem) of each word of `text` whose stem the query looks for. The words
    are the analyzer's own tokenizer's; each token on its own is that one token again."""
    if not stems:
        return []
    tokens = analyzer_for(lang).items[0].expression
    known = _terms.setdefault(lang, {})
    out = []
    for m in tokens.finditer(text):
        word = m.group()
        term = known[word] if word in known else term_of(word, lang)
        if term in stems:
            out.append((m.start(), m.end(), term))
    return out


def best_window(words: list[re.Match], spans) -> tuple[int, int]:
    """The WINDOW consecutive words holding the most distinct matched stems (then the most
    matches); returned as word indexes [first, last)."""
    if len(words) <= WINDOW:
        return 0, len(words)
    hits_at: list[list[str]] = [[] for _ in words]
    i = 0
    for start, _, stem in spans:
        while i < len(words) - 1 and words[i].end() <= start:
            i += 1
        hits_at[i].append(stem)
    # Slid one word at a time, counting what enters and what leaves the window.
    counts: dict[str, int] = {}
    total = 0

    def take(at: int, step: int) -> None:
        nonlocal total
        for stem in hits_at[at]:
            counts[stem] = counts.get(stem, 0) + step
            if not counts[stem]:
                del counts[stem]
            total += step
    for k in range(WINDOW):
        take(k, 1)
    best, best_key = 0, (len(counts), total)
    for first in range(1, len(words) - WINDOW + 1 if spans else 1):
        take(first - 1, -1)
        take(first + WINDOW - 1, 1)
        key = (len(counts), total)
        if key > best_key:
            best, best_key = first, key
    # The earliest such window ends at its last match: slide it on to give the first match
    # a few words of lead-in, keeping the last one.
    inside = [k for k in range(best, best + WINDOW) if hits_at[k]]
    if inside:
        best = min(max(best, inside[0] - 6), len(words) - WINDOW)
    return best, best + WINDOW


def render(text: str, spans) -> str:
    """The best window of `text` as HTML, matched words marked, "…" where it was cut."""
    words = list(TOKEN.finditer(text))
    if not words:
        return ""
    first, last = best_window(words, spans)
    start, end = words[first].start(), words[last - 1].end()
    out, at = [], start
    for s, e, _ in spans:
        if s < start or e > end:
            continue
        out += [escape(text[at:s], quote=False), "<mark>", escape(text[s:e], quote=False), "</mark>"]
        at = e
    out.append(escape(text[at:end], quote=False))
    return ("… " if first else "") + "".join(out) + (" …" if last < len(words) else "")


def snippet(stored: dict, stems: dict[str, set], lang: str = ENGLISH) -> Snippet:
    """The snippet of one hit from its stored fields, `stems` from `query_stems`."""
    wanted = stems.get(lang, set())
    best = None
    matched = set()
    for rank, name in enumerate(ORDER):
        text = clean(stored.get(name) or "")
        if not text:
            continue
        spans = marked_spans(text, wanted, lang) if wanted else []
        if spans:
            matched.add(name)
            # The deck title is every slide's: it is the snippet only when nothing else matched.
            key = (name != "deck_title", len({s for *_, s in spans}), -rank)
            if best is None or key > best[0]:
                best = (key, name, text, spans)
    if best is None:  # matched through tags or a filter only: the slide's opening words
        for name in ("body", "ocr", "notes"):
            text = clean(stored.get(name) or "")
            if text:
                return Snippet(name, render(text, []), frozenset())
        return Snippet("body", "", frozenset())
    _, name, text, spans = best
    return Snippet(name, render(text, spans), frozenset(matched))
