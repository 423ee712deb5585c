"""'Did you mean': the query with its unknown words swapped for close real words.

Each unknown word becomes the real word fewest edits away (letters changed, added, dropped
or swapped), the most frequent of those, from the generation's vocabulary (kb.vocabulary).

Offered only when every word swapped in is a real word of the slides (the unstemmed `words`
vocabulary, as the slides spell it) close to what was typed, and the new query finds more
slides than the typed one. Filters (`deck:…`, `tag:…`, `date:[…]`) are never respelled:
they stay as typed, and `year:` is left out (it is the year facet, which the page keeps in
its own parameter).
"""

import re

from kb.query import parse, vocabulary_words
from kb.schema import WORD, text_analyzer
from kb.vocabulary import vocabulary_of

FILTER_TOKEN = re.compile(r"(?<!\S)[\w.-]+:(?:\[[^\]]*\]?|\"[^\"]*\"?|\S*)")
MIN_LENGTH = 4  # shorter words have too many close neighbours ("org" → "of")
OPERATORS = {"AND", "OR", "NOT", "TO"}


def max_edits(word: str) -> int:
    """Two edits turn a seven-letter word into another word ("theorem" → "there")."""
    return 1 if len(word) <= 7 else 2


def respell(searcher, words_text: str, keep_last: bool) -> str | None:
    """Each word the slides do not have → the closest one they do (None if nothing changed)."""
    analyzer = text_analyzer(stem=False)
    vocabulary = vocabulary_of(searcher.reader())
    matches = list(re.finditer(r"(?<![\w#+.*~])" + WORD + r"(?![\w*~#+])", words_text))
    if keep_last and matches and matches[-1].end() == len(words_text) and vocabulary_words(
            searcher.reader(), matches[-1].group(0)):
        matches = matches[:-1]  # still being typed, the start of real words: not a misspelling
    changed, out = False, words_text
    for match in reversed(matches):
        word = match.group(0)
        tokens = [t.text for t in analyzer(word)]
        if len(tokens) != 1 or word.upper() in OPERATORS or len(word) < MIN_LENGTH:
            continue
        if not re.fullmatch(r"[^\W\d_]+", tokens[0]) or vocabulary.doc_frequency(tokens[0]):
            continue
        found = vocabulary.correction(tokens[0], max_edits(word))
        if found and len(found) >= 3 and found != tokens[0]:
            out = out[: match.start()] + found + out[match.end():]
            changed = True
    return out if changed else None


def all_real(searcher, text: str) -> bool:
    """Whether every word of `text` is one the slides have, as they spell it."""
    words = [t.text for t in text_analyzer(stem=False)(text)
             if t.text.upper() not in OPERATORS]
    vocabulary = vocabulary_of(searcher.reader())
    return all(vocabulary.doc_frequency(w) for w in words)


def suggest(searcher, parser, text: str, found: int, count, live: bool = False) -> str | None:
    """A better query than `text` (which found `found` slides with all its words), or None.
    `count(q)`: how many slides a query finds (within the search's filters)."""
    filters = FILTER_TOKEN.findall(text)
    words_text = " ".join(FILTER_TOKEN.sub(" ", text).split())
    better = respell(searcher, words_text, keep_last=live and not text.endswith(" "))
    if not better or not all_real(searcher, better):
        return None
    if count(parse(parser, searcher.reader(), " ".join(filters + [better])).q) <= found:
        return None
    return " ".join([f for f in filters if not f.lower().startswith("year:")] + [better])
