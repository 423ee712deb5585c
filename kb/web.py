"""The web app (SPEC §5): search pages, deck pages with deep links, JSON twins, media.

`create_app(settings)` builds everything from its Settings argument; one `SlideIndex` per
app keeps Whoosh searchers open across requests (they refresh when a reindex commits).
"""

import logging
import os
from pathlib import Path
from urllib.parse import quote

from flask import Flask, abort, jsonify, render_template, request, send_file, url_for
from werkzeug.exceptions import HTTPException, NotFound

from kb.deck import SAFE_MEDIA_ID, slide_url
from kb.errors import KbError
from kb.media import sniff_type
from kb.render import asset_path, display_title, highlight_terms, query_terms
from kb.resources import static_dir, templates_dir
from kb.search import MAX_QUERY, SearchResult, SlideIndex, search
from kb.settings import Settings
from kb.web_data import Catalog, group_by_tag
from kb.web_search import MAX_TAG, SearchForm

log = logging.getLogger(__name__)
TEMPLATES = templates_dir()
STATIC = static_dir()

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# A media file is shown on its own only when someone opens it; an SVG must not run scripts.
MEDIA_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MEDIA_MAX_AGE = 3600
NOT_READY = ("Search is not available yet: the index has not been built. "
             "Whoever runs this server should run `kb reindex` (details are in its log).")


