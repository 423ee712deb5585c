"""The slides' real words (the unstemmed `words` field), read once per index generation:
their frequencies, the words a prefix starts, and the words within a few edits of a typo.

Whoosh answers these from its term files on every call: `searcher.suggest` walks a
Levenshtein automaton (or, over several segments, every word of the first letter) in
Python, 9–60 ms for one misspelled word. Here the words are one sorted list with numpy
arrays beside it. The words near a typo are narrowed down by two counts that no word
within k edits can fail: it shares all but at most 3k of the typo's letter pairs
(bigrams, with the word's start and end as letters), and its letters differ in number by
at most 2k; the few that pass are measured with Whoosh's own Damerau-Levenshtein distance.
"""

from bisect import bisect_left

import numpy as np
from whoosh.support.levenshtein import distance

FIELD = "words"
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"  # counted apart; any other letter in one column
START, END = 0x110000, 0x110001  # beyond every code point: a word's start and end
COLUMN = np.full(128, len(LETTERS), dtype=np.int64)
COLUMN[[ord(c) for c in LETTERS]] = np.arange(len(LETTERS))


def code_points(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All words' code points in one array, and each word's length."""
    lengths = np.array([len(w) for w in words], dtype=np.int64)
    text = "".join(words).encode("utf-32-le")
    return np.frombuffer(text, dtype=np.uint32).astype(np.int64), lengths


def pair_codes(points: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bigram code, word number) of every bigram of every word, START and END included."""
    count = len(lengths)
    padded = np.empty(len(points) + 2 * count, dtype=np.int64)
    ends = np.cumsum(lengths + 2) - 1
    starts = ends - lengths - 1
    inside = np.ones(len(padded), dtype=bool)
    inside[starts] = inside[ends] = False
    padded[starts], padded[ends], padded[inside] = START, END, points
    pairs = padded[:-1] * (END + 1) + padded[1:]
    keep = np.ones(len(pairs), dtype=bool)
    keep[ends[:-1]] = False  # the pair across two words
    return pairs[keep], np.repeat(np.arange(count), lengths + 1)


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique's hash table is slower on a million codes)."""
    values = np.sort(values)
    return values[np.diff(values, prepend=-1) != 0] if len(values) else values


def letter_counts(points: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per word, how often each of LETTERS (then any other letter) is in it, capped at 255:
    capped on both sides, two words' counts differ no more than uncapped ones."""
    columns = np.where(points < 128, COLUMN[np.minimum(points, 127)], len(LETTERS))
    width = len(LETTERS) + 1
    owner = np.repeat(np.arange(len(lengths)), lengths)
    counts = np.bincount(owner * width + columns, minlength=len(lengths) * width)
    return np.minimum(counts, 255).astype(np.uint8).reshape(len(lengths), width)


class Vocabulary:
    """The words of one field over every segment of a generation, in the index's order."""

    def __init__(self, counts: dict):
        """`counts`: word → (documents holding it, its frequency)."""
        self.words = sorted(counts)  # code point order: the order of Whoosh's UTF-8 terms
        self.at = {w: i for i, w in enumerate(self.words)}
        self.docs = np.array([counts[w][0] for w in self.words], dtype=np.int64)
        self.weights = np.array([counts[w][1] for w in self.words], dtype=np.float64)
        points, self.lengths = code_points(self.words)
        self.letters = letter_counts(points, self.lengths)
        # Each distinct (bigram, word) once, sorted by bigram: a bigram's words are a slice.
        pairs, owners = pair_codes(points, self.lengths)
        both = distinct(pairs * max(1, len(self.words)) + owners)
        codes, self.owners = np.divmod(both, max(1, len(self.words)))
        first = np.flatnonzero(np.diff(codes, prepend=-1))
        self.pair_codes, self.pair_starts = codes[first], np.append(first, len(codes))

    @classmethod
    def of(cls, leaves, fieldname: str = FIELD) -> "Vocabulary":
        """The vocabulary of a field over a generation's (leaf reader, offset) pairs."""
        counts: dict[str, list] = {}
        for leaf, _ in leaves:
            if fieldname not in leaf.schema:
                continue
            for btext, info in leaf.iter_field(fieldname):
                found = counts.setdefault(btext.decode("utf-8"), [0, 0])
                found[0] += info.doc_frequency()
                found[1] += info.weight()
        return cls(counts)

    def doc_frequency(self, word: str) -> int:
        """Documents holding the word (deck first slides, for `words`), as Whoosh counts."""
        i = self.at.get(word)
        return 0 if i is None else int(self.docs[i])

    def span(self, prefix: str) -> tuple[int, int]:
        """[lo, hi) of the words starting with `prefix` (they are consecutive)."""
        lo = bisect_left(self.words, prefix)
        return lo, bisect_left(self.words, prefix + "\U0010ffff", lo)

    def prefixed(self, prefix: str, scanned: int, keep: int) -> list[str]:
        """Of the first `scanned` words starting with `prefix`, the `keep` held by the most
        documents (ties in word order): what Whoosh's expand_prefix and a sort gave."""
        lo, hi = self.span(prefix)
        hi = min(hi, lo + scanned)
        order = np.argsort(-self.docs[lo:hi], kind="stable")[:keep]
        return [self.words[lo + int(i)] for i in order]

    def near(self, word: str, maxdist: int) -> list[tuple[int, str]]:
        """(distance, word) of the words within `maxdist` edits (Damerau-Levenshtein) of
        `word` that start with its first letter, `word` itself excluded."""
        lo, hi = self.span(word[:1])
        if not word or lo == hi:
            return []
        points, length = code_points([word])
        mine = distinct(pair_codes(points, length)[0])
        at = np.searchsorted(self.pair_codes, mine)
        held = at < len(self.pair_codes)
        held[held] = self.pair_codes[at[held]] == mine[held]
        at = at[held]
        ids = np.concatenate([self.owners[self.pair_starts[i]:self.pair_starts[i + 1]] for i in at]
                             or [np.zeros(0, np.int64)])
        ids = ids[(ids >= lo) & (ids < hi)]
        shared = np.bincount(ids - lo, minlength=hi - lo)
        close = np.abs(self.lengths[lo:hi] - len(word)) <= maxdist
        passing = np.flatnonzero(close & (shared >= len(mine) - 3 * maxdist)) + lo
        if len(passing):
            mine_letters = letter_counts(points, length)[0].astype(np.int16)
            off = np.abs(self.letters[passing].astype(np.int16) - mine_letters).sum(axis=1)
            passing = passing[off <= 2 * maxdist]
        out = []
        for i in passing:
            other = self.words[i]
            if other != word:
                d = distance(other, word, limit=maxdist)  # as Whoosh calls it
                if d <= maxdist:
                    out.append((d, other))
        return out

    def correction(self, word: str, maxdist: int) -> str | None:
        """The closest word within `maxdist` edits sharing the first letter: fewest edits,
        then the most frequent, then the first in word order."""
        near = self.near(word, maxdist)
        if not near:
            return None
        return min(near, key=lambda dw: (dw[0], -self.weights[self.at[dw[1]]], dw[1]))[1]


def vocabulary_of(reader) -> Vocabulary:
    """A Whoosh reader's vocabulary, built on first use and kept on the reader (a reader
    is one generation: its words never change)."""
    found = reader.__dict__.get("_kb_vocabulary")
    if found is None:
        found = reader.__dict__["_kb_vocabulary"] = Vocabulary.of(reader.leaf_readers())
    return found
