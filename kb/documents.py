"""Slides → Whoosh documents: the fields one slide is indexed and stored under.

Used by the reindex in the parent process (a few decks) and by the workers that write
segments of their own (kb/index_segments.py), so both index the same documents.
"""

import re

from kb.deck import Deck
from kb.lang import deck_language
from kb.manifest import rel
from kb.schema import ENGLISH, lang_field, text_analyzer
from kb.settings import Settings
from kb.whoosh_fast import fused_words

# The deck's words as the `words` field cuts them (kb.schema), in one pass.
UNSTEMMED_WORDS = fused_words(text_analyzer(stem=False))


def looks_like_words(line: str) -> bool:
    """Whether an OCR line reads as words rather than specks ("ae eel", "| =~ ii"): most of
    its pieces are words of letters with a vowel, one of them at least four letters long."""
    pieces = line.split()
    words = [p for p in (re.sub(r"^\W+|\W+$", "", p) for p in pieces)
             if re.fullmatch(r"[^\W\d_]{2,}(?:[-'][^\W\d_]+)*", p) and re.search(r"[aeiouyæøåäöü]", p, re.I)]
    return (any(len(w) >= 4 for w in words) and len(words) * 2 >= len(pieces)
            and sum(map(len, words)) * 2 >= len(line.replace(" ", "")))


def first_line(text: str, limit: int = 80) -> str:
    """The first line of OCR text that reads like words (OCR often starts with specks),
    without leading specks and cut at a word boundary; "" when no line does (the slide is
    then shown as an image slide of its deck)."""
    for line in text.split("\n"):
        line = re.sub(r"^[\W_]+", "", line).strip()
        if looks_like_words(line):
            return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + "…"
    return ""


def slide_documents(deck: Deck, ocr: dict, settings: Settings, digest: str | None = None) -> list[dict]:
    """The Whoosh documents of one deck: one per slide. Its text goes to the fields of its
    language (stored under the English names, so readers need not know it)."""
    docs, texts_seen = [], [deck.title]
    slides = []
    for slide in deck.slides:
        texts = [ocr[i.path].text for i in slide.images if i.path in ocr and ocr[i.path].text]
        slides.append((slide, "\n".join(texts)))
    lang = deck_language(deck.meta, "\n".join(s.body + "\n" + s.notes for s, _ in slides))
    for slide, ocr_text in slides:
        title = slide.title or first_line(ocr_text)
        first = next((i for i in slide.images if i.path), None)
        doc = dict(
            deck=deck.id, anchor=slide.anchor, h=slide.h, v=slide.v, lang=lang,
            tags=list(deck.tags),
            tag=",".join(deck.tags), tagcase=",".join(deck.tags), tagtext=" ".join(deck.tags),
            image=(first.media_id or rel(first.path, settings)) if first else None,
            image_only=slide.image_only, source=digest,
        )
        texts = dict(deck_title=deck.title, title=title, body=slide.body, alt=slide.alt,
                     ocr=ocr_text, notes=slide.notes)
        for name, text in texts.items():
            doc[lang_field(name, lang)] = text
            if lang != ENGLISH:  # stored once, under the English name, unindexed there
                doc[name], doc["_stored_" + name] = "", text
        if deck.date:
            doc.update(date=deck.date, year=str(deck.date.year))
        docs.append(doc)
        texts_seen += [title, slide.body, slide.alt, ocr_text, slide.notes]
    if docs:
        vocabulary = {w for w, _ in UNSTEMMED_WORDS("\n".join(texts_seen))}
        docs[0]["words"] = " ".join(sorted(vocabulary))
    return docs
