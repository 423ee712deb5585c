"""The query of plain words, built without Whoosh's query parser: the same tree it gives.

Most queries are a few words, or words and the `(word* OR word …)` groups kb's own prefix
expansion writes. For those, Whoosh's parser (tagging, grouping, per-field copies, filters)
was a fifth of a search's time, and each word's part of the tree depends on the word alone:
one word's query (each search field's analyzer applied to it, with the field's boost) is
made once and kept per parser, and a query of many words is their And, normalised as the
parser normalises. Anything else (quotes, fields, operators, boosts, ranges, wildcards
inside words, punctuation) goes to the parser. tests/test_search.py holds `parse_text` to
`parser.parse` on the benchmark's query mix and on awkward words.
"""

import re

from whoosh import query as Q
from whoosh.qparser.plugins import MultifieldPlugin

PLAIN = r"[^\W_]+"
ELEMENT = PLAIN + r"\*?"
ATOM = rf"{ELEMENT}|\({ELEMENT}(?: OR {ELEMENT})*\)"
SHAPE = re.compile(rf"(?:{ATOM})(?: (?:{ATOM}))*")
ATOMS = re.compile(ATOM)
# What the parser reads as operators (case-sensitive), and so never a plain word here.
OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"})
MAX_KEPT = 50_000  # words' queries kept per parser


class Words:
    """Each search field's analyzer and boost, from the parser, with its kept word queries."""

    def __init__(self, parser):
        self.parser = parser
        self.kept: dict[str, Q.Query] = {}
        analyzers: list = []
        self.fields = []  # (fieldname, boost, index of its analyzer in analyzers)
        multi = next(p for p in parser.plugins if isinstance(p, MultifieldPlugin))
        for name in multi.fieldnames:
            analyzer = parser.schema[name].analyzer
            at = next((i for i, a in enumerate(analyzers) if a == analyzer), None)
            if at is None:
                at = len(analyzers)
                analyzers.append(analyzer)
            self.fields.append((name, multi.boosts.get(name, 1.0), at))
        self.analyzers = analyzers

    def word(self, element: str) -> Q.Query:
        """One element's query: a word in every search field, or a `word*` prefix."""
        found = self.kept.get(element)
        if found is None:
            if len(self.kept) >= MAX_KEPT:
                self.kept.clear()
            found = self.kept[element] = self.make(element)
        return found

    def make(self, element: str) -> Q.Query:
        if element.endswith("*"):
            return self.parser.parse(element)
        # The parser's term_query: each field's analyzer (query mode) on the word; a stop
        # word gives no term, a plain word at most one (the tokenizer finds the word itself).
        texts = [[t.text for t in analyzer(element, mode="query")] for analyzer in self.analyzers]
        if any(len(t) > 1 for t in texts):
            return self.parser.parse(element)
        terms = [Q.Term(name, texts[at][0], boost=boost)
                 for name, boost, at in self.fields if texts[at]]
        return Q.And([Q.Or(terms)]).normalize()

    def atom(self, text: str) -> Q.Query:
        if not text.startswith("("):
            return self.word(text)
        # Flattened here, as normalize() would (it copies each leaf to re-boost it by 1.0).
        leaves = []
        for e in text[1:-1].split(" OR "):
            q = self.word(e)
            plain = type(q) is Q.Or and q.boost == 1.0
            leaves.extend(q.subqueries if plain else [q])
        return Q.Or(leaves).normalize()


def atoms_of(text: str) -> list[str] | None:
    """The words and groups of `text` if it has only the shapes built here, else None."""
    if not SHAPE.fullmatch(text):
        return None
    atoms = ATOMS.findall(text)
    for atom in atoms:
        elements = atom[1:-1].split(" OR ") if atom.startswith("(") else [atom]
        if any(e.rstrip("*") in OPERATORS for e in elements):
            return None
    return atoms


def parse_text(parser, text: str) -> Q.Query:
    """`parser.parse(text)`, built from kept word queries when the text is plain words."""
    atoms = atoms_of(text)
    if atoms is None:
        return parser.parse(text)
    words = parser.__dict__.get("_kb_words")
    if words is None:
        words = parser.__dict__["_kb_words"] = Words(parser)
    return Q.And([words.atom(a) for a in atoms]).normalize()
