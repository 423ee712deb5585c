"""Decks: the list of decks (`/decks/`, by tag) and one deck's page (`/decks/<id>`, with the
words of `?q=` marked), each with its JSON twin under `/api/decks`."""

from flask import Blueprint, abort, request

from kb.errors import KbError
from kb.marks import DeckHits, hits_in_deck, marked_words
from kb.render import highlight_terms, query_terms
from kb.search import MAX_QUERY
from kb.slidekeys import clean_key, relocate
from kb.urls import search_url
from kb.web.models import DeckView, SlideView, group_by_tag
from kb.web.forms import MAX_TAG
from kb.web.pages import page, site

bp = Blueprint("decks", __name__)
INLINE_SLIDES = 40  # slides sent whole in a deck page; the rest come in pieces
PIECE = 40  # slides per piece (`/api/decks/<id>?from=N`)
TOC_SLIDES = 300  # slides named in the page's slide list


def deck_or_404(ident: str) -> DeckView:
    view = site()["catalog"].deck(ident)
    if view is None:
        abort(404, description=f"There is no deck “{ident}”.")
    return view


def slide_or_404(view: DeckView, anchor: str) -> SlideView:
    slide = view.slide(anchor)
    if slide is None:
        abort(404, description=f"Deck “{view.info.id}” has no slide {anchor}.")
    return slide


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
    data = context["view"].as_dict()
    if context["q"].strip():
        data["highlight"] = {"words": context["terms"], "prefixes": context["prefixes"]}
        hits = context["hits"]
        if hits is not None:
            data["hits"] = {"count": hits.count, "anchors": list(hits.anchors),
                            "through_deck": hits.through_deck}
    if context["slide"] is not None:
        data["slides"] = [context["slide"].as_dict()]
    elif context["start"] is not None:  # a piece: the page asks for the slides it lacks
        start = context["start"]
        data["slides"] = [dict(s.as_dict(), position=start + i)
                          for i, s in enumerate(context["view"].slides[start:start + PIECE])]
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
    hits = deck_hits(view, q) if q.strip() else None
    if hits is not None:  # the words of the query's hits on this deck, on those slides only
        on = set(hits.anchors)
        terms = marked_words(hits, (t for s in view.slides if s.anchor in on
                                    for t in (s.title, s.text, s.notes, s.ocr)))
        prefixes = []
    else:
        terms, prefixes = highlight_terms(q, view.texts()) if q.strip() else ([], [])
    anchor = request.args.get("anchor") or request.args.get("slide")
    start = request.args.get("from", "")
    return {"view": view, "q": q, "terms": terms, "prefixes": prefixes, "hits": hits,
            "start": int(start) if start.isdigit() and len(start) < 9 else None,
            "inline": INLINE_SLIDES, "toc_slides": TOC_SLIDES,
            "marking": any(query_terms(q)) if q.strip() else False,  # not for `tag:X` alone
            "slide": slide_or_404(view, anchor) if anchor is not None else None,
            "results_url": search_url(q) if q.strip() else None,
            **links_context(view)}


def links_context(view: DeckView) -> dict:
    """Where the slide of the link's `?s=` key is now (kb.slidekeys), and each slide's
    related slides of other decks (kb.related)."""
    key = clean_key(request.args.get("s"))
    moved = relocate(site()["settings"], view.info.id, view.slides, key) if key else None
    return {"moved": moved, "related": site()["related"].for_deck(view.info.id)}
