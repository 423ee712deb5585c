"""Query string → ranked slides (SPEC §4): the one search behind `kb search` and the web app."""

import datetime as dt
import re
import threading
from dataclasses import dataclass, field
from html import escape
from collections import Counter, OrderedDict

from whoosh import highlight, query as Q, scoring
from whoosh.reading import TermNotFound

from kb.urls import slide_url
from kb.errors import KbError
from kb.schema import WORD, open_index, text_analyzer
from kb.query import (MAX_QUERY, SEARCH_FIELDS, filters, make_parser, parse, query_terms,
                      relaxations)
from kb.settings import Settings
from kb.slidekeys import stored_key

FIELD_NAMES = {"tagtext": "tags"}  # what the JSON calls a matched field
SNIPPET_ORDER = ["body", "ocr", "notes", "alt", "title", "deck_title"]
MAX_PAGE = 1000
CACHE_SIZE = 512  # results kept per index generation


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
    """The index as a reader: one Whoosh searcher per thread, refreshed when a reindex
    commits, and what depends only on the index generation (facet tables, results) cached."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.local = threading.local()
        self.lock = threading.Lock()
        self.ix = None
        self.tables: dict = {}  # generation → facet tables
        self.cache: OrderedDict = OrderedDict()  # (generation, query…) → SearchResult

    def searcher(self):
        if self.ix is None:
            self.ix = open_index(self.settings)
        current = getattr(self.local, "searcher", None)
        if current is None:
            current = self.open_searcher()
        elif not current.up_to_date():
            # A new searcher, not current.refresh(): refresh reuses segment readers, and a
            # reused reader keeps the deletions of the old generation (old and new mixed).
            current.close()
            current = self.open_searcher()
        self.local.searcher = current
        self.local.parser = getattr(self.local, "parser", None) or make_parser(current.schema)
        return current

    def open_searcher(self):
        """A searcher whose files are all open. Whoosh opens a segment's stored fields and
        field lengths on first use, and a reindex may delete them before that: opened now,
        they stay readable (an open file outlives its deletion) for the searcher's life."""
        for _ in range(3):
            searcher = self.ix.searcher(weighting=scoring.BM25F())
            try:
                scorable = [name for name, field in searcher.schema.items() if field.scorable]
                for leaf, _ in searcher.reader().leaf_readers():
                    if leaf.doc_count_all():
                        leaf.stored_fields(0)
                        for name in scorable:
                            leaf.doc_field_length(0, name)
                return searcher
            except (OSError, TypeError):  # its generation was deleted meanwhile: again
                searcher.close()
        return self.ix.searcher(weighting=scoring.BM25F())

    def warm(self) -> None:
        """Open the searcher and build the facet tables now, not on the first query."""
        try:
            self.facet_tables(self.searcher())
        except KbError:
            pass  # no index yet: the first search will say what to run

    def facet_tables(self, searcher) -> dict:
        """For each facet, docnum → its values, built once per index generation (docnums
        belong to one generation: threads still on the previous one keep their own)."""
        generation = searcher.ixreader.generation()
        with self.lock:
            if generation not in self.tables:
                reader = searcher.reader()
                tables = {}
                for name in ("tagcase", "year"):
                    table = {}
                    for term in reader.lexicon(name):
                        value = term.decode("utf-8")
                        for docnum in reader.postings(name, term).all_ids():
                            table.setdefault(docnum, []).append(value)
                    tables[name] = table
                # keep one older generation at most (an index with no commit yet has None)
                newest = sorted(self.tables, key=lambda g: -1 if g is None else g)[-1:]
                self.tables = {g: self.tables[g] for g in newest}
                self.tables[generation] = tables
            return self.tables[generation]

    def cached(self, key, compute):
        """A result per (index generation, query): a reindex never leaves a stale answer."""
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        value = compute()
        with self.lock:
            self.cache[key] = value
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
        return value