def create_app(settings: Settings) -> Flask:
    app = Flask("kb", template_folder=str(TEMPLATES), static_folder=str(STATIC),
                static_url_path="/static")
    app.config["KB_SETTINGS"] = settings
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    index = SlideIndex(settings)
    index.warm()
    catalog = Catalog(settings, index)
    app.extensions["kb"] = {"index": index, "catalog": catalog}

    # ----------------------------------------------------------------- helpers
    def thumbnail(image: str | None) -> str | None:
        """The URL of a hit's image, if kb can serve it."""
        if not image:
            return None
        if SAFE_MEDIA_ID.match(image) and (settings.media / image).is_file():
            return "/api/media/" + quote(image)
        root = settings.content.resolve()
        try:
            rel = asset_path((settings.content / image).resolve(), root)
        except (OSError, ValueError):
            return None
        return "/api/asset/" + quote(rel) if rel else None

    def run_search(form: SearchForm) -> SearchResult:
        if not form.active:
            return SearchResult(form.q, 0, 1, form.per_page)
        return search(index, form.text, form.tags, form.deck, form.page, form.per_page)

    def hit_extras(form: SearchForm, hit) -> dict:
        show_thumb = hit.image_only or hit.snippet_field == "ocr"
        return {"link": slide_url(hit.deck, hit.anchor, form.q.strip() or None),
                "display_title": display_title(hit.title, hit.image_only),
                "thumbnail": thumbnail(hit.image) if show_thumb else None}

    def search_json(form: SearchForm, result: SearchResult) -> dict:
        data = result.as_dict()
        data["query"] = form.q
        data["filters"] = {"tags": list(form.tags), "deck": form.deck, "year": form.year}
        for hit, out in zip(result.hits, data["hits"]):
            out.update(hit_extras(form, hit))
        return data

    def static_url(name: str) -> str:
        try:
            version = int((STATIC / name).stat().st_mtime)
        except OSError:
            version = 0
        return url_for("static", filename=name, v=version)

    def nice_date(when) -> str:
        return f"{when.day} {when:%b %Y}" if when else ""

    app.jinja_env.globals.update(static_url=static_url, slide_url=slide_url)
    app.jinja_env.filters["nicedate"] = nice_date

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.path == "/healthz"

    # ----------------------------------------------------------------- pages
    def search_page(home: bool):
        form = SearchForm.from_args(request.args, settings.per_page)
        result = run_search(form)
        hits = [(hit, hit_extras(form, hit)) for hit in result.hits]
        # the home part is hidden while a search shows, and comes back when the box is cleared
        return render_template("search.html", form=form, result=result, hits=hits,
                               courses=catalog.tag_counts(), recent=catalog.decks()[:8],
                               home=home)

    @app.get("/")
    def home():
        return search_page(home=True)

    @app.get("/search")
    def search_html():
        return search_page(home=False)

    @app.get("/api/search")
    def search_api():
        form = SearchForm.from_args(request.args, settings.per_page)
        return jsonify(search_json(form, run_search(form)))

    @app.get("/decks/")
    def decks_html():
        tag = (request.args.get("tag") or "").strip()[:MAX_TAG] or None
        decks = catalog.decks(tag)
        return render_template("decks.html", groups=group_by_tag(decks), tag=tag,
                               total=len(decks), courses=catalog.tag_counts())

    @app.get("/api/decks")
    @app.get("/api/decks/")
    def decks_api():
        tag = (request.args.get("tag") or "").strip()[:MAX_TAG] or None
        decks = catalog.decks(tag)
        return jsonify({"total": len(decks), "tag": tag, "decks": [d.as_dict() for d in decks],
                        "tags": catalog.tag_counts(),
                        "groups": [{"tag": t or None, "decks": [d.id for d in ds]}
                                   for t, ds in group_by_tag(decks)]})

    def find_deck(ident: str):
        view = catalog.deck(ident)
        if view is None:
            abort(404, description=f"There is no deck “{ident}”.")
        return view

    @app.get("/decks/<path:ident>")
    def deck_html(ident):
        view = find_deck(ident)
        q = (request.args.get("q") or "")[:MAX_QUERY]
        terms, prefixes = highlight_terms(q, view.texts()) if q.strip() else ([], [])
        marking = any(query_terms(q)) if q.strip() else False  # not for `tag:X` alone
        return render_template("deck.html", view=view, q=q, terms=terms, prefixes=prefixes,
                               marking=marking,
                               form=SearchForm(deck=view.info.id, per_page=settings.per_page),
                               results_url=SearchForm(q=q).url() if q.strip() else None)

    @app.get("/api/decks/<path:ident>")
    def deck_api(ident):
        view = find_deck(ident)
        q = (request.args.get("q") or "")[:MAX_QUERY]
        anchor = request.args.get("anchor") or request.args.get("slide")
        data = view.as_dict()
        if q.strip():
            data["highlight"] = dict(zip(("words", "prefixes"), highlight_terms(q, view.texts())))
        if anchor is not None:
            slide = view.slide(anchor)
            if slide is None:
                abort(404, description=f"Deck “{ident}” has no slide {anchor}.")
            data["slides"] = [slide.as_dict()]
        return jsonify(data)

    # ----------------------------------------------------------------- files
    def serve_image_file(path: Path, parent: Path, require_image: bool = False):
        """A regular file whose real location is directly inside `parent`, or 404."""
        try:
            real = path.resolve(strict=True)
            if real.parent != parent.resolve() or not real.is_file():
                abort(404)
            with open(real, "rb") as handle:
                head = handle.read(4096)
        except (OSError, ValueError, RuntimeError):
            abort(404)
        mime = sniff_type(head)
        if mime is None and require_image:
            abort(404)
        mime = mime or "application/octet-stream"
        response = send_file(real, mimetype=mime, conditional=True, etag=True,
                             max_age=MEDIA_MAX_AGE, last_modified=os.stat(real).st_mtime)
        response.headers["Content-Security-Policy"] = MEDIA_CSP
        response.headers["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}"
        return response

    @app.get("/api/media/<path:media_id>")
    def media(media_id):
        if not SAFE_MEDIA_ID.match(media_id) or ".." in media_id:
            abort(404)
        return serve_image_file(settings.media / media_id, settings.media)

    @app.get("/api/asset/<path:rel>")
    def asset(rel):
        """An image a deck links by relative path; only image files inside the content dir."""
        parts = rel.split("/")
        if any(not p or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
            abort(404)
        path = settings.content.joinpath(*parts)
        try:
            ok = asset_path(path.resolve(), settings.content.resolve()) == "/".join(parts)
        except (OSError, ValueError, RuntimeError):
            ok = False
        if not ok:
            abort(404)
        return serve_image_file(path, path.parent, require_image=True)

    @app.get("/healthz")
    def healthz():
        counts = catalog.counts()
        try:
            indexed = index.searcher().doc_count()
        except KbError as err:
            log.warning("healthz: %s", err)
            return jsonify({"status": "error", "error": NOT_READY, **counts}), 503
        return jsonify({"status": "ok", **counts, "indexed_slides": indexed})

    # ----------------------------------------------------------------- errors
    def error_response(code: int, title: str, message: str):
        if wants_json():
            return jsonify({"error": message, "status": code}), code
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if err.code == 404:
            own = err.description and err.description != NotFound.description
            return error_response(404, "Not found", err.description if own
                                  else "There is nothing at this address.")
        if err.code and err.code < 500:
            return error_response(err.code, err.name, err.name + ".")
        log.error("HTTP %s on %s", err.code, request.path)
        return error_response(err.code or 500, err.name, "Something went wrong on our side.")

    @app.errorhandler(KbError)
    def kb_error(err: KbError):
        log.warning("%s: %s", request.path, err)  # the detail (paths included) goes to the log
        return error_response(503, "Not available", NOT_READY)

    @app.errorhandler(Exception)
    def crash(err: Exception):
        log.exception("unhandled error on %s", request.path)
        return error_response(500, "Server error",
                              "Something went wrong on our side; it has been logged.")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.path.startswith("/api/") and not request.path.startswith(("/api/media/",
                                                                              "/api/asset/")):
            headers.setdefault("Cache-Control", "no-store")
        return response

    return app
