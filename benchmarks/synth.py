"""A synthetic lecture archive in the platform's deck format, for benchmarks.

Decks of 30 slides (`===` horizontal and `--` vertical separators, a heading per slide,
bullets, the odd bold word, inline code, link and speaker notes) under YAML frontmatter
with a title, an ISO 8601 date and course tags. The words follow a Zipf law over a
vocabulary of a few thousand English and made-up words, so term statistics (a few very
common words, a long tail of rare ones) look like real text. Everything is derived from
`seed`: the same seed gives the same bytes.

    python benchmarks/synth.py OUT_DIR --slides 21000 --seed 1
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

SLIDES_PER_DECK = 30
ZIPF_S = 1.05

# Ranked first, as in real text: the words that make up a third of any English page.
FUNCTION_WORDS = """the of and to a in is that for it as with be on by this are or from at an
which we can not have these each its their if but more one two when all also they than
use has there into been other only most between our such may so how then was were should
where both some any same what over new first through while very well would because""".split()

# Lecture words: statistics, epidemiology, computing, biology, physics, history, law.
FUNCTION_SET = set(FUNCTION_WORDS)

DOMAIN_WORDS = """statistics statistical state states station stationary status statute
regression regressions model models modelling modeled variable variables variance covariance
mean median mode distribution distributions normal poisson binomial likelihood estimate
estimates estimation estimator bias biased unbiased sample samples sampling population
hypothesis hypotheses test tests testing significance confidence interval intervals error
errors standard deviation correlation causal causation cohort cohorts exposure outcome outcomes
risk ratio ratios odds hazard hazards survival censoring censored incidence prevalence
mortality morbidity trial trials randomised randomized control controls placebo treatment
treatments effect effects confounding confounder confounders adjustment stratified
stratification matching propensity score scores analysis analyses analytic data dataset
datasets database table tables figure figures chart plot plots histogram scatter boxplot
algorithm algorithms complexity recursion recursive function functions parameter parameters
argument arguments return value values type types class classes object objects method
methods inheritance interface module modules package packages library libraries compile
compiler runtime memory pointer pointers array arrays list lists tree trees graph graphs
node nodes edge edges search sort sorting hash hashing queue stack heap network networks
protocol packet packets server servers client clients request response cache latency
throughput thread threads process processes kernel system systems file files index indexes
query queries transaction transactions lock locks commit schema cell cells gene genes
protein proteins enzyme enzymes membrane molecule molecules receptor receptors signal
signalling pathway pathways mutation mutations expression sequence sequencing genome genomes
evolution selection species population organism organisms tissue tissues immune antibody
antigen virus viruses bacteria infection infections vaccine vaccines transmission epidemic
pandemic outbreak surveillance energy force forces mass velocity acceleration momentum
field fields charge current voltage resistance circuit wave waves frequency quantum particle
particles photon electron entropy temperature pressure volume thermodynamics equilibrium
reaction reactions acid base bond bonds history historical century empire revolution war
treaty trade economy economic market markets price prices supply demand policy policies
government law laws court courts contract contracts liability rights constitution
legislation regulation ethics ethical consent privacy patient patients clinical clinician
hospital health healthcare medicine medical diagnosis diagnostic imaging annotation
annotations annotated learning machine neural deep training validation overfitting
gradient descent loss optimisation optimization feature features label labels classifier
classification clustering dimensionality reduction matrix matrices vector vectors linear
nonlinear derivative integral limit limits theorem proof lemma definition example examples
exercise exercises lecture lectures week weeks slide slides summary introduction overview
review reading readings assignment assignments exam exams question questions answer answers
problem problems solution solutions case study studies method approach framework theory
theories concept concepts principle principles evidence result results conclusion
conclusions limitation limitations assumption assumptions""".split()

COMMON_WORDS = """time people year way day man thing woman life child world school family
group country hand part place week company number point home water room mother area money
story fact month lot right study book eye job word business issue side kind head house
service friend father power hour game line end member car city community name president team
minute idea kid body information back parent face others level office door health person art
war party result change morning reason research girl guy moment air teacher force education
foot boy age policy process music market sense nation plan college interest death experience
effect class control care field development role effort rate heart drug show leader light
voice wife police mind price report decision son view relationship town road arm difference
value building action model season society tax director position player record paper space
ground form event official matter center couple site project activity star table need court
oil situation cost industry figure street image phone data picture practice piece land
product doctor wall patient worker news test movie north love support technology step baby
computer type attention film tree source organization hair window evidence population site
make take know think see come look want give find tell ask work seem feel try leave call
keep provide hold turn follow begin bring show hear play run move live believe happen
write sit stand lose pay meet include continue set learn lead understand watch speak read
allow add spend grow open walk win offer remember consider appear buy wait serve die send
expect build stay fall cut reach kill remain suggest raise pass sell require report decide
pull good new first last long great little own other old right big high different small
large next early young important few public bad same able late hard major better economic
strong possible whole free military true federal international full special easy clear
recent certain personal open red difficult available likely short single medical current
wrong private past foreign fine common poor natural significant similar hot dead central
happy serious ready simple left physical general environmental financial blue democratic
dark various entire close legal religious cold final main green nice huge popular
traditional cultural""".split()

SYLLABLES = """ba be bi bo bu da de di do du fa fe fi fo ga ge go ka ke ki ko ku la le li lo
lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu
va ve vi vo za ze zo bran cor dex fen gor hal jun kel lor mer nax pol quin rus sel tor vin
wex yar zel tron phor thal cryn""".split()
ENDINGS = ["", "", "n", "r", "s", "l", "x", "t", "nd", "ss", "ton", "ium", "ase", "ine", "ism"]

DEPARTMENTS = ["EPI", "BIO", "CS", "STAT", "PHYS", "CHEM", "HIST", "LAW", "MED", "ECON",
               "MATH", "ENG", "PSY", "GEO", "PHIL", "TMHG"]


def made_up_words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    words = []
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) + rng.choice(ENDINGS)
        if 4 <= len(word) <= 14 and word not in taken:
            taken.add(word)
            words.append(word)
    return words


@dataclass
class Vocabulary:
    words: list[str]  # by rank: words[0] is the most frequent
    cum: list[float]

    @classmethod
    def build(cls, seed: int, size: int = 4000, s: float = ZIPF_S) -> "Vocabulary":
        rng = random.Random(f"vocab-{seed}")
        seen: set[str] = set()
        function = [w for w in FUNCTION_WORDS if not (w in seen or seen.add(w))]
        content = [w for w in DOMAIN_WORDS + COMMON_WORDS if not (w in seen or seen.add(w))]
        invented = made_up_words(rng, max(0, size - len(function) - len(content)), seen)
        rest = content + invented
        rng.shuffle(rest)
        # Real words should mostly outrank invented ones: a biased shuffle, not a sort.
        rest.sort(key=lambda w: rng.random() + (0.6 if w in invented else 0.0))
        words = (function + rest)[:size]
        cum = list(itertools.accumulate(1.0 / (rank ** s) for rank in range(1, len(words) + 1)))
        return cls(words, cum)

    def draw(self, rng: random.Random, k: int) -> list[str]:
        total = self.cum[-1]
        return [self.words[bisect.bisect_left(self.cum, rng.random() * total)] for _ in range(k)]

    def draw_content(self, rng: random.Random, k: int) -> list[str]:
        """Like draw, without the function words: what titles are made of."""
        out = []
        while len(out) < k:
            word = self.draw(rng, 1)[0]
            if word not in FUNCTION_SET:
                out.append(word)
        return out

    def rank(self, lo: float, hi: float, rng: random.Random) -> str:
        """A word whose rank is between fractions lo and hi of the vocabulary."""
        return self.words[rng.randrange(int(lo * len(self.words)), max(int(lo * len(self.words)) + 1,
                                                                          int(hi * len(self.words))))]


def sentence(rng: random.Random, vocab: Vocabulary, low: int, high: int) -> str:
    words = vocab.draw(rng, rng.randint(low, high))
    for i, word in enumerate(words):
        roll = rng.random()
        if roll < 0.02:
            words[i] = f"**{word}**"
        elif roll < 0.03:
            words[i] = f"`{word}`"
        elif roll < 0.035:
            words[i] = f"[{word}](https://example.org/{word}.html)"
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def title_case(words: list[str]) -> str:
    return " ".join(w.capitalize() if len(w) > 3 else w for w in words).capitalize()


@dataclass(frozen=True)
class Course:
    code: str
    topic: str
    year: int


def courses_for(n_decks: int, seed: int, vocab: Vocabulary) -> list[Course]:
    rng = random.Random(f"courses-{seed}")
    out, seen = [], set()
    for _ in range(max(1, n_decks // 12)):
        while True:
            code = f"{rng.choice(DEPARTMENTS)}{rng.randint(100, 599)}"
            if code not in seen:
                seen.add(code)
                break
        out.append(Course(code, vocab.rank(0.03, 0.25, rng), rng.randint(2012, 2024)))
    return out


def deck_text(index: int, course: Course, vocab: Vocabulary, seed: int,
              slides: int = SLIDES_PER_DECK) -> tuple[str, str]:
    """(relative path, text) of deck number `index`."""
    rng = random.Random(f"deck-{seed}-{index}")
    week = index % 14 + 1
    title_words = vocab.draw_content(rng, rng.randint(2, 5))
    title = title_case(title_words).replace("*", "").replace("`", "")
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    date = f"{course.year + index // 400 % 3:04d}-{month:02d}-{day:02d}T00:00:00.000Z"
    tags = [course.code, course.topic]
    slug = "-".join(w for w in title_words if w.isalnum())[:40] or "deck"
    path = f"courses/{course.code}/w{week:02d}-{index:06d}-{slug}.md"
    head = ["---", f"title: '{title}'", f"date: '{date}'", "type: reveal", "tag:"]
    head += [f"  - {t}" for t in tags]
    head += ["---", ""]
    parts = []
    for n in range(slides):
        if n:
            parts.append("--" if rng.random() < 0.25 else "===")
            parts.append("")
        level = "#" if n == 0 else rng.choice(["##", "##", "###"])
        heading = title if n == 0 else title_case(vocab.draw_content(rng, rng.randint(1, 5)))
        lines = [f"{level} {heading.replace('*', '').replace('`', '')}", ""]
        lines.append(" ".join(sentence(rng, vocab, 6, 18) for _ in range(rng.randint(1, 3))))
        lines.append("")
        if rng.random() < 0.7:
            lines += [f"- {sentence(rng, vocab, 3, 10)}" for _ in range(rng.randint(2, 5))]
            lines.append("")
        if rng.random() < 0.05:
            lines += ["```python", f"def {vocab.rank(0.2, 0.6, rng)}(x):", "    return x + 1", "```", ""]
        if rng.random() < 0.3:
            lines += [f"Note: {sentence(rng, vocab, 8, 25)}", ""]
        parts.append("\n".join(lines))
    return path, "\n".join(head) + "\n" + "\n".join(parts)


def course_of(index: int, courses: list[Course], seed: int) -> Course:
    return courses[random.Random(f"course-of-{seed}-{index}").randrange(len(courses))]


def generate(out: Path, n_slides: int, seed: int = 1) -> dict:
    """Write ceil(n_slides / 30) decks under `out`; returns what a benchmark needs to know."""
    vocab = Vocabulary.build(seed)
    n_decks = -(-n_slides // SLIDES_PER_DECK)
    courses = courses_for(n_decks, seed, vocab)
    paths = []
    for i in range(n_decks):
        last = n_slides - SLIDES_PER_DECK * i if i == n_decks - 1 else SLIDES_PER_DECK
        rel, text = deck_text(i, course_of(i, courses, seed), vocab, seed, slides=last)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        paths.append(rel)
    return {"decks": n_decks, "slides": n_slides, "paths": paths, "vocab": vocab,
            "courses": courses}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--slides", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    made = generate(args.out, args.slides, args.seed)
    print(f"{made['decks']} decks, {made['slides']} slides in {args.out}/")


if __name__ == "__main__":
    main()
