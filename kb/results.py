"""A search result as the JSON document that `kb search --json` and `/api/search` both give
(docs/search.md, docs/web.md): the result's fields, the filters asked for, and per hit what a reader clicks —
its deep link (with the words to mark), its display title and its thumbnail."""

from kb.media import SAFE_MEDIA_ID, servable_asset
from kb.render import display_title
from kb.search import Hit, SearchResult
from kb.settings import Settings
from kb.slidekeys import key_of
from kb.urls import asset_url, media_url, slide_url


def thumbnail(image: str | None, settings: Settings) -> str | None:
    """The URL of a hit's image (a media id or a content path, as the index stores it), if
    kb can serve it."""
    if not image:
        return None
    if SAFE_MEDIA_ID.match(image) and (settings.media / image).is_file():
        return media_url(image)
    try:
        rel = servable_asset((settings.content / image).resolve(), settings.content.resolve())
    except (OSError, ValueError, RuntimeError):
        return None
    return asset_url(rel) if rel else None


def hit_links(hit: Hit, query: str, settings: Settings) -> dict:
    """What a hit adds for a reader: link, display title, thumbnail (image hits only)."""
    show_thumb = hit.image_only or hit.snippet_field == "ocr"
    return {"link": slide_url(hit.deck, hit.anchor, query.strip() or None, key_of(hit.url)),
            "display_title": display_title(hit.title, hit.image_only),
            "thumbnail": thumbnail(hit.image, settings) if show_thumb else None}


def search_document(result: SearchResult, settings: Settings, query: str | None = None,
                    year: str | None = None) -> dict:
    """The JSON document of a search. `query` is the words as typed (default: what was
    searched); `year` the year filter, when it was given apart from the words."""
    query = result.query if query is None else query
    data = result.as_dict()
    data["query"] = query
    data["filters"] = {"tags": list(result.tags), "deck": result.deck, "year": year}
    for hit, out in zip(result.hits, data["hits"]):
        out.update(hit_links(hit, query, settings))
    return data
