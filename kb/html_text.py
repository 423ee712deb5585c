"""Sanitized slide HTML (an lxml tree) → what a reader sees: lines of text, title, images.

The index takes a slide's words from here, so the page and the index read the same HTML:
text the deck hides (`display: none`, `visibility: hidden`) is skipped, so are code line
numbers; math gives its words (`NDVI`, `NIR`), never LaTeX commands; images give their alt
text and source apart from the text.
"""

import re

BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
          "table", "thead", "tbody", "tfoot", "tr", "section", "aside", "dl", "dt", "dd",
          "figure", "figcaption", "hr", "br", "details", "summary", "header", "footer",
          "article", "nav", "caption"}
CELLS = {"td", "th"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
MATH_TOKENS = {"mi", "mn", "mtext", "ms"}
MATH_ROWS = {"math", "mrow", "mstyle", "mpadded", "mphantom", "menclose", "semantics", "merror"}
HIDDEN = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
MAX_WALK_DEPTH = 200
# URLs are addresses, not words (a link named kitten-drop-table must not match `kitten`).
BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>()\[\]]+|\bmailto:\S+", re.IGNORECASE)


def tag_of(el) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def is_hidden(el) -> bool:
    style = el.get("style") or el.get("data-style") or ""
    return bool(HIDDEN.search(style)) or el.get("hidden") is not None


def math_text(el) -> str:
    """The words of a MathML tree: letters of one row run together (N I R → NIR), other
    parts apart, operators spaced."""
    tag = tag_of(el)
    if tag in MATH_TOKENS:
        return el.text_content()
    if tag == "mo":
        return f" {el.text_content()} "
    if tag == "annotation" or tag == "annotation-xml":
        return " "
    parts = [math_text(child) for child in el if isinstance(child.tag, str)]
    return "".join(parts) if tag in MATH_ROWS else " " + " ".join(parts) + " "


class Reader:
    """Walks a sanitized tree once, gathering text, headings and images."""

    def __init__(self):
        self.out: list[str] = []
        self.images: list[tuple[str, str]] = []
        self.heading: str | None = None

    def add(self, text: str | None, pre: bool) -> None:
        if text:
            self.out.append(text if pre else text.replace("\n", " "))

    def walk(self, el, depth: int = 0, pre: bool = False) -> None:
        tag = tag_of(el)
        pre = pre or tag == "pre"
        if not tag or is_hidden(el) or "ln" in (el.get("class") or "").split():
            return
        if tag == "img":
            src = el.get("src") or el.get("data-src") or ""
            if src:
                self.images.append((el.get("alt") or "", src))
            return
        block = tag in BLOCKS
        if block:
            self.out.append("\n")
        if tag == "math":
            self.out.append(" " + math_text(el) + " ")
        elif depth > MAX_WALK_DEPTH:
            self.out.append(" " + el.text_content() + " ")
        else:
            start = len(self.out)
            self.add(el.text, pre)
            for child in el:
                self.walk(child, depth + 1, pre)
                self.add(child.tail, pre)
            if tag in HEADINGS and self.heading is None:
                self.heading = " ".join("".join(self.out[start:]).split())
        if block:
            self.out.append("\n")
        elif tag in CELLS:
            self.out.append(" ")

    def text(self) -> str:
        lines = BARE_URL.sub(" ", "".join(self.out)).split("\n")
        return "\n".join(" ".join(line.split()) for line in lines if line.strip())


def read_tree(root) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(text, first heading or '', images as (alt, src)) of a sanitized tree."""
    reader = Reader()
    reader.add(root.text, False)
    for child in root:
        reader.walk(child)
        reader.add(child.tail, False)
    return reader.text(), reader.heading or "", tuple(reader.images)
