"""Deck files → `Deck`s of `Slide`s (docs/deck-format.md): frontmatter, separators, images."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kb.media import resolve_image
from kb.meta import Meta, split_frontmatter
from kb.problem import Problem
from kb.separators import safe_separator, split_custom, split_default

if TYPE_CHECKING:
    from kb.render import Rendered


def render_slide(markdown: str) -> Rendered:
    """kb.render's one render, imported on first use: a reindex with nothing to read never
    loads the renderer (Python-Markdown, Pygments, latex2mathml: ~0.1 s)."""
    from kb.render import render_slide as render
    return render(markdown)

DECK_SUFFIXES = (".md", ".markdown", ".txt")
FILE_NAME_ALT = re.compile(r"^[\w .-]*\.(png|jpe?g|gif|svg|webp|bmp|tiff?)$", re.IGNORECASE)


@dataclass(frozen=True)
class ImageRef:
    """An image a slide shows; `path` is the local file, None if remote or unresolvable."""

    alt: str
    src: str
    path: Path | None
    media_id: str | None  # set for /api/media/<id> sources


@dataclass(frozen=True)
class Slide:
    """One slide as reveal.js shows it, from its one render (`kb.render.render_slide`)."""

    deck: str
    h: int
    v: int
    line: int  # first line of the slide in its file, 1-based
    title: str  # first heading, else first line of text
    heading: str  # first heading, '' if none
    body: str  # the text a reader sees (not hidden text, not image paths)
    notes: str  # the text of the speaker notes
    markdown: str  # the slide as written, notes included
    html: str  # sanitized HTML, images as written (kb.render.rewrite_images serves them)
    notes_html: str
    attrs: tuple[tuple[str, str], ...]  # the slide's own <section> attributes
    images: tuple[ImageRef, ...]

    @property
    def anchor(self) -> str:
        return f"{self.h}" if self.v == 0 else f"{self.h}/{self.v}"

    @property
    def alt(self) -> str:
        return " ".join(i.alt for i in self.images if i.alt and not FILE_NAME_ALT.match(i.alt))

    @property
    def image_only(self) -> bool:
        return bool(self.images) and not self.body.strip()


@dataclass(frozen=True)
class Deck:
    id: str
    path: Path
    title: str
    date: dt.datetime | None
    tags: tuple[str, ...]
    type: str
    meta: dict = field(hash=False, compare=False)
    slides: tuple[Slide, ...] = ()


def deck_id(path: Path, content: Path) -> str:
    """The stable id of a deck: its path under the content dir, without suffix."""
    rel = path.relative_to(content).with_suffix("")
    return PurePosixPath(*rel.parts).as_posix()


def find_deck_files(content: Path) -> list[Path]:
    """All deck files under the content dir, skipping media/, hidden folders and links
    that lead outside it."""
    found, root = [], content.resolve()
    for path in content.rglob("*"):
        rel = path.relative_to(content).parts
        if rel[0] == "media" or any(part.startswith(".") for part in rel):
            continue
        if path.suffix.lower() in DECK_SUFFIXES and path.is_file():
            if root in path.resolve().parents:  # a link out of the content folder is not a deck
                found.append(path)
    return sorted(found)


def decode(data: bytes, name: str) -> tuple[str | None, Problem | None]:
    """Deck bytes → text, or a Problem saying why the file is skipped."""
    if b"\x00" in data[:8192]:
        return None, Problem(name, "not a text file (binary bytes); skipped", level="error")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        return None, Problem(name, "not valid UTF-8; skipped — save the file as UTF-8", line=line,
                             level="error")
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def make_slide(deck: str, h: int, v: int, line: int, markdown: str, text: Rendered,
               deck_path: Path, content: Path, name: str, problems: list[Problem]) -> Slide:
    """`markdown` stripped of its blank lines around, `line` the line of its first text."""
    anchor = f"{h}" if v == 0 else f"{h}/{v}"
    images = []
    for alt, src in text.images:
        source = resolve_image(src, deck_path.parent, content)
        if source.problem:
            at = line + markdown[: max(0, markdown.find(src))].count("\n")
            problems.append(Problem(name, source.problem, anchor=anchor, line=at,
                                    level=source.level))
        media_id = source.name if source.kind == "media" else None
        images.append(ImageRef(alt, src, source.path, media_id))
    return Slide(deck, h, v, line, text.title, text.heading, text.text, text.notes, markdown,
                 text.html, text.notes_html, text.attrs, tuple(images))


@dataclass(frozen=True)
class SlidePart:
    """A slide as the split found it, not yet rendered (its anchor is reveal.js's)."""

    h: int
    v: int
    line: int  # first line of its text in the file, 1-based
    markdown: str  # stripped of the blank lines around it
    rendered: Rendered | None = None  # set when the split had to render it (a `.slide:` note)

    @property
    def anchor(self) -> str:
        return f"{self.h}" if self.v == 0 else f"{self.h}/{self.v}"

    def render(self) -> Rendered:
        return self.rendered or render_slide(self.markdown)


@dataclass(frozen=True)
class DeckSource:
    """A deck file split into its shown slides: what `read_deck` renders, and what the web
    app renders a piece at a time."""

    id: str
    path: Path
    name: str  # the file's path under the content folder, for problems
    meta: Meta
    parts: tuple[SlidePart, ...]


def shown_slides(parts, body_line: int):
    """The `SlidePart`s reveal.js shows: it removes a slide marked
    `data-visibility="hidden"` (and a stack left empty) before it numbers the slides, so the
    ones after it move up, and kb's anchors are reveal.js's. Only a slide with a `.slide:`
    annotation can set that, so only those are rendered here."""
    h, v, last_h = -1, 0, None
    for part_h, _, offset, markdown in parts:
        line = body_line + offset + len(markdown) - len(markdown.lstrip("\n"))
        markdown = markdown.strip("\n")
        text = render_slide(markdown) if ".slide:" in markdown else None
        if text and dict(text.attrs).get("data-visibility") == "hidden":
            continue
        h, v = (h, v + 1) if part_h == last_h else (h + 1, 0)
        last_h = part_h
        yield SlidePart(h, v, line, markdown, text)


def split_deck(path: Path, content: Path, data: bytes | None = None) -> tuple[DeckSource | None, list[Problem]]:
    """Read one deck file and split it into slides, without rendering them. Never raises
    for bad content: problems are returned instead."""
    name = PurePosixPath(*path.relative_to(content).parts).as_posix()
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            return None, [Problem(name, f"cannot read file: {err.strerror}", level="error")]
    text, problem = decode(data, name)
    if problem:
        return None, [problem]
    meta, body, body_line, problems = split_frontmatter(text, name)
    if meta.type != "reveal":
        parts = [(0, 0, 0, body)]
    elif meta.separator or meta.vertical:
        # a deck that sets one separator gets reveal-md's default for the other
        separator = meta.separator or r"\r?\n---\r?\n"
        vertical = meta.vertical or r"\r?\n----\r?\n"
        try:
            if not all(safe_separator(p) for p in (separator, vertical) if p):
                raise re.error("too complex: nested repeats or back-references")
            parts = split_custom(body, separator, vertical)
        except re.error as err:
            problems.append(Problem(name, f"separator regex is invalid ({err}); used the default "
                                          "'===' / '--'", line=2))
            parts = split_default(body)
    else:
        parts = split_default(body)
    source = DeckSource(deck_id(path, content), path, name, meta,
                        tuple(shown_slides(parts, body_line)))
    return source, problems


def read_deck(path: Path, content: Path, data: bytes | None = None) -> tuple[Deck | None, list[Problem]]:
    """Read one deck file and render every slide. Never raises for bad content: problems
    are returned instead."""
    source, problems = split_deck(path, content, data)
    if source is None:
        return None, problems
    slides = [make_slide(source.id, part.h, part.v, part.line, part.markdown, part.render(),
                         path, content, source.name, problems) for part in source.parts]
    meta = source.meta
    title = meta.title or next((s.heading for s in slides if s.heading), "") or path.stem
    deck = Deck(source.id, path, title, meta.date, meta.tags, meta.type, meta.raw, tuple(slides))
    return deck, problems
