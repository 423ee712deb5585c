"""A deck as the web app reads it: split once, each slide built when a page first needs it.

A deck page sends only a window of slides whole (`kb.web.deck_views`), and names only some
others (its slide list). A slide's title, texts and key come from the index, which holds
the same render (`kb.render`) of the same bytes when the hash each slide stores of its deck
file is the hash of the file read now; a slide the index does not hold so (the deck was
edited since the last reindex, or there is no index yet) is rendered instead. So a page of
a 20,000-slide deck reads a few hundred stored documents and renders forty slides.
"""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from markupsafe import Markup

from kb.deck import DeckSource, make_slide
from kb.errors import KbError
from kb.render import ImageResolver, Rendered, display_title, rewrite_images
from kb.slidekeys import slide_key
from kb.web.models import DeckInfo, DeckView, SlideView

BLOCK = 100  # stored documents read at a time
CACHE_SLIDES = 400  # slides kept with their HTML, per deck: ten windows


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


class Slides(Sequence):
    """The slides of one deck, in order, each a `SlideView` without its HTML, made on first
    use; `whole(positions)` gives them with their HTML."""

    def __init__(self, source: DeckSource, digest: str, index, resolver: ImageResolver,
                 counter=None):
        self.source, self.digest, self.index, self.resolver = source, digest, index, resolver
        self.parts = source.parts
        self.counter = counter  # called once per slide rendered: bounded work, testable
        self.lock = threading.RLock()
        self.items: list[SlideView | None] = [None] * len(self.parts)
        self.served: OrderedDict[int, SlideView] = OrderedDict()
        self.numbers: tuple[int, list[int]] | None = None  # (generation, the deck's docnums)

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        if self.items[i] is None:
            self.load(i // BLOCK * BLOCK, min(len(self), i // BLOCK * BLOCK + BLOCK))
        return self.items[i]

    # ---------------------------------------------------------------- from the index
    def stored(self, start: int, stop: int) -> list[dict]:
        """The stored fields of the slides start…stop ({} for a slide the index does not
        hold as it is now). A deck's slides are written in one go, in order, so its document
        numbers are its slides' order; each document's anchor and hash are checked."""
        try:
            searcher = self.index.searcher()
        except KbError:
            return [{}] * (stop - start)
        generation = searcher.ixreader.generation()
        if self.numbers is None or self.numbers[0] != generation:
            self.numbers = (generation, list(searcher.document_numbers(deck=self.source.id)))
        numbers = self.numbers[1]
        if len(numbers) != len(self.parts):
            return [{}] * (stop - start)
        docs = [searcher.stored_fields(n) for n in numbers[start:stop]]
        return [doc if doc.get("anchor") == part.anchor and doc.get("source") == self.digest
                else {} for doc, part in zip(docs, self.parts[start:stop])]

    def load(self, start: int, stop: int) -> None:
        with self.lock:
            for i, doc in enumerate(self.stored(start, stop), start):
                if self.items[i] is None:
                    self.items[i] = from_index(self.parts[i], doc, self.source.id,
                                               self.resolver) if doc else self.render(i)

    # ---------------------------------------------------------------- rendered
    def render(self, i: int) -> SlideView:
        """Slide i rendered (kept with its HTML); returns it without."""
        if self.counter:
            self.counter()
        part = self.parts[i]
        text = part.render()
        slide = make_slide(self.source.id, part.h, part.v, part.line, part.markdown, text,
                           self.source.path, self.resolver.content, self.source.name, [])
        view = SlideView(
            deck=self.source.id, h=slide.h, v=slide.v, title=display_title(slide.title, slide.image_only),
            html=None, notes_html=None, notes=slide.notes, text=slide.body, ocr="",
            image_only=slide.image_only, attrs=section_attributes(text.attrs, self.resolver),
            alt=slide.alt, key=slide_key(slide.body, slide.alt, ""))
        self.keep(i, served(view, text, self.resolver))
        return view

    def keep(self, i: int, slide: SlideView) -> None:
        with self.lock:
            self.served[i] = slide
            self.served.move_to_end(i)
            while len(self.served) > CACHE_SLIDES:
                self.served.popitem(last=False)

    def whole(self, positions) -> dict[int, SlideView]:
        """position → the slide with its HTML, for the positions that exist."""
        out = {}
        for i in positions:
            if not 0 <= i < len(self):
                continue
            view = self[i]  # a slide the index does not hold is rendered (and kept) here
            with self.lock:
                found = self.served.get(i)
                if found is not None:
                    self.served.move_to_end(i)
            if found is None:
                if self.counter:
                    self.counter()
                found = served(view, self.parts[i].render(), self.resolver)
                self.keep(i, found)
            out[i] = found
        return out


def from_index(part, doc: dict, deck: str, resolver: ImageResolver) -> SlideView:
    """A slide from its stored fields (the render's, and its images' OCR text)."""
    body, alt, ocr = doc.get("body") or "", doc.get("alt") or "", doc.get("ocr") or ""
    title, image_only = doc.get("title") or "", bool(doc.get("image_only"))
    # the index's title is the render's, else the first line of the image's OCR text
    return SlideView(
        deck=deck, h=part.h, v=part.v,
        title=display_title(title, image_only, from_ocr=not body.strip() and bool(title)),
        html=None, notes_html=None, notes=doc.get("notes") or "", text=body, ocr=ocr,
        image_only=image_only, alt=alt, key=slide_key(body, alt, ocr),
        attrs=section_attributes(part.rendered.attrs if part.rendered else (), resolver))


def served(view: SlideView, text: Rendered, resolver: ImageResolver) -> SlideView:
    """The slide with its HTML, images pointed at what kb serves."""
    return replace(view, html=Markup(rewrite_images(text.html, resolver)),
                   notes_html=Markup(rewrite_images(text.notes_html, resolver)))


def read_view(source: DeckSource, digest: str, index, resolver: ImageResolver,
              problems: list, counter=None) -> DeckView:
    """The deck for the pages (`index`: the app's SlideIndex)."""
    slides = Slides(source, digest, index, resolver, counter)
    title = source.meta.title
    if not title and slides.parts:
        first = slides.stored(0, 1)[0]
        title = first.get("deck_title") or ""
        for part in slides.parts if not first else ():  # the first heading, as the indexer
            if counter:
                counter()
            title = part.render().heading
            if title:
                break
    info = DeckInfo(source.id, title or source.path.stem, source.meta.date, source.meta.tags,
                    len(slides))
    named = {value: part.anchor for part in slides.parts if part.rendered
             for name, value in part.rendered.attrs if name == "id"}
    return DeckView(info, slides, tuple(part.anchor for part in slides.parts), named,
                    tuple(p.as_dict() for p in problems))
