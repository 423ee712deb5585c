"""Slide markdown → safe HTML and the words a reader sees, in one render; query words to mark.

`render_slide` is the one render of a slide: `kb.markdown_ext` turns its markdown into HTML
as reveal.js's markdown plugin would, reveal's `<!-- .element: … -->` and
`<!-- .slide: … -->` annotations are applied (to the element before the comment, or the
slide), `<aside class="notes">` moves to the notes, `kb.sanitize` keeps only what its
allowlist allows, and `kb.html_text` reads title, text and images off the sanitized tree.
The index and the deck page both use its result, so they cannot disagree.

Inline `style` attributes are refused by the page's Content-Security-Policy, so a kept style
travels as `data-style` (the deck page's script applies it through the CSSOM); hidden text
gets the `hidden` attribute or the `kb-invisible` class, so it stays hidden without script.

Images are pointed at what kb can serve only when a page is made (`rewrite_images`):

- `/api/media/<id>` is kept as written (when the id is a valid media id);
- a relative path that resolves to an image file inside the content folder is served by
  `/api/asset/<path>` (the rule is `kb.media.resolve_image`, shared with the indexer);
- `http(s)://` images are never loaded (kb promises not to fetch them, and the page's
  Content-Security-Policy allows only its own images): they become a link the reader can
  open;
- anything else (missing file, outside the content folder, other schemes) becomes a small
  "image not available" note with the alt text.
"""

import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import lxml.html
from markupsafe import Markup

from kb.html_text import HIDDEN, read_tree, tag_of
from kb.markdown_ext import to_html
from kb.media import resolve_image, servable_asset
from kb.sanitize import clean_classes, clean_style, sanitize, slide_id
from kb.schema import WORD, text_analyzer
from kb.urls import asset_url, media_url

IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ATTR = re.compile(r'([\w:-]+)="([^"]*)"')
KEPT_IMG_ATTRS = ("width", "height", "title", "class", "data-style", "data-fragment-index")
# reveal.js reads `^notes?:` (its 's*' is a lost backslash) and only when it occurs once.
NOTES = re.compile(r"^s*notes?:", re.IGNORECASE | re.MULTILINE)
ELEMENT_ATTRIBUTES = re.compile(r"\.element\s*?(.+?)$", re.MULTILINE)
SLIDE_ATTRIBUTES = re.compile(r"\.slide:\s*?(\S.+?)$", re.MULTILINE)
ATTRIBUTE = re.compile(r'([^"= ]+?)="([^"]+?)"|(data-[^"= ]+?)(?=[" ])')
SLIDE_ATTRS = {"class", "data-background", "data-background-color", "data-background-image",
               "data-background-size", "data-background-position", "data-background-repeat",
               "data-background-opacity", "data-background-transition", "data-transition",
               "data-transition-speed", "data-auto-animate", "data-state", "data-timing"}
SAFE_VALUE = re.compile(r"^[\w#(),.%/ :+-]{0,200}$")
COLOR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|hsl)a?\([\d\s.,%]+\))$")


@dataclass(frozen=True)
class Rendered:
    """One slide, rendered once: what the page shows and what the index holds."""

    html: str  # sanitized; images as the deck wrote them (see rewrite_images)
    notes_html: str
    text: str  # what a reader sees, one line per block
    notes: str
    heading: str  # the first heading, '' if none
    images: tuple[tuple[str, str], ...]  # (alt, src) of the images shown
    attrs: tuple[tuple[str, str], ...]  # the slide's own <section> attributes

    @property
    def title(self) -> str:
        """The first heading; without one, the first line of text (cut at 80)."""
        if self.heading:
            return self.heading
        first = next((line for line in self.text.split("\n") if line.strip()), "")
        return first if len(first) <= 80 else first[:77].rstrip() + "…"


def split_notes(markdown: str) -> tuple[str, str]:
    """reveal.js's notes: from a line starting `note:`/`notes:` to the end of the slide,
    only when there is exactly one such line (reveal shows a slide with two as it is)."""
    parts = NOTES.split(markdown)
    if len(parts) != 2:
        return markdown, ""
    return parts[0], parts[1].strip()


def parse_attributes(text: str) -> list[tuple[str, str]]:
    return [(m.group(1) or m.group(3), m.group(2) or "") for m in ATTRIBUTE.finditer(text)]


def apply_annotations(root) -> list[tuple[str, str]]:
    """reveal's addAttributes: an `.element` comment sets attributes on the element before
    it (or its parent); a `.slide:` comment sets them on the slide. Returns the latter."""
    slide: list[tuple[str, str]] = []
    stack = [root]
    while stack:
        parent = stack.pop()
        previous = parent
        for child in parent:
            if isinstance(child, lxml.html.HtmlComment):
                text = child.text or ""
                element = ELEMENT_ATTRIBUTES.search(text)
                if element:
                    for name, value in parse_attributes(element.group(1)):
                        previous.set(name, value)
                else:
                    found = SLIDE_ATTRIBUTES.search(text)
                    if found:
                        slide += parse_attributes(found.group(1))
                continue
            if isinstance(child.tag, str):
                if tag_of(child) != "br":
                    previous = child
                stack.append(child)
    return slide