def facets_of(docnums, tables) -> dict:
    """Counts by tag (in the case the lecturer wrote, merged across cases) and by year."""
    counts = {"tagcase": Counter(), "year": Counter()}
    for name, table in tables.items():
        found = counts[name]
        for docnum in docnums:
            found.update(table.get(docnum, ()))
    tags: dict[str, int] = {}
    shown: dict[str, str] = {}
    for value, count in counts["tagcase"].items():
        key = shown.setdefault(value.lower(), value)
        tags[key] = tags.get(key, 0) + count
    return {
        "tags": dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0].lower()))),
        "years": dict(sorted(counts["year"].items(), reverse=True)),
    }


def matched_fields(reader, docnums: list[int], terms) -> dict[int, set[str]]:
    """For each hit, the fields that hold a query term: one posting list per term, walked
    once through the page's hits (cheaper than asking the scorer for matched terms)."""
    found = {docnum: set() for docnum in docnums}
    for fieldname, text in terms:
        if fieldname not in SEARCH_FIELDS:
            continue
        try:
            postings = reader.postings(fieldname, text)
        except TermNotFound:
            continue
        for docnum in sorted(docnums):
            if not postings.is_active():
                break
            if postings.id() < docnum:
                postings.skip_to(docnum)
            if postings.is_active() and postings.id() == docnum:
                found[docnum].add(fieldname)
    return found


def to_hit(hit, fields: set[str]) -> Hit:
    stored = hit.fields()
    matched = [FIELD_NAMES.get(f, f) for f in SEARCH_FIELDS if f in fields]
    snippet_field, snippet = "body", ""
    for name in SNIPPET_ORDER:
        if name in fields and stored.get(name):
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
        url=slide_url(stored["deck"], stored["anchor"], key=stored_key(stored)),
        deck_title=stored.get("deck_title", ""), title=stored.get("title", ""),
        snippet=snippet, snippet_field=snippet_field, matched=tuple(matched),
        tags=tuple(stored.get("tags") or ()), date=stored.get("date"), score=hit.score or 0.0,
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
        if len(tokens) != 1 or word.upper() in ("AND", "OR", "NOT") or len(word) < 4:
            continue
        if searcher.doc_frequency("words", tokens[0]):
            continue
        # Two edits turn short words into unrelated ones ("org" → "of"): allow one there.
        maxdist = 1 if len(word) <= 5 else 2
        found = searcher.suggest("words", tokens[0], limit=1, maxdist=maxdist, prefix=1)
        if found and len(found[0]) >= 3 and found[0] != tokens[0]:
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
    if not text and not tags and not deck:
        return SearchResult(text, 0, page, per_page, tags=tags, deck=deck)
    searcher = index.searcher()
    key = (searcher.ixreader.generation(), text, tags, deck, page, per_page)
    return index.cached(key, lambda: run_search(index, searcher, text, tags, deck, page, per_page))


def run_search(index, searcher, text, tags, deck, page, per_page) -> SearchResult:
    q = parse(index.local.parser, searcher.reader(), text) if text else Q.Every()
    if isinstance(q, Q.qcore._NullQuery):
        return SearchResult(text, 0, page, per_page, tags=tags, deck=deck)
    limit = filters(tags, deck)
    relaxed = False
    # One unscored pass gives the total and the facets; the scored pass needs only the top.
    docnums = set(searcher.docs_for_query(Q.And([q, limit]) if limit else q))
    if not docnums:
        for looser in relaxations(q):
            docnums = set(searcher.docs_for_query(Q.And([looser, limit]) if limit else looser))
            if docnums:
                q, relaxed = looser, True
                break
    hits = ()
    if docnums and (page - 1) * per_page < len(docnums):
        results = searcher.search(q, limit=page * per_page, filter=limit)
        results.fragmenter = highlight.ContextFragmenter(maxchars=240, surround=60)
        results.formatter = MarkFormatter()
        page_hits = results[(page - 1) * per_page:]
        fields = matched_fields(searcher.reader(), [hit.docnum for hit in page_hits],
                                query_terms(q, searcher.reader()))
        hits = tuple(to_hit(hit, fields[hit.docnum]) for hit in page_hits)
    suggestion = suggest(searcher, text) if text and (len(docnums) < 3 or relaxed) else None
    facets = facets_of(docnums, index.facet_tables(searcher))
    return SearchResult(text, len(docnums), page, per_page, hits, suggestion, facets, relaxed,
                        tags, deck)
