"""Decks: the list of decks (`/decks/`, by tag) and one deck's page (`/decks/<id>`, with the
words of `?q=` marked), each with its JSON twin under `/api/decks`."""

from flask import Blueprint, abort, request

from kb.errors import KbError
from kb.marks import DeckHits, hits_in_deck, marked_words
from kb.render import highlight_terms, query_terms
from kb.search import MAX_QUERY
from kb.slidekeys import clean_key, relocate
from kb.urls import deck_url, search_url
from kb.web.models import DeckView, SlideView, group_by_tag
from kb.web.forms import MAX_TAG
from kb.web.pages import page, site

bp = Blueprint("decks", __name__)
WINDOW = 40  # slides a deck page sends whole (from `?from=N`, else the first); the rest
# come in pieces of as many (`/api/decks/<id>?from=N`), so any deck's first answer is bounded
TOC_SLIDES = 300  # slides named in the page's slide list (a big deck's: those around ?from=)
# A deck of more slides is presented a WINDOW at a time: reveal.js itself slows down with
# the number of sections (2.4 s to start with 20,000, 0.44 s per slide change), so its page
# holds only the window's sections and moves to the next window at either end.
BIG_DECK = 400


def deck_or_404(ident: str) -> DeckView:
    view = site()["catalog"].deck(ident)
    if view is None:
        abort(404, description=f"There is no deck “{ident}”.")
    return view


def slide_or_404(view: DeckView, anchor: str) -> SlideView:
    position = view.position(anchor)
    if position is None:
        abort(404, description=f"Deck “{view.info.id}” has no slide {anchor}.")
    return view.slides.whole([position])[position]


def first_position(value: str | None, count: int) -> int:
    """`?from=N` as a slide position of the deck (0 when absent or not a number)."""
    value = (value or "").strip()
    if not value.isdigit() or len(value) > 8:
        return 0
    return min(int(value), max(0, count - 1))


