"""The deck page is reveal.js (real reveal.js from kb/static/vendor, real Chromium): deep links,
fragments, speaker view, math, code, layouts; big decks in pieces; and kb's slide split is
reveal.js's own (reveal.js's markdown plugin splits the same decks in a test page)."""

import re
from pathlib import Path

import pytest

from kb.deck import read_deck
from kb.index import reindex
from kb.settings import Settings
from helpers import chromium, serve_kb, write

VENDOR = Path(__file__).resolve().parent.parent / "kb" / "static" / "vendor" / "reveal"

MATH = r"""# Vegetation

Simple calculation:

$${\mbox{NDVI}}={\frac{({\mbox{NIR}}-{\mbox{RED}})}{({\mbox{NIR}}+{\mbox{RED}})}}$$

and inline $x^2$."""

CODE = """# Code

```python [2]
def area(r):
    return 3.14 * r * r
```"""

COLUMNS = """# Two columns

<div class='container'>
<div class='col1'>

- left one
- left two

</div>
<div class='col2'>

Right side text

</div>
</div>"""

FRAGMENTS = """# Steps

- first <!-- .element: class="fragment" -->
- second <!-- .element: class="fragment" -->
- third <!-- .element: class="fragment" -->

Note: say the steps slowly"""

NAMED = """<!-- .slide: id="summary" data-background="#003d73" -->
# Summary

Key points:
- one
- two"""


def deck_text(*slides: str) -> str:
    """A deck of horizontal slides; a list in `slides` is a vertical stack."""
    parts = []
    for slide in slides:
        parts.append("\n\n--\n\n".join(slide) if isinstance(slide, list) else slide)
    return "---\ntitle: Presenter\n---\n" + "\n\n===\n\n".join(parts) + "\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("presenter")
    content = root / "content"
    write(content, "show.md", deck_text("# Start\n\nWelcome", [MATH, CODE], COLUMNS, FRAGMENTS, NAMED))
    write(content, "steps.md", deck_text("```js [1|2-3|4]\nlet a = 1;\nlet b = 2;\nlet c = 3;\n"
                                         "console.log(a + b + c);\n```", "# Next"))
    write(content, "vis.md", deck_text("# Start", '<!-- .slide: data-visibility="hidden" -->\n# Secret\n\nhiddenword',
                                       '<!-- .slide: data-visibility="uncounted" -->\n# Extra',
                                       ["# Stack", '<!-- .slide: data-visibility="hidden" -->\n# Gone', "# Kept"],
                                       ['<!-- .slide: data-visibility="hidden" -->\n# All gone'],
                                       "# After\n\nafterword"))
    write(content, "big.md", "\n\n===\n\n".join(f"# Slide {i}\n\nbigword w{i}" for i in range(3000))
          + '\n\n===\n\n<!-- .slide: id="the-end" -->\n# The end\n\n--\n\n# Below the end')
    write(content, "mid.md", "\n\n===\n\n".join(f"# Slide {i}\n\nmidword w{i}" for i in range(300)))
    settings = Settings(content=content, index=root / "index")
    reindex(settings)
    with serve_kb(settings) as base, chromium() as browser:
        yield {"base": base, "browser": browser, "settings": settings, "root": root}


def open_page(site, path, width=1280, height=800, **options):
    context = site["browser"].new_context(base_url=site["base"], viewport={"width": width, "height": height},
                                          **options)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.set_default_timeout(8000)
    page.goto(path)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    return page


def indices(page) -> dict:
    return page.evaluate("Reveal.getIndices()")


def test_deep_link_opens_the_slide_with_the_query_words_marked(site):
    page = open_page(site, "/decks/show?q=ndvi#/1")
    assert indices(page)["h"] == 1 and indices(page)["v"] == 0
    marks = page.evaluate("[...Reveal.getCurrentSlide().querySelectorAll('mark.kb-hl')].map(m => m.textContent)")
    assert marks == ["NDVI"]
    number = page.evaluate("document.querySelector('.slide-number').textContent")
    assert re.sub(r"\s+", "", number) == "2/1"  # reveal.js's h/v numbering (from 1)
    assert "1 hit of ndvi on this deck" in page.inner_text("#kb-match-status")  # the results' count
    assert page.errors == []
    page.context.close()


