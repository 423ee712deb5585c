"""Query string → ranked slides (SPEC §4): the one search behind `kb search` and the web app."""

import datetime as dt
import re
from dataclasses import dataclass, field
from html import escape

import numpy as np
from whoosh import highlight, query as Q

from kb import matcher
from kb.generation import Generation, SlideIndex
from kb.matcher import Evaluation, Outcome, Unsupported, matched_fields
from kb.schema import WORD, text_analyzer
from kb.query import MAX_QUERY, SEARCH_FIELDS, filters, parse, query_terms, relaxations
from kb.urls import slide_url
from kb.slidekeys import stored_key

FIELD_NAMES = {"tagtext": "tags"}  # what the JSON calls a matched field
SNIPPET_ORDER = ["body", "ocr", "notes", "alt", "title", "deck_title"]
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


def facets_of(mask, facets: dict) -> dict:
    """Counts by tag (in the case the lecturer wrote, merged across cases) and by year."""
    tags: dict[str, int] = {}
    shown: dict[str, str] = {}
    for value, count in facets["tagcase"].counts(mask).items():
        key = shown.setdefault(value.lower(), value)
        tags[key] = tags.get(key, 0) + count
    return {
        "tags": dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0].lower()))),
        "years": dict(sorted(facets["year"].counts(mask).items(), reverse=True)),
    }


class RankedHit:
    """A ranked docnum as `to_hit` reads a Whoosh hit: stored fields, score, highlights
    (made by Whoosh's highlighter from the query's terms, as `Results` would)."""

    def __init__(self, gen: Generation, q, docnum: int, score: float, highlighter, terms: dict):
        self.searcher, self.q, self.docnum, self.score = gen.searcher, q, docnum, score
        self.results, self.highlighter, self.terms = self, highlighter, terms
        self.stored = gen.searcher.stored_fields(docnum)

    def fields(self) -> dict:
        return self.stored

    def __getitem__(self, name):
        return self.stored[name]

    def __contains__(self, name) -> bool:
        return name in self.stored

    def has_matched_terms(self) -> bool:
        return False

    def query_terms(self, expand=False, fieldname=None):
        """The query's terms in a field, worked out once per query (`terms` is shared)."""
        key = (expand, fieldname)
        if key not in self.terms:
            self.terms[key] = self.q.existing_terms(self.searcher.reader(), fieldname=fieldname,
                                                    expand=expand)
        return self.terms[key]

    def highlights(self, fieldname, text=None, top=3, minscore=1):
        return self.highlighter.highlight_hit(self, fieldname, text=text, top=top,
                                              minscore=minscore)


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
    gen = index.generation()
    key = (gen.number, text, tags, deck, page, per_page)
    return index.cached(key, lambda: run_search(gen, text, tags, deck, page, per_page))


def whoosh_outcome(gen: Generation, q, limit, k: int) -> Outcome:
    """Whoosh's own searcher, for the query shapes kb.matcher leaves to it (Unsupported).
    Deleted documents are dropped (a top-level NOT can yield them) and the collector is
    the exhaustive one (its top-k collector can miss hits of later segments)."""
    def docs(query):
        return {d for d in gen.searcher.docs_for_query(Q.And([query, limit]) if limit else query)
                if gen.live[d]}
    docnums, relaxed = docs(q), False
    if not docnums:
        for looser in relaxations(q):
            docnums = docs(looser)
            if docnums:
                q, relaxed = looser, True
                break
    mask = np.zeros(gen.size, dtype=bool)
    mask[list(docnums)] = True
    ranked = gen.searcher.search(q, limit=None, filter=limit) if docnums else ()
    top = tuple((hit.docnum, hit.score or 0.0) for hit in ranked if hit.docnum in docnums)[:k]
    return Outcome(mask, top, q, relaxed, Evaluation(gen))


def run_search(gen: Generation, text, tags, deck, page, per_page) -> SearchResult:
    with gen.lock:  # Whoosh readers are not safe for two threads at once
        q = parse(gen.parser, gen.reader, text) if text else Q.Every()
        if isinstance(q, Q.qcore._NullQuery):
            return SearchResult(text, 0, page, per_page, tags=tags, deck=deck)
        limit = filters(tags, deck)
        try:
            found = matcher.run(gen, q, limit, page * per_page, relaxations)
        except Unsupported:
            found = whoosh_outcome(gen, q, limit, page * per_page)
        page_hits = found.top[(page - 1) * per_page:]
        fields = matched_fields(found.evaluation, [d for d, _ in page_hits],
                                query_terms(found.query, gen.reader), SEARCH_FIELDS)
        highlighter = highlight.Highlighter(
            fragmenter=highlight.ContextFragmenter(maxchars=240, surround=60),
            formatter=MarkFormatter())
        terms: dict = {}
        hits = tuple(to_hit(RankedHit(gen, found.query, d, score, highlighter, terms), fields[d])
                     for d, score in page_hits)
        total = found.total
        suggestion = (suggest(gen.searcher, text) if text and (total < 3 or found.relaxed)
                      else None)
        facets = facets_of(found.mask, gen.facets)
    return SearchResult(text, total, page, per_page, hits, suggestion, facets, found.relaxed,
                        tags, deck)
