"""Links that survive edits (kb.slidekeys): a deck edited between two reindexes — a slide
inserted before, the slide edited, the slide deleted — and the links kb gave out before
still find their slide, over HTTP and in a real Chromium."""

import json
import re
import urllib.request
from urllib.parse import urlsplit

import pytest

from kb.index import reindex
from kb.slidekeys import clean_key, key_of, slide_key
from kb.urls import slide_url
from helpers import chromium, serve_kb, write

DECK = """\
---
title: Survival analysis
---

# Survival analysis

Time to event data.

===

# Censoring

A participant leaves the study before the event: we know only that the event had not
happened by then. Censored participants still count while they are followed.

===

# Hazard ratios

The hazard ratio compares the instantaneous risk in two groups.
"""

INTRO = "# Why survival?\n\nProportions ignore when events happen.\n\n===\n\n"


def get_json(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path) as response:
        return json.load(response)


def censoring_link(base: str) -> str:
    """The link a search gives out for the Censoring slide (the result link, words marked)."""
    hits = get_json(base, "/api/search?q=censored+participants")["hits"]
    assert hits and hits[0]["title"] == "Censoring"
    assert key_of(hits[0]["url"]) == key_of(hits[0]["link"])  # CLI/JSON url and page link
    return hits[0]["link"]


def test_keys_are_short_stable_and_malformed_ones_are_ignored():
    key = slide_key("Censoring\nA participant leaves", "", "")
    assert re.fullmatch(r"[0-9a-f]{8}", key)
    assert slide_key("Censoring\nA  participant leaves", "", "") == key  # spacing, case
    assert slide_key("Censoring\nA participant left", "", "") != key
    for bad in ("", "xyz", "12345678z", "<script>", "1234567", "123456789", None):
        assert clean_key(bad) is None
    assert clean_key(" 3FA2C1D0 ") == "3fa2c1d0"
    url = slide_url("a/b", "2/1", "x y", key=key)
    assert url == f"/decks/a/b?q=x+y&s={key}#/2/1" and key_of(url) == key
    assert slide_url("a/b", 3) == "/decks/a/b#/3"  # no key: as before


@pytest.fixture
def site(settings, content):
    write(content, "epi/survival.md", DECK)
    reindex(settings)
    with serve_kb(settings) as base:
        yield base


def test_an_edited_deck_keeps_old_links_working(site, settings, content):
    link = censoring_link(site)
    key = key_of(link)
    assert key and link.endswith("#/1")
    path = urlsplit(link).path + "?" + urlsplit(link).query
    page = get_json(site, path.replace("/decks/", "/api/decks/", 1))
    assert page["moved"]["matches"] == ["1"]  # nothing changed: the slide at #/1
    assert [s["key"] for s in page["slides"]][1] == key
    assert key_of(page["slides"][1]["url"]) == key  # copy-link carries the key too

    deck = content / "epi/survival.md"
    text = deck.read_text()
    deck.write_text(text.replace("# Survival analysis", INTRO + "# Survival analysis"))
    reindex(settings)
    moved = get_json(site, f"/api/decks/epi/survival?s={key}")["moved"]
    assert moved["matches"] == ["2"] and not moved["gone"]

    deck.write_text(deck.read_text().replace("still count while", "still count for as long as"))
    reindex(settings)
    moved = get_json(site, f"/api/decks/epi/survival?s={key}")["moved"]
    assert moved["matches"] == [] and moved["target"] == "2" and moved["similarity"] >= 0.5
    assert moved["was"] == "2"

    deck.write_text(re.sub(r"# Censoring.*?===\n\n", "", deck.read_text(), flags=re.S))
    reindex(settings)
    moved = get_json(site, f"/api/decks/epi/survival?s={key}")["moved"]
    assert moved["gone"] and moved["target"] is None, moved
    assert moved["closest"] and len(moved["closest"]) <= 3
    assert all(key_of(c["url"]) for c in moved["closest"])

    # A malformed key, or one kb never gave out: the page as without a key.
    for bad in ("nothex!!", "%3Cscript%3E", "0123456789abcdef", "00000000"):
        assert get_json(site, f"/api/decks/epi/survival?s={bad}")["moved"] is None
        with urllib.request.urlopen(f"{site}/decks/epi/survival?s={bad}") as response:
            assert response.status == 200 and b'id="slide-moved"' not in response.read()


