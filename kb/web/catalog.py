"""The decks the web app serves: the list of decks (from the manifest) and whole decks.

The deck list comes from the index manifest (re-read when its mtime changes); a deck page
reads the deck file itself (found through the manifest, else by trying the deck suffixes
under the content folder: never outside it), splits it, and takes its slides' titles and
texts from the index (`kb.web.deckread`: only the slides a page sends are rendered). Decks
are cached by the file's size and mtime and the index generation.
"""

import datetime as dt
import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from kb.deck import DECK_SUFFIXES, deck_id, split_deck
from kb.schema import load_manifest, manifest_path
from kb.errors import KbError
from kb.render import ImageResolver
from kb.search import SlideIndex
from kb.settings import Settings
from kb.web.deckread import read_view
from kb.web.models import DeckInfo, DeckView, group_by_tag, is_course

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
        self.tags: tuple = (None, {})  # (the deck_list counted, tag → decks)
        self.views: OrderedDict = OrderedDict()
        self.renders = 0

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
        """Tags → number of decks: course codes first (most decks first), then topics.
        Kept until the manifest changes (every search page shows them: 2 ms at 700 decks)."""
        self.refresh()
        decks = self.deck_list
        counted_from, counts = self.tags
        if counted_from is not decks:
            counts = {tag: len(group) for tag, group in
                      sorted(group_by_tag(decks),
                             key=lambda g: (not is_course(g[0]), -len(g[1]), g[0].lower()))
                      if tag}
            self.tags = (decks, counts)  # one assignment: threads see both halves or neither
        return dict(counts)

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
        """The deck (`kb.web.deckread`); None if there is no such deck (or it cannot be read)."""
        path = self.deck_path(ident)
        if path is None:
            return None
        try:
            generation = self.index.searcher().ixreader.generation()
        except KbError:
            generation = None
        try:
            st = path.stat()
            key = (str(path), st.st_mtime_ns, st.st_size, generation)
            with self.lock:
                cached = self.views.get(ident)
                if cached and cached[0] == key:
                    self.views.move_to_end(ident)
                    return cached[1]
            data = path.read_bytes()
        except OSError:
            return None
        source, problems = split_deck(path, self.settings.content, data)
        if source is None:
            log.warning("deck %s cannot be read: %s", ident, "; ".join(map(str, problems)))
            return None
        view = read_view(source, hashlib.sha256(data).hexdigest(), self.index,
                         ImageResolver(self.settings.content, path.parent), problems,
                         counter=self.count_render)
        with self.lock:
            self.views[ident] = (key, view)
            self.views.move_to_end(ident)
            while len(self.views) > CACHE_DECKS:
                self.views.popitem(last=False)
        return view

    def count_render(self) -> None:
        self.renders += 1  # slides rendered for pages (a test bounds it)
