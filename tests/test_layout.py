"""What is wider or taller than reveal.js's slide is made to fit it (kb/static/deck-fit.js), measured in
real Chromium at desktop and phone size: the rendered *content* (a range's rectangle, scroll
widths), not the element's box, which reports the slide's width while its content runs past."""

import io

import pytest
from PIL import Image

from kb.index import reindex
from kb.settings import Settings
from helpers import DESKTOP, PHONE, chromium, serve_kb, write

EVI = r"$${\mbox{EVI}} = G \times \frac{NIR - Red}{NIR + C_1 \times Red - C_2 \times Blue + L}$$"
CODE = "```python\ntotal = " + " + ".join(f"value_{i}" for i in range(30)) + "\nprint(total)\n```"
TABLE = ("| " + " | ".join(f"column_number_{i}" for i in range(12)) + " |\n|" + "---|" * 12 + "\n| "
         + " | ".join(str(i) for i in range(12)) + " |")
BULLETS = "\n".join(f"- **Orbit {i}** a long line of words about orbits and satellites" for i in range(5))
COLUMNS = (f"<div class='container'>\n<div class='col1'>\n\n{BULLETS}\n\n</div>\n<div class='col1'>\n\n"
           f"{BULLETS}\n\n</div>\n</div>")
SLIDES = ["# Start\n\nWelcome", "# Enhanced vegetation index\n\n" + EVI,
          "# A tall figure\n\nSome words above it.\n\n![tall](img/tall.png)", "# Code\n\n" + CODE,
          "# Table\n\n" + TABLE, "# Satellite orbits\n\n" + COLUMNS]
VIEWPORTS = {"desktop": (DESKTOP, {}), "phone": (PHONE, {"is_mobile": True, "has_touch": True})}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("layout")
    content = root / "content"
    write(content, "lay.md", "---\ntitle: Layout\n---\n" + "\n\n===\n\n".join(SLIDES) + "\n")
    # long enough that the page without script (every slide in order) scrolls far down to #/60
    write(content, "long.md", "\n\n===\n\n".join(f"# Slide {i}\n\n- point {i}\n\n--\n\n# Below {i}\n\n- more"
                                                  for i in range(40)))
    out = io.BytesIO()
    Image.new("RGB", (400, 1200), "steelblue").save(out, "PNG")  # three times taller than wide
    (content / "img").mkdir()
    (content / "img" / "tall.png").write_bytes(out.getvalue())
    settings = Settings(content=content, index=root / "index")
    reindex(settings)
    with serve_kb(settings) as base, chromium() as browser:
        yield {"base": base, "browser": browser}


@pytest.fixture(params=list(VIEWPORTS))
def page(site, request):
    viewport, options = VIEWPORTS[request.param]
    context = site["browser"].new_context(base_url=site["base"], viewport=viewport, **options)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.set_default_timeout(8000)
    yield page
    assert page.errors == []
    context.close()


def open_slide(page, h: int):
    page.goto(f"/decks/lay#/{h}")
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    page.wait_for_function("() => [...Reveal.getCurrentSlide().querySelectorAll('img')]"
                           ".every(i => i.complete && i.naturalHeight)")


def rects(page, selector: str) -> dict:
    """The current slide's box, reveal.js's canvas, and for `selector` in the slide: its box,
    its content's box (a range over its children) and its scroll/client widths."""
    return page.evaluate("""sel => {
        const slide = Reveal.getCurrentSlide(), el = slide.querySelector(sel);
        const range = document.createRange();
        range.selectNodeContents(el);
        const scroller = el.closest('.kb-scroll');
        return {slide: slide.getBoundingClientRect().toJSON(),
                canvas: Reveal.getSlidesElement().getBoundingClientRect().toJSON(),
                box: el.getBoundingClientRect().toJSON(), content: range.getBoundingClientRect().toJSON(),
                scroll: el.scrollWidth, client: el.clientWidth,
                scroller: scroller && {box: scroller.getBoundingClientRect().toJSON(),
                    scroll: scroller.scrollWidth, client: scroller.clientWidth,
                    swipe: scroller.hasAttribute('data-prevent-swipe')}};
    }""", selector)


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["left"] >= outer["left"] - slack and inner["right"] <= outer["right"] + slack
            and inner["top"] >= outer["top"] - slack and inner["bottom"] <= outer["bottom"] + slack)


