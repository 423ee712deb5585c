"""The Whoosh internals kb's writer relies on to write a segment quickly, in one place.

Whoosh's segment flush (FieldWriter.add_postings) asks the new segment for each posting's
field length: one Python call chain per posting, and for a field with no length column
(the unscored fields: deck, tag, tagcase, year, date) a `stat` of the missing column file
each time (Whoosh caches only the columns it finds). FlushWriter reads each field's length
column once, as a list, and writes the same postings with the same lengths.

FastWriter, the writer of a worker process's own segment (`worker_writer`, published by
the parent's one TOC commit), also adds documents its own way: text analysed in one pass
of list steps per field instead of a generator per filter and token, the index items of a
repeated ID/KEYWORD/DATETIME value reused, postings added to the pool per document.

Everything here depends on whoosh-reloaded 2.7.5 (pinned exactly in pyproject.toml):
`check_version` refuses any other, and tests/test_whoosh_fast.py checks the sources of the
Whoosh functions this re-implements and compares indexes written by both writers with one
written by Whoosh's own SegmentWriter.
"""

import os
from collections import Counter

from whoosh import __version__ as whoosh_version
from whoosh import fields as whoosh_fields, formats
from whoosh.analysis import (CharsetFilter, CompositeAnalyzer, LowercaseFilter, RegexTokenizer,
                             StemFilter, StopFilter)
from whoosh.codec import whoosh3
from whoosh.codec.base import OutOfOrderError
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

WHOOSH_VERSION = (2, 7, 5)  # the writer internals this module was written against
# Field lengths are stored as one byte each; index = byte. Byte 0 is "no length" (Whoosh's
# doc_field_length answers None for it, which its postings writer treats as 0).
LENGTHS = [None] + [byte_to_length(b) for b in range(1, 256)]


def check_version() -> None:
    if tuple(whoosh_version[:3]) != WHOOSH_VERSION:
        raise RuntimeError(f"kb.whoosh_fast was written for whoosh-reloaded "
                           f"{'.'.join(map(str, WHOOSH_VERSION))}, not {whoosh_version}: "
                           "check its segment writer internals before changing the pin")


def field_lengths(storage, segment, columns, fieldname: str) -> list | None:
    """Every document's length in `fieldname` in a flushed segment's per-document columns
    (docnum → length or None), or None when the field has no length column. `columns` are
    the columns the per-document writer wrote: no stat of a file that is not there."""
    column = whoosh3._lenfield(fieldname)
    if column not in columns:
        return None
    name = whoosh3.W3Codec.column_filename(segment, column)
    with storage.open_file(name) as f:
        raw = f.read()
    count = segment.doc_count_all()
    return [LENGTHS[b] for b in raw] + [None] * (count - len(raw))


def add_postings(fieldwriter, schema, lengths, items) -> None:
    """FieldWriter.add_postings with each field's lengths looked up in a list: the same
    calls to the field writer, in the same order, with the same arguments."""
    start_field, start_term = fieldwriter.start_field, fieldwriter.start_term
    add, finish_term, finish_field = fieldwriter.add, fieldwriter.finish_term, fieldwriter.finish_field
    lastfn = lasttext = None
    flens = None
    for fieldname, btext, docnum, weight, value in items:
        if fieldname != lastfn:
            if lastfn is not None and fieldname < lastfn:
                raise OutOfOrderError("Field %r .. %r" % (lastfn, fieldname))
            if lasttext is not None:
                finish_term()
            if lastfn is not None:
                finish_field()
            start_field(fieldname, schema[fieldname])
            flens = lengths(fieldname)
            lastfn, lasttext = fieldname, None
        elif lasttext and btext < lasttext:
            raise OutOfOrderError("Term %s:%r .. %s:%r" % (lastfn, lasttext, fieldname, btext))
        if docnum == -1:  # a spelling-only item (Whoosh skips these too)
            continue
        if btext != lasttext:
            if lasttext is not None:
                finish_term()
            start_term(btext)
            lasttext = btext
        add(docnum, weight, b"" if value is None else value, flens[docnum] if flens else 0)
    if lasttext is not None:
        finish_term()
    if lastfn is not None:
        finish_field()


# ---------------------------------------------------------------- analysis in one pass

STEM_CACHE = 200_000  # words per stemmer; the cache starts afresh beyond that


