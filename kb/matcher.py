"""A parsed query → its match set, BM25F scores and top hits, from one read of each term's
posting list (numpy over whole lists instead of Whoosh's matcher objects, which walk every
posting through several Python calls and were run twice per query, see BENCHMARKS.md).

Scores follow Whoosh's own BM25F scorer term for term (idf, field-length normalisation,
K1 and B from the searcher's weighting, kb's field boosts as query boosts), summed the way
its And/Or/Not matchers sum them, so ranking is what `searcher.search(q, limit=None)`
gives; tests/test_matcher.py holds the two side by side on a multi-segment index with
deletions. (Whoosh's own top-k collector, `limit=k`, can miss hits of later segments, and
a NOT at the top can yield deleted slides: two things kb's results no longer show.)
The top k come from a partial sort (numpy's introselect), not a full sort of the matches.
"""

from dataclasses import dataclass

import numpy as np
from whoosh import query as Q

from kb import postings
from kb.generation import Generation


class Unsupported(Exception):
    """A query shape this matcher does not evaluate; the caller asks Whoosh instead. Today:
    phrases with a slop (`"a b"~2`), `Every` on one field, Or with minmatch/scale, and
    Whoosh node types the kb parser does not produce (spans, Require, AndMaybe, …)."""


@dataclass(frozen=True)
class Scored:
    mask: np.ndarray  # bool per global docnum
    score: np.ndarray  # float64 per global docnum, 0 where mask is False


class Evaluation:
    """One query's evaluation on a generation: each term's postings read once (cached), each
    subquery evaluated once (memoized), so relaxations reuse the words' results."""

    def __init__(self, gen: Generation):
        self.gen = gen
        self.terms: dict = {}
        # id(query) → (query, Scored): Whoosh hashes a query by walking its whole tree, and
        # a lookup per node made that quadratic (2.4 ms of a 7.6 ms search); the query is
        # kept so its id is not reused while the memo lives
        self.memo: dict = {}
        weighting = gen.searcher.weighting
        self.K1, self.B, self.field_B = weighting.K1, weighting.B, weighting._field_B

    def empty(self) -> Scored:
        return Scored(np.zeros(self.gen.size, dtype=bool), np.zeros(self.gen.size))

    def term_postings(self, fieldname: str, text):
        field = self.gen.schema[fieldname]
        btext = text if isinstance(text, bytes) else field.to_bytes(text)
        key = (fieldname, btext)
        if key not in self.terms:
            self.terms[key] = self.gen.postings(fieldname, btext)
        return btext, self.terms[key]

    def term_scores(self, fieldname: str, btext: bytes, ids, weights) -> np.ndarray:
        """Whoosh's BM25F for these postings (scorer.py `bm25`, same operations in order)."""
        if not self.gen.schema[fieldname].scorable:
            return weights
        searcher = self.gen.searcher
        idf = searcher.idf(fieldname, btext)
        avgfl = searcher.avg_field_length(fieldname) or 1
        B, K1 = self.field_B.get(fieldname, self.B), self.K1
        fl = self.gen.lengths[fieldname][ids]
        return idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * fl / avgfl)))

    def __call__(self, q) -> Scored:
        found = self.memo.get(id(q))
        if found is None or found[0] is not q:
            found = self.memo[id(q)] = (q, self.evaluate(q))
        return found[1]

    def evaluate(self, q) -> Scored:
        if q is Q.NullQuery or isinstance(q, Q.qcore._NullQuery):
            return self.empty()
        if isinstance(q, Q.Term):
            return self.term(q.fieldname, q.text, q.boost)
        if isinstance(q, Q.Phrase):
            return self.phrase(q)
        if isinstance(q, Q.NumericRange):
            return self.numeric_range(q)
        if isinstance(q, Q.MultiTerm):
            # Whoosh ORs the expansions with the node's boost, but a single one unboosted.
            words = [w for w in q._btexts(self.gen.reader) if w]
            if len(words) == 1:
                return self(Q.Term(q.field(), words[0]))
            return self(Q.Or([Q.Term(q.field(), w) for w in words], boost=q.boost))
        if isinstance(q, Q.Every) and q.fieldname is None:
            mask = self.gen.live.copy()
            return Scored(mask, mask * float(q.boost))
        if isinstance(q, Q.Not):
            mask = self.gen.live & ~self(q.query).mask
            return Scored(mask, mask * 1.0)  # Whoosh's InverseMatcher scores 1.0
        if isinstance(q, Q.AndNot):
            a, b = self(q.a), self(q.b)
            mask = a.mask & ~b.mask
            return Scored(mask, a.score * mask)
        if type(q) is Q.And:
            return self.combine(q, np.logical_and)
        if type(q) is Q.Or and not q.minmatch and not q.scale:
            return self.combine(q, np.logical_or)
        raise Unsupported(type(q).__name__)

    def combine(self, q, op) -> Scored:
        if not q.subqueries:
            return self.empty()
        parts = [self(s) for s in q.subqueries]
        mask = parts[0].mask.copy()
        score = parts[0].score.copy()
        for part in parts[1:]:
            op(mask, part.mask, out=mask)
            score += part.score
        score *= mask
        if q.boost != 1.0:
            score *= q.boost
        return Scored(mask, score)

    def term(self, fieldname: str, text, boost: float = 1.0) -> Scored:
        if fieldname not in self.gen.schema:
            return self.empty()
        try:
            btext, (ids, weights) = self.term_postings(fieldname, text)
        except ValueError:  # not a value this field can hold (a date field, say)
            return self.empty()
        out = self.empty()
        if len(ids):
            out.mask[ids] = True
            out.score[ids] = self.term_scores(fieldname, btext, ids, weights)
            if boost != 1.0:
                out.score[ids] *= boost
        return out

    def phrase(self, q) -> Scored:
        """Documents with the words at consecutive positions (slop 1, as the parser makes);
        positions are read for the documents holding every word only."""
        if q.slop != 1 or not q.words:
            raise Unsupported("phrase with slop")
        field = self.gen.schema[q.fieldname] if q.fieldname in self.gen.schema else None
        if field is None or not field.format.supports("positions"):
            return self.empty()
        words = []
        for word in q.words:
            try:
                btext, (ids, weights) = self.term_postings(q.fieldname, word)
            except ValueError:
                return self.empty()
            if not len(ids):
                return self.empty()
            words.append((btext, ids, weights))
        mask = np.ones(self.gen.size, dtype=bool)
        for _, ids, _ in words:
            found = np.zeros(self.gen.size, dtype=bool)
            found[ids] = True
            mask &= found
        if len(words) > 1:
            self.check_positions(q.fieldname, [btext for btext, _, _ in words], mask)
        score = np.zeros(self.gen.size)
        for btext, ids, weights in words:
            score[ids] += self.term_scores(q.fieldname, btext, ids, weights)
        score *= mask
        if q.boost != 1.0:
            score *= q.boost
        return Scored(mask, score)

    def check_positions(self, fieldname: str, btexts: list[bytes], mask: np.ndarray) -> None:
        """Clear the candidates in `mask` whose words do not follow each other."""
        for leaf, offset in self.gen.leaves:
            local = np.flatnonzero(mask[offset:offset + leaf.doc_count_all()])
            if not len(local):
                continue
            values = [postings.read_values(leaf, fieldname, b, local) for b in btexts]
            for doc in local:
                starts = None
                for i, found in enumerate(values):
                    here = {p - i for p in postings.positions(leaf, fieldname, found[int(doc)])}
                    starts = here if starts is None else starts & here
                    if not starts:
                        mask[offset + doc] = False
                        break

    def numeric_range(self, q) -> Scored:
        compiled = q._compile_query(self.gen.reader)
        if isinstance(compiled, Q.ConstantScoreQuery):
            mask = self(compiled.child).mask
            return Scored(mask, mask * float(compiled.score))
        return self(compiled)


