"""The few Whoosh internals kb's matcher reads directly: a term's posting list a block at a
time, and a segment's field-length column as one array.

Whoosh's own matchers walk postings one Python call per posting; reading the blocks it
stores (ids, weights and encoded positions, as pickled tuples) hands the same numbers to
numpy in one step. Everything here depends on whoosh-reloaded's on-disk codec (W3Codec),
so the version is pinned exactly in pyproject.toml and tests/test_matcher.py checks these
functions against Whoosh's public postings API on a multi-segment index.
"""

import numpy as np
from whoosh.codec import whoosh3
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

WHOOSH_VERSION = (2, 7, 5)  # the codec this module was written against
# Field lengths are stored as one byte each; this table decodes them (index = byte).
LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


def check_codec(leaves) -> None:
    """Fail loudly (at open, not mid-search) if a leaf reader is not what this module reads."""
    for leaf, _ in leaves:
        terms = getattr(leaf, "_terms", None)
        perdoc = getattr(leaf, "_perdoc", None)
        if not isinstance(terms, whoosh3.W3TermsReader) or not isinstance(perdoc, whoosh3.W3PerDocReader):
            raise RuntimeError(f"kb.postings reads W3Codec segments only, not {type(terms).__name__}")


def read_postings(leaf, fieldname: str, btext: bytes):
    """(ids, weights) of one term in one leaf reader, deleted documents included (the
    caller masks them). None if the segment lacks the term."""
    terms = leaf._terms
    try:
        info = terms.term_info(fieldname, btext)
    except (TermNotFound, KeyError):
        return None
    if info.is_inlined():
        ids, weights, _ = info.inlined_postings()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64)
    offset, length = info.extent()
    block = whoosh3.W3LeafMatcher(terms._postfile, offset, length, leaf.schema[fieldname].format)
    id_parts, weight_parts = [], []
    while True:
        block._read_ids()
        block._read_weights()
        id_parts.append(block._ids)
        weight_parts.append(np.asarray(block._weights, dtype=np.float64))
        if block._lastblock:
            break
        block._goto(block._nextoffset)
    ids = np.concatenate([np.asarray(part, dtype=np.int64) for part in id_parts])
    return ids, np.concatenate(weight_parts)


def read_values(leaf, fieldname: str, btext: bytes, wanted) -> dict:
    """{docnum: encoded value} of one term in one leaf, for the leaf docnums in `wanted`
    (sorted) only: blocks holding none of them are skipped unread (their header says
    their last id), so a phrase decodes positions for its candidates alone."""
    terms = leaf._terms
    try:
        info = terms.term_info(fieldname, btext)
    except (TermNotFound, KeyError):
        return {}
    want = set(int(d) for d in wanted)
    if info.is_inlined():
        ids, _, vals = info.inlined_postings()
        return {i: v for i, v in zip(ids, vals) if i in want}
    offset, length = info.extent()
    block = whoosh3.W3LeafMatcher(terms._postfile, offset, length, leaf.schema[fieldname].format)
    found, nxt = {}, 0
    while nxt < len(wanted):
        if block._maxid >= wanted[nxt]:
            block._read_ids()
            block._read_values()
            for i, value in zip(block._ids, block._values):
                if i in want:
                    found[i] = value
            while nxt < len(wanted) and wanted[nxt] <= block._maxid:
                nxt += 1
        if block._lastblock:
            break
        block._goto(block._nextoffset)
    return found


def field_lengths(leaf, fieldname: str) -> np.ndarray:
    """Each document's length in a field (decoded as Whoosh's scorer sees it), one leaf."""
    count = leaf.doc_count_all()
    out = np.zeros(count, dtype=np.float64)
    column = leaf._perdoc._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
    if column is None:
        return out + 1.0  # Whoosh's scorer uses 1 where a segment has no lengths
    stored = min(column._count, count)
    raw = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
    out[:stored] = LENGTHS[raw]
    return out


def deleted_docs(leaf) -> list[int]:
    return sorted(leaf._perdoc.deleted_docs())


def positions(leaf, fieldname: str, value: bytes) -> list[int]:
    return leaf.schema[fieldname].format.decode_positions(value)
