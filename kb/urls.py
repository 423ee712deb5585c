"""Every URL kb hands out, built in one place (docs/web.md): Python code, templates (as Jinja
globals) and, through the links and `data-*` attributes the server renders, kb.js.

Plain functions of plain values: no Flask, so the CLI and the search library use them too.
"""

from urllib.parse import quote, urlencode

MEDIA_PREFIX = "/api/media/"
ASSET_PREFIX = "/api/asset/"


def with_query(path: str, params) -> str:
    """`path?a=1&b=2`, leaving out empty values; `params` is a dict or (key, value) pairs."""
    pairs = params.items() if isinstance(params, dict) else params
    kept = [(k, v) for k, v in pairs if v not in (None, "")]
    return path + ("?" + urlencode(kept) if kept else "")


def home_url() -> str:
    return "/"


def deck_url(deck: str, query: str | None = None, key: str | None = None,
             start: int | None = None) -> str:
    """The page of a whole deck, optionally with the words of `query` marked (and `?s=`,
    the key of the slide a link is for: kb.slidekeys; `?from=`, the first slide a big
    deck's page sends whole)."""
    return with_query("/decks/" + quote(deck, safe="/"),
                      {"q": query, "s": key, "from": str(start) if start else None})


def slide_url(deck: str, anchor: str | int = 0, query: str | None = None,
              key: str | None = None, start: int | None = None) -> str:
    """The deep link of a slide: reveal.js's own hash, `/decks/<id>?q=…&s=<key>#/h` or
    `#/h/v`; the key lets the deck page find the slide after the deck was edited."""
    return f"{deck_url(deck, query, key, start)}#/{anchor}"


def decks_url(tag: str | None = None) -> str:
    """The list of decks, optionally only those with one tag."""
    return with_query("/decks/", {"tag": tag})


def search_url(q: str = "", tags=(), deck: str | None = None, year: str | None = None,
               page: int = 1, fragment: bool = False) -> str:
    """The search page; `fragment=True` gives only its results part (what kb.js swaps in)."""
    params = [("q", q)] + [("tag", t) for t in tags]
    params += [("deck", deck), ("year", year), ("page", str(page) if page > 1 else None)]
    return with_query("/search/results" if fragment else "/search", params)


def media_url(media_id: str) -> str:
    """A file of the content's `media/` folder."""
    return MEDIA_PREFIX + quote(media_id)


def asset_url(rel: str) -> str:
    """An image a deck links by a path inside the content folder (`/`-separated)."""
    return ASSET_PREFIX + quote(rel)


def static_url(name: str, version: int = 0) -> str:
    """A file of kb/static, with a version that changes when the file does (cache busting)."""
    return with_query("/static/" + quote(name), {"v": str(version)})
