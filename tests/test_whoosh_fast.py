"""The reindex's shortcuts through Whoosh (kb/whoosh_fast.py, kb/index_segments.py) build
the index Whoosh's own SegmentWriter builds: the same stored fields, postings, document
frequencies and field lengths, with a bounded amount of work — and they fail loudly if the
pinned whoosh-reloaded internals they rely on change."""

import hashlib
import inspect
import os
import random
import signal

import pytest
from whoosh import index as whoosh_index
from whoosh.codec import base as codec_base, whoosh3
from whoosh.writing import SegmentWriter

from kb import whoosh_fast
from kb.deck import find_deck_files
from kb.documents import UNSTEMMED_WORDS, slide_documents
from kb.index import reindex
from kb.index_segments import PARALLEL_DECKS, split
from kb.manifest import read_for_index
from kb.schema import make_schema, open_index, text_analyzer
from kb.search import SlideIndex, search
from kb.settings import Settings

WORDS = ("cohort hazard ratio survival censoring bias confounding regression model variance "
         "estimate sample kernel thread cache latency protein enzyme membrane gradient "
         "descent python numpy matrix vector epidemic vaccine").split()
DANISH = "og det er en bilerne hunden med til af på som i for kohorte risiko".split()

# The Whoosh code whoosh_fast re-implements or calls into: a change to any of it must be
# read before the pin moves (update the digests then, after checking whoosh_fast still fits).
INTERNALS = {
    "FieldWriter.add_postings": (codec_base.FieldWriter.add_postings, "fea6bedb"),
    "SegmentWriter.__init__": (SegmentWriter.__init__, "6f5e4c42"),
    "SegmentWriter._flush_segment": (SegmentWriter._flush_segment, "a4b79c8a"),
    "SegmentWriter._finalize_segment": (SegmentWriter._finalize_segment, "6a50f868"),
    "SegmentWriter._close_segment": (SegmentWriter._close_segment, "f6f69d46"),
    "SegmentWriter._finish": (SegmentWriter._finish, "9efc16e8"),
    "W3PerDocWriter.__init__": (whoosh3.W3PerDocWriter.__init__, "6dc955f1"),
    "W3PerDocWriter.add_field": (whoosh3.W3PerDocWriter.add_field, "59ab0cc2"),
}


def write_corpus(content, decks: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for d in range(decks):
        danish = d % 9 == 4
        vocab = DANISH + WORDS[:8] if danish else WORDS
        slides = []
        for s in range(rng.randint(1, 5)):
            words = " ".join(rng.choice(vocab) for _ in range(rng.randint(3, 40)))
            note = f"\n\nNote: {rng.choice(vocab)} {rng.choice(vocab)}" if s % 3 == 2 else ""
            slides.append(f"# {rng.choice(vocab).title()} {s}\n\n{words} w{d}x{s}{note}")
        if d % 11 == 3:
            slides.append("")  # a slide with no text at all
        lang = "lang: da\n" if danish else ""
        path = content / f"c{d % 3}" / f"deck{d:03}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: Deck {d}\ndate: '202{d % 4}-0{d % 9 + 1}-02T00:00:00.000Z'\n"
                        f"tag: C{d % 3}, T{d % 5}\n{lang}---\n" + "\n\n===\n\n".join(slides) + "\n",
                        "utf-8")


def documents(settings: Settings) -> list[dict]:
    """The slide documents of the content dir, in the order a full reindex adds them."""
    docs = []
    for path in find_deck_files(settings.content):
        read = read_for_index(path, settings.content)
        docs += slide_documents(read.deck, {}, settings, read.digest)
    return docs


def stock_index(folder, docs) -> None:
    """The reference: Whoosh's own SegmentWriter, as kb used it before the shortcuts."""
    folder.mkdir(parents=True)
    ix = whoosh_index.create_in(str(folder), make_schema())
    writer = ix.writer(limitmb=256, compound=False)
    assert type(writer) is SegmentWriter
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()


