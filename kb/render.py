"""Slide markdown → safe HTML for the browser, and the words of a query to mark on a deck.

Pipeline: a little preprocessing of the markdown (reveal-style fence info strings, layout
`<div>`s that hold markdown), Python-Markdown, then nh3 (no script, no event handlers, no
`javascript:` URLs, no `style`, no ids, classes only `language-*`), then images are pointed
at what kb can serve:

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
from pathlib import Path

import markdown
import nh3
from markupsafe import Markup

from kb.media import resolve_image, servable_asset
from kb.schema import WORD, text_analyzer
from kb.urls import asset_url, media_url

EXTENSIONS = ["fenced_code", "tables", "sane_lists", "md_in_html"]
FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`{\[]*)(.*)$")
LAYOUT_OPEN = re.compile(
    r"^(\s*<(?:div|section|article|aside|header|footer|figure|blockquote)\b)"
    r"(?![^>]*\bmarkdown\s*=)([^>]*)>\s*$", re.IGNORECASE)
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ATTR = re.compile(r'([\w:-]+)="([^"]*)"')
LANGUAGE_CLASS = re.compile(r"^language-[\w+.-]{1,40}$")

TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area"}
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
ATTRIBUTES["img"] = {"src", "alt", "title", "width", "height"}
ATTRIBUTES["a"] = {"href", "title"}
ATTRIBUTES["code"] = {"class"}
ATTRIBUTES["*"] = {"title", "lang"}
URL_SCHEMES = {"http", "https", "mailto"}


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


def preprocess(text: str) -> str:
    """Make reveal-flavoured markdown palatable to Python-Markdown.

    ```` ```python [1,6,10] ```` (reveal's line highlights) and ```` ```C# ```` become plain
    language names; a layout `<div>` on a line of its own gets `markdown="1"` so the
    markdown inside it is rendered (reveal's marked does that).
    """
    out, inside, opener = [], False, ""
    for line in text.split("\n"):
        match = FENCE_OPEN.match(line)
        if inside:
            stripped = line.strip()
            if match and stripped and set(stripped) == {opener[0]} and len(stripped) >= len(opener):
                inside = False
            out.append(line)
            continue
        if match:
            indent, fence, info, _rest = match.groups()
            if fence[0] == "`" and "`" in _rest:  # inline code such as ```x```, not a fence
                out.append(line)
                continue
            inside, opener = True, fence
            lang = re.sub(r"[^\w+-]", "", info.replace("#", "sharp")).lower()
            out.append(f"{indent}{fence}{lang}")
            continue
        out.append(LAYOUT_OPEN.sub(r'\1\2 markdown="1">', line))
    return "\n".join(out)


def keep_attribute(tag: str, attr: str, value: str):
    if attr == "class":
        kept = [c for c in value.split() if LANGUAGE_CLASS.match(c)]
        return " ".join(kept) or None
    return value


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
        extra = "".join(f' {k}="{html.escape(attrs[k])}"' for k in ("width", "height", "title")
                        if attrs.get(k))
        return (f'<img src="{html.escape(url)}" alt="{html.escape(alt)}"{extra} '
                f'loading="lazy" decoding="async">')

    return IMG_TAG.sub(one, safe_html)


def sanitize(raw_html: str) -> str:
    return nh3.clean(raw_html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=keep_attribute,
                     url_schemes=URL_SCHEMES, clean_content_tags={"script", "style"},
                     link_rel="noopener noreferrer")


def render_markdown(text: str, resolver: ImageResolver) -> Markup:
    """Slide (or notes) markdown → sanitized HTML, safe to put in a page as is."""
    if not text.strip():
        return Markup("")
    source = preprocess(text)
    # reveal decks write lazily loaded images as <img data-src=…>: show them.
    source = re.sub(r"<img\b(?![^>]*\ssrc=)([^>]*?)\sdata-src=", r"<img\1 src=", source,
                    flags=re.IGNORECASE)
    try:
        raw = markdown.markdown(source, extensions=EXTENSIONS, output_format="html")
    except Exception:  # a markdown bug must not cost the reader the slide: show it as text
        raw = "<pre>" + html.escape(text) + "</pre>"
    return Markup(rewrite_images(sanitize(raw), resolver))


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
