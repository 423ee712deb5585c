"""The sanitizer's allowlist: what deck HTML may keep (nh3, then a check of values).

Kept: the usual text tags, tables, images, MathML, layout `<div>`s with their `class` and a
`style` whose properties are on CSS_PROPERTIES (values without `url(`, `expression`,
escapes or `position: fixed`), and reveal's `data-fragment-index`. Never kept: script,
style elements, event handlers, `javascript:` and other non-web URLs, ids (a deck must not
clobber the page's own elements; slide ids are checked apart, see `slide_id`).
"""

import re

import nh3

MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
    "mfrac", "msqrt", "mroot", "mstyle", "mover", "munder", "munderover", "mtable", "mtr",
    "mtd", "mpadded", "mphantom", "menclose", "merror", "semantics", "annotation", "mfenced",
    "mmultiscripts", "mprescripts", "none", "mlabeledtr",
}
MATHML_ATTRIBUTES = {"display", "mathvariant", "stretchy", "fence", "separator", "lspace",
                     "rspace", "linethickness", "displaystyle", "scriptlevel", "width",
                     "height", "depth", "accent", "accentunder", "columnalign", "rowspacing",
                     "columnspacing", "notation", "movablelimits", "symmetric", "minsize",
                     "maxsize", "open", "close", "separators", "form"}
TAGS = (set(nh3.ALLOWED_TAGS) - {"map", "area"}) | MATHML_TAGS | {"aside", "span", "div"}
ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
ATTRIBUTES.update({tag: set(MATHML_ATTRIBUTES) for tag in MATHML_TAGS})
ATTRIBUTES["img"] = {"src", "alt", "title", "width", "height"}
ATTRIBUTES["a"] = {"href", "title"}
ATTRIBUTES["*"] = {"title", "lang", "class", "style", "data-fragment-index", "data-line-numbers"}
URL_SCHEMES = {"http", "https", "mailto"}

CSS_PROPERTIES = {
    "color", "background", "background-color", "font-size", "font-weight", "font-style",
    "font-family", "text-align", "text-decoration", "text-transform", "line-height",
    "vertical-align", "width", "height", "max-width", "max-height", "min-width", "min-height",
    "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
    "padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
    "border", "border-radius", "border-collapse", "float", "clear", "display", "visibility",
    "position", "top", "bottom", "left", "right", "z-index", "opacity", "white-space",
    "list-style-type", "flex", "justify-content", "align-items", "gap", "box-shadow",
}
BAD_CSS_VALUE = re.compile(r"url\s*\(|expression|\\|@|<|/\*|image-set|var\s*\(", re.IGNORECASE)
CLASS_NAME = re.compile(r"^[A-Za-z_][\w-]{0,39}$")
# reveal.js's own structure and state classes, and kb's own (kb-…): a deck may not set them.
RESERVED_CLASSES = {"reveal", "slides", "backgrounds", "controls", "progress", "present", "past",
                    "future", "stack", "slide-number", "overview", "visible", "current-fragment",
                    "speaker-notes", "pause-overlay", "print-pdf",
                    "slide", "current", "deck", "stack-wrap", "slide-wrap"}
SLIDE_ID = re.compile(r"^[A-Za-z][\w-]{0,63}$")


def clean_style(value: str) -> str | None:
    """Declarations whose property is allowed and whose value is harmless; `fixed` and
    `sticky` positions become `absolute` (inside the slide, not over the page)."""
    kept = []
    for declaration in value.split(";"):
        prop, _, val = declaration.partition(":")
        prop, val = prop.strip().lower(), val.strip()
        if prop not in CSS_PROPERTIES or not val or BAD_CSS_VALUE.search(val):
            continue
        if prop == "position" and val.lower() in ("fixed", "sticky"):
            val = "absolute"
        kept.append(f"{prop}: {val}")
    return "; ".join(kept) or None


def clean_classes(value: str) -> str | None:
    kept = [c for c in value.split() if CLASS_NAME.match(c) and c not in RESERVED_CLASSES
            and not c.startswith("kb-")]
    return " ".join(kept) or None


def keep_attribute(tag: str, attr: str, value: str):
    if attr == "class":
        return clean_classes(value)
    if attr == "style":
        return clean_style(value)
    if attr == "data-fragment-index":
        return value if value.strip().isdigit() else None
    if attr == "data-line-numbers":
        return value if re.fullmatch(r"[\d,|: -]{0,100}", value) else None
    return value


CLEANER = nh3.Cleaner(tags=TAGS, attributes=ATTRIBUTES, attribute_filter=keep_attribute,
                      url_schemes=URL_SCHEMES, clean_content_tags={"script", "style"},
                      link_rel="noopener noreferrer", filter_style_properties=CSS_PROPERTIES)


def sanitize(raw_html: str) -> str:
    """Untrusted HTML → HTML with only what the allowlist keeps."""
    return CLEANER.clean(raw_html)


def slide_id(value: str) -> str | None:
    """A slide's own id (reveal's named-slide links `#/<id>`), if it is a plain name."""
    value = value.strip()
    return value if SLIDE_ID.match(value) and not value.startswith("kb-") else None