def contents(ix) -> dict:
    """Everything a search can read of an index, by global document number."""
    out = {}
    with ix.reader() as reader:
        n = reader.doc_count_all()
        assert reader.doc_count() == n  # no deletions in a full reindex
        out["stored"] = [reader.stored_fields(i) for i in range(n)]
        terms = {}
        for fieldname, btext in reader.all_terms():
            m = reader.postings(fieldname, btext)
            postings = []
            while m.is_active():
                postings.append((m.id(), m.weight(), m.value()))
                m.next()
            info = reader.term_info(fieldname, btext)  # what block-max scoring reads
            terms[fieldname, btext] = (reader.doc_frequency(fieldname, btext),
                                      reader.frequency(fieldname, btext), postings,
                                      info.min_length(), info.max_length(), info.max_weight())
        out["terms"] = terms
        scorable = [f for f, obj in ix.schema.items() if obj.scorable]
        out["lengths"] = {f: [reader.doc_field_length(i, f) for i in range(n)] for f in scorable}
        out["totals"] = {f: reader.field_length(f) for f in scorable}
    return out


def test_the_pinned_internals_are_the_ones_whoosh_fast_was_written_for():
    whoosh_fast.check_version()
    changed = {name: hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()[:8]
               for name, (fn, digest) in INTERNALS.items()
               if hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()[:8] != digest}
    assert not changed, f"whoosh internals kb.whoosh_fast relies on changed: {changed}"


def test_fast_and_parallel_writers_build_the_index_whoosh_builds(tmp_path):
    content = tmp_path / "content"
    write_corpus(content, PARALLEL_DECKS + 13)
    settings = {jobs: Settings(content=content, index=tmp_path / f"index{jobs}") for jobs in (1, 2)}
    for jobs, s in settings.items():
        report = reindex(s, full=True, jobs=jobs)
        assert report.decks == PARALLEL_DECKS + 13 and not report.warnings
    stock_index(tmp_path / "stock", documents(settings[1]))
    want = contents(whoosh_index.open_dir(str(tmp_path / "stock")))
    assert any(f.endswith("_da") for f, _ in want["terms"])  # both languages are in it
    for jobs, s in settings.items():
        ix = open_index(s)
        segments = ix._segments()
        assert len(segments) == (2 if jobs == 2 else 1)  # one segment per worker
        got = contents(ix)
        for part in ("stored", "lengths", "totals"):
            assert got[part] == want[part], f"--jobs {jobs}: {part} differ"
        assert got["terms"].keys() == want["terms"].keys()
        differ = [t for t in want["terms"] if got["terms"][t] != want["terms"][t]]
        assert not differ, f"--jobs {jobs}: postings differ for {differ[:5]}"
    for word in ("cohort", "hazard ratio", "bilerne", "kohorte", "w3x1", "tag:C1 model"):
        hits = [[(h.deck, h.anchor, h.score) for h in search(SlideIndex(s), word).hits]
                for s in settings.values()]
        assert hits[0] == hits[1] and hits[0], word


def test_a_commit_stats_no_missing_file(tmp_path, monkeypatch):
    """Whoosh stats the missing length column of an unscored field (deck, tag, year, date)
    once per posting; the fast flush not at all."""
    content = tmp_path / "content"
    write_corpus(content, 12)
    docs = documents(Settings(content=content, index=tmp_path / "unused"))
    missing = {}

    def count_missing(label, make_writer):
        folder = tmp_path / label
        folder.mkdir()
        writer = make_writer(whoosh_index.create_in(str(folder), make_schema()))
        for doc in docs:
            writer.add_document(**doc)
        real_stat, calls = os.stat, []

        def counting_stat(path, *args, **kwargs):
            try:
                return real_stat(path, *args, **kwargs)
            except FileNotFoundError:
                calls.append(os.path.basename(path))
                raise
        monkeypatch.setattr(os, "stat", counting_stat)
        try:
            writer.commit()
        finally:
            monkeypatch.setattr(os, "stat", real_stat)
        missing[label] = calls

    count_missing("stock", lambda ix: ix.writer(limitmb=256, compound=False))
    count_missing("fast", lambda ix: whoosh_fast.writer(ix, limitmb=256, compound=False))
    # The counter sees Whoosh's per-posting stats; the fast flush leaves only the one check
    # that the new generation's TOC is not there yet.
    assert len(missing["stock"]) > len(docs)
    assert missing["fast"] == ["_MAIN_1.toc"]


