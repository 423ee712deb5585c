"""kb's shortcuts around Whoosh, held to what Whoosh itself gives: plain-word queries built
without its parser (kb.wordquery), snippet words stemmed once per word (kb.snippets), and the
vocabulary's prefixes and near words (kb.vocabulary) against a scan of every word."""

import random

import pytest
from whoosh import query as Q
from whoosh.support.levenshtein import distance

from kb import snippets
from kb.query import make_parser
from kb.schema import make_schema
from kb.vocabulary import Vocabulary
from kb.wordquery import atoms_of, parse_text

WORDS = ("the and or And Or nOT a I what is of in Statistics statistics café naïve İstanbul ﬁle "
         "straße 2024 x1 ßtring bilerne København ÆØÅ regression hazard ratio KELVIN mean "
         "AND OR NOT ANDNOT REQUIRE TO to data x y z").split()
TEXTS = [
    "hazard ratio", "what is the hazard ratio", "regres", "(regres OR regression OR regressions)",
    "(stat* OR station OR statistics) data", "stat*", "(the OR and)", "the", "a b c d e f g h",
    "hazard hazard", "(hazard OR hazard*) hazard", "x (y OR z) (z OR y*)",
    # not plain: the parser's own
    '"hazard ratio"', "hazard -ratio", "NOT hazard", "title:data", "data^2", "np.linalg.norm",
    "c++ c#", "(a OR b", "a OR", "hazard~", "data*x", "(x)", "( x OR y )", "x  y", " x", "x AND y",
]


@pytest.fixture(scope="module")
def parser():
    return make_parser(make_schema())


def random_texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        atoms = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.25:
                elements = [rng.choice(WORDS) + ("*" if rng.random() < 0.3 else "")
                            for _ in range(rng.randint(1, 3))]
                atoms.append("(" + " OR ".join(elements) + ")")
            else:
                atoms.append(rng.choice(WORDS))
        out.append(" ".join(atoms))
    return out


def parsed(fn, parser, text):
    try:
        return fn(parser, text)
    except Exception as e:  # the parser raises on some shapes: so must the shortcut
        return type(e)


def test_plain_word_queries_are_what_the_parser_makes(parser):
    texts = TEXTS + random_texts(400)
    built = [t for t in texts if atoms_of(t) is not None]
    assert len(built) > 250  # the shortcut is taken, not only the fallback
    for text in texts:
        expected = parsed(lambda p, t: p.parse(t), parser, text)
        assert parsed(parse_text, parser, text) == expected, text
        assert parsed(parse_text, parser, text) == expected, text  # from the kept words
    assert atoms_of('"hazard ratio"') is None and atoms_of("x AND y") is None


def test_kept_word_queries_are_not_changed_by_their_users(parser):
    first = parse_text(parser, "hazard ratio")
    first.accept(lambda q: q.with_boost(9.0) if isinstance(q, Q.Term) else q)
    assert parse_text(parser, "hazard ratio") == parser.parse("hazard ratio")


@pytest.mark.parametrize("lang", ["en", "da"])
def test_snippet_words_are_the_analyzers_tokens(lang):
    text = ("The C# and C++ and .NET code: np.linalg.norm(x) — naïve Café İstanbul ﬁle Straße "
            "KELVIN bilerne på København, 2024-03 x1 the_end ÆØÅ æøå AND running runs ran "
            "statistics statistical **bold** a.b.c c#d x++y .net.net")
    analyzer = snippets.analyzer_for(lang)
    # (Whoosh yields one Token object again and again: read each as it comes.)
    expected = [(t.startchar, t.endchar, t.text) for t in analyzer(text, chars=True, positions=True)]
    stems = {s for *_, s in expected}
    assert snippets.marked_spans(text, stems, lang) == expected
    some = set(sorted(stems)[::3])
    assert snippets.marked_spans(text, some, lang) == [s for s in expected if s[2] in some]


def vocabulary_sample(n: int, seed: int) -> dict:
    rng = random.Random(seed)
    pieces = "ka ter min os lo re pha tion sta ble ing ment con di ver ø å é ñ 1 2 x".split()
    counts = {}
    while len(counts) < n:
        word = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 5)))
        docs = rng.randint(1, 40)
        counts[word] = (docs, docs)
    return counts


def typo(rng, word: str) -> str:
    chars = list(word)
    for _ in range(rng.randint(0, 3)):
        i = rng.randrange(len(chars) + 1)
        op = rng.random()
        if op < 0.3:
            chars.insert(i, rng.choice("aeøk1"))
        elif op < 0.6 and i < len(chars):
            chars[i] = rng.choice("aeøk1")
        elif op < 0.8 and i < len(chars):
            del chars[i]
        elif i < len(chars) - 1:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def test_near_words_are_every_word_within_the_distance():
    counts = vocabulary_sample(3000, 5)
    vocab = Vocabulary(counts)
    rng = random.Random(6)
    words = sorted(counts)
    found_some = 0
    for _ in range(150):
        typed = typo(rng, rng.choice(words))
        for k in (1, 2):
            scan = sorted((distance(w, typed, limit=k), w) for w in words
                          if w[:1] == typed[:1] and w != typed and distance(w, typed, limit=k) <= k)
            assert sorted(vocab.near(typed, k)) == scan, (typed, k)
            found_some += bool(scan)
    assert found_some > 100
    assert vocab.near("", 2) == [] and Vocabulary({}).near("abc", 2) == []


def test_correction_is_the_fewest_edits_then_the_most_frequent():
    vocab = Vocabulary({"statistic": (9, 9), "statistics": (1, 1), "station": (5, 5),
                        "stations": (5, 5), "hazard": (1, 1), "hazards": (3, 3)})
    assert vocab.correction("statistcs", 2) == "statistics"  # 1 edit beats 2, however frequent
    assert vocab.correction("hazadr", 1) == "hazard"  # a swap is one edit
    assert vocab.correction("stationz", 2) == "station"  # equal edits and counts: word order
    assert vocab.correction("hazarx", 1) == "hazard" and vocab.correction("qqq", 2) is None


def test_prefixed_words_are_the_most_frequent_of_the_first_scanned():
    counts = vocabulary_sample(3000, 7)
    vocab = Vocabulary(counts)
    words = sorted(counts)
    for prefix in ("k", "ka", "ter", "ø", "1", "zz", "kaka"):
        first = [w for w in words if w.startswith(prefix)][:50]
        expected = sorted(first, key=lambda w: -counts[w][0])[:16]  # stable: ties in word order
        assert vocab.prefixed(prefix, 50, 16) == expected
        assert vocab.doc_frequency(first[0] if first else "zz") == (counts[first[0]][0] if first else 0)