def fused_words(analyzer):
    """A function text → [(word, position)] that gives exactly what `analyzer` (in index
    mode) gives, one list step per filter instead of a generator per filter and token;
    None for an analyzer made of other parts than kb's (kb.schema.text_analyzer)."""
    items = getattr(analyzer, "items", None)
    if (type(analyzer) is not CompositeAnalyzer or not items
            or type(items[0]) is not RegexTokenizer or items[0].gaps):
        return None
    finditer, steps = items[0].expression.finditer, []
    for item in items[1:]:
        kind = type(item)
        if kind is LowercaseFilter:
            steps.append(lambda ws, ps: ([w.lower() for w in ws], ps))
        elif kind is CharsetFilter:
            steps.append(lambda ws, ps, m=item.charmap: ([w.translate(m) for w in ws], ps))
        elif kind is StopFilter:
            steps.append(stop_step(item))
        elif kind is StemFilter:
            steps.append(stem_step(item))
        else:
            return None

    # For ASCII text, the lowercase step (and the accent folding, which maps no lowercase
    # ASCII letter to another) can be done on the whole text at once, before the tokenizer.
    # (The tokenizer must find the same words in either case: kb's is case-insensitive.)
    ascii_skip = 0
    probe = "C# c++ .NET .net Data DATA x2Y ABC_def"
    same_words = ([m.group(0).lower() for m in finditer(probe)]
                  == [m.group(0) for m in finditer(probe.lower())])
    if same_words and items[1:2] and type(items[1]) is LowercaseFilter:
        ascii_skip = 1
        if items[2:3] and type(items[2]) is CharsetFilter and all(
                chr(k) == v for k, v in items[2].charmap.items()
                if isinstance(k, int) and k < 128 and not chr(k).isupper()):
            ascii_skip = 2

    def words(text):
        todo = steps
        if ascii_skip and text.isascii():
            text, todo = text.lower(), steps[ascii_skip:]
        ws = [m.group(0) for m in finditer(text)]
        ps = range(len(ws))
        for step in todo:
            ws, ps = step(ws, ps)
        return zip(ws, ps)
    return words


def stop_step(stop: StopFilter):
    stoplist, low, high, renumber = stop.stops, stop.min, stop.max, stop.renumber

    def step(ws, ps):
        kept = [(w, p) for w, p in zip(ws, ps)
                if len(w) >= low and (high is None or len(w) <= high) and w not in stoplist]
        if not kept:
            return [], []
        ws = [w for w, _ in kept]
        # Whoosh renumbers the kept words on from the first kept word's position.
        return ws, (range(kept[0][1], kept[0][1] + len(ws)) if renumber else [p for _, p in kept])
    return step


def stem_step(stem: StemFilter):
    stemfn, ignore, cache = stem.stemfn, stem.ignore, {}

    def one(w):
        if w in ignore:
            return w
        if len(cache) > STEM_CACHE:
            cache.clear()
        cache[w] = found = stemfn(w)
        return found

    def step(ws, ps):
        return [cache[w] if w in cache else one(w) for w in ws], ps
    return step


def fused_index(field):
    """field.index(value) for a text field, from fused_words: the same (btext, frequency,
    weight, encoded value) items in the same order; None where Whoosh's own is needed."""
    fmt = field.format
    words = fused_words(field.analyzer)
    if words is None or type(fmt) not in (formats.Positions, formats.Frequency):
        return None
    boost = fmt.field_boost
    if type(fmt) is formats.Frequency:
        def index(value):
            counts = Counter(w for w, _ in words(value))
            return [(w.encode("utf-8"), n, float(n) * boost, formats.pack_uint(n))
                    for w, n in counts.items()]
        return index
    encode = fmt.encode

    def index(value):
        poses: dict = {}
        for w, p in words(value):
            if w in poses:
                poses[w].append(p)
            else:
                poses[w] = [p]
        return [(w.encode("utf-8"), len(ps), float(len(ps)) * boost, encode(ps))
                for w, ps in poses.items()]
    return index


# ---------------------------------------------------------------- the writer

# Fields whose index items depend on the value alone (no analyzer state).
REPEATABLE = (whoosh_fields.ID, whoosh_fields.KEYWORD, whoosh_fields.NUMERIC)


