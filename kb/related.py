"""Related slides: for each slide of a deck, up to five slides of *other* decks on the same
topic ("Also covered in …"), found in the index.

Per slide, bounded work: its `NUM_TERMS` most telling words (tf·idf over the slide's own
title, body, alt and OCR text) make one OR query for `CANDIDATES` slides outside its deck;
each candidate is then scored by the tf·idf cosine of the two slides' words, and only those
above `MIN_SIMILARITY` are kept. On the sample corpus same-topic pairs score 0.2–0.54
(simple vs multiple regression, joins vs normalization); "Exercises" vs "Exercises" of two
courses 0.16, the best pair of unrelated topics 0.19. A deck's answer is computed on its first page
request and cached per index generation: a reindex never leaves a stale list.
"""

import math
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from itertools import islice

from whoosh import query as Q

from kb import matcher
from kb.errors import KbError
from kb.schema import text_analyzer
from kb.slidekeys import stored_key
from kb.urls import slide_url

LIMIT = 5  # related slides shown per slide
NUM_TERMS = 10  # words of a slide that make its query
CANDIDATES = 15  # slides scored per slide
MIN_SIMILARITY = 0.2  # tuned on sample/content: see the module docstring
MIN_WORDS = 3  # a slide with fewer distinct words ("Questions?") has no topic to match
MIN_SHARED = 2  # one rare word in common ("cover", "overview") is not a topic
FIELDS = ("title", "body", "alt", "ocr")
CACHE_DECKS = 64
MAX_SLIDES = 120  # slides of one deck given related slides per call (the web app: its page window): ~5 ms each
# Postings one slide's query may walk (sum of its words' document frequencies). A word on
# every slide of a 20,000-slide deck walks them all, each excluded as the slide's own deck:
# 0.37 s per slide, 44 s for a page. Such words are skipped; on ordinary decks none is.
MAX_POSTINGS = 5000
MAX_TEXT = 10_000


@dataclass(frozen=True)
class Related:
    deck: str
    anchor: str
    title: str
    deck_title: str
    url: str
    similarity: float

    def as_dict(self) -> dict:
        return {"deck": self.deck, "anchor": self.anchor, "title": self.title,
                "deck_title": self.deck_title, "url": self.url,
                "similarity": round(self.similarity, 3)}


_local = threading.local()


def thread_analyzer():
    """One analyzer per thread: its stemmer keeps a cache of the words it stemmed (a new
    analyzer per slide stemmed every word again: 70% of a dense deck's related slides)."""
    if not hasattr(_local, "analyzer"):
        _local.analyzer = text_analyzer()
    return _local.analyzer


def doc_words(doc: dict) -> Counter:
    analyzer = thread_analyzer()
    # A slide's topic is in its first MAX_TEXT characters (a 100 kB slide would take 0.3 s).
    text = "\n".join(doc.get(f) or "" for f in FIELDS)[:MAX_TEXT]
    # Numbers and 1–2 letter words (`x`, `np`, `0.5`) say little about a topic.
    return Counter(t.text for t in analyzer(text) if len(t.text) > 2 and not t.text.isdigit())