def test_math_and_code_render(site):
    page = open_page(site, "/decks/show#/1")
    box = page.eval_on_selector("section.present math[display=block]", "m => m.getBoundingClientRect().toJSON()")
    assert box["width"] > 100 and box["height"] > 30  # MathML laid out, a fraction is tall
    assert "\\frac" not in page.inner_text("section.present") and "$$" not in page.inner_text("section.present")
    page.keyboard.press("ArrowDown")
    assert indices(page)["v"] == 1
    keyword = page.eval_on_selector("section.present pre.code .k", "e => getComputedStyle(e).color")
    name = page.eval_on_selector("section.present pre.code .nf", "e => getComputedStyle(e).color")
    assert keyword != name  # Pygments colours are applied
    lines = page.eval_on_selector_all("section.present pre.code .line",
                                      "ls => ls.map(l => [l.classList.contains('hl'), getComputedStyle(l).opacity])")
    assert lines == [[False, "0.35"], [True, "1"]]  # [2]: line 2 highlighted, the others dimmed
    assert page.errors == []
    page.context.close()


def test_two_column_slide_shows_two_columns(site):
    page = open_page(site, "/decks/show#/2")
    left = page.eval_on_selector("section.present .col1", "e => e.getBoundingClientRect().toJSON()")
    right = page.eval_on_selector("section.present .col2", "e => e.getBoundingClientRect().toJSON()")
    assert right["left"] >= left["right"] - 1 and abs(right["top"] - left["top"]) < 5
    assert right["width"] > left["width"] * 1.5  # col2 is twice col1
    page.context.close()


def test_fragments_reveal_step_by_step_and_hash_opens_a_fragment(site):
    page = open_page(site, "/decks/show#/3")
    visible = "document.querySelectorAll('section.present .fragment.visible').length"
    assert page.evaluate(visible) == 0
    page.keyboard.press("ArrowRight")
    assert page.evaluate(visible) == 1
    page.keyboard.press("ArrowRight")
    assert page.evaluate(visible) == 2 and indices(page)["h"] == 3
    page.context.close()
    page = open_page(site, "/decks/show#/3/0/1")  # reveal.js's own fragment hash
    assert indices(page) == {"h": 3, "v": 0, "f": 1}
    assert page.evaluate(visible) == 2
    page.context.close()


def test_named_slide_and_its_own_attributes(site):
    page = open_page(site, "/decks/show#/summary")
    assert indices(page)["h"] == 4
    colours = page.evaluate("[...document.querySelectorAll('.slide-background.present, "
                            ".slide-background.present .slide-background-content')]"
                            ".map(e => getComputedStyle(e).backgroundColor)")
    assert "rgb(0, 61, 115)" in colours  # <!-- .slide: data-background=… --> applied
    assert page.locator("section.present li").count() == 2  # a list right after a line of text
    page.context.close()


def test_code_highlight_steps_step_with_the_arrow_key(site):
    page = open_page(site, "/decks/steps#/0")
    shown = """() => { const cs = [...document.querySelectorAll('section.present pre.code > code')];
        const top = cs.filter(c => !c.classList.contains('fragment') || c.classList.contains('visible')).pop();
        return [...top.querySelectorAll('.line.hl .ln')].map(l => Number(l.textContent)); }"""
    assert page.evaluate(shown) == [1]
    page.keyboard.press("ArrowRight")
    assert page.evaluate(shown) == [2, 3] and indices(page)["h"] == 0
    page.keyboard.press("ArrowRight")
    assert page.evaluate(shown) == [4] and indices(page)["h"] == 0
    page.keyboard.press("ArrowRight")
    assert indices(page)["h"] == 1  # past the last step: the next slide
    assert page.errors == []
    page.context.close()


def test_hidden_slides_are_gone_and_anchors_are_reveal_js_own(site):
    deck, _ = read_deck(site["settings"].content / "vis.md", site["settings"].content)
    page = open_page(site, "/decks/vis")
    theirs = page.evaluate("[...document.querySelectorAll('.slides section:not(.stack)')].map(s => {"
                           "const i = Reveal.getIndices(s); return i.v ? i.h + '/' + i.v : String(i.h); })")
    assert [s.anchor for s in deck.slides] == theirs == ["0", "1", "2", "2/1", "3"]
    assert [s.heading for s in deck.slides] == ["Start", "Extra", "Stack", "Kept", "After"]
    toc = page.eval_on_selector_all(".kb-toc li .anchor", "as => as.map(a => a.textContent)")
    assert toc == theirs
    page.context.close()
    page = open_page(site, "/decks/vis#/3")  # reveal.js numbers "After" 3 (hidden ones removed)
    assert "afterword" in page.inner_text("section.present")
    page.context.close()
    import urllib.request
    with urllib.request.urlopen(site["base"] + "/search?q=afterword") as response:
        links = re.findall(r'href="(/decks/vis[^"]*)"', response.read().decode())
    assert links and all(link.endswith("#/3") for link in links if "#" in link)
    with urllib.request.urlopen(site["base"] + "/search?q=hiddenword") as response:
        assert not re.search(r'href="/decks/vis[^"]*#/', response.read().decode())  # not searchable


