"""Search: the home page, `/search`, its results fragment (what kb.js swaps in while you
type), `/api/search` (the same document as `kb search --json`) and `/healthz`."""

import logging

from flask import Blueprint, jsonify, render_template, request

from kb.errors import KbError
from kb.results import search_document
from kb.search import SearchResult, search
from kb.urls import home_url
from kb.web.forms import SearchForm
from kb.web.pages import page, site

log = logging.getLogger(__name__)
bp = Blueprint("search", __name__)
NOT_READY = ("Search is not available yet: the index has not been built. "
             "Whoever runs this server should run `kb reindex` (details are in its log).")
RECENT = 8


def search_context(live: bool = False) -> dict:
    """The search the query string asks for: its form, result and JSON document. `live`:
    the query is still being typed (its last word is also a prefix)."""
    kb = site()
    form = SearchForm.from_args(request.args, kb["settings"].per_page)
    live = live or request.args.get("live") == "1"  # /api/search?live=1 for other clients
    if form.active:
        result = search(kb["index"], form.text, form.tags, form.deck, form.page, form.per_page,
                        live=live)
    else:
        result = SearchResult(form.q, 0, 1, form.per_page)
    kb["search_log"].record_search(form, result)  # queued: never slows or fails the search
    return {"form": form, "result": result,
            "doc": search_document(result, kb["settings"], form.q, form.year)}


@page(bp, ["/", "/search"], ["/api/search"], "search.html", lambda context: context["doc"])
def search_page() -> dict:
    catalog = site()["catalog"]
    # the home part is hidden while a search shows, and comes back when the box is cleared
    return {**search_context(), "home": request.path == home_url(),
            "courses": catalog.tag_counts(), "recent": catalog.decks()[:RECENT]}


@bp.get("/search/results")
def results_fragment():
    """Only the results part of `/search`: kb.js swaps it in while you type (so the word
    being typed counts as a prefix too)."""
    return render_template("_results.html", **search_context(live=True))


@bp.get("/healthz")
def healthz():
    kb = site()
    counts = kb["catalog"].counts()
    try:
        indexed = kb["index"].searcher().doc_count()
    except KbError as err:
        log.warning("healthz: %s", err)
        return jsonify({"status": "error", "error": NOT_READY, **counts}), 503
    return jsonify({"status": "ok", **counts, "indexed_slides": indexed})
