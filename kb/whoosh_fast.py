"""The Whoosh internals kb's writer relies on to write a segment quickly, in one place.

Whoosh's segment flush (FieldWriter.add_postings) asks the new segment for each posting's
field length: one Python call chain per posting, and for a field with no length column
(the unscored fields: deck, tag, tagcase, year, date) a `stat` of the missing column file
each time (Whoosh caches only the columns it finds). FastWriter
reads each field's length column once, as a list, and writes the same postings with the
same lengths. It is also the writer a worker process uses to write a segment of its own
(`worker_writer`), which the parent publishes in its one TOC commit.

Everything here depends on whoosh-reloaded 2.7.5 (pinned exactly in pyproject.toml):
`check_version` refuses any other, and tests/test_whoosh_fast.py compares an index written
with FastWriter against one written by Whoosh's own SegmentWriter.
"""

import os

from whoosh import __version__ as whoosh_version
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


class FastWriter(SegmentWriter):
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


def writer(ix, **kwargs) -> FastWriter:
    """The writer of one reindex: holds the index's write lock, publishes with commit()."""
    check_version()
    return FastWriter(ix, **kwargs)


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


def finish_segment(w: FastWriter):
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