class Weights:
    """idf of words over the slides' text fields, looked up once per word and generation."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.total = max(searcher.doc_count(), 1)
        self.idf: dict[str, float] = {}

    def __call__(self, word: str) -> float:
        if word not in self.idf:
            df = max(self.searcher.doc_frequency(f, word) for f in ("body", "ocr", "title"))
            self.idf[word] = math.log(1 + self.total / (1 + df))
        return self.idf[word]

    def vector(self, words: Counter) -> dict[str, float]:
        return {w: (1 + math.log(n)) * self(w) for w, n in words.items()}


def cosine(a: dict, b: dict) -> float:
    dot = sum(x * b[w] for w, x in a.items() if w in b)
    norm = math.sqrt(sum(x * x for x in a.values())) * math.sqrt(sum(x * x for x in b.values()))
    return dot / norm if norm else 0.0


def related_for_slide(evaluation, weights: Weights, doc: dict, vectors: dict,
                      work: Counter) -> tuple[Related, ...]:
    """Up to LIMIT slides of other decks like `doc` (a stored slide), best first; `vectors`
    keeps the slides' word vectors for the rest of the deck (candidates recur), `work`
    counts the postings its queries may walk; `evaluation`: a kb.matcher.Evaluation."""
    searcher = evaluation.gen.searcher
    words = doc_words(doc)
    if len(words) < MIN_WORDS:
        return ()
    mine = weights.vector(words)
    top, cost = [], 0
    for word in sorted(mine, key=mine.get, reverse=True):
        postings = sum(searcher.doc_frequency(f, word) for f in FIELDS)
        if cost + postings <= MAX_POSTINGS:
            top.append(word)
            cost += postings
            if len(top) == NUM_TERMS:
                break
    work["postings"] += cost
    if not top:
        return ()
    # Whoosh's BM25F ranking, by kb's matcher (the same scores, without Whoosh's matcher
    # objects walking each posting in Python: 74 → ~5 ms a slide where words are common)
    scored = evaluation(Q.Or([Q.Term(f, w) for w in top for f in FIELDS]))
    allowed = scored.mask & evaluation.gen.live & ~evaluation(Q.Term("deck", doc["deck"])).mask
    found = []
    for docnum, _ in matcher.top_k(scored, allowed, CANDIDATES):
        other = searcher.stored_fields(docnum)
        if docnum not in vectors:
            vectors[docnum] = weights.vector(doc_words(other))
        score = cosine(mine, vectors[docnum])
        if score >= MIN_SIMILARITY and len(mine.keys() & vectors[docnum].keys()) >= MIN_SHARED:
            found.append(Related(other["deck"], other["anchor"], other.get("title") or "",
                                 other.get("deck_title") or "",
                                 slide_url(other["deck"], other["anchor"], key=stored_key(other)), score))
    found.sort(key=lambda r: -r.similarity)
    return tuple(found[:LIMIT])


class RelatedSlides:
    """Related slides per deck, cached per index generation."""

    def __init__(self, index, max_slides: int = MAX_SLIDES):
        self.index = index  # kb.search.SlideIndex
        self.max_slides = max_slides
        self.lock = threading.Lock()
        self.cache: OrderedDict = OrderedDict()  # (generation, deck, first) → {anchor: (Related…)}
        self.computed = 0  # decks computed (not served from the cache): for tests
        self.queries = 0  # slides looked up, one query each: for tests
        self.work: Counter = Counter()  # postings the queries may walk: for tests

    def for_deck(self, deck: str, first: int = 0) -> dict[str, tuple[Related, ...]]:
        """anchor → related slides of `max_slides` of the deck's indexed slides, from
        position `first` on (the slides a page sends: the work of one request stays bounded
        whatever the deck's size); {} without an index."""
        try:
            gen = self.index.generation()
        except KbError:
            return {}
        key = (gen.number, deck, first)
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        searcher, answer = gen.searcher, {}
        with gen.lock:  # the generation's searcher, for one thread at a time
            evaluation, weights, vectors = matcher.Evaluation(gen), Weights(searcher), {}
            # A deck's slides are written in one go, in order: its document numbers are its
            # slides in order (and the stored fields of the ones skipped are never read).
            numbers = islice(searcher.document_numbers(deck=deck), first, first + self.max_slides)
            for doc in map(searcher.stored_fields, numbers):
                self.queries += 1
                found = related_for_slide(evaluation, weights, doc, vectors, self.work)
                if found:
                    answer[doc["anchor"]] = found
        with self.lock:
            self.computed += 1
            self.cache[key] = answer
            while len(self.cache) > CACHE_DECKS:
                self.cache.popitem(last=False)
        return answer
