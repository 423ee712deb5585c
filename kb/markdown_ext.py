"""Slide markdown → raw HTML, read the way reveal.js's markdown plugin (marked, GFM) reads it.

Python-Markdown does the markdown. Around it, this module does what marked does differently:

- HTML blocks are CommonMark's: a line opening a block-level tag (or a comment, or
  `<script>`/`<style>`) starts raw HTML that runs to the next blank line, and the markdown
  between such blocks is rendered on its own (so `<div class='col1'>` layouts hold markdown);
- a list right after a line of text is a list, and nested lists indented by two spaces nest;
- fenced code is highlighted by Pygments, with reveal's ```` ```python [1,6-8] ```` line
  numbers and highlights; a fence that is never closed is not a fence;
- math (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`) becomes MathML (latex2mathml), outside code.

The work is bounded: past MAX_SLIDE_CHARS a slide is plain text, and nesting (lists,
quotes) stops at MAX_DEPTH levels, so no input makes Python-Markdown's nested-block handling run away.
"""

import html
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import markdown
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString
from latex2mathml.converter import convert as latex_to_mathml
from lxml import etree
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from kb.sanitize import MATHML_TAGS

MAX_SLIDE_CHARS = 100_000
MAX_DEPTH = 8
MAX_CODE_LINES = 2_000
MAX_STEPS = 20  # highlight steps of one code block (each is a copy of it) …
MAX_STEP_CHARS = 400_000  # … and at most this much code in all its copies

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
LINE_NUMBERS = re.compile(r"\[\s*(?:(\d*):)?\s*([\s\d,|-]*)\]")
BLOCK_TAGS = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|"
    "details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|"
    "h[1-6]|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|"
    "optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|"
    "track|ul")
HTML_RAW = re.compile(r"^ {0,3}<(script|pre|style|textarea)(?:\s|>|$)", re.IGNORECASE)
HTML_BLOCK = re.compile(rf"^ {{0,3}}</?(?:{BLOCK_TAGS})(?:\s|/?>|$)", re.IGNORECASE)
HTML_TAG_LINE = re.compile(r"^ {0,3}(?:<[A-Za-z][\w-]*(?:\s[^<>]*)?/?>|</[A-Za-z][\w-]*\s*>)\s*$")
NO_SPACE_HEADING = re.compile(r"^( {0,3})(#{1,6}[^#\s])")
LIST_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$")
QUOTES = re.compile(r"^ {0,3}((?:>[ \t]?){%d,})" % (MAX_DEPTH + 1))
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
# Inline `$…$` as KaTeX's auto-render (reveal.js's math plugin) reads it: a `$` opens, the next
# `$` not escaped by a backslash closes, spaces inside or not (`$ a_1, \ldots a_n $` is math),
# within one paragraph. (A whitespace rule like pandoc's would leave such formulas as LaTeX and
# pair `$) text ($` across two of them instead.)
MATH = re.compile(
    r"\$\$(?P<d1>.+?)\$\$|\\\[(?P<d2>.+?)\\\]|\\\((?P<i1>.+?)\\\)"
    r"|(?<![\\$])\$(?P<i2>(?:\\.|[^\\$\n]|\n(?![ \t]*\n)){1,400}?)\$", re.DOTALL)


@dataclass
class Stash:
    """HTML made outside Python-Markdown (math, code), put back after it ran; `plain` is
    what stands for it where no markup may go (an attribute such as alt text)."""

    items: list
    mark: str
    plain: list

    def put(self, fragment: str, plain: str = "") -> str:
        self.items.append(fragment)
        self.plain.append(plain)
        return f"{self.mark}{len(self.items) - 1}X"

    def restore(self, text: str, plain: bool = False) -> str:
        pattern = re.compile(self.mark + r"(\d+)X")
        pieces = self.plain if plain else self.items
        return pattern.sub(lambda m: pieces[int(m.group(1))], text)


# ------------------------------------------------------------------------------ math

@lru_cache(maxsize=4096)
def math_html(latex: str, display: bool) -> str:
    """LaTeX → MathML; LaTeX that cannot be read shows its words, never its commands."""
    try:
        out = latex_to_mathml(latex, display="block" if display else "inline")
        # latex2mathml copies \\text{…} as it is: only well-formed, MathML-only output is kept
        if all(etree.QName(el).localname in MATHML_TAGS for el in etree.fromstring(out).iter()):
            return out
    except Exception:  # latex2mathml (and a malformed result) raise many kinds on bad input
        pass
    return f'<span class="math-error">{html.escape(math_words(latex))}</span>'


def math_words(latex: str) -> str:
    """LaTeX without its commands: what stands for math where MathML cannot go."""
    return " ".join(re.sub(r"\\[A-Za-z]+|[{}^_\\$]", " ", latex).split())


