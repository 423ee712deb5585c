"""The web app in a real headless Chromium against `kb serve` (gunicorn) on loopback:
deep links land on the slide with the words marked, the hash and the arrow keys move,
search-as-you-type opens a hit with Enter, and no payload in a deck ever runs."""

import re

import pytest

from kb.index import reindex
from kb.settings import Settings
from helpers import PHONE, chromium, serve_kb, make_site, write

pytestmark = pytest.mark.browser
COHORTS = "/decks/courses/EPI101/week02-cohorts"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    make_site(root / "content")
    # twelve hits for "banana": two pages of results
    write(root / "content", "fruit.md", "\n\n===\n\n".join(f"# Fruit {i}\n\nbanana" for i in range(12)))
    write(root / "content", "db/normalization.md", "---\ntitle: Normalization\n---\n# Normalization\n\n"
          "Each fact stored once.\n\n===\n\n# Normal forms\n\nFirst, second and third normal form."
          "\n\n===\n\n# Denormalizing\n\nCopies on purpose, for reports.\n")
    settings = Settings(content=root / "content", index=root / "index")
    reindex(settings)
    with serve_kb(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser, base):
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.dialogs, tab.errors = [], []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda err: tab.errors.append(str(err)))
    tab.on("console", lambda msg: msg.type == "error" and tab.errors.append(msg.text))
    tab.set_default_timeout(5000)
    yield tab
    context.close()


def current(page) -> str:
    """The anchor of the slide reveal.js shows."""
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    return page.evaluate("Reveal.getCurrentSlide().querySelector('.kb-anchor').id.slice(1)")


def visible_anchors(page) -> list[str]:
    return page.eval_on_selector_all(
        "section[data-kb]", "els => els.filter(e => e.offsetParent !== null)"
                            ".map(e => e.querySelector('.kb-anchor').id.slice(1))")


def test_deep_link_shows_the_slide_with_the_words_marked(page):
    page.goto(COHORTS + "?q=annotations#/2/1")
    assert current(page) == "2/1"
    assert visible_anchors(page) == ["2/1"]  # reveal.js shows one slide
    marks = page.evaluate("[...Reveal.getCurrentSlide().querySelectorAll('mark')].map(m => m.textContent)")
    assert "Annotations" in marks and "Annotated" in marks
    # notes are not on the slide (reveal.js keeps aside.notes for the speaker view)
    assert page.locator("section.present aside.notes").count() == 0 or \
        not page.locator("section.present aside.notes").first.is_visible()
    # clearing removes the marks and the query, and stays on the slide
    page.click("#kb-clear")
    page.wait_for_url(re.compile(r".*week02-cohorts#/2/1$"))
    assert current(page) == "2/1"
    assert page.locator("mark.kb-hl").count() == 0
    assert page.errors == []


def test_hash_changes_and_arrow_keys_move_like_reveal(page):
    page.goto(COHORTS + "#/0")
    assert current(page) == "0"
    page.evaluate("location.hash = '#/1'")
    page.wait_for_function("() => Reveal.getIndices().h === 1")
    steps = [("ArrowRight", "2"), ("ArrowDown", "2/1"), ("ArrowDown", "2/2"), ("ArrowDown", "2/2"),
             ("ArrowUp", "2/1"), ("ArrowLeft", "1"), ("ArrowLeft", "0"), ("ArrowDown", "0/1"),
             ("ArrowRight", "1")]
    for key, anchor in steps:
        page.keyboard.press(key)
        assert current(page) == anchor, key
    page.wait_for_function("() => location.hash === '#/1'")
    page.evaluate("location.hash = '#/2'")  # `#/h` means v = 0
    page.wait_for_function("() => Reveal.getIndices().h === 2 && Reveal.getIndices().v === 0")
    assert page.errors == []


def test_search_as_you_type_then_enter_opens_the_deep_link(page):
    page.goto("/")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("annotations", delay=20)
    page.wait_for_selector("#hits .hit")
    assert page.url.endswith("/search?q=annotations")  # typed, not submitted
    assert page.locator("#hits .hit mark").count() >= 1
    assert page.locator("#home").is_hidden()
    page.keyboard.press("ArrowDown")
    assert page.locator("#hits .hit-link.active").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/decks/courses/EPI101/week02-cohorts\?q=annotations&s=[0-9a-f]{8}#/2/1$"))
    assert current(page) == "2/1"
    assert page.locator("section.present mark").count() >= 1
    assert page.errors == []


def test_live_results_are_the_server_rendered_fragment(page, base):
    asked = []
    page.on("request", lambda request: asked.append(request.url[len(base):]))
    page.goto("/search")
    page.fill("#q", "banana")
    page.wait_for_selector("#hits .hit")
    live = page.inner_html("#results")
    assert "/search/results?q=banana" in asked and not any("/api/" in url for url in asked)
    page.goto("/search?q=banana")
    assert squeeze(page.inner_html("#results")) == squeeze(live)  # one rendering, not two


def squeeze(html: str) -> str:
    return re.sub(r">\s+<", "><", " ".join(html.split()))


