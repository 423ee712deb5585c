"""A student's query string → a bounded Whoosh query (docs/search.md, made forgiving).

`parse` gives two queries: what a slide must match (`q`), and which of its words a slide
holds in its own text (`own`: title, body, notes, alt, OCR). A slide that matches `q` only
through the deck's title or tags is a match of its deck, not of the slide (kb.deckhits).
Date filters are read here, not by Whoosh's date parser (which reads the end of
`date:[2024-01-01 to 2024-02-01]` as the end of 2024); what cannot be read is reported back.
"""

import datetime as dt
import re
from dataclasses import dataclass
from itertools import combinations, islice

from whoosh import query as Q
from whoosh.qparser import FuzzyTermPlugin, GtLtPlugin, MultifieldParser

from kb.schema import DECK_TEXT, LANGUAGES, OWN_TEXT, WORD, lang_field, text_analyzer, text_fields
from kb.vocabulary import vocabulary_of
from kb.wordquery import parse_text

# BM25F weights: titles above body, body above what only an image or the notes say.
WEIGHTS = {"title": 3.0, "deck_title": 2.0, "body": 1.0, "alt": 0.8, "ocr": 0.6, "notes": 0.6}
SEARCH_FIELDS = text_fields(OWN_TEXT + DECK_TEXT) + ["tagtext"]
OWN_FIELDS = frozenset(text_fields(OWN_TEXT))
BOOSTS = {lang_field(name, lang): weight for name, weight in WEIGHTS.items() for lang in LANGUAGES}
BOOSTS["tagtext"] = 1.0
FILTER_FIELDS = {"tag", "deck", "date", "year"}
MAX_QUERY = 500  # characters; a longer query is cut, not refused
MIN_PREFIX = 2  # `a*` would expand to every word: too much work for no use
MAX_EXPANSIONS = 16  # prefixes, wildcards and fuzzy words keep this many terms in all
MAX_SCANNED = 2000  # of the words it expands to, the first this many are considered
DATE_HELP = "write date:2024, date:2024-03 or date:[2024-01-01 to 2024-02-01]"
DATE = r"\d{4}(?:-\d{1,2}(?:-\d{1,2})?)?"
DATE_FILTER = re.compile(r"(?<!\S)date:(\[[^\]]*\]?|\S*)", re.IGNORECASE)
RANGE = re.compile(rf"\[\s*({DATE})?\s+to\s+({DATE})?\s*\]|\[\s*({DATE})\s+to\s*\]|"
                   rf"\[\s*to\s+({DATE})\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Parsed:
    q: Q.Query  # what a slide must match (words and filters)
    own: Q.Query | None  # any of the words on the slide's own text; None: the query has no words
    notices: tuple[str, ...] = ()  # what of the query was not read, for the student


def make_parser(schema) -> MultifieldParser:
    parser = MultifieldParser(SEARCH_FIELDS, schema, fieldboosts=BOOSTS)
    parser.add_plugin(FuzzyTermPlugin())
    parser.remove_plugin_class(GtLtPlugin)
    return parser


def max_fuzz(word: str) -> int:
    """Edits that still leave the word recognisable: none for 3 letters, 1 up to 5, else 2."""
    return 0 if len(word) <= 3 else 1 if len(word) <= 5 else 2


def clean_query(text: str) -> str:
    """`-word` excludes (Whoosh says NOT); `tags:` means `tag:`; `word~99` is `word~2` (Whoosh
    reads one digit: `~99` was `~9` AND a word "9")."""
    text = " ".join(text[:MAX_QUERY].split())
    text = re.sub(r"(^|\s)-(?=[\w\"(])", r"\1NOT ", text)
    text = re.sub(r"~(\d+)", lambda m: "~" + str(min(int(m.group(1)), 2)), text)
    return re.sub(r"(^|\s)tags:", r"\1tag:", text, flags=re.IGNORECASE)


def plain_words(text: str) -> str:
    """The fallback for a query the parser cannot read: its words, nothing else."""
    return " ".join(re.findall(WORD, text))


def day(text: str, end: bool) -> dt.datetime:
    """`2024`, `2024-03`, `2024-03-05` → the first (or, with `end`, the last) moment it covers."""
    parts = [int(p) for p in text.split("-")]
    year, month, dom = parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None
    if not end:
        return dt.datetime(year, month or 1, dom or 1)
    if dom:
        start = dt.datetime(year, month, dom) + dt.timedelta(days=1)
    elif month:
        start = dt.datetime(year + month // 12, month % 12 + 1, 1)
    else:
        start = dt.datetime(year + 1, 1, 1)
    return start - dt.timedelta(microseconds=1)


def date_filter(value: str):
    """`date:` value → a DateRange, or None if it is not a date kb can read."""
    try:
        if re.fullmatch(DATE, value):
            return Q.DateRange("date", day(value, False), day(value, True))
        found = RANGE.fullmatch(value)
        if found:
            low, high = found.group(1) or found.group(3), found.group(2) or found.group(4)
            start = day(low, False) if low else None
            end = day(high, True) if high else None
            if start and end and start > end:
                return None
            return Q.DateRange("date", start, end)
    except ValueError:  # month 13, February 30
        return None
    return None


def take_dates(text: str):
    """The `date:` filters out of the text: (the rest, DateRange queries, notices)."""
    found, notices = [], []

    def take(match):
        q = date_filter(match.group(1))
        if q is None:
            notices.append(f"ignored {match.group(0)} ({DATE_HELP})")
        else:
            found.append(q)
        return " "
    return " ".join(DATE_FILTER.sub(take, text).split()), found, notices


def is_broken(q) -> bool:
    """What Whoosh makes of syntax it cannot read: a null query standing in for a part."""
    return isinstance(q, Q.qcore._NullQuery) or any(
        isinstance(leaf, Q.qcore._NullQuery) for leaf in q.leaves())


def vocabulary_words(reader, prefix: str) -> list[str]:
    """The real words (of the unstemmed `words` vocabulary) that start with `prefix`, the
    most frequent first, at most MAX_EXPANSIONS of them."""
    tokens = [t.text for t in text_analyzer(stem=False)(prefix)]
    if len(tokens) != 1 or len(tokens[0]) < MIN_PREFIX:
        return []
    return vocabulary_of(reader).prefixed(tokens[0], MAX_SCANNED, MAX_EXPANSIONS)


LAST_WORD = re.compile(r"(?:^|(?<=[\s(]))([^\W_][\w]*)$")


def expand_last_word(reader, text: str) -> str:
    """Search-as-you-type: the word still being typed is also a prefix of real words
    (`regres` → `(regres OR regression OR regressions)`), each analysed as typed words are."""
    found = LAST_WORD.search(text)
    if not found or text.count('"') % 2 or found.group(1).upper() in ("AND", "OR", "NOT"):
        return text
    word = found.group(1)
    longer = [w for w in vocabulary_words(reader, word) if w != word.lower()]
    if not longer:
        return text
    return text[: found.start(1)] + "(" + " OR ".join([word] + longer) + ")"


TYPED_PREFIX = re.compile(r"(?:^|(?<=[\s(]))([^\W_][\w]*)\*(?=[\s)]|$)")
MAX_PREFIXES = 4  # `word*` prefixes per query that also look up real words


def expand_prefixes(reader, text: str) -> str:
    """`normaliz*` also means the real words it starts (normalization, normalize): the index
    holds stems, and `normal`, the stem of both, does not start with `normaliz`."""
    if text.count('"') % 2:
        return text
    count = 0

    def expand(match):
        nonlocal count
        count += 1
        longer = vocabulary_words(reader, match.group(1)) if count <= MAX_PREFIXES else []
        return "(" + " OR ".join([match.group(0)] + longer) + ")" if longer else match.group(0)
    return TYPED_PREFIX.sub(expand, text)


def parse(parser, reader, text: str, live: bool = False) -> Parsed:
    """Parse and bound a query; anything the parser cannot read is searched as plain words.
    With `live` (search as you type), the last word counts as a prefix too."""
    text, dates, notices = take_dates(clean_query(text))
    text = expand_prefixes(reader, text)
    if live:
        text = expand_last_word(reader, text)
    q = None
    if text:
        try:
            q = parse_text(parser, text)
            if is_broken(q):
                raise ValueError(text)
        except Exception:  # odd input is never an error for the student
            try:  # lower case, so AND / OR / NOT are words, not operators
                q = parse_text(parser, plain_words(text).lower()) if plain_words(text) else None
            except Exception:
                q = None
            if q is None or is_broken(q):
                q = None if dates else Q.NullQuery
    if q is not None:
        q = bound(q, reader)
    words = [] if q is None else list(q.subqueries) if isinstance(q, Q.And) else [q]
    parts = words + dates
    if not parts:
        return Parsed(Q.NullQuery, None, tuple(notices))
    full = parts[0] if len(parts) == 1 else Q.And(parts)
    return Parsed(full, own_words(full), tuple(notices))


def positive_leaves(node):
    """The leaves a match must or may hold (not those under NOT)."""
    if isinstance(node, Q.Not):
        return
    if isinstance(node, Q.AndNot):
        yield from positive_leaves(node.a)
        return
    if node.is_leaf():
        yield node
        return
    for child in node.children():
        yield from positive_leaves(child)


def own_words(q):
    """Any of the query's words in a slide's own text; None when it has no words at all
    (a filter-only query: every slide it lists is listed for itself)."""
    leaves = [leaf for leaf in positive_leaves(q) if getattr(leaf, "fieldname", None) in SEARCH_FIELDS]
    if not leaves:
        return None
    own = [leaf for leaf in leaves if leaf.fieldname in OWN_FIELDS]
    return Q.Or(own) if own else Q.NullQuery


def bound(q, reader):
    """Cheap leaves for costly ones: short prefixes become words, fuzzy distances are capped
    by the word's length, all prefixes, wildcards and fuzzy words together expand to
    MAX_EXPANSIONS terms, and the fields of languages no deck is in are left out (each
    language doubles the terms a word looks up)."""
    empty = {name for name in SEARCH_FIELDS if not reader.field_length(name)}

    def fix(node):
        if getattr(node, "fieldname", None) in empty and node.is_leaf():
            return Q.NullQuery
        if isinstance(node, Q.FuzzyTerm):  # `word~9` would walk the whole vocabulary
            node.maxdist = min(node.maxdist, max_fuzz(node.text))
            node.prefixlength = max(node.prefixlength, 1)
            return node if node.maxdist else Q.Term(node.fieldname, node.text, boost=node.boost)
        if not isinstance(node, (Q.Prefix, Q.Wildcard)):
            return node
        stem = re.split(r"[*?]", node.text, maxsplit=1)[0]
        if len(stem) < MIN_PREFIX:
            return Q.Term(node.fieldname, stem, boost=node.boost) if stem else Q.NullQuery
        return node
    return expand(q.accept(fix).normalize(), reader)


def expand(q, reader):
    """Each prefix, wildcard or fuzzy word as an OR of the words it stands for: at most
    MAX_EXPANSIONS (field, word) terms for the whole query, shared out among the patterns
    the student typed and chosen by how many slides hold them."""
    patterns = [leaf for leaf in q.leaves() if isinstance(leaf, (Q.Prefix, Q.Wildcard, Q.FuzzyTerm))]
    if not patterns:
        return q
    typed = {leaf.text for leaf in patterns}
    share = max(1, MAX_EXPANSIONS // len(typed))
    kept = {}
    for text in typed:
        found = [(reader.doc_frequency(leaf.fieldname, word), leaf.fieldname, as_text(word))
                 for leaf in patterns if leaf.text == text
                 for word in islice(leaf._btexts(reader), MAX_SCANNED)]
        found.sort(key=lambda t: (-t[0], t[1], t[2]))
        for _, fieldname, word in found[:share]:
            kept.setdefault((fieldname, text), []).append(word)

    def replace(node):
        if not isinstance(node, (Q.Prefix, Q.Wildcard, Q.FuzzyTerm)):
            return node
        words = kept.get((node.fieldname, node.text))
        if not words:
            return Q.NullQuery
        terms = [Q.Term(node.fieldname, w, boost=node.boost) for w in words]
        return terms[0] if len(terms) == 1 else Q.Or(terms)
    return q.accept(replace).normalize()


def as_text(word) -> str:
    return word.decode("utf-8") if isinstance(word, bytes) else word


def is_filter(q) -> bool:
    if isinstance(q, Q.Not):
        return True
    fields = {getattr(leaf, "fieldname", None) for leaf in q.leaves()}
    return bool(fields) and fields <= FILTER_FIELDS


def relaxations(q):
    """Queries that ask for fewer of the words, most first: n-1 of n, then n-2, …"""
    if not isinstance(q, Q.And):
        return
    required = [s for s in q.subqueries if is_filter(s)]
    words = [s for s in q.subqueries if not is_filter(s)]
    if len(words) < 2:
        return
    if len(words) > 6:
        yield Q.And(required + [Q.Or(words)]) if required else Q.Or(words)
        return
    for k in range(len(words) - 1, 0, -1):
        some = Q.Or([Q.And(list(c)) if k > 1 else c[0] for c in combinations(words, k)])
        yield Q.And(required + [some]) if required else some


def filters(tags, deck):
    """The --tag / --deck filters: every tag (any case), and a deck id or folder of decks."""
    parts = [Q.Term("tag", t.lower()) for t in tags if t]
    if deck:
        parts.append(Q.Or([Q.Term("deck", deck), Q.Prefix("deck", deck.rstrip("/") + "/")]))
    return Q.And(parts) if parts else None


def query_terms(q, reader) -> set:
    """(field, word) pairs the query looks for, prefixes and fuzzy words expanded."""
    terms = set()
    for leaf in q.leaves():
        if isinstance(leaf, Q.MultiTerm):
            terms.update((leaf.fieldname, word) for word in leaf._btexts(reader))
        else:
            terms.update(leaf.iter_all_terms(phrases=True))
    return terms
