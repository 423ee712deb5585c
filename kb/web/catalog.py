"""The decks the web app serves: the list of decks (from the manifest) and whole decks.

The deck list comes from the index manifest (re-read when its mtime changes); a deck page
reads the deck file itself (found through the manifest, else by trying the deck suffixes
under the content folder: never outside it) and takes the OCR text of its images from the
index. Rendered decks are cached by the deck file's size and mtime.
"""

import datetime as dt
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from markupsafe import Markup

from kb.deck import DECK_SUFFIXES, Deck, deck_id, read_deck
from kb.schema import load_manifest, manifest_path
from kb.errors import KbError
from kb.render import ImageResolver, display_title, rewrite_images
from kb.search import SlideIndex
from kb.settings import Settings
from kb.slidekeys import slide_key
from kb.web.models import DeckInfo, DeckView, SlideView, group_by_tag, is_course

log = logging.getLogger(__name__)
MAX_ID = 400
CACHE_DECKS = 32


def parse_when(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def valid_id(ident: str) -> bool:
    """A deck id as kb makes them: relative, `/`-separated, no dot-folders, not media/."""
    if not ident or len(ident) > MAX_ID or "\\" in ident or "\x00" in ident:
        return False
    parts = ident.split("/")
    return all(p and not p.startswith(".") for p in parts) and parts[0] != "media"


class Catalog:
    """The decks a web app serves, read lazily and cached by mtime."""

    def __init__(self, settings: Settings, index: SlideIndex):
        self.settings = settings
        self.index = index
        self.lock = threading.Lock()
        self.manifest_key = None
        self.manifest: dict = {}
        self.deck_list: list[DeckInfo] = []
        self.views: OrderedDict = OrderedDict()

    # ------------------------------------------------------------ the manifest
    def refresh(self) -> None:
        try:
            st = manifest_path(self.settings).stat()
            key = (st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        with self.lock:
            if key == self.manifest_key and (key is None or self.manifest):
                return
            manifest = load_manifest(self.settings).get("decks", {}) if key else {}
            decks = []
            for ident, entry in manifest.items():
                slides = entry.get("slides")
                if not isinstance(slides, int) or slides < 1:
                    continue  # unreadable file: `kb check` reports it
                tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
                decks.append(DeckInfo(ident, str(entry.get("title") or ident),
                                      parse_when(entry.get("date")),
                                      tuple(str(t) for t in tags), slides))
            decks.sort(key=lambda d: d.title.lower())
            decks.sort(key=lambda d: d.date or dt.datetime.min, reverse=True)
            self.manifest, self.deck_list, self.manifest_key = manifest, decks, key

    def decks(self, tag: str | None = None) -> list[DeckInfo]:
        """All indexed decks, newest first (optionally only those with `tag`, any case)."""
        self.refresh()
        if tag:
            return [d for d in self.deck_list if tag.lower() in (t.lower() for t in d.tags)]
        return list(self.deck_list)

    def tag_counts(self) -> dict[str, int]:
        """Tags → number of decks: course codes first (most decks first), then topics."""
        return {tag: len(decks) for tag, decks in
                sorted(group_by_tag(self.decks()),
                       key=lambda g: (not is_course(g[0]), -len(g[1]), g[0].lower()))
                if tag}

    def counts(self) -> dict:
        decks = self.decks()
        return {"decks": len(decks), "slides": sum(d.slides for d in decks)}

    # ------------------------------------------------------------ one deck
    def deck_path(self, ident: str) -> Path | None:
        """The file of a deck id, only if it lies inside the content folder."""
        if not valid_id(ident):
            return None
        self.refresh()
        content = self.settings.content
        root = content.resolve()
        entry = self.manifest.get(ident) or {}
        candidates = [content / entry["path"]] if isinstance(entry.get("path"), str) else []
        candidates += [content / (ident + s) for s in DECK_SUFFIXES + tuple(x.upper() for x in DECK_SUFFIXES)]
        for path in candidates:
            try:
                real = path.resolve()
            except (OSError, ValueError):
                continue
            if root in real.parents and real.is_file() and path.suffix.lower() in DECK_SUFFIXES:
                try:
                    if deck_id(path, content) == ident:
                        return path
                except ValueError:
                    continue
        return None

    def deck(self, ident: str) -> DeckView | None:
        """The deck, rendered; None if there is no such deck (or it cannot be read)."""
        path = self.deck_path(ident)
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        key = (str(path), st.st_mtime_ns, st.st_size, self.manifest_key)
        with self.lock:
            cached = self.views.get(ident)
            if cached and cached[0] == key:
                self.views.move_to_end(ident)
                return cached[1]
        deck, problems = read_deck(path, self.settings.content)
        if deck is None:
            log.warning("deck %s cannot be read: %s", ident, "; ".join(map(str, problems)))
            return None
        view = self.render(deck, problems)
        with self.lock:
            self.views[ident] = (key, view)
            self.views.move_to_end(ident)
            while len(self.views) > CACHE_DECKS:
                self.views.popitem(last=False)
        return view

    def indexed(self, ident: str) -> dict:
        """anchor → stored fields of the deck's slides in the index (titles, OCR text)."""
        try:
            searcher = self.index.searcher()
            return {doc["anchor"]: doc for doc in searcher.documents(deck=ident)}
        except KbError:
            return {}
        except Exception:  # the page still shows the slides without their OCR text
            log.exception("could not read the index entries of deck %s", ident)
            return {}

    def render(self, deck: Deck, problems) -> DeckView:
        resolver = ImageResolver(self.settings.content, deck.path.parent)
        stored = self.indexed(deck.id)
        slides = []
        for slide in deck.slides:
            doc = stored.get(slide.anchor, {})
            slides.append(SlideView(
                deck=deck.id, h=slide.h, v=slide.v,
                title=display_title(slide.title or doc.get("title") or "", slide.image_only,
                                    from_ocr=not slide.title and bool(doc.get("title"))),
                # the deck reader's own render (the index holds the same), images served
                html=Markup(rewrite_images(slide.html, resolver)),
                notes_html=Markup(rewrite_images(slide.notes_html, resolver)),
                attrs=section_attributes(slide.attrs, resolver),
                notes=slide.notes, text=slide.body, ocr=doc.get("ocr") or "",
                image_only=slide.image_only, alt=slide.alt,
                key=slide_key(slide.body, slide.alt, doc.get("ocr") or "")))
        info = DeckInfo(deck.id, deck.title, deck.date, deck.tags, len(deck.slides))
        return DeckView(info, tuple(slides), tuple(p.as_dict() for p in problems))


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
