"""Query string → ranked slides (SPEC §4): the one search behind `kb search` and the web app."""

import datetime as dt
import re
import threading
from dataclasses import dataclass, field
from html import escape
from itertools import combinations

from whoosh import highlight, query as Q, scoring, sorting
from whoosh.qparser import FuzzyTermPlugin, GtLtPlugin, MultifieldParser
from whoosh.qparser.dateparse import DateParserPlugin

from kb.deck import slide_url
from kb.index import WORD, open_index, text_analyzer
from kb.settings import Settings

SEARCH_FIELDS = ["title", "deck_title", "body", "alt", "ocr", "notes", "tagtext"]
# BM25F weights: titles above body, body above what only an image or the notes say.
BOOSTS = {"title": 3.0, "deck_title": 2.0, "body": 1.0, "tagtext": 1.0,
          "alt": 0.8, "ocr": 0.6, "notes": 0.6}
FIELD_NAMES = {"tagtext": "tags"}  # what the JSON calls a matched field
FILTER_FIELDS = {"tag", "deck", "date", "year"}
SNIPPET_ORDER = ["body", "ocr", "notes", "alt", "title", "deck_title"]
MAX_QUERY = 500  # characters; a longer query is cut, not refused
MIN_PREFIX = 2  # `a*` would expand to every word: too much work for no use
MAX_PAGE = 1000


@dataclass(frozen=True)
class Hit:
    deck: str
    anchor: str
    h: int
    v: int
    url: str
    deck_title: str
    title: str
    snippet: str  # HTML: escaped text with the matched words in <mark>
    snippet_field: str
    matched: tuple[str, ...]
    tags: tuple[str, ...]
    date: dt.datetime | None
    score: float
    image: str | None  # media id (or content path) of the slide's first image
    image_only: bool

    def as_dict(self) -> dict:
        return {
            "deck": self.deck, "anchor": self.anchor, "h": self.h, "v": self.v, "url": self.url,
            "deck_title": self.deck_title, "title": self.title, "snippet": self.snippet,
            "snippet_field": self.snippet_field, "matched": list(self.matched),
            "tags": list(self.tags), "date": self.date.date().isoformat() if self.date else None,
            "score": round(self.score, 4), "image": self.image, "image_only": self.image_only,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int
    page: int
    per_page: int
    hits: tuple[Hit, ...] = ()
    suggestion: str | None = None
    facets: dict = field(default_factory=lambda: {"tags": {}, "years": {}}, hash=False)
    relaxed: bool = False  # no slide had every word; these have most of them
    tags: tuple[str, ...] = ()
    deck: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def as_dict(self) -> dict:
        return {
            "query": self.query, "total": self.total, "page": self.page,
            "per_page": self.per_page, "pages": self.pages, "suggestion": self.suggestion,
            "relaxed": self.relaxed, "filters": {"tags": list(self.tags), "deck": self.deck},
            "facets": self.facets, "hits": [h.as_dict() for h in self.hits],
        }


class MarkFormatter(highlight.HtmlFormatter):
    """Whoosh's HTML formatter (which escapes the text) with plain <mark> around matches."""

    def __init__(self):
        super().__init__(between=" … ")

    def format_token(self, text, token, replace=False):
        return "<mark>" + escape(highlight.get_text(text, token, replace), quote=False) + "</mark>"


class SlideIndex:
    """The index as a reader: one Whoosh searcher per thread, refreshed when a reindex commits."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.local = threading.local()
        self.ix = None

    def searcher(self):
        if self.ix is None:
            self.ix = open_index(self.settings)
        current = getattr(self.local, "searcher", None)
        if current is None:
            current = self.ix.searcher(weighting=scoring.BM25F())
        elif not current.up_to_date():
            current = current.refresh()
        self.local.searcher = current
        return current

    def parser(self):
        schema = self.searcher().schema
        parser = MultifieldParser(SEARCH_FIELDS, schema, fieldboosts=BOOSTS)
        parser.add_plugin(DateParserPlugin(free=False))
        parser.add_plugin(FuzzyTermPlugin())
        parser.remove_plugin_class(GtLtPlugin)
        return parser


def clean_query(text: str) -> str:
    """Whoosh's syntax made forgiving: `-word` excludes; `tags:` means `tag:`."""
    text = " ".join(text[:MAX_QUERY].split())
    text = re.sub(r"(^|\s)-(?=[\w\"(])", r"\1NOT ", text)
    return re.sub(r"(^|\s)tags:", r"\1tag:", text, flags=re.IGNORECASE)


def plain_words(text: str) -> str:
    """The fallback for a query the parser cannot read: its words, nothing else."""
    return " ".join(re.findall(WORD, text))


def bound(q):
    """Turn work-heavy leaves into cheap ones: very short prefixes and leading wildcards."""
    def fix(node):
        if isinstance(node, (Q.Prefix, Q.Wildcard)):
            stem = re.split(r"[*?]", node.text, maxsplit=1)[0]
            if len(stem) < MIN_PREFIX:
                return Q.Term(node.fieldname, stem) if stem else Q.NullQuery
        return node
    return q.accept(fix)


def parse(index: SlideIndex, text: str):
    parser = index.parser()
    try:
        q = parser.parse(clean_query(text))
        if any(isinstance(leaf, Q.qcore._NullQuery) for leaf in q.leaves()) and not q.leaves():
            raise ValueError
        if any(type(leaf).__name__ == "ErrorQuery" for leaf in q.leaves()):
            raise ValueError
    except Exception:  # any odd input is searched as its words, never an error
        q = parser.parse(plain_words(text))
    return bound(q)


def is_filter(q) -> bool:
    names = {name for name, _ in q.iter_all_terms()} if q.is_leaf() or q.children() else set()
    if isinstance(q, Q.Not):
        return True
    fields = set()
    for node in q.leaves():
        fields.add(getattr(node, "fieldname", None))
    return bool(fields) and fields <= FILTER_FIELDS or bool(names) and names <= FILTER_FIELDS


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
    parts = [Q.Term("tag", t.lower()) for t in tags if t]
    if deck:
        parts.append(Q.Or([Q.Term("deck", deck), Q.Prefix("deck", deck.rstrip("/") + "/")]))
    return Q.And(parts) if parts else None


def facets_of(results) -> dict:
    tags: dict[str, int] = {}
    seen: dict[str, str] = {}
    for value, count in results.groups("tagcase").items():
        if not value:  # slides of decks without tags
            continue
        shown = seen.setdefault(value.lower(), value)
        tags[shown] = tags.get(shown, 0) + count
    years = {y: n for y, n in results.groups("year").items() if y}
    return {
        "tags": dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0].lower()))),
        "years": dict(sorted(years.items(), reverse=True)),
    }


