"""One slide's markdown → what a reader sees: title, plain text, notes, images.

Everything here is pure string work, so the deck reader and the web layer can share it.
"""

import html
import re
from dataclasses import dataclass
from itertools import groupby

# A backtick fence's info string has no backtick (```x``` on one line is inline code).
FENCE = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")
NOTES = re.compile(r"^[ \t]*notes?:", re.IGNORECASE)
COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
MD_IMAGE = re.compile(r"!\[((?:[^\]\\]|\\.)*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(].*?[\"')])?\s*\)")
HTML_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
HTML_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
MD_LINK = re.compile(r"\[((?:[^\]\\]|\\.)*)\]\([^)]*\)")
REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+.*$", re.MULTILINE)
AUTOLINK = re.compile(r"<(?:https?|ftp|mailto):[^>\s]*>", re.IGNORECASE)
BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>()\[\]]+", re.IGNORECASE)
TAG = re.compile(r"</?[A-Za-z][^>]*>")
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
STAR_MARKS = re.compile(r"(\*{1,3}|~~)(?=\S)(.+?)(?<=\S)\1")
# Underscores only emphasise at word edges: max_retries and np.nan_to_num stay whole.
UNDERSCORE_MARKS = re.compile(r"(?<![^\W_])(_{1,3})(?=\S)(.+?)(?<=\S)\1(?![^\W_])")
MASK = re.compile(r"\x00(\d+)\x00")
LINE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)*(?:[-*+][ \t]+|\d+[.)][ \t]+)?(?:#{1,6}[ \t]+)?")
TABLE_RULE = re.compile(r"^[ \t|:-]+$")


@dataclass(frozen=True)
class Image:
    """An image that a slide shows: its alt text and its `src` as written."""

    alt: str
    src: str


@dataclass(frozen=True)
class SlideText:
    """The parts of one slide's markdown, already split apart."""

    markdown: str  # the visible slide, notes cut off
    notes: str  # speaker notes as written (markdown)
    title: str  # first heading, else first line of text; may be empty
    body: str  # plain text a reader sees, without images
    images: tuple[Image, ...]

    @property
    def image_only(self) -> bool:
        return bool(self.images) and not self.body.strip()


def fenced_lines(lines: list[str]) -> list[bool]:
    """For each line, whether it is inside (or delimits) a fenced code block."""
    inside, opener, flags = False, "", []
    for line in lines:
        match = FENCE.match(line)
        if not inside and match:
            inside, opener = True, match.group(1)
            flags.append(True)
        elif inside:
            closing = match and match.group(1)[0] == opener[0] and len(match.group(1)) >= len(opener)
            if closing and not line.strip().lstrip(opener[0]):
                inside = False
            flags.append(True)
        else:
            flags.append(False)
    return flags


def split_notes(markdown: str) -> tuple[str, str]:
    """Cut a slide at its first `note:`/`notes:` line (outside code), as reveal.js does."""
    lines = markdown.split("\n")
    for i, (line, fenced) in enumerate(zip(lines, fenced_lines(lines))):
        if not fenced and NOTES.match(line):
            notes = [NOTES.sub("", line, count=1).strip()] + lines[i + 1 :]
            return "\n".join(lines[:i]), "\n".join(notes).strip()
    return markdown, ""


def find_images(markdown: str) -> tuple[Image, ...]:
    """Markdown `![alt](src)` and HTML `<img src|data-src>` images, in order; not in code."""
    lines = markdown.split("\n")
    markdown = "\n".join("" if fenced else line for line, fenced in zip(lines, fenced_lines(lines)))
    markdown = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), markdown)
    found = []
    for match in MD_IMAGE.finditer(markdown):
        found.append((match.start(), Image(unescape_md(match.group(1)), match.group(2))))
    for match in HTML_IMG.finditer(markdown):
        attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
                 for m in HTML_ATTR.finditer(match.group(0))}
        src = attrs.get("src") or attrs.get("data-src") or ""
        if src:
            found.append((match.start(), Image(html.unescape(attrs.get("alt", "")), html.unescape(src))))
    return tuple(image for _, image in sorted(found, key=lambda pair: pair[0]))