def stash_math(text: str, stash: Stash) -> str:
    """Swap the math of a piece of markdown (not inside code spans) for placeholders."""
    spans: list[str] = []
    masked = CODE_SPAN.sub(lambda m: spans.append(m.group(0)) or f"\x00{len(spans) - 1}\x00", text)

    def one(match):
        display = match.group("d1") is not None or match.group("d2") is not None
        latex = next(g for g in match.group("d1", "d2", "i1", "i2") if g is not None)
        return stash.put(math_html(latex.strip(), display), math_words(latex))

    masked = MATH.sub(one, masked)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], masked)


# ------------------------------------------------------------------------------ code

def line_steps(spec: str) -> list[set[int]]:
    """reveal's `1,6-8|3` → [{1, 6, 7, 8}, {3}]: the lines highlighted at each step (an
    empty step highlights none)."""
    steps = []
    for step in spec.split("|")[:MAX_STEPS]:
        lines: set[int] = set()
        for part in step.split(","):
            bounds = [p for p in part.strip().split("-") if p.strip().isdigit()]
            if len(bounds) == 1:
                lines.add(int(bounds[0]))
            elif len(bounds) == 2:
                lo, hi = int(bounds[0]), min(int(bounds[1]), int(bounds[0]) + MAX_CODE_LINES)
                lines.update(range(lo, hi + 1))
        steps.append(lines)
    return steps


FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def lexer_for(lang: str):
    try:
        return get_lexer_by_name(lang.replace("#", "sharp")) if lang else TextLexer()
    except ClassNotFound:
        return TextLexer()


