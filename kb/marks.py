"""Which slides of a deck a search's results point to, so the deck page can say how many
of this query's hits are on it and mark the words on exactly those slides."""

from dataclasses import dataclass

from kb.deckhits import DECK
from kb.search import SlideIndex, search

PAGE = 100  # the largest page search() serves


@dataclass(frozen=True)
class DeckHits:
    anchors: tuple[str, ...]  # slides that are hits of their own, best first
    through_deck: int = 0  # slides that match only through the deck's title or tags

    @property
    def count(self) -> int:
        """What the results page counted for this deck: its slide hits, or 1 for the deck."""
        return len(self.anchors) or (1 if self.through_deck else 0)


def hits_in_deck(index: SlideIndex, text: str, deck: str, tags=(), live: bool = False) -> DeckHits:
    """The query's hits on one deck, as the results page listed them."""
    anchors, through, page = [], 0, 1
    while True:
        result = search(index, text, tags=tags, deck=deck, page=page, per_page=PAGE, live=live)
        for hit in result.hits:
            if hit.deck != deck:  # a deck in a folder of the same name
                continue
            if hit.kind == DECK:
                through += hit.more + 1
            else:
                anchors.append(hit.anchor)
                through += hit.more
        if page >= result.pages:
            return DeckHits(tuple(anchors), through)
        page += 1