def unescape_md(text: str) -> str:
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~$])", r"\1", text)


def mask_code(text: str) -> tuple[str, list[str]]:
    """Swap inline code spans for placeholders, so markup rules leave code alone."""
    spans: list[str] = []

    def keep(match):
        spans.append(match.group(2).strip())
        return f"\x00{len(spans) - 1}\x00"
    return CODE_SPAN.sub(keep, text), spans


def unmask(text: str, spans: list[str]) -> str:
    return MASK.sub(lambda m: spans[int(m.group(1))], text)


def strip_markup(text: str) -> str:
    """Inline markdown/HTML (code already masked) → the words a reader sees."""
    text = MD_IMAGE.sub(" ", text)
    text = HTML_IMG.sub(" ", text)
    text = MD_LINK.sub(lambda m: m.group(1), text)
    text = AUTOLINK.sub(" ", text)
    text = BARE_URL.sub(" ", text)
    text = TAG.sub(" ", text)
    for _ in range(3):  # nested emphasis such as ***bold italic***
        text = STAR_MARKS.sub(lambda m: m.group(2), text)
        text = UNDERSCORE_MARKS.sub(lambda m: m.group(2), text)
    return unescape_md(html.unescape(text))


def inline_text(text: str) -> str:
    """One line of inline markdown → plain text; code spans keep their content as is."""
    masked, spans = mask_code(text)
    return unmask(strip_markup(masked), spans)


def keep_lines(match) -> str:
    return " " + "\n" * match.group(0).count("\n")


def plain_text(markdown: str) -> str:
    """Slide markdown → plain text, line by line; code is kept, syntax is dropped."""
    markdown = REF_DEF.sub("", COMMENT.sub("", markdown))
    lines = markdown.split("\n")
    out = []
    for fenced, group in groupby(zip(lines, fenced_lines(lines)), key=lambda pair: pair[1]):
        run = [line for line, _ in group]
        if fenced:
            out += [line.strip() for line in run if not FENCE.match(line)]
            continue
        # Tags and images may span lines (<img\n src=…>): strip them before going line by line.
        text, spans = mask_code("\n".join(run))
        for pattern in (HTML_IMG, MD_IMAGE, TAG):
            text = pattern.sub(keep_lines, text)
        for line in text.split("\n"):
            if SETEXT_UNDERLINE.match(line) or TABLE_RULE.match(line) and "-" in line:
                continue
            line = LINE_PREFIX.sub("", line)
            line = re.sub(r"[ \t]+#+[ \t]*$", "", line)  # closing ATX hashes
            line = unmask(strip_markup(line), spans).replace("|", " ")
            out.append(" ".join(line.split()))
    return "\n".join(out).strip()


def heading(markdown: str) -> str:
    """The first ATX or setext heading of the markdown, as plain text; '' if none."""
    lines = COMMENT.sub("", markdown).split("\n")
    fenced = fenced_lines(lines)
    for i, line in enumerate(lines):
        if fenced[i]:
            continue
        match = ATX.match(line)
        if match:
            return " ".join(inline_text(match.group(2) or "").split())
        nxt = i + 1
        if (nxt < len(lines) and not fenced[nxt] and line.strip()
                and SETEXT_UNDERLINE.match(lines[nxt])
                and not re.match(r"^ {0,3}([-*+>|<]|\d+[.)])", line)):
            return " ".join(inline_text(line).split())
    return ""


def read_slide(markdown: str) -> SlideText:
    """Split one slide's markdown into the parts kb indexes and shows."""
    visible, notes = split_notes(markdown.strip("\n"))
    visible_clean = COMMENT.sub("", visible)
    images = find_images(visible_clean)
    body = plain_text(visible)
    title = heading(visible)
    if not title and body:
        title = next(line for line in body.split("\n") if line.strip())
        title = title if len(title) <= 80 else title[:77].rstrip() + "…"
    return SlideText(visible.strip("\n"), notes, title, body, images)
