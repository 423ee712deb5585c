"""The web app (docs/web.md), in the shape of Flask's tutorial: `create_app(settings)` builds the
app from its Settings and registers one blueprint per area.

- `search_views`: `/`, `/search`, its results fragment and `/api/search`; `/healthz`
- `deck_views`: `/decks/`, `/decks/<id>` and their `/api/decks…` twins
- `media_views`: `/api/media/<id>`, `/api/asset/<path>`
- `errors`: error pages (HTML or JSON) and the security headers of every response
- `pages`: one context per page, rendered as HTML or as its JSON twin
- `catalog`: finds and caches the decks served; `models`: what deck pages show;
  `forms`: the search a page shows

One `SlideIndex` per app keeps Whoosh searchers open across requests (they refresh when a
reindex commits). URLs come from `kb.urls`, also inside templates (Jinja globals).
"""

from datetime import date

from flask import Flask

from kb import urls
from kb.resources import static_dir, templates_dir
from kb.search import SlideIndex
from kb.searchlog import NoSearchLog
from kb.settings import Settings
from kb.web import deck_views, errors, media_views, search_views
from kb.related import RelatedSlides
from kb.web.catalog import Catalog

TEMPLATES = templates_dir()  # in a checkout or inside the wheel: kb/resources.py
STATIC = static_dir()


def create_app(settings: Settings, search_log=None) -> Flask:
    """The kb web app serving `settings.content` and the index at `settings.index`;
    searches go to `search_log` (a kb.searchlog.SearchLog; none by default)."""
    app = Flask("kb", template_folder=str(TEMPLATES), static_folder=str(STATIC),
                static_url_path="/static")
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    index = SlideIndex(settings)
    index.warm()
    app.extensions["kb"] = {"settings": settings, "index": index,
                            "catalog": Catalog(settings, index), "related": RelatedSlides(index, max_slides=deck_views.WINDOW),
                            "search_log": search_log or NoSearchLog()}
    app.jinja_env.globals.update(
        static_url=static_url, home_url=urls.home_url, search_url=urls.search_url,
        decks_url=urls.decks_url, deck_url=urls.deck_url, slide_url=urls.slide_url,
        media_url=urls.media_url, asset_url=urls.asset_url)
    app.jinja_env.filters["nicedate"] = nice_date
    for blueprint in (search_views.bp, deck_views.bp, media_views.bp, errors.bp):
        app.register_blueprint(blueprint)
    return app


def static_url(name: str) -> str:
    """A static file's URL, versioned by its mtime so browsers refetch it when it changes."""
    try:
        version = int((STATIC / name).stat().st_mtime)
    except OSError:
        version = 0
    return urls.static_url(name, version)


def nice_date(when) -> str:
    """`3 Mar 2019` from a date, a datetime or an ISO date string (as JSON documents hold)."""
    if isinstance(when, str):
        try:
            when = date.fromisoformat(when[:10])
        except ValueError:
            return when
    return f"{when.day} {when:%b %Y}" if when else ""