def test_speaker_view_opens_with_the_notes(site):
    page = open_page(site, "/decks/show#/3")
    with page.expect_popup() as popup_info:
        page.keyboard.press("s")
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url.endswith("speaker-view.html") or "speaker-view.html?" in popup.url
    popup.wait_for_function("() => document.querySelector('.speaker-controls-notes .value') && "
                            "document.querySelector('.speaker-controls-notes .value').textContent.includes('steps slowly')")
    popup.wait_for_selector("#current-slide iframe")
    assert page.errors == []
    page.context.close()


def test_phone_shows_the_slide_on_the_first_screen(site):
    page = open_page(site, "/decks/show?q=ndvi#/1", width=390, height=844, is_mobile=True, has_touch=True)
    box = page.eval_on_selector(".kb-slides", "e => e.getBoundingClientRect().toJSON()")
    assert box["top"] >= 0 and box["bottom"] <= 844 and box["width"] > 350
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.context.close()


def test_on_a_phone_the_slide_list_brings_its_slide_into_view(site):
    page = open_page(site, "/decks/mid#/0", width=390, height=844, is_mobile=True, has_touch=True)
    link = page.locator('.kb-toc a[data-anchor="30"]')
    link.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, document.querySelector('.kb-toc').getBoundingClientRect().top + scrollY)")
    assert page.eval_on_selector(".kb-slides", "e => e.getBoundingClientRect().top") < -200  # mostly off-screen
    link.tap()
    page.wait_for_function("() => Reveal.getIndices().h === 30")
    box = page.eval_on_selector(".kb-slides", "e => e.getBoundingClientRect().toJSON()")
    assert box["top"] >= 0 and box["bottom"] <= 844 and "w30" in page.evaluate("Reveal.getCurrentSlide().textContent")
    page.context.close()


def test_a_deck_sends_40_slides_whole_and_the_page_fetches_the_others(site):
    import urllib.request
    with urllib.request.urlopen(site["base"] + "/decks/mid") as response:
        html = response.read().decode()
    assert html.count("<section") == 300 and html.count('<span class="kb-anchor"') == 40
    page = open_page(site, "/decks/mid?q=midword#/250")
    page.wait_for_function("() => Reveal.getCurrentSlide().textContent.includes('w250')")
    assert indices(page)["h"] == 250
    assert page.evaluate("Reveal.getCurrentSlide().querySelectorAll('mark.kb-hl').length") == 1
    assert page.evaluate("document.querySelectorAll('section[data-kb]').length") <= 40 + 80
    page.context.close()


def test_a_big_deck_page_reads_only_what_it_shows(site):
    from kb.web import create_app
    app = create_app(site["settings"])
    client, catalog = app.test_client(), app.extensions["kb"]["catalog"]
    assert client.get("/decks/big?from=2500&q=bigword&s=00000000").status_code == 200
    view = catalog.deck("big")
    built = sum(item is not None for item in view.slides.items)
    assert catalog.renders == 40 and built <= 300 + 100  # its slide list, read in blocks
    data = client.get("/api/decks/big?from=2500").get_json()
    assert [s["position"] for s in data["slides"]] == list(range(2500, 2540)) and data["slides"] == \
        [s for s in data["slides"] if s["html"]]


def test_a_big_deck_is_presented_a_window_at_a_time(site):
    """reveal.js slows down with its number of sections: a big deck's page holds 40 slides,
    and the address bar, slide numbers and links still count over the whole deck."""
    import urllib.request
    with urllib.request.urlopen(site["base"] + "/decks/big") as response:
        html = response.read().decode()
    assert html.count('<span class="kb-anchor"') == 40 and html.count("<section") == 41  # + "next"
    page = open_page(site, "/decks/big?q=bigword#/2500")  # not in the first window: its own
    page.wait_for_function("() => location.search.includes('from=2500') && window.Reveal && "
                           "Reveal.isReady() && Reveal.getCurrentSlide().textContent.includes('w2500')")
    assert page.evaluate("location.hash") == "#/2500"
    assert page.inner_text(".slide-number").strip() == "2501"  # reveal.js's h + 1, of the deck
    assert page.evaluate("Reveal.getCurrentSlide().querySelectorAll('mark.kb-hl').length") == 1
    assert page.evaluate("document.querySelectorAll('.slides section').length") <= 42
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.hash === '#/2501'")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # past the window's first slide: the window before it
    page.wait_for_function("() => location.search.includes('from=2460') && window.Reveal && "
                           "Reveal.isReady() && Reveal.getCurrentSlide().textContent.includes('w2499')")
    assert page.evaluate("location.hash") == "#/2499"
    page.evaluate("location.hash = '#/the-end'")  # a named slide in another window
    page.wait_for_function("() => window.Reveal && Reveal.isReady() && "
                           "Reveal.getCurrentSlide().textContent.includes('The end')")
    assert page.evaluate("location.hash") == "#/3000"
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => location.hash === '#/3000/1'")
    assert page.inner_text(".slide-number").strip().replace(" ", "") == "3001/2"
    page.evaluate("location.hash = '#/2990'")
    page.wait_for_function("() => window.Reveal && Reveal.isReady() && "
                           "Reveal.getCurrentSlide().textContent.includes('w2990')")
    with page.expect_popup() as popup_info:  # the speaker view previews the same window
        page.keyboard.press("s")
    popup = popup_info.value
    popup.wait_for_function("() => { const f = document.querySelector('#current-slide iframe');"
                            " return f && f.contentWindow.Reveal && f.contentWindow.Reveal.isReady() &&"
                            " f.contentWindow.Reveal.getCurrentSlide().textContent.includes('w2990'); }")
    assert "from=" in page.url and page.evaluate("location.hash") == "#/2990"
    page.evaluate("location.hash = '#/%zz'")  # a hash that is not one: nothing moves, no error
    page.wait_for_timeout(300)
    assert "w2990" in page.evaluate("Reveal.getCurrentSlide().textContent")
    assert page.errors == []
    page.context.close()