def test_shares_are_contiguous_and_balanced():
    class D:
        def __init__(self, n):
            self.slides = [None] * n

    decks = [D(n) for n in (30, 1, 1, 30, 2, 30, 30, 5)]
    for parts in (1, 2, 3):
        runs = split(decks, parts)
        assert [d for run in runs for d in run] == decks and len(runs) == parts
        sizes = [sum(len(d.slides) for d in run) for run in runs]
        assert max(sizes) <= sum(sizes) / parts + 30, sizes  # a share + at most one deck
    assert split(decks[:1], 2) == [decks[:1]]


@pytest.mark.parametrize("point", ["commit", "toc-rename"])
def test_kill_9_after_the_workers_wrote_their_segments(tmp_path, point):
    """The workers' segments are on disk but the parent dies before its TOC names them:
    readers see the old state exactly; the next reindex publishes the new one and deletes
    what the killed run wrote (its segments, a killed worker's temporary folder)."""
    from test_crash import Corpus, complete_and_check, reap, start_kb, state_of

    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    corpus = Corpus(settings.content, decks=PARALLEL_DECKS + 14, slides=3, extras=4)
    corpus.write("alpha")
    complete_and_check(settings, corpus, "alpha", "--jobs", "2")
    assert len(open_index(settings)._segments()) == 2
    live = (settings.index / "live").resolve()

    def unpublished() -> set:
        named = {s.segment_id() for s in open_index(settings)._segments()}
        return {f.split(".")[0] for f in os.listdir(live)
                if f.startswith("MAIN_") and f != "MAIN_WRITELOCK"} - named

    corpus.write("beta")
    proc = start_kb(settings, "reindex", "--jobs", "2", "--full", inject=(point, 0))
    try:
        proc.wait(180)
    finally:
        reap(proc)
    assert proc.returncode == -signal.SIGKILL
    # Both workers' segments (and the parent's own, empty), written and not published.
    assert len(unpublished()) >= 2
    assert state_of(settings, corpus, allowed=("alpha",)) == "alpha"
    killed_worker = live / "MAIN.tmp.99999"  # what a worker killed mid-share leaves
    killed_worker.mkdir()
    (killed_worker / "run0.pst").write_bytes(b"x")
    complete_and_check(settings, corpus, "beta", "--jobs", "2")
    assert unpublished() == set() and not killed_worker.exists()


def test_fused_analysis_gives_what_whoosh_analysis_gives():
    """Every text field of kb's schema, on texts with stop words first and last, accents,
    Danish letters, C#, C++, .NET, digits and nothing at all: the same index items."""
    rng = random.Random(3)
    pieces = WORDS + DANISH + ["the", "a", "of", "what", "I", "Éclair", "naïve", "Ærø", "Øster",
                               "C#", "c++", "F#", ".NET", "np.linalg.norm", "max_retries",
                               "**term**", "2024", "x1", "Σίσυφος", "straße", "—", "   "]
    texts = ["", "   ", "the of a", "the cohort", "cohort the", "Ærøskøbing og bilerne"]
    texts += [" ".join(rng.choice(pieces) for _ in range(rng.randint(1, 60))) for _ in range(300)]
    schema = make_schema()
    fused = 0
    for name, field in schema.items():
        index = whoosh_fast.fused_index(field) if field.indexed else None
        if index is None:
            continue
        fused += 1
        for text in texts:
            assert index(text) == list(field.index(text)), (name, text)
    assert fused == len([n for n, f in schema.items() if f.analyzer and n not in ("tag", "tagcase")
                         and type(f).__name__ == "TEXT"])  # every TEXT field takes the fast way
    unstemmed = text_analyzer(stem=False)
    for text in texts:  # a deck's vocabulary (the `words` field's text)
        assert list(UNSTEMMED_WORDS(text)) == [(t.text, t.pos) for t in unstemmed(text, positions=True)]


@pytest.mark.parametrize("stem", [True, False])
def test_fused_words_are_the_analyzers_words(stem):
    """fused_words (with its whole-text lowercase for ASCII text) gives each analyzer's own
    words and positions, for ASCII and other text, any case."""
    analyzer = text_analyzer(stem=stem)
    words = whoosh_fast.fused_words(analyzer)
    pieces = ("Data DATA data iI nN sS pP C# c++ .NET .net foo_bar 12 x2 Été naïve Straße İstanbul "
              "e\u0301t\u00e9 ＡＢＣ HTTP-2 the THE what Running runs").split(" ")
    rng = random.Random(5)
    for _ in range(3000):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        assert list(words(text)) == [(t.text, t.pos) for t in analyzer(text, positions=True)], text
