"""Related slides (kb.related) on the sample corpus: pairs judged by hand come out related,
unrelated topics do not, the answer is cached per index generation, and the deck page shows
it (its JSON twin too, and in Chromium the list of the slide on screen)."""

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from kb.index import reindex
from kb.related import LIMIT, RelatedSlides
from kb.search import SlideIndex
from kb.settings import Settings
from helpers import chromium, serve_kb

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "content"
LINEAR, MULTIPLE = "STAT200/week01-linear-regression", "STAT200/week02-multiple-regression"
JOINS, NORMAL = "DB210/week03-joins", "DB210/week05-normalization"

# (deck, anchor) → a slide of another deck that must be among its related slides
JUDGED = [
    ((LINEAR, "1"), (MULTIPLE, "1")),  # "The model", simple and multiple regression
    ((MULTIPLE, "0"), (LINEAR, "0")),  # multiple regression ↔ simple linear regression
    ((JOINS, "4/1"), (NORMAL, "1/1")),  # a junction table ↔ second normal form
    ((NORMAL, "0"), (JOINS, "0")),  # normalization ↔ joining tables (one course)
]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("related")
    shutil.copytree(SAMPLE, root / "content")
    settings = Settings(content=root / "content", index=root / "index")
    reindex(settings)
    return settings


@pytest.fixture(scope="module")
def related(sample):
    return RelatedSlides(SlideIndex(sample))


def decks_of(settings) -> list[str]:
    searcher = SlideIndex(settings).searcher()
    return sorted({doc["deck"] for doc in searcher.all_stored_fields()})


def test_judged_pairs_are_related(related):
    for (deck, anchor), (other, other_anchor) in JUDGED:
        found = related.for_deck(deck).get(anchor, ())
        assert (other, other_anchor) in {(r.deck, r.anchor) for r in found}, (deck, anchor, found)


def test_unrelated_topics_are_not_and_no_slide_relates_to_its_own_deck(related, sample):
    course = lambda deck: deck.split("/")[0]
    apart = {("CS150", "EPI101"), ("CS150", "DB210"), ("EPI101", "DB210"), ("CS150", "STAT200"),
             ("DB210", "STAT200")}
    total = 0
    for deck in decks_of(sample):
        for anchor, found in related.for_deck(deck).items():
            assert 0 < len(found) <= LIMIT
            total += len(found)
            for r in found:
                assert r.deck != deck
                pair = tuple(sorted((course(deck), course(r.deck))))
                assert pair not in apart, (deck, anchor, r)
    assert total >= 2 * len(JUDGED)
    # Boilerplate slides of two courses ("Exercises", "Summary") are not a topic.
    exercises = related.for_deck("CS150/week04-numpy").get("8", ())
    assert all(r.title != "Exercises" for r in exercises)


def test_cached_per_index_generation(sample, tmp_path):
    index = SlideIndex(sample)
    related = RelatedSlides(index)
    first = related.for_deck(LINEAR)
    assert related.for_deck(LINEAR) is first and related.computed == 1
    (sample.content / "STAT200" / "week01-linear-regression.md").touch()
    reindex(sample, full=True)  # a new generation
    index.refresh()  # what its watcher thread does within half a second
    assert related.for_deck(LINEAR) == first and related.computed == 2


def test_deck_page_and_its_json_show_related_slides(sample):
    with serve_kb(sample) as base:
        with urllib.request.urlopen(f"{base}/api/decks/{LINEAR}") as response:
            data = json.load(response)
        model = data["related"]["1"]
        assert model[0]["deck"] == MULTIPLE and model[0]["url"].startswith(f"/decks/{MULTIPLE}?s=")
        assert "0/0" not in data["related"]
        with chromium() as browser:
            tab = browser.new_page()
            tab.goto(f"{base}/decks/{LINEAR}#/1")
            box = tab.locator('#related .related[data-for="1"]')
            box.wait_for(state="visible")
            assert "Also covered in" in box.inner_text()
            assert "Multiple regression" in box.inner_text()
            assert tab.locator('#related .related[data-for="0"]').is_hidden()
            tab.evaluate("location.hash = '#/0'")
            tab.locator('#related .related[data-for="0"]').wait_for(state="visible")
            assert box.is_hidden()
            tab.locator('#related .related[data-for="0"] a').first.click()
            tab.wait_for_url(f"**/decks/{MULTIPLE}?s=*#/0")


def test_work_per_deck_is_bounded(sample):
    related = RelatedSlides(SlideIndex(sample), max_slides=3)
    answer = related.for_deck(LINEAR)
    assert related.queries == 3 and set(answer) <= {"0", "1", "2"} and "1" in answer
    related.for_deck(LINEAR)
    assert related.queries == 3  # cached


def test_words_on_every_slide_of_a_big_deck_are_not_walked(tmp_path):
    """A word on each of a deck's thousands of slides would make every slide's query walk
    all of them (all excluded as its own deck): such words are left out of the query."""
    content = tmp_path / "content"
    content.mkdir()
    slides = "\n\n===\n\n".join(f"# Slide {i}\n\nsurvival hazard censoring kaplan meier {i}"
                                 for i in range(3000))
    (content / "big.md").write_text(f"---\ntitle: Big\n---\n{slides}\n", "utf-8")
    for name in ("other", "again"):
        (content / f"{name}.md").write_text(f"---\ntitle: {name}\n---\n# Censoring\n\n"
                                            "Survival analysis with censoring, hazard and "
                                            "kaplan meier curves for patients\n", "utf-8")
    settings = Settings(content=content, index=tmp_path / "index")
    reindex(settings, jobs=1)
    related = RelatedSlides(SlideIndex(settings), max_slides=20)
    related.for_deck("big")
    assert related.queries == 20
    # each of the five words is on 3,001 slides: walking them would be 20 × 15,005 postings
    assert related.work["postings"] <= 20 * 5000
    # a small deck's rarer words still find the same topic elsewhere
    assert [r.deck for r in related.for_deck("other")["0"]] == ["again"]
    # a page from slide 2000 on: the related slides of its own slides, as many lookups
    later = related.for_deck("big", first=2000)
    assert related.queries == 20 + 1 + 20
    assert set(later) <= {str(i) for i in range(2000, 2020)}