# ------------------------------------------------------------- the split is reveal.js's own

SPLIT_DECKS = [
    "# A\n\ntext\n\n===\n\n# B\n\n--\n\n# B1\n\n--\n\n# B2\n\n===\n\n# C",
    "# A\n\n=== \n\nstill A\n\n===\n\n# B\n\n--\t\n\nstill B",  # trailing blanks: text
    "# Setext\n===\n\nbody\n\n===\n\n# Two",
    "# Notes\n\nbody\n\nNote: spoken\n\n===\n\n# After\n\n<aside class=\"notes\">aside</aside>",
    "<!-- .slide: id=\"named\" -->\n# Named\n\n===\n\n- one\n- two\n\n===\n\n| a | b |\n|---|---|\n| 1 | 2 |",
]


def reveal_split(browser, tmp: Path, body: str) -> list[dict]:
    """How reveal.js's markdown plugin splits `body` with kb's separators (both the blank
    lines around them required, as docs/deck-format.md reads them)."""
    page_file = tmp / "split.html"
    template = body.replace("</textarea>", "&lt;/textarea>")
    page_file.write_text(f"""<!doctype html><html><head><meta charset="utf-8"></head><body>
<div class="reveal"><div class="slides">
<section data-markdown data-separator="^\\r?\\n===\\r?\\n$" data-separator-vertical="^\\r?\\n--\\r?\\n$">
<textarea data-template>{template}</textarea></section></div></div>
<script src="{VENDOR.as_uri()}/reveal.js"></script>
<script src="{VENDOR.as_uri()}/plugin/markdown.js"></script>
<script>Reveal.initialize({{plugins: [RevealMarkdown], hash: true}});</script>
</body></html>""", encoding="utf-8")
    page = browser.new_page()
    page.goto(page_file.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    slides = page.evaluate("""Reveal.getSlides().map(s => {
        const i = Reveal.getIndices(s);
        const copy = s.cloneNode(true);
        copy.querySelectorAll('aside.notes').forEach(n => n.remove());
        const h = copy.querySelector('h1,h2,h3,h4,h5,h6');
        return {h: i.h, v: i.v || 0, id: s.id || null, heading: h ? h.textContent.trim() : '',
                text: copy.textContent.replace(/\\s+/g, ' ').trim(),
                notes: !!s.querySelector('aside.notes')};
    })""")
    page.close()
    return slides


@pytest.mark.parametrize("body", SPLIT_DECKS)
def test_kb_splits_and_reads_slides_as_reveal_js_does(site, body):
    tmp = site["root"]
    content = tmp / "split-content"
    write(content, "deck.md", body)
    deck, _ = read_deck(content / "deck.md", content)
    theirs = reveal_split(site["browser"], tmp, body)
    ours = [{"h": s.h, "v": s.v, "id": dict(s.attrs).get("id"), "heading": s.heading,
             "text": " ".join(s.body.split()), "notes": bool(s.notes)} for s in deck.slides]
    assert [(s["h"], s["v"]) for s in ours] == [(s["h"], s["v"]) for s in theirs]
    assert [s["id"] for s in ours] == [s["id"] for s in theirs]
    assert [s["heading"] for s in ours] == [s["heading"] for s in theirs]
    assert [s["notes"] for s in ours] == [s["notes"] for s in theirs]
    assert [s["text"] for s in ours] == [s["text"] for s in theirs]
