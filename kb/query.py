"""A student's query string → a bounded Whoosh query (SPEC §4 syntax, made forgiving)."""

import re
from itertools import combinations, islice

from whoosh import query as Q
from whoosh.qparser import FuzzyTermPlugin, GtLtPlugin, MultifieldParser
from whoosh.qparser.dateparse import DateParserPlugin

from kb.schema import WORD

SEARCH_FIELDS = ["title", "deck_title", "body", "alt", "ocr", "notes", "tagtext"]
# BM25F weights: titles above body, body above what only an image or the notes say.
BOOSTS = {"title": 3.0, "deck_title": 2.0, "body": 1.0, "tagtext": 1.0,
          "alt": 0.8, "ocr": 0.6, "notes": 0.6}
FILTER_FIELDS = {"tag", "deck", "date", "year"}
MAX_QUERY = 500  # characters; a longer query is cut, not refused
MIN_PREFIX = 2  # `a*` would expand to every word: too much work for no use
MAX_EXPANSIONS = 16  # prefixes, wildcards and fuzzy words keep this many terms in all
MAX_SCANNED = 2000  # of the words it expands to, the first this many are considered


def make_parser(schema) -> MultifieldParser:
    parser = MultifieldParser(SEARCH_FIELDS, schema, fieldboosts=BOOSTS)
    parser.add_plugin(DateParserPlugin(free=False))
    parser.add_plugin(FuzzyTermPlugin())
    parser.remove_plugin_class(GtLtPlugin)
    return parser


def clean_query(text: str) -> str:
    """`-word` excludes (Whoosh says NOT); `tags:` means `tag:`."""
    text = " ".join(text[:MAX_QUERY].split())
    text = re.sub(r"(^|\s)-(?=[\w\"(])", r"\1NOT ", text)
    return re.sub(r"(^|\s)tags:", r"\1tag:", text, flags=re.IGNORECASE)


def plain_words(text: str) -> str:
    """The fallback for a query the parser cannot read: its words, nothing else."""
    return " ".join(re.findall(WORD, text))


def is_broken(q) -> bool:
    return any(type(leaf).__name__ == "ErrorQuery" for leaf in q.leaves())


def parse(parser, reader, text: str):
    """Parse and bound a query; anything the parser cannot read is searched as plain words."""
    try:
        q = parser.parse(clean_query(text))
        if is_broken(q):
            raise ValueError(text)
    except Exception:  # odd input is never an error for the student
        try:  # lower case, so AND / OR / NOT are words, not operators
            q = parser.parse(plain_words(text).lower())
        except Exception:
            return Q.NullQuery
    return bound(q, reader)


def bound(q, reader):
    """Cheap leaves for costly ones: short prefixes become words, fuzzy distances are capped,
    and all prefixes, wildcards and fuzzy words together expand to MAX_EXPANSIONS terms."""
    def fix(node):
        if isinstance(node, Q.FuzzyTerm):  # `word~9` would walk the whole vocabulary
            node.maxdist, node.prefixlength = min(node.maxdist, 2), max(node.prefixlength, 1)
            return node
        if not isinstance(node, (Q.Prefix, Q.Wildcard)):
            return node
        stem = re.split(r"[*?]", node.text, maxsplit=1)[0]
        if len(stem) < MIN_PREFIX:
            return Q.Term(node.fieldname, stem, boost=node.boost) if stem else Q.NullQuery
        return node
    return expand(q.accept(fix), reader)


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