def test_wide_formula_lies_inside_the_slide(page):
    open_slide(page, 1)
    r = rects(page, "math[display=block]")
    assert r["scroller"] is None  # this one fits by shrinking: the whole formula at once
    assert r["content"]["right"] <= r["slide"]["right"] + 1, r  # "+ L" is on the slide
    assert r["content"]["left"] >= r["slide"]["left"] - 1
    assert r["content"]["width"] > 0.8 * r["slide"]["width"]  # shrunk only as much as needed
    assert inside(r["slide"], r["canvas"])
    # nothing of reveal.js's over its end (a phone swipes: its arrows are not shown there)
    arrow = page.evaluate("(() => { const a = document.querySelector('.reveal .controls .navigate-right');"
                          " return a && a.offsetParent ? a.getBoundingClientRect().toJSON() : null; })()")
    phone = page.evaluate("matchMedia('(max-width: 600px) and (pointer: coarse)').matches")
    assert (arrow is None) == phone, arrow


def test_wide_code_scrolls_inside_the_slide(page):
    open_slide(page, 3)
    r = rects(page, "pre.code code")
    assert r["scroll"] > r["client"] + 50  # the long line scrolls inside the code block...
    assert inside(r["box"], r["slide"]) and inside(r["slide"], r["canvas"])  # ...which is on the slide
    swipe = page.eval_on_selector("section.present pre.code code", "c => c.hasAttribute('data-prevent-swipe')")
    assert swipe  # a finger scrolls the code instead of turning the slide


def test_wide_table_fits_or_scrolls_inside_the_slide(page):
    open_slide(page, 4)
    r = rects(page, "table")
    if r["scroller"] is None:
        assert r["content"]["right"] <= r["slide"]["right"] + 1, r
    else:
        assert inside(r["scroller"]["box"], r["slide"]) and r["scroller"]["swipe"]
        assert r["scroller"]["scroll"] > r["scroller"]["client"]  # the rest is a scroll away
    assert inside(r["slide"], r["canvas"])


def test_tall_image_under_a_heading_lies_inside_the_slide(page):
    open_slide(page, 1)
    page.keyboard.press("ArrowRight")  # reached by moving, as a student does, not only by link
    page.wait_for_function("() => Reveal.getIndices().h === 2")
    page.wait_for_function("() => [...Reveal.getCurrentSlide().querySelectorAll('img')]"
                           ".every(i => i.complete && i.naturalHeight)")
    r = rects(page, "img")
    heading = page.eval_on_selector("section.present h1", "h => h.getBoundingClientRect().toJSON()")
    assert inside(r["box"], r["canvas"]), r
    assert inside(heading, r["canvas"])
    assert r["box"]["top"] >= heading["bottom"]  # under the heading, not over it
    assert r["box"]["height"] > 0.4 * r["canvas"]["height"]  # it takes the room that is left


def test_long_text_in_two_columns_lies_inside_the_slide(page):
    open_slide(page, 5)
    r = rects(page, ".container li:last-child")
    assert inside(r["box"], r["canvas"]), r  # the last bullet is on the slide, smaller
    assert page.evaluate("Reveal.getCurrentSlide().scrollHeight") <= 701
    size = page.eval_on_selector("section.present li", "li => parseFloat(getComputedStyle(li).fontSize)")
    assert size >= 42 * 0.5  # reveal's 42px type, at least half of it


@pytest.mark.parametrize("path", ["/decks/lay#/2", "/decks/long#/1", "/decks/long#/30/1", "/decks/long#/39"])
def test_phone_shows_the_whole_slide_on_the_first_screen(site, path):
    context = site["browser"].new_context(base_url=site["base"], viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(path)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    page.wait_for_load_state("load")
    page.wait_for_timeout(100)  # the browser's own scroll to #/60 would come by now
    slide = page.evaluate("Reveal.getCurrentSlide().getBoundingClientRect().toJSON()")
    canvas = page.evaluate("document.querySelector('.kb-slides').getBoundingClientRect().toJSON()")
    assert 0 <= canvas["top"] <= slide["top"] and canvas["bottom"] <= PHONE["height"], (canvas, slide)
    assert page.evaluate("window.scrollY") == 0  # the deck's title above it is on screen too
    context.close()