class FlushWriter(SegmentWriter):
    """Whoosh's SegmentWriter with a flush that reads each field's lengths once."""

    def _flush_segment(self):
        if not isinstance(self.perdocwriter, whoosh3.W3PerDocWriter):
            return super()._flush_segment()  # another codec: Whoosh's own way
        self.perdocwriter.close()
        segment = self.get_segment()
        columns = set(self.perdocwriter._colwriters)
        cache: dict = {}

        def lengths(fieldname):
            if fieldname not in cache:
                cache[fieldname] = field_lengths(self.storage, segment, columns, fieldname)
            return cache[fieldname]

        add_postings(self.fieldwriter, self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()


class FastWriter(FlushWriter):
    """FlushWriter with its own add_document: text analysed in one pass per field
    (fused_index). The workers' writer; the parent's keeps Whoosh's add_document, which
    tests/test_crash.py hooks to kill a reindex mid-way."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schema = self.schema
        plain = all(not f.vector and not f.separate_spelling() for _, f in schema.items())
        self._fused, self._last = {}, {}
        for name, field in schema.items() if plain else ():
            if field.indexed and isinstance(field.format, (formats.Positions, formats.Frequency)):
                if (index := fused_index(field)) is not None:
                    self._fused[name] = index

    def add_document(self, **fields):
        """SegmentWriter.add_document for kb's schema (no vectors, no spelling fields),
        with the fused analysis, the index items of an ID, KEYWORD or DATETIME value
        reused while it repeats (a deck's slides share deck, tags and date), and the
        postings added to the pool in one step; anything else goes Whoosh's way."""
        if not self._fused or any(n.startswith("_") and not n.startswith("_stored_")
                                  for n in fields):
            return super().add_document(**fields)
        self._check_state()
        perdocwriter, schema, docnum = self.perdocwriter, self.schema, self.docnum
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        posts = []
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    scorable = field.scorable
                    for tbytes, freq, weight, vbytes in self._index(fieldname, field, value):
                        if scorable:
                            length += freq
                        posts.append((fieldname, tbytes, docnum, weight, vbytes))
                customval = fields.get("_stored_%s" % fieldname, value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._pool_add(posts)
        self._added = True
        self.docnum += 1

    def _index(self, fieldname, field, value):
        fused = self._fused.get(fieldname)
        if fused is None and not isinstance(field, REPEATABLE):
            return field.index(value)
        # A value the previous document had (a deck's title, tags, date on each of its
        # slides) has the same index items: made once.
        last = self._last.get(fieldname)
        if last is None or last[0] != value or type(last[0]) is not type(value):
            if fused is not None and isinstance(value, str):
                items = fused(value)
            else:
                items = list(field.index(value))
            last = self._last[fieldname] = (value, items)
        return last[1]

    def _pool_add(self, posts) -> None:
        """PostingPool.add for many postings: the same size estimate (Whoosh's, per item)
        decides when the pool spills a sorted run to disk."""
        pool = self.pool
        pool.fieldnames.update(p[0] for p in posts)
        pool.currentsize += sum(150 + len(f) + 2 * len(t) + len(v or "") for f, t, _, _, v in posts)
        pool.current.extend(posts)
        if pool.currentsize > pool.limit:
            pool.save()


def writer(ix, **kwargs) -> FlushWriter:
    """The writer of one reindex: holds the index's write lock, publishes with commit()."""
    check_version()
    return FlushWriter(ix, **kwargs)


class WorkerStorage(FileStorage):
    """The index folder as a worker process sees it: its temporary files (posting runs,
    column parts) in a folder of its own. Whoosh names it after the index, the same for
    every writer, and removes it when a writer finishes."""

    def temp_storage(self, name=None):
        return super().temp_storage(f"{name or 'tmp'}.{os.getpid()}")


def worker_writer(folder: str, indexname: str = "MAIN", **kwargs) -> FastWriter:
    """A writer for one worker's own segment, without the write lock (the parent holds it).
    Its segment is published only when the parent lists it in the TOC it commits."""
    check_version()
    ix = FileIndex(WorkerStorage(folder), indexname=indexname)
    return FastWriter(ix, _lk=False, **kwargs)


def finish_segment(w: SegmentWriter):
    """Write a worker writer's segment files and return the segment (picklable) for the
    parent's commit; the writer is closed."""
    segment = w._finalize_segment() if w._added else None
    if segment is None:
        w._close_segment()
    w._finish()
    return segment


def commit_with(w: SegmentWriter, mergetype, extra_segments: list) -> None:
    """Commit `w`, listing `extra_segments` (written by workers) after the segments the
    merge policy keeps and before the writer's own: one TOC, one publish."""
    def merge(writer, segments):
        return mergetype(writer, segments) + list(extra_segments)
    w.commit(mergetype=merge)
