"""What a slide document is in the Whoosh index: its fields and how their text is analyzed.

Both sides read this: the indexer writes documents of this schema, and search parses queries
with the same analyzers, so a word is cut and stemmed the same way in both.

A deck's text is stemmed in its own language: English decks fill the plain fields (`body`),
a Danish deck fills `body_da`, … (each with that language's Snowball stemmer and stop words).
The query parser searches all of them, each field analysing the query's words its own way,
so "bilerne" finds "bil" in Danish decks and English search reads only the English fields.
"""

import hashlib
import json
import re
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import STOP_WORDS, CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.lang import porter2, stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

from kb.errors import KbError
from kb.settings import Settings

SCHEMA_VERSION = 6  # 4: slides with data-visibility="hidden" are not indexed (anchors move up)
# 5: each slide stores the hash of its deck file (`source`): the web app trusts its stored
# fields for a deck only when they come from the bytes it reads now (kb.web.deckread);
# inline `$ … $` with spaces inside is math, a stray `</br>` a break (the text read changes)
# 6: malformed inline HTML is repaired by the sanitizer's HTML5 parser alone (kb.render)
# Letters and digits (`np.linalg.norm`, `max_retries` and `**term**` become plain words),
# and the language names students type as written: C#, F#, C++, .NET.
WORD = r"(?i:(?<![^\W_])[a-z](?:#|\+\+)(?![^\W_#+])|(?<!\.)\.net(?![^\W_])|[^\W_]+)"

ENGLISH = "en"
# Languages a deck may be in (frontmatter `lang`, else detected); English is the default.
LANGUAGES = (ENGLISH, "da")
# The fields that hold a slide's own text, then those the whole deck shares.
OWN_TEXT = ("title", "body", "alt", "ocr", "notes")
DECK_TEXT = ("deck_title",)

# Whoosh's stop words plus the question words students type ("what is a hazard ratio").
STOP_WORDS = STOP_WORDS | {"what", "how", "why", "which", "who", "does", "do", "i", "my", "me"}


def text_analyzer(stem: bool = True, lang: str = ENGLISH):
    tokens = RegexTokenizer(WORD) | LowercaseFilter()
    fold = CharsetFilter(accent_map)
    if not stem:
        return tokens | fold
    if lang == ENGLISH:
        return tokens | fold | StopFilter(STOP_WORDS, minsize=1) | StemFilter(stemfn=porter2.stem)
    # Other stemmers know their letters (æ, ø, å): stem first, fold after.
    return (tokens | StopFilter(stopwords_for_language(lang), minsize=1)
            | StemFilter(stemfn=stemmer_for_language(lang)) | fold)


def lang_field(name: str, lang: str) -> str:
    """The field that holds `name`'s text for a deck in `lang`: body, body_da, …"""
    return name if lang == ENGLISH else f"{name}_{lang}"


def base_field(name: str) -> str:
    """body_da → body: what a field is called in hits and JSON, whatever the language."""
    head, _, tail = name.rpartition("_")
    return head if head and tail in LANGUAGES else name


def text_fields(names) -> list[str]:
    return [lang_field(n, lang) for lang in LANGUAGES for n in names]


def make_schema() -> Schema:
    fields = dict(
        deck=ID(stored=True),
        anchor=STORED,
        h=STORED,
        v=STORED,
        lang=STORED,
        tag=KEYWORD(lowercase=True, commas=True),  # for tag: filters, any case
        tagcase=KEYWORD(commas=True),  # for facets, in the case the lecturer wrote
        tagtext=TEXT(analyzer=text_analyzer()),  # so plain words find course codes too
        tags=STORED,
        date=DATETIME(stored=True),
        year=ID(stored=True),
        image=STORED,  # media id or content-relative path of the slide's first image
        image_only=STORED,
        source=STORED,  # sha256 of the deck file the slide was read from
        # The deck's distinct unstemmed words, on its first slide only: the vocabulary that
        # "did you mean" and the word being typed draw from (per slide it was 43% of all
        # postings).
        words=TEXT(analyzer=text_analyzer(stem=False), phrase=False),
    )
    for lang in LANGUAGES:
        analyzer = text_analyzer(lang=lang)
        for name in OWN_TEXT + DECK_TEXT:
            # The text is stored once, under the English name, whatever its language.
            fields[lang_field(name, lang)] = TEXT(analyzer=analyzer, stored=lang == ENGLISH)
    return Schema(**fields)


def describe(value):
    """A plain, stable description of a schema part (fields, analyzers, their settings)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (set, frozenset)):
        return sorted(describe(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, re.Pattern):
        return value.pattern
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    public = {k: v for k, v in getattr(value, "__dict__", {}).items() if not k.startswith("_")}
    return {"type": f"{type(value).__module__}.{type(value).__qualname__}", **describe(public)}


def schema_fingerprint() -> str:
    """A short hash of SCHEMA_VERSION and every field with its analyzer: a change to any of
    them (not only to the field names) makes the next reindex build a new index."""
    fields = {name: describe(field) for name, field in make_schema().items()}
    text = json.dumps({"version": SCHEMA_VERSION, "fields": fields}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def live_link(settings: Settings) -> Path:
    """`index/live`: a link to the newest complete index (`whoosh-<fingerprint>/`), replaced
    in one rename when a rebuild for a new schema commits."""
    return settings.index / "live"


def whoosh_dir(settings: Settings) -> Path:
    """The folder readers open: index/live, or index/whoosh as kb wrote it before the link."""
    link = live_link(settings)
    return link if link.exists() else settings.index / "whoosh"


def open_index(settings: Settings):
    """The Whoosh index for reading; a KbError that says what to run if there is none."""
    try:
        return whoosh_index.open_dir(str(whoosh_dir(settings)))
    except (whoosh_index.EmptyIndexError, OSError):
        raise KbError(f"No index in {settings.index}/ yet: run `kb reindex` "
                      f"(with --content pointing at your decks) first.") from None


def manifest_path(settings: Settings) -> Path:
    return settings.index / "manifest.json"


def load_manifest(settings: Settings) -> dict:
    """What the last finished reindex indexed: {"schema": fingerprint, "decks": {id: entry}};
    {} if none. It describes the live index, also while a rebuild for a new schema runs."""
    try:
        manifest = json.loads(manifest_path(settings).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("decks"), dict) else {}
