"""Deck-level matches shown once: the rows of a result page.

A slide that holds one of the query's words in its own text (title, body, notes, alt, OCR)
is a hit of its own. A slide that matches only through what its whole deck shares (the deck
title, the tags) is not: every slide of the deck would match alike, so the deck is listed
once. Slide hits come first, by score; among them, a deck's best slide also says how many
more of its slides match through the deck (`more`). A deck none of whose slides match on
their own text gets one row (`kind="deck"`: its first matching slide, and `more`), after
the slide hits, by score — so a course code or a deck's topic still lists the deck.

Everything here asks only for sets of document numbers and scored searches restricted to
them, so any engine that answers `docs_for_query` and `search(filter=…)` serves it.
"""

from dataclasses import dataclass, field

from whoosh import query as Q

SLIDE, DECK = "slide", "deck"


@dataclass(frozen=True)
class Split:
    own: frozenset  # docnums that match on their own text
    by_deck: dict = field(default_factory=dict)  # deck id → docnums matching only through it
    own_decks: frozenset = frozenset()  # decks with a slide among `own`

    @property
    def total(self) -> int:
        """Rows the result lists: the slide hits, plus one per deck without any."""
        return len(self.own) + len(self.lone_decks)

    @property
    def lone_decks(self) -> list[str]:
        return [deck for deck in self.by_deck if deck not in self.own_decks]


@dataclass(frozen=True)
class Row:
    hit: object  # the engine's scored hit (whoosh.searching.Hit)
    kind: str = SLIDE
    more: int = 0  # other slides of this deck that match only through the deck


def split_matches(searcher, own, docnums: set, deck_of) -> Split:
    """Which of the matching slides match on their own text; the rest grouped by deck.
    `own` is kb.query.Parsed.own (None: no words, every slide is its own hit); `deck_of`
    gives a docnum's deck id (a table the index keeps per generation)."""
    if own is None or not docnums:
        return Split(frozenset(docnums))
    mine = set()
    if not isinstance(own, Q.qcore._NullQuery):
        # The words alone (an OR of terms): cheaper than the whole query again, and the
        # slides must match the whole query anyway (they are among `docnums`).
        mine = set(searcher.docs_for_query(own)) & docnums
    by_deck: dict[str, list[int]] = {}
    for docnum in sorted(docnums - mine):
        by_deck.setdefault(deck_of(docnum), []).append(docnum)
    own_decks = frozenset(deck_of(d) for d in mine) if by_deck else frozenset()
    return Split(frozenset(mine), by_deck, own_decks)


def page_rows(searcher, q, split: Split, page: int, per_page: int) -> list[Row]:
    """The rows of one page: slide hits by score, then one row per deck without any."""
    start, end = (page - 1) * per_page, page * per_page
    rows: list[Row] = []
    if start < len(split.own):
        hits = searcher.search(q, limit=end, filter=set(split.own))
        told = set()  # decks whose best slide already carries the count
        for rank, hit in enumerate(hits):
            more = 0
            deck = hit["deck"] if split.by_deck else None
            if deck in split.by_deck and deck not in told:
                told.add(deck)
                more = len(split.by_deck[deck])
            if rank >= start:
                rows.append(Row(hit, SLIDE, more))
    if end > len(split.own) and split.lone_decks:
        firsts = {split.by_deck[deck][0]: deck for deck in split.lone_decks}
        ranked = searcher.search(q, limit=None, filter=set(firsts))
        skip = max(0, start - len(split.own))
        for hit in list(ranked)[skip: skip + end - max(start, len(split.own))]:
            rows.append(Row(hit, DECK, len(split.by_deck[firsts[hit.docnum]]) - 1))
    return rows