def code_html(info: str, code: str) -> str:
    """A fenced block → `<pre><code>` with Pygments spans, and reveal's line numbers."""
    numbers = LINE_NUMBERS.search(info)
    lang = LINE_NUMBERS.sub(" ", info).strip().split(" ")[0] if info.strip() else ""
    lang = re.sub(r"[^\w+#.-]", "", lang)[:40]
    lines = code.split("\n")[:MAX_CODE_LINES]
    body = highlight("\n".join(lines), lexer_for(lang), FORMATTER).rstrip("\n")
    css = f"language-{lang.replace('#', 'sharp').lower()}" if lang else "language-text"
    if not numbers:
        return f'<pre class="code"><code class="{html.escape(css)}">{body}</code></pre>'
    start = int(numbers.group(1) or 1)
    rows = body.split("\n")
    codes = []
    # reveal's highlight plugin makes each step after the first a copy of the block that is a
    # fragment over it; kb writes those copies here, so reveal.js steps through them.
    limit = max(1, min(MAX_STEPS, MAX_STEP_CHARS // max(1, len(body))))
    for step, marked in enumerate(line_steps(numbers.group(2) or "")[:limit]):
        out = []
        for n, line in enumerate(rows, start):
            hl = " hl" if n in marked else ""
            out.append(f'<span class="line{hl}"><span class="ln">{n}</span>{line}</span>')
        extra = (" has-hl" if marked else "") + (" fragment" if step else "")
        codes.append(f'<code class="{html.escape(css)}{extra}">' + "\n".join(out) + "</code>")
    steps = " code-steps" if len(codes) > 1 else ""
    return f'<pre class="code numbered{steps}">' + "".join(codes) + "</pre>"


# ------------------------------------------------------------------------------ blocks

def closing_fence(lines: list[str], start: int, opener: str) -> int | None:
    for j in range(start, len(lines)):
        match = FENCE.match(lines[j])
        if match and match.group(2)[0] == opener[0] and len(match.group(2)) >= len(opener) \
                and not match.group(3).strip():
            return j
    return None


def blocks(text: str):
    """Yield ("md" | "html" | "code", payload) pieces of a slide, in order."""
    lines = text.split("\n")
    md: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence and not (fence.group(2)[0] == "`" and "`" in fence.group(3)):
            end = closing_fence(lines, i + 1, fence.group(2))
            if end is not None:  # an unclosed fence is not a fence (as in reveal.js)
                if md:
                    yield "md", "\n".join(md)
                    md = []
                indent = len(fence.group(1))
                code = [l[indent:] if not l[:indent].strip() else l.lstrip() for l in lines[i + 1:end]]
                yield "code", (fence.group(3).strip(), "\n".join(code))
                i = end + 1
                continue
        after_text = bool(md) and md[-1].strip() != ""
        end = html_block_end(lines, i, after_text)
        if end is not None:
            if md:
                yield "md", "\n".join(md)
                md = []
            yield "html", "\n".join(lines[i:end])
            i = end
            continue
        md.append(line)
        i += 1
    if md:
        yield "md", "\n".join(md)


def html_block_end(lines: list[str], i: int, after_text: bool) -> int | None:
    """If an HTML block (CommonMark kinds 1, 2, 6, 7) starts at line i, the line after it."""
    line = lines[i]
    raw = HTML_RAW.match(line)
    if raw:
        closer = f"</{raw.group(1).lower()}>"
        return next((j + 1 for j in range(i, len(lines)) if closer in lines[j].lower()), len(lines))
    if line.lstrip(" ").startswith("<!--") and len(line) - len(line.lstrip(" ")) <= 3:
        return next((j + 1 for j in range(i, len(lines)) if "-->" in lines[j]), len(lines))
    if HTML_BLOCK.match(line) or (not after_text and HTML_TAG_LINE.match(line)):
        return next((j for j in range(i, len(lines)) if not lines[j].strip()), len(lines))
    return None


def gfm_lines(text: str) -> str:
    """Lines as marked reads them: no blank line needed before a list, nesting by the
    item's own indent (two spaces nest), at most MAX_DEPTH levels of lists and quotes,
    `#word` is text."""
    out: list[str] = []
    stack: list[int] = []  # content column of each open list item
    prev_kind = "blank"
    for line in text.split("\n"):
        line = QUOTES.sub(lambda m: "> " * MAX_DEPTH, line)
        line = NO_SPACE_HEADING.sub(r"\1\\\2", line)  # `#tag` is text in GFM, not a heading
        if not line.strip():
            out.append(line)
            prev_kind = "blank" if prev_kind != "list" else "list-blank"
            continue
        item = LIST_ITEM.match(line)
        indent = len(line) - len(line.lstrip(" "))
        if item and (stack or indent <= 3):
            if prev_kind == "text" and not stack:
                out.append("")
            while stack and indent < stack[-1]:
                stack.pop()
            depth = min(len(stack), MAX_DEPTH)
            marker, gap, rest = item.group(2), item.group(3) or " ", item.group(4)
            out.append("    " * depth + marker + " " + rest)
            stack.append(indent + len(marker) + len(gap))
            prev_kind = "list"
            continue
        if stack and (indent >= stack[0] or prev_kind == "list"):
            while stack and indent < stack[-1] and prev_kind != "list":
                stack.pop()
            depth = min(len(stack), MAX_DEPTH + 1)
            out.append("    " * depth + line.lstrip(" ") if stack else line)
            prev_kind = "list" if stack else "text"
            continue
        stack = []
        out.append(line)
        prev_kind = "text"
    return "\n".join(out)


# What some inline pattern of Python-Markdown's (INLINE_PATTERNS) needs to match: code spans,
# escapes, links and images, autolinks and inline HTML, line breaks, entities, emphasis; and
# the placeholders of its stash. Text without any of them comes out of them as it went in.
INLINE_TRIGGER = re.compile(r"[`\\\[<&*_\x02]|  \n")
INLINE_PATTERNS = ("backtick", "escape", "reference", "link", "image_link", "image_reference",
                   "short_reference", "short_image_ref", "autolink", "automail", "linebreak",
                   "html", "entity", "em_strong")


class PlainText(Treeprocessor):
    """Marks text no inline pattern can match as atomic, so Python-Markdown's inline pass
    (each of its 14 patterns tried on each text, one Python call apiece: a quarter of a
    slide's render) skips it. The result is the same HTML."""

    def run(self, root):
        for element in root.iter():
            for name in ("text", "tail"):
                value = getattr(element, name)
                if value and not isinstance(value, AtomicString) and not INLINE_TRIGGER.search(value):
                    setattr(element, name, AtomicString(value))


_local = threading.local()


def converter() -> markdown.Markdown:
    """One Python-Markdown instance per thread (building one costs more than a slide)."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(extensions=["tables", "sane_lists", "fenced_code"],
                                           output_format="html")
        if tuple(item.name for item in md.inlinePatterns._priority) == INLINE_PATTERNS:
            md.treeprocessors.register(PlainText(md), "kb-plain-text", 25)  # before "inline"
    return md


def markdown_html(text: str) -> str:
    md = converter()
    try:
        return md.reset().convert(text)
    except Exception:  # a markdown bug must not cost the reader the slide: show it as text
        return "<pre>" + html.escape(text) + "</pre>"


def to_html(text: str) -> tuple[str, Stash]:
    """One slide's (or its notes') markdown → raw, unsanitized HTML in which math is still
    a placeholder: the caller drops any MathML the deck wrote itself, then restores the
    generated MathML with `Stash.restore`, and sanitizes the lot."""
    overflow = ""
    if len(text) > MAX_SLIDE_CHARS:  # the rest is shown (and indexed) as plain text
        cut = text.rfind("\n", 0, MAX_SLIDE_CHARS) + 1 or MAX_SLIDE_CHARS
        text, rest = text[:cut], text[cut:]
        # its spacing is the page's to collapse anyway (a deep list's indent was megabytes)
        overflow = f'\n<p class="overflow">{html.escape(" ".join(rest.split()))}</p>'
    code, math = Stash([], "KBCODE", []), Stash([], "KBMATH", [])
    out = []
    for kind, payload in blocks(text):
        if kind == "code":
            out.append(code.put(code_html(*payload)))
        elif kind == "html":
            out.append(stash_math(payload, math) if not HTML_RAW.match(payload) else payload)
        else:
            out.append(markdown_html(gfm_lines(stash_math(payload, math))))
    return code.restore("\n".join(out)) + overflow, math