def slide_list(view: DeckView, whole: dict, start: int, q: str) -> dict:
    """The page's slide list: every slide of a small deck; of a big one, the TOC_SLIDES
    around `start`, with links to the lists before and after. A slide the page does not
    send whole is linked with the `?from=` that sends it (a page without script still
    shows it; with script the page moves there without reloading)."""
    first = start // TOC_SLIDES * TOC_SLIDES
    shown = range(first, min(len(view.slides), first + TOC_SLIDES))
    ident = view.info.id

    def link(position: int) -> str:
        anchor = view.anchors[position]
        if position in whole:
            return f"#/{anchor}"
        return deck_url(ident, q or None, start=position // WINDOW * WINDOW) + f"#/{anchor}"

    def page_link(position: int) -> str:
        return deck_url(ident, q or None, start=position) + f"#/{view.anchors[position]}"

    return {"entries": [(view.slides[i], link(i)) for i in shown],
            "first": first, "last": shown.stop,
            "before": page_link(max(0, first - TOC_SLIDES)) if first else None,
            "after": page_link(shown.stop) if shown.stop < len(view.slides) else None}


def window_stacks(whole: dict[int, SlideView]) -> list[list[tuple[int, SlideView]]]:
    """The window's slides as reveal.js stacks them (a stack cut by the window's edge
    starts or ends it)."""
    stacks: dict[int, list] = {}
    for position, slide in sorted(whole.items()):
        stacks.setdefault(slide.h, []).append((position, slide))
    return list(stacks.values())


def window_links(view: DeckView, start: int, q: str) -> dict | None:
    """Previous / next WINDOW slides of a big deck, for a page read without script."""
    count = len(view.slides)
    if count <= WINDOW:
        return None
    ident, stop = view.info.id, min(count, start + WINDOW)

    def to(first: int, position: int) -> str:  # the page from `first` on, at `position`
        return deck_url(ident, q or None, start=first) + f"#/{view.anchors[position]}"

    return {"first": start + 1, "last": stop, "count": count,
            "previous": to(max(0, start - WINDOW), start - 1) if start else None,
            "next": to(stop, stop) if stop < count else None}


def deck_list_json(context: dict) -> dict:
    return {"total": context["total"], "tag": context["tag"],
            "decks": [d.as_dict() for d in context["decks"]], "tags": context["courses"],
            "groups": [{"tag": t or None, "decks": [d.id for d in ds]}
                       for t, ds in context["groups"]]}


@page(bp, ["/decks/"], ["/api/decks", "/api/decks/"], "decks.html", deck_list_json)
def deck_list() -> dict:
    catalog = site()["catalog"]
    tag = (request.args.get("tag") or "").strip()[:MAX_TAG] or None
    decks = catalog.decks(tag)
    return {"tag": tag, "decks": decks, "groups": group_by_tag(decks), "total": len(decks),
            "courses": catalog.tag_counts()}


def deck_json(context: dict) -> dict:
    view, whole = context["view"], context["whole"]
    data = view.info.as_dict()
    if context["q"].strip():
        data["highlight"] = {"words": context["terms"], "prefixes": context["prefixes"]}
        hits = context["hits"]
        if hits is not None:
            data["hits"] = {"count": hits.count, "anchors": list(hits.anchors),
                            "through_deck": hits.through_deck, "complete": hits.complete}
    if context["slide"] is not None:
        data["slides"] = [context["slide"].as_dict()]
    elif context["piece"]:  # the page asks for the slides it lacks
        data["slides"] = [dict(s.as_dict(), position=p) for p, s in whole.items()]
    elif context["big"]:  # as its page: the window (`?from=N` gives another)
        data["slides"] = [dict(s.as_dict(), position=p) for p, s in whole.items()]
    else:  # every slide; those beyond the first WINDOW without their HTML (`?from=N` has it)
        data["slides"] = [whole.get(i, s).as_dict() for i, s in enumerate(view.slides)]
    data["moved"] = context["moved"].as_dict() if context["moved"] else None
    wanted = {s["anchor"] for s in data["slides"]}  # a piece or one slide: theirs only
    data["related"] = {anchor: [r.as_dict() for r in found]
                       for anchor, found in context["related"].items() if anchor in wanted}
    return data


def deck_hits(view: DeckView, q: str) -> DeckHits | None:
    """This query's hits on the deck, as the results page counted them (None without an
    index: the page then marks the query's words wherever they are)."""
    try:
        return hits_in_deck(site()["index"], q, view.info.id)
    except KbError:
        return None


@page(bp, ["/decks/<path:ident>"], ["/api/decks/<path:ident>"], "deck.html", deck_json)
def deck_page(ident: str) -> dict:
    view = deck_or_404(ident)
    q = (request.args.get("q") or "")[:MAX_QUERY]
    anchor = request.args.get("anchor") or request.args.get("slide")
    slide = slide_or_404(view, anchor) if anchor is not None else None
    start = first_position(request.args.get("from"), len(view.slides))
    whole = view.slides.whole(range(start, start + WINDOW)) if slide is None else {}
    big = len(view.slides) > BIG_DECK
    hits = deck_hits(view, q) if q.strip() else None
    if hits is not None:  # the words of the query's hits on this deck, on those slides only
        listed = [p for p in map(view.position, hits.anchors) if p is not None]
        if big:  # its page is its window; past the hits listed, any slide may be one
            listed = [p for p in listed if p in whole] if hits.complete else list(whole)
        on = [view.slides[p] for p in listed]
        terms = marked_words(hits, (t for s in on for t in (s.title, s.text, s.notes, s.ocr)))
        prefixes = []
    else:
        terms, prefixes = highlight_terms(q, view.texts()) if q.strip() else ([], [])
    return {"view": view, "whole": whole, "q": q, "terms": terms, "prefixes": prefixes,
            "hits": hits, "slide": slide, "piece": "from" in request.args,
            "toc": slide_list(view, whole, start, q), "window": window_links(view, start, q),
            "big": big, "window_stacks": window_stacks(whole),
            "keys": view.keys(whole if big else None),  # a big deck's page: its window's
            "marking": any(query_terms(q)) if q.strip() else False,  # not for `tag:X` alone
            "results_url": search_url(q) if q.strip() else None,
            **links_context(view, min(whole, default=0))}


def links_context(view: DeckView, first: int) -> dict:
    """Where the slide of the link's `?s=` key is now (kb.slidekeys), and the related
    slides of other decks (kb.related) of the slides sent, from position `first` on."""
    key = clean_key(request.args.get("s"))

    def at(anchor: str):  # a big deck's slide by anchor, without reading all of them
        position = view.position(anchor)
        return None if position is None else view.slides[position]
    big = len(view.slides) > BIG_DECK
    moved = relocate(site()["settings"], view.info.id, view.slides, key,
                     at=at if big else None) if key else None
    return {"moved": moved, "related": site()["related"].for_deck(view.info.id, first)}
