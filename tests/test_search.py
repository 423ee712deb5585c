"""Search semantics of docs/search.md on a small index built in tmp_path."""

import re
import pytest

from helpers import SPEC_HIT_KEYS, write
from kb.index import reindex
from kb.search import SlideIndex, search


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from kb.settings import Settings
    root = tmp_path_factory.mktemp("search")
    content = root / "content"
    write(content, "EPI101/week02-cohorts.md", """
        ---
        title: Cohort studies
        date: '2019-10-23T00:00:00.000Z'
        tag: [EPI101, survival]
        ---
        # Cohort studies

        Follow people over time and count new cases.

        --

        # Censoring

        A participant lost to follow-up is censored; the images were annotated by hand.

        Note: remember the dropout example from the café

        ===

        # Hazard ratio

        The hazard ratio compares instantaneous risk between groups.

        ===

        ## Kaplan–Meier

        The survival curve steps down at each event.
        """)
    write(content, "STAT200/regression.md", """
        ---
        title: Linear regression
        date: 2021-05-01
        tags: STAT200
        ---
        # Least squares

        Minimise the squared residuals; call `np.linalg.norm` on the residual vector,
        with **max_retries** set and _robust_ options. The hazard of overfitting is real.

        ===

        # Survival of the fittest model

        Compare models by cross-validation, not by the ratio of fits.

        ===

        Read [the paper](https://example.org/kitten-drop-table.html) before class.

        ===

        # Naïve Bayes in Müller's notes

        Annotations matter.
        """)
    write(content, "misc/no-tags.md", "# Loose notes\n\nSome orphan censoring remarks.\n")
    settings = Settings(content=content, index=root / "index")
    reindex(settings, jobs=1)
    return SlideIndex(settings)


def anchors(result):
    return [(h.deck, h.anchor) for h in result.hits]


def test_words_are_anded_and_hits_link_to_slides(index):
    result = search(index, "hazard ratio")
    assert anchors(result)[0] == ("EPI101/week02-cohorts", "1")
    assert re.fullmatch(r"/decks/EPI101/week02-cohorts\?s=[0-9a-f]{8}#/1", result.hits[0].url)
    assert ("STAT200/regression", "1") not in anchors(result)  # has "ratio" but no "hazard"


def test_stemming_accents_and_case(index):
    assert ("EPI101/week02-cohorts", "0/1") in anchors(search(index, "annotations"))
    assert ("STAT200/regression", "3") in anchors(search(index, "annotated"))
    assert anchors(search(index, "naive muller")) == [("STAT200/regression", "3")]
    assert anchors(search(index, "CAFE")) == [("EPI101/week02-cohorts", "0/1")]


def test_phrase_exclusion_or_prefix_fuzzy(index):
    assert anchors(search(index, '"hazard ratio"')) == [("EPI101/week02-cohorts", "1")]
    assert ("EPI101/week02-cohorts", "0/1") not in anchors(search(index, "censoring -dropout"))
    assert len(search(index, "censoring -dropout").hits) == 1
    both = set(anchors(search(index, "kaplan OR residuals")))
    assert {("EPI101/week02-cohorts", "2"), ("STAT200/regression", "0")} <= both
    assert ("EPI101/week02-cohorts", "0/1") in anchors(search(index, "censo*"))
    assert ("EPI101/week02-cohorts", "1") in anchors(search(index, "hazzard~"))


def test_field_queries(index):
    assert {h.deck for h in search(index, "tag:epi101 survival").hits} == {"EPI101/week02-cohorts"}
    assert {h.deck for h in search(index, "survival", tags=["stat200"]).hits} == {"STAT200/regression"}
    assert anchors(search(index, "deck:STAT200/regression survival")) == [("STAT200/regression", "1")]
    assert anchors(search(index, "survival", deck="STAT200")) == [("STAT200/regression", "1")]
    assert anchors(search(index, "title:censoring")) == [("EPI101/week02-cohorts", "0/1")]
    assert {h.deck for h in search(index, "date:2019 survival").hits} == {"EPI101/week02-cohorts"}
    ranged = search(index, "hazard date:[2021-01-01 to 2021-12-31]")
    assert {h.deck for h in ranged.hits} == {"STAT200/regression"}


def test_code_identifiers_and_markup(index):
    for query in ("np.linalg.norm", "linalg", "norm", "max_retries", "retries", "robust"):
        assert ("STAT200/regression", "0") in anchors(search(index, query)), query


