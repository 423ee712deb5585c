"""A deck as the web app reads it: split once, and rendered only where a page shows it.

A deck page sends only a window of slides whole (`kb.web.deck_views`). The titles, texts
and keys of all its slides come from the index, which holds the same render (`kb.render`)
of the same bytes when the hash each slide stores of its deck file is the hash of the file
read now.
A deck the index does not hold as it is now (edited since the last reindex, or no index
yet) is rendered whole, as it always was; a page of it is then only slower, never wrong.
"""

import threading
from collections import OrderedDict
from dataclasses import replace

from markupsafe import Markup

from kb.deck import DeckSource, SlidePart, make_slide
from kb.render import ImageResolver, Rendered, display_title, rewrite_images
from kb.slidekeys import slide_key
from kb.web.models import DeckInfo, DeckView, SlideView

CACHE_SLIDES = 400  # rendered slides kept per deck: ten pieces


def section_attributes(attrs: tuple[tuple[str, str], ...], resolver: ImageResolver) -> tuple:
    """A slide's own `<section>` attributes for the page: a background image only when kb
    serves it (never a remote one)."""
    out = []
    for name, value in attrs:
        if name == "data-background-image":
            value = resolver.local(value)
            if not value:
                continue
        out.append((name, value))
    return tuple(out)


def served(view: SlideView, text: Rendered, resolver: ImageResolver) -> SlideView:
    """The slide with its HTML, images pointed at what kb serves."""
    return replace(view, html=Markup(rewrite_images(text.html, resolver)),
                   notes_html=Markup(rewrite_images(text.notes_html, resolver)),
                   attrs=section_attributes(text.attrs, resolver))


def rendered_slides(source: DeckSource, stored: dict, resolver: ImageResolver,
                    problems: list) -> tuple[tuple[SlideView, ...], str]:
    """Every slide rendered (with its OCR text from the index), and the deck's first heading."""
    slides, heading = [], ""
    for part in source.parts:
        text = part.render()
        slide = make_slide(source.id, part.h, part.v, part.line, part.markdown, text,
                           source.path, resolver.content, source.name, problems)
        heading = heading or slide.heading
        doc = stored.get(slide.anchor, {})
        ocr = doc.get("ocr") or ""
        view = SlideView(
            deck=source.id, h=slide.h, v=slide.v,
            title=display_title(slide.title or doc.get("title") or "", slide.image_only,
                                from_ocr=not slide.title and bool(doc.get("title"))),
            html=Markup(""), notes_html=Markup(""), notes=slide.notes, text=slide.body,
            ocr=ocr, image_only=slide.image_only, alt=slide.alt,
            key=slide_key(slide.body, slide.alt, ocr))
        slides.append(served(view, text, resolver))
    return tuple(slides), heading


def stored_slides(source: DeckSource, digest: str, stored: dict,
                  resolver: ImageResolver) -> tuple[SlideView, ...] | None:
    """The slides as the index holds them (no HTML yet), or None if the index holds another
    version of the deck (an older one, or a newer one its searcher has not opened yet)."""
    if len(stored) != len(source.parts):
        return None
    slides = []
    for part in source.parts:
        doc = stored.get(part.anchor)
        if doc is None or doc.get("source") != digest:
            return None
        body, alt, ocr = doc.get("body") or "", doc.get("alt") or "", doc.get("ocr") or ""
        title, image_only = doc.get("title") or "", bool(doc.get("image_only"))
        # the index's title is the render's, else the first line of the image's OCR text
        own_title = bool(body.strip())
        attrs = part.rendered.attrs if part.rendered else ()
        slides.append(SlideView(
            deck=source.id, h=part.h, v=part.v,
            title=display_title(title, image_only, from_ocr=not own_title and bool(title)),
            html=None, notes_html=None, notes=doc.get("notes") or "", text=body, ocr=ocr,
            image_only=image_only, attrs=section_attributes(attrs, resolver), alt=alt,
            key=slide_key(body, alt, ocr)))
    return tuple(slides)


class LazyDeck:
    """One deck for the pages: its `view` names every slide; `whole` renders the ones a
    page sends (and keeps the last CACHE_SLIDES of them)."""

    def __init__(self, view: DeckView, parts: tuple[SlidePart, ...], resolver: ImageResolver,
                 counter=None):
        self.view = view
        self.parts = parts
        self.resolver = resolver
        self.counter = counter  # called once per slide rendered: bounded work, testable
        self.lock = threading.Lock()
        self.cache: OrderedDict[int, SlideView] = OrderedDict()

    def whole(self, positions) -> dict[int, SlideView]:
        """position → the slide with its HTML, for the positions that exist."""
        out = {}
        for position in positions:
            if not 0 <= position < len(self.view.slides):
                continue
            slide = self.view.slides[position]
            if slide.html is None:
                slide = self.render(position)
            out[position] = slide
        return out

    def render(self, position: int) -> SlideView:
        with self.lock:
            if position in self.cache:
                self.cache.move_to_end(position)
                return self.cache[position]
        if self.counter:
            self.counter()
        slide = served(self.view.slides[position], self.parts[position].render(), self.resolver)
        with self.lock:
            self.cache[position] = slide
            while len(self.cache) > CACHE_SLIDES:
                self.cache.popitem(last=False)
        return slide


def read_view(source: DeckSource, digest: str, stored: dict, resolver: ImageResolver,
              problems: list, counter=None) -> LazyDeck:
    """The deck for the pages: from the index when it holds the bytes of `digest` (`stored`:
    anchor → the slide's stored fields), else rendered whole."""
    slides = stored_slides(source, digest, stored, resolver)
    if slides is not None:
        title = next(iter(stored.values())).get("deck_title") or source.path.stem
    else:
        if counter:
            for _ in source.parts:
                counter()
        slides, heading = rendered_slides(source, stored, resolver, problems)
        title = source.meta.title or heading or source.path.stem
    meta = source.meta
    info = DeckInfo(source.id, title, meta.date, meta.tags, len(slides))
    view = DeckView(info, slides, tuple(p.as_dict() for p in problems))
    return LazyDeck(view, source.parts, resolver, counter)