def to_hit(hit, score: float) -> Hit:
    stored = hit.fields()
    matched_fields = {f for f, _ in hit.matched_terms()} if hit.results.has_matched_terms() else set()
    matched = [FIELD_NAMES.get(f, f) for f in SEARCH_FIELDS if f in matched_fields]
    snippet_field, snippet = "body", ""
    for name in SNIPPET_ORDER:
        if name in matched_fields and stored.get(name):
            snippet = " ".join(hit.highlights(name, top=2).split())
            if snippet:
                snippet_field = name
                break
    if not snippet:
        for name in ("body", "ocr", "notes"):
            if stored.get(name):
                snippet_field = name
                snippet = escape(short(stored[name]), quote=False)
                break
    return Hit(
        deck=stored["deck"], anchor=stored["anchor"], h=stored["h"], v=stored["v"],
        url=slide_url(stored["deck"], stored["anchor"]),
        deck_title=stored.get("deck_title", ""), title=stored.get("title", ""),
        snippet=snippet, snippet_field=snippet_field, matched=tuple(matched),
        tags=tuple(stored.get("tags") or ()), date=stored.get("date"), score=score,
        image=stored.get("image"), image_only=bool(stored.get("image_only")),
    )


def short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def suggest(searcher, text: str) -> str | None:
    """'Did you mean': each unknown word swapped for the closest real word of the slides."""
    analyzer = text_analyzer(stem=False)
    changed, out = False, text
    for match in reversed(list(re.finditer(r"(?<![\w:])" + WORD + r"(?![\w:*~])", text))):
        word = match.group(0)
        tokens = [t.text for t in analyzer(word)]
        if len(tokens) != 1 or word.upper() in ("AND", "OR", "NOT") or len(word) < 3:
            continue
        if searcher.doc_frequency("words", tokens[0]):
            continue
        found = searcher.suggest("words", tokens[0], limit=1, maxdist=2, prefix=1)
        if found and found[0] != tokens[0]:
            out = out[: match.start()] + found[0] + out[match.end():]
            changed = True
    return out if changed else None


def search(index: SlideIndex, text: str, tags=(), deck: str | None = None, page: int = 1,
           per_page: int = 10) -> SearchResult:
    """Search slides. Never raises for odd input: a bad query is searched as plain words."""
    text = (text or "")[:MAX_QUERY].strip()
    tags = tuple(t for t in tags if t)
    page = min(max(1, int(page)), MAX_PAGE)
    per_page = min(max(1, int(per_page)), 100)
    empty = SearchResult(text, 0, page, per_page, tags=tags, deck=deck)
    if not text and not tags and not deck:
        return empty
    searcher = index.searcher()
    q = parse(index, text) if text else Q.Every()
    if q is Q.NullQuery or isinstance(q, Q.qcore._NullQuery):
        return empty
    groups = {"tagcase": sorting.FieldFacet("tagcase", allow_overlap=True, maptype=sorting.Count),
              "year": sorting.FieldFacet("year", maptype=sorting.Count)}
    options = dict(pagelen=per_page, terms=True, groupedby=groups, filter=filters(tags, deck))

    def run(query):
        return searcher.search_page(query, page, **options)

    results, relaxed = run(q), False
    if results.total == 0:
        for looser in relaxations(q):
            attempt = run(looser)
            if attempt.total:
                results, relaxed = attempt, True
                break
    results.results.fragmenter = highlight.ContextFragmenter(maxchars=240, surround=60)
    results.results.formatter = MarkFormatter()
    hits = tuple(to_hit(h, h.score or 0.0) for h in results)
    if (page - 1) * per_page >= results.total:  # Whoosh would repeat the last page
        hits = ()
    suggestion = suggest(searcher, text) if text and (results.total < 3 or relaxed) else None
    return SearchResult(text, results.total, page, per_page, hits, suggestion,
                        facets_of(results.results), relaxed, tags, deck)