def test_urls_are_not_searchable(index):
    assert search(index, "kitten").total == 0
    assert anchors(search(index, "paper")) == [("STAT200/regression", "2")]


def test_titles_rank_above_body_and_body_above_notes(index):
    ranked = anchors(search(index, "survival"))
    assert ranked[0] == ("STAT200/regression", "1")  # slide title
    assert anchors(search(index, "censoring"))[0] == ("EPI101/week02-cohorts", "0/1")


def test_snippet_marks_matches_from_the_matched_field(index):
    hit = search(index, "instantaneous").hits[0]
    assert "<mark>instantaneous</mark>" in hit.snippet and hit.matched == ("body",)
    notes_hit = search(index, "dropout").hits[0]
    assert notes_hit.snippet_field == "notes" and "<mark>dropout</mark>" in notes_hit.snippet


def test_snippets_escape_html(tmp_path):
    from kb.settings import Settings
    write(tmp_path / "c", "x.md", "# T\n\nclick <b>bold</b> & 1 < 2 quarantine\n")
    settings = Settings(content=tmp_path / "c", index=tmp_path / "i")
    reindex(settings, jobs=1)
    snippet = search(SlideIndex(settings), "quarantine").hits[0].snippet
    assert "<b>" not in snippet and "&lt; 2" in snippet and "&amp;" in snippet


def test_relaxed_when_no_slide_has_every_word(index):
    result = search(index, "censoring hazard participant unicorn")
    assert result.relaxed and result.hits
    assert anchors(result)[0] == ("EPI101/week02-cohorts", "0/1")


def test_did_you_mean_uses_real_words(index):
    result = search(index, "cenzoring")  # ("censorring" stems to censor: found as typed)
    assert result.suggestion == "censoring"
    assert search(index, "annotationz").suggestion in ("annotations", "annotated")
    assert search(index, "hazard").suggestion is None
    assert search(index, "hazadr ratio").suggestion == "hazard ratio"  # two letters swapped


def test_did_you_mean_prefers_fewer_edits_to_a_more_frequent_word(tmp_path):
    from kb.settings import Settings
    for n in range(3):
        write(tmp_path / "c", f"d{n}.md", f"# Deck {n}\n\nOne statistic per slide.\n")
    write(tmp_path / "c", "many.md", "# Many\n\nSummary statistics.\n")
    settings = Settings(content=tmp_path / "c", index=tmp_path / "i")
    reindex(settings, jobs=1)
    # "statistic" is in three decks, but "statistics" is one letter away (Whoosh said statistic).
    assert search(SlideIndex(settings), "statistcs").suggestion == "statistics"


def test_facets_keep_tag_case(index):
    result = search(index, "survival")
    # Counts are slides: the EPI101 deck is tagged "survival", so all four of its slides match.
    assert result.facets["tags"] == {"EPI101": 4, "survival": 4, "STAT200": 1}
    assert list(result.facets["tags"]) == ["EPI101", "survival", "STAT200"]
    assert result.facets["years"] == {"2021": 1, "2019": 4}
    assert search(index, "survival", tags=["epi101"]).facets["years"] == {"2019": 4}


@pytest.mark.parametrize("query", [
    "", "   ", '"', '"unclosed phrase', "(", ")", "AND", "OR OR", "NOT", "-", "*", "a*", "?",
    "tag:", "date:notadate", "date:[2020 to", "title:(", "~", "hazard~~~", "[", "{x TO",
    "\x00", "ü" * 600, "hazard" * 200, "' OR 1=1 --", "<script>alert(1)</script>", "a:b:c",
])
def test_odd_queries_never_raise(index, query):
    result = search(index, query)
    assert result.total >= 0
    assert result.as_dict()["query"] == query.strip()[:500]


def test_empty_query_has_no_results(index):
    assert search(index, "").total == 0 and search(index, "").hits == ()


def test_paging_and_json_shape(index):
    first = search(index, "the OR survival OR hazard OR censoring", per_page=2)
    second = search(index, "the OR survival OR hazard OR censoring", page=2, per_page=2)
    assert first.total == second.total >= 4
    assert not set(anchors(first)) & set(anchors(second))
    data = first.as_dict()
    assert {"query", "total", "page", "per_page", "suggestion", "facets", "hits"} <= set(data)
    assert set(data["facets"]) == {"tags", "years"}
    assert SPEC_HIT_KEYS <= set(data["hits"][0])
    assert search(index, "survival", page=10_000).hits == ()
