"""Deck-level matches shown once: the rows of a result page.

A slide that holds one of the query's words in its own text (title, body, notes, alt, OCR)
is a hit of its own. A slide that matches only through what its whole deck shares (the deck
title, the tags) is not: every slide of the deck would match alike, so the deck is listed
once. Slide hits come first, by score; among them, a deck's best slide also says how many
more of its slides match through the deck (`more`). A deck none of whose slides match on
their own text gets one row (`kind="deck"`: its first matching slide, and `more`), after
the slide hits, by score — so a course code or a deck's topic still lists the deck.

Works on the matcher's arrays: the match set (a bool per docnum), the scores, and the
generation's docnum → deck table.
"""

from dataclasses import dataclass

import numpy as np

SLIDE, DECK = "slide", "deck"


@dataclass(frozen=True)
class Row:
    docnum: int
    score: float
    kind: str = SLIDE
    more: int = 0  # other slides of this deck that match only through the deck


@dataclass(frozen=True)
class Split:
    own: np.ndarray  # bool per docnum: matches on its own text
    deck_of: np.ndarray  # deck value id per docnum (-1: none)
    through: dict  # deck value id → sorted docnums that match only through the deck
    lone: list  # deck value ids with no slide among `own`

    @property
    def total(self) -> int:
        """Rows the result lists: the slide hits, plus one per deck without any."""
        return int(np.count_nonzero(self.own)) + len(self.lone)


def deck_table(facet, size: int) -> np.ndarray:
    """docnum → the id of its deck in `facet` (kb.generation.FacetArrays of "deck")."""
    table = np.full(size, -1, dtype=np.int64)
    table[facet.docs] = facet.ids
    return table


def split(mask: np.ndarray, own_mask, decks: np.ndarray) -> Split:
    """The matching slides (`mask`) split into own-text hits and deck-level matches.
    `own_mask` None: the query has no words, every slide is its own hit."""
    if own_mask is None:
        return Split(mask, decks, {}, [])
    own = mask & own_mask
    rest = np.flatnonzero(mask & ~own_mask)
    through: dict[int, list[int]] = {}
    for docnum in rest.tolist():
        through.setdefault(int(decks[docnum]), []).append(docnum)
    own_decks = set(decks[own].tolist()) if through else set()
    return Split(own, decks, through, [d for d in through if d not in own_decks])


def page_rows(scores: np.ndarray, parts: Split, page: int, per_page: int, top_k) -> list[Row]:
    """The rows of one page: slide hits by score, then one row per deck without any.
    `top_k(mask, k)` ranks the docnums of a mask as the engine does."""
    start, end = (page - 1) * per_page, page * per_page
    n_own = int(np.count_nonzero(parts.own))
    rows: list[Row] = []
    if start < n_own:
        told = set()  # decks whose best slide already carries the count
        for rank, (docnum, score) in enumerate(top_k(parts.own, end)):
            deck, more = int(parts.deck_of[docnum]), 0
            if deck in parts.through and deck not in told:
                told.add(deck)
                more = len(parts.through[deck])
            if rank >= start:
                rows.append(Row(docnum, score, SLIDE, more))
    if end > n_own and parts.lone:
        firsts = {parts.through[deck][0]: deck for deck in parts.lone}
        mask = np.zeros(len(parts.own), dtype=bool)
        mask[list(firsts)] = True
        skip = max(0, start - n_own)
        for docnum, score in top_k(mask, len(firsts))[skip: skip + end - max(start, n_own)]:
            rows.append(Row(docnum, score, DECK, len(parts.through[firsts[docnum]]) - 1))
    return rows