def slide_attributes(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The `<!-- .slide: -->` attributes kb passes on to the slide's `<section>`."""
    out: dict[str, str] = {}
    for name, value in pairs:
        name = name.lower()
        if name == "id":
            if slide_id(value):
                out["id"] = value.strip()
        elif name == "class":
            if clean_classes(value):
                out["class"] = clean_classes(value)
        elif name == "data-visibility":  # reveal.js knows these two (see kb.deck.shown_slides)
            if value.strip() in ("hidden", "uncounted"):
                out[name] = value.strip()
        elif name == "data-background" and not COLOR.match(value.strip()):
            out["data-background-image"] = value.strip()  # an image: resolved per page
        elif name in SLIDE_ATTRS and SAFE_VALUE.match(value) and "url" not in value.lower():
            out[name] = value.strip()
    return tuple(out.items())


def inner_html(root) -> str:
    return (html.escape(root.text) if root.text else "") + "".join(
        lxml.html.tostring(child, encoding=str) for child in root)


# A browser reads the stray end tag `</br>` as `<br>` (the HTML standard says so); lxml drops it,
# which ran "**Update**</br>We change" together as one word.
END_BR = re.compile(r"</br\s*>", re.IGNORECASE)


def parse(fragment: str):
    return lxml.html.fragment_fromstring(END_BR.sub("<br>", fragment or ""), create_parent="div")


def finish(root) -> None:
    """Styles travel as data-style (the CSP refuses style attributes); hidden stays hidden."""
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("style") is None:
            continue
        style = clean_style(el.attrib.pop("style")) or ""
        if not style:
            continue
        el.set("data-style", style)
        found = HIDDEN.search(style)
        if found and "display" in found.group(0).lower():
            el.set("hidden", "")
        elif found:
            el.set("class", ((el.get("class") or "") + " kb-invisible").strip())


def render_html(markdown: str) -> tuple[str, str, str, tuple, list, list]:
    """Markdown → (html, text, heading, images, slide attribute pairs, notes html pieces)."""
    if not markdown.strip():
        return "", "", "", (), [], []
    raw, math = to_html(markdown)
    pairs, asides = [], []
    if NEEDS_TREE.search(raw) or math.mark in raw:
        raw, pairs, asides = deck_markup(raw, math)
    clean = parse(sanitize(raw))
    text, heading, images = read_tree(clean)
    finish(clean)
    return inner_html(clean), text, heading, images, pairs, asides


# What deck_markup acts on; HTML without any of it goes to the sanitizer as it is (most
# slides: a tree less to build, a sixth of the render). Malformed HTML is then repaired by
# nh3's HTML5 parser alone, as a browser would, not first by libxml2 (which differs).
NEEDS_TREE = re.compile(r"<!--|<math|<svg|data-src|<aside|</br", re.IGNORECASE)


def deck_markup(raw: str, math) -> tuple[str, list, list]:
    """What the deck's own markup asks for, on a tree of the unsanitized HTML: annotations
    applied, MathML the deck wrote dropped (only kb's own is restored), data-src images
    shown, notes asides taken out. Returns (html with kb's math, slide attribute pairs,
    notes html pieces)."""
    root = parse(raw)
    for el in root.xpath(".//math | .//svg"):  # only kb's own MathML (see to_html)
        el.drop_tree()
    pairs = apply_annotations(root)
    for el in root.iter():  # math in an attribute (alt text, a title) is its words
        if isinstance(el.tag, str):
            for name, value in el.attrib.items():
                if math.mark in value:
                    el.set(name, math.restore(value, plain=True))
    for img in root.iter("img"):  # reveal decks write lazily loaded images as data-src
        if not img.get("src") and img.get("data-src"):
            img.set("src", img.get("data-src"))
    asides = []
    for aside in root.xpath(".//aside[contains(concat(' ', normalize-space(@class), ' '), ' notes ')]"):
        asides.append(math.restore(inner_html(aside)))
        aside.drop_tree()
    return math.restore(inner_html(root)), pairs, asides


def render_slide(markdown: str) -> Rendered:
    """A slide's markdown (notes included) → its one render."""
    visible, notes_md = split_notes(markdown)
    body, text, heading, images, pairs, asides = render_html(visible)
    notes = [render_html(notes_md)[:2]] if notes_md.strip() else []
    notes += [html_part(aside) for aside in asides]
    return Rendered(body, "".join(h for h, _ in notes), text,
                    "\n".join(t for _, t in notes if t), heading, images, slide_attributes(pairs))


def html_part(fragment: str) -> tuple[str, str]:
    """An `<aside class="notes">`'s HTML (already rendered) → (sanitized html, text)."""
    clean = parse(sanitize(fragment))
    text = read_tree(clean)[0]
    finish(clean)
    return inner_html(clean), text


def display_title(title: str, image_only: bool = False, from_ocr: bool = False) -> str:
    """What a reader sees as a slide's title. An image slide's title is read off the image by
    OCR (often with specks in front, cut at 80 characters): it is tidied and labelled."""
    title = " ".join((title or "").split())
    if not (image_only or from_ocr):
        return title or "Untitled slide"
    title = re.sub(r"^[^\w]+", "", title)
    if len(title) >= 78 and " " in title:
        title = title.rsplit(" ", 1)[0] + "…"
    return f"Image: {title}" if title else "Image slide"


def fold(word: str) -> str:
    """Lower case without accents: the key that the page's script compares words by."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class ImageResolver:
    """Where the browser can get a deck's image from: a URL kb serves, or None."""

    def __init__(self, content: Path, deck_dir: Path):
        self.content = content
        self.root = content.resolve()
        self.deck_dir = deck_dir

    def local(self, src: str) -> str | None:
        source = resolve_image(src, self.deck_dir, self.content)  # as the indexer does
        if source.kind == "media":
            return media_url(source.name)
        if source.kind == "content" and servable_asset(source.path, self.root):
            return asset_url(source.name)
        return None


def rewrite_images(safe_html: str, resolver: ImageResolver) -> str:
    """Point each sanitized <img> at a URL kb serves; remote or missing ones become notes."""

    def one(match):
        attrs = {k.lower(): html.unescape(v) for k, v in ATTR.findall(match.group(0))}
        src, alt = attrs.get("src", ""), attrs.get("alt", "")
        label = alt if alt and not re.fullmatch(r"image\.\w+", alt) else ""
        if re.match(r"^https?://", src, re.IGNORECASE):
            text = f"External image{': ' + label if label else ''} (opens the original)"
            return (f'<a class="remote-img" href="{html.escape(src)}" rel="noopener noreferrer">'
                    f"{html.escape(text)}</a>")
        url = resolver.local(src)
        if not url:
            text = f"Image not available{': ' + label if label else ''}"
            return f'<span class="missing-img">{html.escape(text)}</span>'
        extra = "".join(f' {k}="{html.escape(attrs[k])}"' for k in KEPT_IMG_ATTRS if attrs.get(k))
        return (f'<img src="{html.escape(url)}" alt="{html.escape(alt)}"{extra} '
                f'loading="lazy" decoding="async">')

    return IMG_TAG.sub(one, safe_html)


def render_markdown(text: str, resolver: "ImageResolver") -> Markup:
    """Slide (or notes) markdown → sanitized HTML with images kb serves, safe to put in a page."""
    return Markup(rewrite_images(render_slide(text).html, resolver)) if text.strip() else Markup("")


# ---------------------------------------------------------------- query words to highlight

FILTER_TERM = re.compile(r'(?<!\S)-?(?:tags?|deck|date|year):(?:\[[^\]]*\]?|"[^"]*"?|\S*)',
                         re.IGNORECASE)
NEGATED = re.compile(r'(?<!\S)(?:-|NOT\s+)(?:"[^"]*"?|\S+)')
FIELD_PREFIX = re.compile(r"(?<!\S)\w+:")


def query_terms(query: str) -> tuple[set[str], list[str]]:
    """(stems, prefixes) of the words a query looks for: not filters, not excluded words."""
    query = FILTER_TERM.sub(" ", query[:500])
    query = NEGATED.sub(" ", query)
    query = FIELD_PREFIX.sub(" ", query)
    prefixes = sorted({fold(m.group(0)) for m in re.finditer(WORD + r"(?=\*)", query)
                       if len(m.group(0)) >= 2})
    words = [w for w in re.findall(WORD, query) if w not in ("AND", "OR", "NOT")]
    analyzer = text_analyzer()
    stems = {token.text for token in analyzer(" ".join(words)) if len(token.text) > 1}
    return stems, prefixes


def highlight_terms(query: str, texts) -> tuple[list[str], list[str]]:
    """The words of `texts` (folded) that the query matches, as the search matched them.

    The stemmer decides, as in the index: `normalization` marks `Normal` and `normalized`.
    The page's script marks exactly these words (and words starting with a `word*` prefix).
    """
    stems, prefixes = query_terms(query or "")
    if not stems and not prefixes:
        return [], []
    analyzer = text_analyzer()
    found = set()
    for text in texts:
        if not text:
            continue
        for token in analyzer(text, chars=True):
            if token.text in stems:
                found.add(fold(text[token.startchar:token.endchar]))
    return sorted(found), prefixes
