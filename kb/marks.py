"""Which slides of a deck a search's results point to, so the deck page can say how many
of this query's hits are on it and mark the words on exactly those slides."""

from dataclasses import dataclass, field

from kb.deckhits import DECK
from kb.render import fold  # the key the page's script compares words by
from kb.schema import ENGLISH
from kb.search import SlideIndex, search
from kb.snippets import clean, marked_spans

PAGE = 100  # the largest page search() serves
MAX_PAGES = 2  # a query on every slide of a 20,000-slide deck lists its best 200 (each page
# of a hundred hits costs ~0.1 s there: snippets, ranking)


@dataclass(frozen=True)
class DeckHits:
    anchors: tuple[str, ...]  # slides that are hits of their own, best first
    through_deck: int = 0  # slides that match only through the deck's title or tags
    stems: dict = field(default_factory=dict, compare=False)  # language → stems the query seeks
    lang: str = ENGLISH  # the deck's language
    complete: bool = True  # False: the deck has more hits than the best ones listed

    @property
    def count(self) -> int:
        """What the results page counted for this deck: its slide hits, or 1 for the deck."""
        return len(self.anchors) or (1 if self.through_deck else 0)


def hits_in_deck(index: SlideIndex, text: str, deck: str, tags=(), live: bool = False) -> DeckHits:
    """The query's hits on one deck, as the results page listed them."""
    anchors, through, page, lang = [], 0, 1, ENGLISH
    while True:
        result = search(index, text, tags=tags, deck=deck, page=page, per_page=PAGE, live=live)
        for hit in result.hits:
            if hit.deck != deck:  # a deck in a folder of the same name
                continue
            lang = hit.lang
            if hit.kind == DECK:
                through += hit.more + 1
            else:
                anchors.append(hit.anchor)
                through += hit.more
        if page >= result.pages or page >= MAX_PAGES:
            return DeckHits(tuple(anchors), through, result.stems, lang, page >= result.pages)
        page += 1


def marked_words(hits: DeckHits, texts) -> list[str]:
    """The words (folded) of `texts` — the hit slides' text — that the query matched,
    stemmed in the deck's language as the index stemmed them."""
    lang = hits.lang
    stems = hits.stems.get(lang, set())
    found = set()
    for text in texts:
        text = clean(text or "")
        found.update(fold(text[s:e]) for s, e, _ in marked_spans(text, stems, lang))
    return sorted(found)