def notice(tab) -> str:
    box = tab.locator("#slide-moved")
    box.wait_for(state="visible")
    return " ".join(box.inner_text().split())


def test_in_chromium_the_page_moves_to_the_slide_and_says_so(site, settings, content):
    link = censoring_link(site)  # /decks/epi/survival?s=…#/1, made before the edits
    deck = content / "epi/survival.md"
    deck.write_text(deck.read_text().replace("# Survival analysis", INTRO + "# Survival analysis"))
    reindex(settings)
    with chromium() as browser:
        tab = browser.new_page()
        errors = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(site + link)
        assert notice(tab) == "This slide moved from 1 to 2 since the link was made."
        tab.wait_for_function("() => location.hash === '#/2'")
        tab.get_by_role("heading", name="Censoring", exact=True).wait_for(state="visible")
        key = key_of(link)
        assert tab.evaluate("new URLSearchParams(location.search).get('s')") == key
        # Moving on, the address bar's ?s= follows the slide on screen (copy link copies it).
        slides = get_json(site, "/api/decks/epi/survival")["slides"]
        tab.evaluate("location.hash = '#/0'")
        tab.wait_for_function(f"() => new URLSearchParams(location.search).get('s') === '{slides[0]['key']}'")
        assert "q=censored+participants" in tab.url and tab.url.endswith("#/0")

        tab.goto("about:blank")  # a new page load each time, not a hash change
        tab.goto(site + link.replace("#/1", "#/2"))  # already at its slide: nothing to say
        tab.wait_for_load_state("load")
        assert tab.locator("#slide-moved").is_hidden()

        deck.write_text(deck.read_text().replace("still count while", "still count for as long as"))
        reindex(settings)
        tab.goto("about:blank")
        tab.goto(site + link)
        assert notice(tab) == ("This slide moved from 1 to 2 and has changed since the link "
                               "was made.")
        tab.wait_for_function("() => location.hash === '#/2'")

        deck.write_text(re.sub(r"# Censoring.*?===\n\n", "", deck.read_text(), flags=re.S))
        reindex(settings)
        tab.goto("about:blank")
        tab.goto(site + link)
        text = notice(tab)
        assert text.startswith("The slide this link was made for is no longer in this deck. "
                               "The closest slides now:")
        assert tab.locator("#slide-moved .closest a").count() >= 1
        assert tab.evaluate("location.hash") == "#/1"  # not moved anywhere

        tab.goto(site + "/decks/epi/survival?s=nothex!!#/1")  # malformed: as without a key
        tab.wait_for_load_state("load")
        assert tab.locator("#slide-moved").count() == 0
        assert errors == []


def test_a_key_store_that_cannot_be_written_never_stops_a_reindex(settings, content):
    write(content, "epi/survival.md", DECK)
    (settings.index / "slidekeys.sqlite3").mkdir(parents=True)  # not a database file
    report = reindex(settings)
    assert report.slides == 3 and report.added == 1
    with serve_kb(settings) as base:
        link = censoring_link(base)
        moved = get_json(base, link.split("#")[0].replace("/decks/", "/api/decks/", 1))["moved"]
        assert moved["matches"] == ["1"]  # the same key needs no store
        deck = content / "epi/survival.md"
        deck.write_text(deck.read_text().replace("still count while", "still count for as long as"))
        reindex(settings)
        # Its old words were never kept: the link works as one without a key.
        assert get_json(base, link.split("#")[0].replace("/decks/", "/api/decks/", 1))["moved"] is None