@dataclass(frozen=True)
class Outcome:
    """What a search found: the match set (for total and facets), the top (docnum, score)
    pairs in rank order, and the query that matched (a relaxation, if no slide had all)."""
    mask: np.ndarray
    top: tuple[tuple[int, float], ...]
    query: object
    relaxed: bool
    evaluation: Evaluation

    @property
    def total(self) -> int:
        return int(np.count_nonzero(self.mask))


def top_k(scored: Scored, mask: np.ndarray, k: int) -> tuple[tuple[int, float], ...]:
    """The k best by score, ties by docnum (as Whoosh's collector orders them)."""
    docs = np.flatnonzero(mask)
    scores = scored.score[docs]
    if len(docs) > k:
        cut = np.partition(scores, len(docs) - k)[len(docs) - k]
        keep = scores >= cut
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:k]
    return tuple((int(docs[i]), float(scores[i])) for i in order)


def run(gen: Generation, q, limit, k: int, relaxations) -> Outcome:
    """Match `q` (within the `limit` filter query, if any); when nothing matches, the first
    of `relaxations(q)` that does. Raises Unsupported for shapes Whoosh must answer."""
    ev = Evaluation(gen)
    allowed = gen.live & ev(limit).mask if limit is not None else gen.live
    result = ev(q)
    mask = result.mask & allowed
    relaxed = False
    if not mask.any():
        for looser in relaxations(q):
            found = ev(looser)
            if (found.mask & allowed).any():
                q, result, relaxed = looser, found, True
                mask = found.mask & allowed
                break
    return Outcome(mask, top_k(result, mask, k), q, relaxed, ev)


def matched_fields(ev: Evaluation, docnums, terms, fields) -> dict[int, set[str]]:
    """For each hit, the fields (of `fields`) holding one of the query's (field, word)
    terms: from the postings this query already read, no reads per hit."""
    found = {d: set() for d in docnums}
    if not docnums:
        return found
    hits = np.asarray(docnums, dtype=np.int64)
    for fieldname, text in terms:
        if fieldname not in fields or fieldname not in ev.gen.schema:
            continue
        try:
            _, (ids, _) = ev.term_postings(fieldname, text)
        except ValueError:
            continue
        for doc in hits[np.isin(hits, ids)]:
            found[int(doc)].add(fieldname)
    return found


def restricted(q, fields):
    """`q` with only its leaves in `fields` (filters kept): e.g. the words of a query looked
    for in deck titles alone. None if nothing of it is left."""
    from kb.query import FILTER_FIELDS

    def keep(node):
        name = getattr(node, "fieldname", None)
        if node.is_leaf() and name and name not in fields and name not in FILTER_FIELDS:
            return Q.NullQuery
        return node
    out = q.accept(keep).normalize()
    return None if out is Q.NullQuery else out


def match_set(gen: Generation, q, fields=None) -> np.ndarray:
    """The live slides (bool per docnum) matching `q`, optionally with its words looked for
    in `fields` only; no relaxation. Call under `gen.lock`."""
    if fields is not None:
        q = restricted(q, set(fields))
        if q is None:
            return np.zeros(gen.size, dtype=bool)
    return Evaluation(gen)(q).mask & gen.live


def decks_of(gen: Generation, mask: np.ndarray) -> dict[str, int]:
    """How many of the slides in `mask` each deck holds."""
    return gen.facets["deck"].counts(mask)