def test_live_results_page_facets_and_did_you_mean_work(page):
    page.goto("/search")
    page.fill("#q", "banana")
    page.wait_for_selector("#hits .hit")
    assert "Page 1 of 2" in page.inner_text(".pager")
    page.click('.pager a[rel="next"]')
    page.wait_for_url(re.compile(r".*/search\?q=banana&page=2$"))
    assert page.locator("#hits .hit").count() == 2
    page.fill("#q", "censoring OR regression")
    page.wait_for_selector('#facets a:has-text("STA202")')
    page.click('#facets a:has-text("STA202")')
    page.wait_for_url(re.compile(r".*tag=STA202"))
    assert "Course STA202" in page.inner_text(".chips")
    # The course filter stays while typing; a suggestion is offered only when it finds
    # more in that course ("squarez" → squares, on the STA202 deck).
    page.fill("#q", "least squarez")
    page.wait_for_selector(".suggestion a")
    assert "q=least+squares" in page.get_attribute(".suggestion a", "href")
    assert "Course STA202" in page.inner_text(".chips")
    page.goto("/")
    page.fill("#q", "banana")
    page.wait_for_selector("#hits .hit")
    page.fill("#q", "")  # an empty box brings the home part back
    page.wait_for_selector("#results", state="hidden")
    assert page.locator("#home").is_visible()
    assert page.evaluate("location.pathname + location.search") == "/search"
    assert page.errors == []


def test_slide_list_and_next_match(page):
    page.goto(COHORTS + "?q=censoring#/0")
    page.click('.kb-toc a[href="#/2/2"]')
    page.wait_for_function("() => location.hash === '#/2/2'")
    assert current(page) == "2/2"
    assert "1 hit of censoring on this deck" in page.inner_text("#kb-match-status")  # as the results counted
    page.click("#kb-next-match")  # censoring is on 1: wraps around to it
    page.wait_for_function("() => Reveal.getIndices().h === 1")
    assert current(page) == "1" and page.locator("section.present mark").count() >= 1
    assert page.errors == []


def test_image_text_hits_show_a_thumbnail_while_typing(page):
    page.goto("/search")
    page.fill("#q", "kaplan")
    page.wait_for_selector("#hits .hit img.thumb")
    assert "text found in image" in page.inner_text("#hits").lower()
    page.wait_for_function("() => document.querySelector('#hits img.thumb').complete")  # loaded
    assert page.eval_on_selector("#hits img.thumb", "img => img.naturalWidth") > 0


def test_without_javascript_every_page_still_works(browser, base):
    context = browser.new_context(base_url=base, java_script_enabled=False)
    page = context.new_page()
    page.goto("/search?q=censoring")
    assert page.locator("#hits .hit").count() >= 1
    page.goto(COHORTS + "#/2/1")
    assert len(visible_anchors(page)) == 6  # the whole deck, scrolled to the slide
    assert page.evaluate("document.querySelector(':target').id") == "/2/1"
    assert page.evaluate("document.getElementById('/2/1').getBoundingClientRect().top") < 800
    context.close()


def test_no_deck_payload_ever_runs(page):
    urls = ["/decks/evil", "/decks/evil#/0", "/decks/", "/", "/search?q=payload",
            "/search?q=heading+payload", "/decks/evil?q=%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D20%3E",
            "/search?q=%22%3E%3Cscript%3Ewindow.__pwned%3D21%3C/script%3E&tag=%3Cscript%3Ewindow.__pwned%3D22%3C/script%3E",
            "/api/media/diagram.svg"]
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__pwned") is None, url
    page.goto("/decks/evil")
    for link in page.locator(".slides a").all():
        link.click(modifiers=[], no_wait_after=True, timeout=1000)
        assert page.evaluate("window.__pwned") is None
        page.goto("/decks/evil")
    page.goto("/search")
    page.fill("#q", "payload")
    page.wait_for_selector("#hits .hit")
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []


def test_copy_link_copies_the_deep_link(browser, base):
    context = browser.new_context(base_url=base, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(COHORTS + "#/2/1")
    assert current(page) == "2/1"
    page.click("#kb-copy-link")
    page.wait_for_function("() => document.getElementById('kb-copied').textContent.length > 0")
    # ?s=: the address bar carries the key of the slide on screen (deck-links.js)
    assert re.fullmatch(re.escape(base + COHORTS) + r"\?s=[0-9a-f]{8}#/2/1",
                        page.evaluate("navigator.clipboard.readText()"))
    context.close()


def test_phone_width_has_no_sideways_scrolling(browser, base):
    context = browser.new_context(base_url=base, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    for url in ("/", "/search?q=censoring", COHORTS + "?q=hazard#/0/1", "/decks/", "/decks/evil"):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (url, width)
    context.close()


def test_typing_a_word_never_falls_back_to_no_match(page):
    """Letter by letter, each prefix's results settle before the next letter; once a prefix
    matches, no later state says "No slide matches" or offers another word (issue 12)."""
    page.goto("/")
    box = page.locator("#q")
    box.click()
    word, states = "normalization", []
    for n in range(1, len(word) + 1):
        page.keyboard.type(word[n - 1])
        page.wait_for_function(
            "q => new URLSearchParams(location.search).get('q') === q"
            " && !document.getElementById('results').hasAttribute('aria-busy')", arg=word[:n])
        states.append((word[:n], page.inner_text("#summary"),
                       page.locator("#hits .hit").count(), page.locator(".suggestion").count()))
    first = next(i for i, (_, _, hits, _) in enumerate(states) if hits)
    assert first <= 2, states  # "no" already finds normalization
    for prefix, summary, hits, suggestions in states[first:]:
        assert hits and "No slide matches" not in summary and not suggestions, (prefix, summary)
    assert page.locator("#hits .hit mark").first.inner_text().lower().startswith("normal")
    assert page.errors == []
