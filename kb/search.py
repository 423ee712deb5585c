"""Query string → ranked slides (docs/search.md): the one search behind `kb search` and the web app."""

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as Q

from kb import deckhits, matcher
from kb.generation import Generation, SlideIndex
from kb.matcher import Evaluation, Outcome, Unsupported, matched_fields
from kb.schema import base_field
from kb.query import (MAX_QUERY, SEARCH_FIELDS, filters, own_words, parse, query_terms,
                      relaxations)
from kb.snippets import query_stems, snippet as make_snippet
from kb.suggest import suggest
from kb.urls import slide_url
from kb.slidekeys import stored_key

FIELD_NAMES = {"tagtext": "tags"}  # what the JSON calls a matched field
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
    kind: str = deckhits.SLIDE  # "deck": the deck matches through its title or tags only
    more: int = 0  # other slides of this deck that match only through the deck
    lang: str = "en"  # the language its deck's words were stemmed in

    def as_dict(self) -> dict:
        return {
            "deck": self.deck, "anchor": self.anchor, "h": self.h, "v": self.v, "url": self.url,
            "deck_title": self.deck_title, "title": self.title, "snippet": self.snippet,
            "snippet_field": self.snippet_field, "matched": list(self.matched),
            "tags": list(self.tags), "date": self.date.date().isoformat() if self.date else None,
            "score": round(self.score, 4), "image": self.image, "image_only": self.image_only,
            "kind": self.kind, "more": self.more,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int  # rows listed: slide hits, plus one per deck matching only by title or tags
    page: int
    per_page: int
    hits: tuple[Hit, ...] = ()
    suggestion: str | None = None
    facets: dict = field(default_factory=lambda: {"tags": {}, "years": {}}, hash=False)
    relaxed: bool = False  # no slide had every word; these have most of them
    tags: tuple[str, ...] = ()
    deck: str | None = None
    notices: tuple[str, ...] = ()  # parts of the query that were not read ("ignored date:x")
    slides: int = 0  # slides matched (a deck row stands for several)
    stems: dict = field(default_factory=dict, compare=False, hash=False)  # lang → stems sought

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def as_dict(self) -> dict:
        return {
            "query": self.query, "total": self.total, "page": self.page,
            "per_page": self.per_page, "pages": self.pages, "suggestion": self.suggestion,
            "relaxed": self.relaxed, "filters": {"tags": list(self.tags), "deck": self.deck},
            "facets": self.facets, "hits": [h.as_dict() for h in self.hits],
            "notices": list(self.notices), "slides": self.slides,
        }


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


def to_hit(gen: Generation, row, fields: set[str], stems) -> Hit:
    stored = gen.searcher.stored_fields(row.docnum)
    fields = {base_field(f) for f in fields}
    matched = [FIELD_NAMES.get(f, f) for f in SEARCH_FIELDS if f in fields]
    lang = stored.get("lang") or "en"
    found = make_snippet(stored, stems, lang)
    return Hit(
        deck=stored["deck"], anchor=stored["anchor"], h=stored["h"], v=stored["v"],
        url=slide_url(stored["deck"], stored["anchor"], key=stored_key(stored)),
        deck_title=stored.get("deck_title", ""), title=stored.get("title", ""),
        snippet=found.html, snippet_field=found.field, matched=tuple(matched),
        tags=tuple(stored.get("tags") or ()), date=stored.get("date"), score=row.score,
        image=stored.get("image"), image_only=bool(stored.get("image_only")),
        kind=row.kind, more=row.more, lang=lang,
    )


def search(index: SlideIndex, text: str, tags=(), deck: str | None = None, page: int = 1,
           per_page: int = 10, live: bool = False) -> SearchResult:
    """Search slides. Never raises for odd input: a bad query is searched as plain words.
    `live`: the query is still being typed, so its last word is also a prefix."""
    text = (text or "")[:MAX_QUERY].strip()
    tags = tuple(t for t in tags if t)
    page = min(max(1, int(page)), MAX_PAGE)
    per_page = min(max(1, int(per_page)), 100)
    if not text and not tags and not deck:
        return SearchResult(text, 0, page, per_page, tags=tags, deck=deck)
    gen = index.generation()
    key = (gen.number, text, tags, deck, page, per_page, live)
    return index.cached(key, lambda: run_search(gen, text, tags, deck, page, per_page, live))


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


def outcome(gen: Generation, q, limit, k: int) -> Outcome:
    try:
        return matcher.run(gen, q, limit, k, relaxations)
    except Unsupported:
        return whoosh_outcome(gen, q, limit, k)


def rows_of(gen: Generation, found: Outcome, words: bool, page: int, per_page: int):
    """(rows of the page, total rows): deck-level matches folded (kb.deckhits). Query
    shapes the matcher leaves to Whoosh are listed slide by slide."""
    try:
        own = own_words(found.query) if words else None
        own_mask = None if own is None else found.evaluation(own).mask
        scores = found.evaluation(found.query).score
    except Unsupported:
        top = found.top[(page - 1) * per_page:]
        return [deckhits.Row(d, s) for d, s in top], found.total
    parts = deckhits.split(found.mask, own_mask,
                           deckhits.deck_table(gen.facets["deck"], gen.size))

    def top_k(mask, k):
        return matcher.top_k(matcher.Scored(mask, scores), mask, k)
    return deckhits.page_rows(scores, parts, page, per_page, top_k), parts.total


def run_search(gen: Generation, text, tags, deck, page, per_page, live=False) -> SearchResult:
    with gen.lock:  # Whoosh readers are not safe for two threads at once
        parsed = parse(gen.parser, gen.reader, text, live) if text else None
        q = parsed.q if parsed else Q.Every()
        notices = parsed.notices if parsed else ()
        if isinstance(q, Q.qcore._NullQuery):
            return SearchResult(text, 0, page, per_page, tags=tags, deck=deck, notices=notices)
        limit = filters(tags, deck)
        found = outcome(gen, q, limit, page * per_page)
        if parsed and not live and (not found.total or found.relaxed):
            # `regres` typed whole: the start of a word, before fewer of the words
            typed = outcome(gen, parse(gen.parser, gen.reader, text, live=True).q, limit,
                            page * per_page)
            if typed.total and not typed.relaxed:
                found = typed
        rows, total = rows_of(gen, found, parsed is not None, page, per_page)
        terms = query_terms(found.query, gen.reader)
        stems = query_stems(t for t in terms if t[0] in SEARCH_FIELDS)
        fields = matched_fields(found.evaluation, [r.docnum for r in rows], terms, SEARCH_FIELDS)
        hits = tuple(to_hit(gen, row, fields[row.docnum], stems) for row in rows)

        def count(query) -> int:
            try:
                strict = outcome(gen, query, limit, 1)
                return 0 if strict.relaxed else strict.total
            except Exception:  # a suggestion is never worth an error
                return 0
        suggestion = (suggest(gen.searcher, gen.parser, text, 0 if found.relaxed else found.total,
                              count, live)
                      if text and (found.total < 3 or found.relaxed) else None)
        facets = facets_of(found.mask, gen.facets)
    return SearchResult(text, total, page, per_page, hits, suggestion, facets, found.relaxed,
                        tags, deck, notices, found.total, stems)
