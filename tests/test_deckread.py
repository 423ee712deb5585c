"""A deck page renders only the slides it sends (kb.web.deckread): the others' titles, texts
and keys come from the index, and are exactly what rendering them would give."""

import hashlib
import time

import pytest

from kb.deck import read_deck, split_deck
from kb.index import reindex
from kb.render import ImageResolver, display_title
from kb.search import SlideIndex
from kb.settings import Settings
from kb.slidekeys import slide_key
from kb.web import create_app
from kb.web.deckread import read_view
from helpers import make_site, write
from test_presenter import CODE, COLUMNS, FRAGMENTS, MATH, NAMED, deck_text

DANISH = """---
title: Databaser
lang: da
---
# Tabeller

Bilerne står i tabellen, og hver række er en bil.

===

# Normalisering

Note: sig det langsomt
"""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("deckread")
    content = root / "content"
    ids = list(make_site(content).values())
    write(content, "show.md", deck_text("# Start\n\nWelcome", [MATH, CODE], COLUMNS, FRAGMENTS, NAMED))
    write(content, "vis.md", deck_text("# Start", '<!-- .slide: data-visibility="hidden" -->\n# Secret',
                                       ["# Stack", '<!-- .slide: data-visibility="hidden" -->\n# Gone', "# Kept"],
                                       "Setext title\n---\n\nbody text", "![](media/km-plot)"))
    write(content, "da.md", DANISH)
    write(content, "big.md", "\n\n===\n\n".join(f"# Slide {i}\n\nbigword w{i}" for i in range(300)))
    settings = Settings(content=content, index=root / "index")
    reindex(settings)
    return settings, ids + ["show", "vis", "da", "big"]


def rendered(settings, ident: str, stored: dict) -> list[dict]:
    """The deck's slides as rendering every one of them gives (kb.deck.read_deck), with the
    OCR text of their images from the index: what the page showed before it read the index."""
    deck, _ = read_deck(next(settings.content.glob(ident + ".md")), settings.content)
    out = []
    for slide in deck.slides:
        doc = stored.get(slide.anchor, {})
        ocr = doc.get("ocr") or ""
        out.append(dict(deck=deck.id, h=slide.h, v=slide.v, notes=slide.notes, text=slide.body,
                        ocr=ocr, image_only=slide.image_only, alt=slide.alt,
                        key=slide_key(slide.body, slide.alt, ocr),
                        title=display_title(slide.title or doc.get("title") or "", slide.image_only,
                                            from_ocr=not slide.title and bool(doc.get("title")))))
    return out


def test_the_index_holds_what_rendering_gives(indexed):
    """The oracle: for every deck, the slides read from the index equal the slides rendered
    (title, text, notes, OCR, alt, key), only without their HTML."""
    settings, ids = indexed
    app = create_app(settings)
    catalog, searcher = app.extensions["kb"]["catalog"], SlideIndex(settings).searcher()
    compared = 0
    for ident in ids:
        view = catalog.deck(ident)
        stored = {doc["anchor"]: doc for doc in searcher.documents(deck=ident)}
        for lazy, full in zip(view.slides, rendered(settings, ident, stored), strict=True):
            assert lazy.html is None
            assert {k: getattr(lazy, k) for k in full} == full, (ident, lazy.anchor)
            compared += 1
    assert compared >= 320 and catalog.renders == 0
    whole = catalog.deck("show").slides.whole(range(10))
    assert all(s.html and s.attrs == view_attrs for s, view_attrs in
               zip(whole.values(), (s.attrs for s in catalog.deck("show").slides)))


def test_a_deck_page_renders_only_the_slides_it_sends(indexed):
    settings, _ = indexed
    app = create_app(settings)
    client, catalog = app.test_client(), app.extensions["kb"]["catalog"]
    page = client.get("/decks/big").data.decode()
    assert catalog.renders == 40 and page.count('<span class="kb-anchor"') == 40
    assert page.count("<section") == 300 and "Slide 299" in page  # the list names them all

    piece = client.get("/api/decks/big?from=200").get_json()["slides"]
    assert [s["position"] for s in piece] == list(range(200, 240)) and "w210" in piece[10]["html"]
    assert catalog.renders == 80
    client.get("/api/decks/big?from=200")
    assert catalog.renders == 80  # rendered once

    whole = client.get("/api/decks/big").get_json()["slides"]
    assert len(whole) == 300 and whole[299]["title"] == "Slide 299" and whole[299]["text"]
    assert all(s["html"] for s in whole[:40]) and not any(s["html"] for s in whole[40:200])
    assert catalog.renders == 80


def test_a_big_deck_reads_in_pages_without_script(indexed):
    settings, _ = indexed
    client = create_app(settings).test_client()
    page = client.get("/decks/big?from=120&q=bigword").data.decode()
    assert 'id="/120"' in page and 'id="/159"' in page and 'id="/160"' not in page
    assert 'href="/decks/big?q=bigword&amp;from=80#/119" rel="prev"' in page  # the slide before
    assert 'href="/decks/big?q=bigword&amp;from=160#/160" rel="next"' in page
    assert 'href="#/130"' in page  # sent whole: the anchor scrolls to it
    assert 'href="/decks/big?q=bigword&amp;from=280#/299"' in page  # not sent: its page
    last = client.get("/decks/big?from=99999").data.decode()  # past the end: the last slide
    assert 'id="/299"' in last and 'rel="next"' not in last
    assert client.get("/decks/big?from=abc").status_code == 200


def test_an_edited_deck_is_rendered_until_it_is_indexed_again(tmp_path):
    content = tmp_path / "content"
    deck = write(content, "d.md", "\n\n===\n\n".join(f"# Old {i}\n\noldword" for i in range(100)))
    settings = Settings(content=content, index=tmp_path / "index")
    reindex(settings)
    app = create_app(settings)
    client, catalog = app.test_client(), app.extensions["kb"]["catalog"]
    assert client.get("/api/decks/d").get_json()["slides"][99]["title"] == "Old 99"
    assert catalog.renders == 40

    deck.write_text(deck.read_text().replace("# Old 99", "# New 99"))
    slides = client.get("/api/decks/d").get_json()["slides"]
    assert slides[99]["title"] == "New 99"  # the file, not the index
    # every slide the JSON lists is rendered, and the first once more for the deck's title
    assert catalog.renders == 40 + 100 + 1

    reindex(settings)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the app opens the new generation in the background
        before = catalog.renders
        slides = client.get("/api/decks/d").get_json()["slides"]
        if catalog.renders == before + 40:  # the window only: the rest from the index
            break
        time.sleep(0.1)
    assert slides[99]["title"] == "New 99" and catalog.renders == before + 40


def test_without_an_index_a_deck_is_rendered_whole(tmp_path):
    content = tmp_path / "content"
    path = write(content, "d.md", "# A\n\n===\n\n# B")
    source, problems = split_deck(path, content)
    view = read_view(source, "0" * 64, SlideIndex(Settings(content=content, index=tmp_path / "none")),
                     ImageResolver(content, content), problems)
    assert [s.title for s in view.slides] == ["A", "B"] and view.info.title == "A"
    assert all(s.html for s in view.slides.whole(range(2)).values())
