"""What the deck pages show: a deck in a listing (`DeckInfo`), a whole deck (`DeckView`) of
slides ready for the page (`SlideView`), and decks grouped by tag. Plain frozen data; the
`as_dict` of each is its part of the JSON twin."""

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from markupsafe import Markup

from kb.urls import deck_url, slide_url


@dataclass(frozen=True)
class DeckInfo:
    """One deck as the listings show it."""

    id: str
    title: str
    date: dt.datetime | None
    tags: tuple[str, ...]
    slides: int

    @property
    def url(self) -> str:
        return deck_url(self.id)

    def as_dict(self) -> dict:
        return {"id": self.id, "title": self.title,
                "date": self.date.date().isoformat() if self.date else None,
                "tags": list(self.tags), "slides": self.slides, "url": self.url}


@dataclass(frozen=True)
class SlideView:
    """One slide, ready for the page: sanitized HTML (None until a page sends it whole:
    `kb.web.deckread`), notes apart, OCR text apart."""

    deck: str
    h: int
    v: int
    title: str
    html: Markup | None
    notes_html: Markup | None
    notes: str
    text: str
    ocr: str
    image_only: bool
    attrs: tuple[tuple[str, str], ...] = ()  # the slide's own <section> attributes (id, data-background…)
    alt: str = ""
    key: str = ""  # kb.slidekeys: the links kb gives out carry it as `?s=`

    @property
    def anchor(self) -> str:
        return f"{self.h}" if self.v == 0 else f"{self.h}/{self.v}"

    @property
    def url(self) -> str:
        return slide_url(self.deck, self.anchor, key=self.key or None)

    def as_dict(self) -> dict:
        return {"anchor": self.anchor, "h": self.h, "v": self.v, "url": self.url, "key": self.key,
                "title": self.title, "text": self.text, "notes": self.notes, "ocr": self.ocr,
                "html": None if self.html is None else str(self.html),
                "notes_html": None if self.notes_html is None else str(self.notes_html),
                "image_only": self.image_only}


@dataclass(frozen=True)
class DeckView:
    """A deck for the pages. `slides` is a sequence of SlideView made on first use
    (kb.web.deckread): what a page does not show is never read or rendered; `anchors` and
    `named` come from the split alone."""

    info: DeckInfo
    slides: Sequence[SlideView]
    anchors: tuple[str, ...]  # of every slide, in order
    named: dict[str, str] = field(default_factory=dict)  # id → anchor (`#/some-id` links)
    problems: tuple[dict, ...] = ()

    @cached_property
    def stacks(self) -> list[list[tuple[int, SlideView]]]:
        """(position, slide) grouped by horizontal position, as reveal.js stacks them."""
        stacks: dict[int, list[tuple[int, SlideView]]] = {}
        for position, slide in enumerate(self.slides):
            stacks.setdefault(slide.h, []).append((position, slide))
        return [stacks[h] for h in sorted(stacks)]

    @cached_property
    def stack_sizes(self) -> str:
        """The number of slides of each stack, comma-separated: from it a big deck's page
        finds any `#/h/v`'s position without the slides themselves (kb/static/deck.js)."""
        sizes = Counter(anchor.split("/")[0] for anchor in self.anchors)
        return ",".join(str(n) for n in sizes.values())

    @cached_property
    def positions(self) -> dict[str, int]:
        return {anchor: i for i, anchor in enumerate(self.anchors)}

    def position(self, anchor: str) -> int | None:
        anchor = anchor.strip().strip("/")
        return self.positions.get(anchor[:-2] if anchor.endswith("/0") else anchor)

    def keys(self, positions=None) -> str:
        """`anchor:key` of the slides (of `positions`, else all), space-separated: what
        deck-links.js reads."""
        slides = self.slides if positions is None else (self.slides[i] for i in positions)
        return " ".join(f"{s.anchor}:{s.key}" for s in slides)

    def texts(self):
        for slide in self.slides:
            yield slide.title
            yield slide.text
            yield slide.notes
            yield slide.ocr


def is_course(tag: str) -> bool:
    """Course codes (`EPI101`, `ZCW-JAVA`) as opposed to topics (`survival analysis`)."""
    return any(c.isdigit() for c in tag) or tag.isupper()


def tag_order(tag: str) -> tuple:
    return (not is_course(tag), tag.lower())


def group_by_tag(decks: list[DeckInfo]) -> list[tuple[str, list[DeckInfo]]]:
    """Decks by tag (a deck with two tags is in both): course codes A→Z, then topics A→Z,
    then the untagged; newest first inside each group (as `decks` comes)."""
    groups: dict[str, tuple[str, list[DeckInfo]]] = {}
    untagged = []
    for deck in decks:
        for tag in deck.tags:
            groups.setdefault(tag.lower(), (tag, []))[1].append(deck)
        if not deck.tags:
            untagged.append(deck)
    out = sorted(groups.values(), key=lambda group: tag_order(group[0]))
    if untagged:
        out.append(("", untagged))
    return out
