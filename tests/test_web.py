"""The web app through Flask's test client: every route, its JSON twin, errors, media
safety, security headers and escaping (docs/web.md)."""

import json
import logging
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from helpers import SPEC_HIT_KEYS, make_site, text_png, write
from kb import urls
from kb.cli import main as kb_cli
from kb.index import reindex
from kb.render import highlight_terms, render_markdown, ImageResolver
from kb.web import create_app


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One indexed content folder for the read-only tests of this module."""
    from kb.settings import Settings
    root = tmp_path_factory.mktemp("site")
    content = root / "content"
    ids = make_site(content)
    settings = Settings(content=content, index=root / "index")
    reindex(settings)
    app = create_app(settings)
    return {"settings": settings, "app": app, "client": app.test_client(), "ids": ids,
            "root": root}


@pytest.fixture
def client(site):
    return site["client"]


def html_of(response) -> str:
    return response.get_data(as_text=True)


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def texts(nodes) -> list[str]:
    return [" ".join(node.get_text(" ").split()) for node in nodes]


# ---------------------------------------------------------------- pages and JSON


def test_home_shows_search_box_courses_and_recent_decks(client):
    page = soup_of(client.get("/"))
    form = page.select_one("form#search-form")
    assert form["action"] == "/search" and form.select_one('input[name="q"]')
    assert form["data-results-url"] == "/search/results"
    courses = texts(page.select(".courses .course-name"))
    assert "EPI101" in courses and "STA202" in courses
    # newest first: the 2021 deck before the 2019 one
    recent = texts(page.select(".recent .deck-title"))
    assert recent.index("Linear regression") < recent.index("Cohort studies")


def test_home_course_counts_follow_a_reindex(tmp_path):
    """The course list is counted once per manifest, and again after a reindex."""
    from kb.settings import Settings
    content = tmp_path / "content"
    write(content, "a.md", "---\ntitle: A\ntags: [GEO101]\n---\n# One\n")
    settings = Settings(content=content, index=tmp_path / "index")
    reindex(settings)
    client = create_app(settings).test_client()

    def courses():
        page = soup_of(client.get("/"))
        return dict(zip(texts(page.select(".courses .course-name")),
                        texts(page.select(".courses .count"))))
    assert courses() == {"GEO101": "1 deck"}
    write(content, "b.md", "---\ntitle: B\ntags: [GEO101, BIO200]\n---\n# Two\n")
    reindex(settings)
    assert courses() == {"GEO101": "2 decks", "BIO200": "1 deck"}


def test_search_page_links_each_hit_to_its_slide_with_the_words_marked(client):
    page = soup_of(client.get("/search?q=annotations"))
    hit = page.select_one("#hits li.hit")
    assert re.fullmatch(r"/decks/courses/EPI101/week02-cohorts\?q=annotations&s=[0-9a-f]{8}#/2/1",
                        hit.a["href"])  # ?s=: the slide's key (kb.slidekeys)
    assert "Annotations" in texts(hit.select(".snippet mark"))
    assert texts(hit.select(".hit-deck, .anchor, time")) == ["Cohort studies", "#/2/1", "23 Oct 2019"]
    assert "EPI101" in texts(hit.select(".tag"))


def test_ocr_hit_is_labelled_and_has_a_thumbnail(client):
    hit = soup_of(client.get("/search?q=kaplan")).select_one("#hits li.hit")
    assert texts(hit.select(".snippet .label-ocr")) == ["Text found in image"]
    assert hit.select_one("img.thumb")["src"] == "/api/media/km-plot"


def test_results_fragment_is_the_results_part_of_the_page(client):
    """What kb.js swaps in while typing is what the page itself shows: rendered once."""
    for args in ("q=censoring", "q=censoring&tag=EPI101", "q=censorin", "tag=Methods&year=2019"):
        fragment = soup_of(client.get("/search/results?" + args))
        page = soup_of(client.get("/search?" + args)).select_one("#results")
        assert fragment.select_one("#hits") is not None, args
        assert str(fragment).strip() == page.decode_contents().strip(), args
        assert fragment.find("html") is None and fragment.find("form") is None


def test_cli_json_and_api_search_are_the_same_document(client, site):
    settings = site["settings"]
    for query, tags in (("censoring", ()), ("kaplan", ()), ("censorin", ()),
                        ("methods OR regression", ("STA202",)), ("hazard ratio zebra", ())):
        args = ["search", "--json", "--content", str(settings.content),
                "--index", str(settings.index), *sum((["--tag", t] for t in tags), []), query]
        cli = CliRunner().invoke(kb_cli, args)
        assert cli.exit_code == 0, cli.output
        api = client.get("/api/search", query_string={"q": query, "tag": list(tags)}).get_json()
        assert json.loads(cli.output) == api, query
        assert api["hits"] or api["suggestion"] == "censoring"
    kaplan = client.get("/api/search?q=kaplan").get_json()["hits"][0]
    assert {"link", "display_title", "thumbnail"} <= set(kaplan)
    assert kaplan["thumbnail"] == "/api/media/km-plot" and re.search(r"\?q=kaplan&s=[0-9a-f]{8}#/2$", kaplan["link"])


def test_api_search_has_the_spec_keys_and_deep_links(client):
    data = client.get("/api/search?q=censoring").get_json()
    assert {"query", "total", "page", "per_page", "suggestion", "facets", "hits"} <= set(data)
    assert set(data["facets"]) >= {"tags", "years"}
    assert data["query"] == "censoring" and data["total"] >= 1
    hit = data["hits"][0]
    assert SPEC_HIT_KEYS <= set(hit)
    assert re.fullmatch(f"/decks/{hit['deck']}\\?s=[0-9a-f]{{8}}#/{hit['anchor']}", hit["url"])
    assert re.fullmatch(f"/decks/{hit['deck']}\\?q=censoring&s=[0-9a-f]{{8}}#/{hit['anchor']}",
                        hit["link"])
    assert data["facets"]["tags"]["EPI101"] >= 1 and "2019" in data["facets"]["years"]


def test_tag_year_and_deck_filters_are_kept_in_the_url(client, site):
    data = client.get("/api/search?q=methods OR regression OR cohort&tag=sta202").get_json()
    assert data["total"] >= 1 and all("STA202" in h["tags"] for h in data["hits"])
    data = client.get("/api/search?tag=Methods&year=2019").get_json()
    assert data["total"] >= 1 and all(h["date"].startswith("2019") for h in data["hits"])
    assert data["filters"] == {"tags": ["Methods"], "deck": None, "year": "2019"}
    deck = site["ids"]["cohorts"]
    data = client.get("/api/search?q=censoring&deck=" + quote(deck)).get_json()
    assert data["total"] >= 1 and all(h["deck"] == deck for h in data["hits"])
    page = html_of(client.get("/search?q=censoring&tag=EPI101"))
    assert 'class="chip" href="/search?q=censoring"' in page  # removing the filter
    assert "/search?q=censoring&amp;tag=EPI101&amp;year=2019" in page  # year facet keeps the tag


def test_empty_query_is_no_results_not_an_error(client):
    assert client.get("/api/search?q=").get_json()["total"] == 0
    assert client.get("/api/search").status_code == 200
    page = client.get("/search?q=")
    assert page.status_code == 200 and 'class="hit"' not in html_of(page)


@pytest.mark.parametrize("query", [
    "(((", '"unclosed', "tag:", "date:[x to", "*", "a*", "~", "\x00", "x" * 10_000, "OR AND NOT",
    "title:", "deck:../../etc", "ünïcödé ☃", "%s%n", "{{7*7}}", "<script>", "date:2019-99-99",
])
def test_odd_queries_never_give_a_server_error(client, query):
    for path in ("/search", "/search/results", "/api/search"):
        response = client.get(path, query_string={"q": query})
        assert response.status_code == 200, (path, query)
    assert "49" not in html_of(client.get("/search", query_string={"q": "{{7*7}}"})).split("<main")[1][:200]


@pytest.mark.parametrize("args", [
    "page=-1", "page=abc", "page=" + "9" * 40, "per_page=0", "per_page=100000", "limit=x",
    "tag=%00", "tag=" + "t" * 5000, "tag=a,b%20c", "year=abcd", "year=99999", "deck=../../etc",
    "tag=<script>&tag=x&tag=y", "q=a&page=1e9",
])
def test_odd_parameters_never_give_a_server_error(client, args):
    for path in ("/search", "/search/results", "/api/search"):
        response = client.get(f"{path}?q=censoring&{args}")
        assert response.status_code == 200, (path, args)


def test_huge_page_number_says_so(client):
    page = html_of(client.get("/search?q=censoring&page=999"))
    assert "past the last page" in page and 'class="hit"' not in page


def test_did_you_mean_links_to_the_suggestion(client):
    data = client.get("/api/search?q=cenzoring").get_json()
    assert data["suggestion"] == "censoring"
    page = html_of(client.get("/search?q=cenzoring"))
    assert 'Did you mean <a href="/search?q=censoring">censoring</a>' in page


def test_relaxed_search_says_not_all_words_matched(client):
    data = client.get("/api/search?q=hazard ratio zebra").get_json()
    assert data["relaxed"] and data["total"] >= 1
    assert "No slide has all the words" in html_of(client.get("/search?q=hazard ratio zebra"))


def test_paging_links(settings, content):
    for n in range(3):
        write(content, f"many{n}.md", "\n\n===\n\n".join(f"# Slide {i}\n\nbanana {i}" for i in range(6)))
    reindex(settings)
    client = create_app(settings).test_client()
    data = client.get("/api/search?q=banana&per_page=5").get_json()
    assert data["total"] == 18 and data["pages"] == 4 and len(data["hits"]) == 5
    page = html_of(client.get("/search?q=banana&page=2"))
    assert "Page 2 of 2" in page and 'href="/search?q=banana"' in page  # previous = page 1


def test_decks_are_grouped_by_tag_newest_first(client, site):
    page = html_of(client.get("/decks/"))
    methods = page[page.index("<h2>Methods</h2>"):]
    assert methods.index("Linear regression") < methods.index("Cohort studies")
    assert "Without a course tag" in page and "Loose notes" in page
    data = client.get("/api/decks").get_json()
    assert data["total"] == 4
    assert [d["id"] for d in data["decks"]][:2] == [site["ids"]["regression"], site["ids"]["evil"]]
    assert {"tag": "Methods", "decks": [site["ids"]["regression"], site["ids"]["cohorts"]]} in data["groups"]
    only = client.get("/api/decks?tag=epi101").get_json()
    assert [d["id"] for d in only["decks"]] == [site["ids"]["cohorts"]]
    assert client.get("/decks").status_code in (301, 308)


def test_deck_page_shows_every_slide_with_its_anchor_and_notes_apart(client, site):
    page = soup_of(client.get("/decks/" + site["ids"]["cohorts"]))
    anchors = ["0", "0/1", "1", "2", "2/1", "2/2"]
    assert list(sections(page)) == anchors
    assert [len(s.select("section[data-kb]")) for s in page.select(".slides > section")] == [2, 0, 3]
    assert [a["href"] for a in page.select(".kb-toc a")] == ["#/" + a for a in anchors]
    slide = sections(page)["0/1"]
    notes = slide.select_one("aside.notes").extract()  # reveal.js's speaker notes
    assert "The hazard ratio compares" in slide.get_text() and "zeppelin" not in slide.get_text()
    assert "zeppelin" in notes.get_text()
    assert "/api/media/km-plot" in [img["src"] for img in page.select(".slides img")]


def sections(page) -> dict:
    """anchor → the reveal.js <section> of each slide of a deck page."""
    return {s.select_one(".kb-anchor")["id"][1:]: s for s in page.select("section[data-kb]")}


def test_deck_page_with_a_query_sends_the_words_to_mark(client, site):
    page = html_of(client.get(f"/decks/{site['ids']['cohorts']}?q=annotations"))
    terms = json.loads(re.search(r'data-terms="([^"]*)"', page).group(1).replace("&#34;", '"'))
    assert "annotations" in terms and "annotated" in terms
    assert 'href="/search?q=annotations"' in page  # back to the results


def test_deck_images_relative_remote_and_missing(client, site):
    page = soup_of(client.get("/decks/" + site["ids"]["regression"]))
    assert [img["src"] for img in page.select(".slides img")] == [
        "/api/asset/courses/STA202/img/residuals.png"]  # the remote one is never loaded
    assert page.select_one("a.remote-img")["href"] == "https://example.org/chart.png"
    assert "Image not available: gone" in texts(page.select(".missing-img"))
    assert page.select("code.language-python") and "[1,3]" not in page.get_text()


def test_api_deck_and_one_slide(client, site):
    ident = site["ids"]["cohorts"]
    data = client.get(f"/api/decks/{ident}").get_json()
    assert data["id"] == ident and data["title"] == "Cohort studies" and data["tags"] == ["EPI101", "Methods"]
    assert [s["anchor"] for s in data["slides"]] == ["0", "0/1", "1", "2", "2/1", "2/2"]
    assert data["slides"][1]["notes"].startswith("mention the zeppelin")
    one = client.get(f"/api/decks/{ident}?anchor=2/1").get_json()
    assert len(one["slides"]) == 1
    assert re.fullmatch(f"/decks/{ident}\\?s=[0-9a-f]{{8}}#/2/1", one["slides"][0]["url"])
    assert client.get(f"/api/decks/{ident}?anchor=9/9").status_code == 404
    highlighted = client.get(f"/api/decks/{ident}?q=censor").get_json()
    assert "censoring" in highlighted["highlight"]["words"]


@pytest.mark.parametrize("path", [
    "/decks/nope", "/decks/courses/EPI101/nope", "/decks/../evil", "/decks/%2e%2e/evil",
    "/decks/courses/../../content/evil", "/decks/media/km-plot", "/decks/.hidden/x",
    "/decks/courses/EPI101/week02-cohorts.md/x", "/decks/%00", "/decks//etc/passwd",
    "/decks/" + "a/" * 300,
])
def test_unknown_or_sneaky_deck_ids_are_404(client, path):
    response = client.get(path, follow_redirects=True)  # `//` is merged by a redirect first
    assert response.status_code == 404
    assert "Traceback" not in html_of(response)
    api = client.get(path.replace("/decks/", "/api/decks/", 1), follow_redirects=True)
    assert api.status_code == 404


def test_deck_outside_content_is_not_served(settings, content, tmp_path):
    write(tmp_path, "outside.md", "# Secret outside\n")
    write(content, "inside.md", "# Inside\n")
    (content / "link.md").symlink_to(tmp_path / "outside.md")
    reindex(settings)
    client = create_app(settings).test_client()
    assert client.get("/decks/inside").status_code == 200
    assert client.get("/decks/link").status_code == 404
    assert client.get("/decks/../outside").status_code == 404


def test_404_page_is_friendly_html_and_json(client):
    response = client.get("/decks/nope")
    assert response.status_code == 404 and "There is no deck “nope”" in html_of(response)
    assert client.get("/no/such/page").status_code == 404
    data = client.get("/api/decks/nope").get_json()
    assert data["status"] == 404 and "nope" in data["error"]


# ---------------------------------------------------------------- media


def test_media_is_served_with_its_sniffed_type_and_caching(client):
    response = client.get("/api/media/km-plot")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    assert "max-age" in response.headers["Cache-Control"]
    again = client.get("/api/media/km-plot", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/api/media/blob").mimetype == "application/octet-stream"


def test_svg_goes_out_sandboxed(client):
    response = client.get("/api/media/diagram.svg")
    assert response.mimetype == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", [
    "/api/media/..%2f..%2fsecret.png", "/api/media/%2e%2e%2fsecret.png", "/api/media/../secret.png",
    "/api/media/..%252fsecret.png", "/api/media/%2e%2e", "/api/media/.hidden", "/api/media/",
    "/api/media/escape", "/api/media/subdir", "/api/media/subdir/inner.png", "/api/media/nothing",
    "/api/media/km-plot%00", "/api/media/%2fetc%2fpasswd", "/api/media/..\\secret.png",
    "/api/media/dirlink",
])
def test_media_traversal_and_odd_names_are_404(site, path):
    media = site["settings"].media
    secret = site["root"] / "secret.png"
    if not secret.exists():
        secret.write_bytes((media / "km-plot").read_bytes())
        (media / "escape").symlink_to(secret)
        (media / "subdir").mkdir()
        (media / "subdir" / "inner.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (media / "dirlink").symlink_to(site["root"])
    response = site["client"].get(path, follow_redirects=True)
    assert response.status_code == 404, path


def test_symlink_inside_media_is_fine(site):
    media = site["settings"].media
    if not (media / "alias").exists():
        (media / "alias").symlink_to(media / "km-plot")
    assert site["client"].get("/api/media/alias").status_code == 200


@pytest.mark.parametrize("path", [
    "/api/asset/courses/STA202/img/notes.txt.png", "/api/asset/courses/STA202/regression.md",
    "/api/asset/../secret.png", "/api/asset/courses/%2e%2e/%2e%2e/media/km-plot",
    "/api/asset/media/km-plot", "/api/asset/courses/STA202/img/missing.png",
    "/api/asset/courses//STA202/img/residuals.png", "/api/asset/.git/x.png",
])
def test_assets_serve_only_images_inside_content(client, path):
    assert client.get(path).status_code == 404, path


def test_asset_image_is_served(client):
    response = client.get("/api/asset/courses/STA202/img/residuals.png")
    assert response.status_code == 200 and response.mimetype == "image/png"


# ---------------------------------------------------------------- health, errors, headers


def test_healthz_counts_decks_and_slides(client):
    response = client.get("/healthz")
    data = response.get_json()
    assert response.status_code == 200 and data["status"] == "ok"
    assert data["decks"] == 4 and data["slides"] == 11 and data["indexed_slides"] == 11


def test_without_an_index_pages_explain_and_health_is_503(settings, caplog):
    client = create_app(settings).test_client()
    with caplog.at_level(logging.WARNING):
        page = client.get("/search?q=anything")
    assert page.status_code == 503 and "kb reindex" in html_of(page)
    assert "Traceback" not in html_of(page)
    assert any("kb reindex" in r.getMessage() for r in caplog.records)
    error = client.get("/api/search?q=x").get_json()["error"]
    assert "kb reindex" in error and str(settings.index) not in error  # no paths to visitors
    assert client.get("/healthz").status_code == 503
    assert client.get("/").status_code == 200  # the home page needs no search
    assert client.get("/decks/").status_code == 200


def test_unexpected_errors_are_logged_not_shown(site, caplog, monkeypatch):
    app = create_app(site["settings"])
    catalog = app.extensions["kb"]["catalog"]
    monkeypatch.setattr(catalog, "decks", lambda tag=None: 1 / 0)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/decks/")
    assert response.status_code == 500
    assert "ZeroDivisionError" not in html_of(response) and "Traceback" not in html_of(response)
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)
    assert app.test_client().get("/api/decks").get_json()["status"] == 500


@pytest.mark.parametrize("path", ["/", "/search?q=x", "/search/results?q=x", "/api/search?q=x",
                                  "/decks/", "/decks/nope",
                                  "/api/media/km-plot", "/static/kb.css", "/healthz"])
def test_security_headers_everywhere(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    if not path.startswith("/api/media"):
        # a deck page may be framed by kb itself (reveal.js's speaker view), nothing else may
        framing = "'self'" if path.startswith("/decks/") and path != "/decks/" else "'none'"
        assert "script-src 'self'" in csp and f"frame-ancestors {framing}" in csp
        assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def test_static_files_are_served(client):
    for name in ("kb.css", "kb.js", "deck.js", "deck-fit.js"):
        assert client.get("/static/" + name).status_code == 200


# ---------------------------------------------------------------- escaping and sanitizing

class Dangers(HTMLParser):
    """Collects the markup in a page that could run script or restyle it: real elements and
    attributes, not text that merely reads like them (escaped text is fine)."""

    OURS = {"search-form", "top-search", "deck-search"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            self.found.append(("script", attrs))
        if tag in ("iframe", "object", "embed", "style", "base", "svg") or \
                tag == "form" and attrs.get("class") not in self.OURS:
            self.found.append((tag, attrs))
        for name, value in attrs.items():
            value = (value or "").strip().lower()
            if name.startswith("on") or name in ("style", "formaction", "srcdoc"):
                self.found.append((tag, name))
            if name in ("href", "src", "action", "data") and \
                    value.startswith(("javascript:", "data:", "vbscript:")):
                self.found.append((tag, name, value))


def dangers(page: str) -> list:
    parser = Dangers()
    parser.feed(page)
    return parser.found


def test_deck_payloads_are_sanitized(client, site):
    page = html_of(client.get("/decks/evil"))
    assert dangers(page) == []
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;Evil deck" in page  # title shown as text
    assert 'class="slide current"' not in page and 'id="/0">styled' not in page
    data = client.get("/api/decks/evil").get_json()
    assert dangers(data["slides"][0]["html"]) == [] and dangers(data["slides"][0]["notes_html"]) == []
    assert "bold" in data["slides"][0]["html"] and "styled payload" in data["slides"][0]["html"]


@pytest.mark.parametrize("path", ["/decks/", "/", "/search?q=payload", "/search?q=kaplan&tag=SEC101"])
def test_listing_and_results_escape_titles_and_tags(client, path):
    page = html_of(client.get(path))
    assert dangers(page) == [], path
    assert "Evil deck" in page or path == "/search?q=kaplan&tag=SEC101"


@pytest.mark.parametrize("query", [
    '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
    "' onmouseover='alert(1)", "</textarea><script>x</script>",
])
def test_query_string_is_escaped_everywhere(client, query):
    for path in ("/search", "/search/results", "/decks/evil", "/decks/courses/EPI101/week02-cohorts"):
        response = client.get(path, query_string={"q": query, "tag": query, "deck": query,
                                                  "year": query})
        page = html_of(response)
        assert response.status_code == 200
        if re.search("[<>\"']", query):
            assert query not in page, (path, query)
        assert dangers(page) == [], (path, query)


# ---------------------------------------------------------------- rendering helpers


def test_render_markdown_reveal_flavours(tmp_path):
    resolver = ImageResolver(tmp_path, tmp_path)
    html = str(render_markdown("```C# [1,2]\nvar x;\n```", resolver))
    assert "language-csharp" in html and "[1,2]" not in html
    html = str(render_markdown("<div class='container'>\n<div class='col1'>\n\n# Title *here*\n\n</div>\n</div>", resolver))
    assert "<h1>Title <em>here</em></h1>" in html and "<div class=\"container\">" in html
    html = str(render_markdown('<img data-src="pic.png" height=300 />', resolver))
    assert "Image not available" in html
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    html = str(render_markdown('<img data-src="pic.png" height=300 />', resolver))
    assert '<img src="/api/asset/pic.png"' in html and 'height="300"' in html
    html = str(render_markdown('<span class="fragment current" style="color:red">x</span>', resolver))
    # deck classes and allowed styles are kept (styles as data-style: the CSP refuses style=)
    assert html == '<p><span class="fragment" data-style="color: red">x</span></p>'


def test_highlight_terms_follow_the_stemmer():
    words, prefixes = highlight_terms("annotations -models tag:EPI101 draw*",
                                      ["Annotated images; annotation models drawing"])
    assert set(words) == {"annotated", "annotation", "drawing"} and prefixes == ["draw"]
    assert highlight_terms("", ["anything"]) == ([], [])


def test_deck_ids_with_spaces_and_accents(settings, content):
    write(content, "Cours d'été/Semaine 1 #intro.md", "# Première leçon\n\nÉtude de cohorte.\n")
    reindex(settings)
    client = create_app(settings).test_client()
    hit = client.get("/api/search?q=cohorte").get_json()["hits"][0]
    assert hit["deck"] == "Cours d'été/Semaine 1 #intro"
    assert hit["link"].startswith("/decks/Cours%20d%27%C3%A9t%C3%A9/Semaine%201%20%23intro?q=")
    page = client.get(hit["link"].split("#")[0])
    assert page.status_code == 200 and "Première leçon" in html_of(page)


def test_filter_only_query_marks_nothing(client, site):
    page = html_of(client.get(f"/decks/{site['ids']['cohorts']}?q=tag:EPI101"))
    assert 'id="highlight-bar"' not in page and 'data-terms="[]"' in page
    page = html_of(client.get(f"/decks/{site['ids']['cohorts']}?q=zebra"))
    assert "No slide of this deck is a hit of <q>zebra</q>" in page


def test_wrong_method_is_an_error_page_not_a_crash(client):
    assert client.post("/api/search?q=x").get_json()["status"] == 405
    assert client.post("/decks/").status_code == 405


def test_dangers_checker_sees_real_markup():
    assert dangers('<img src="x" onerror="alert(1)">') and dangers('<a href=" javascript:x">')
    assert dangers("<script>x</script>") and not dangers("&lt;script&gt; onerror=")


HTMLISH = ["<script>", "</script>", "<img src=x onerror=alert(1)>", "javascript:", "<a href=\"",
           "\">", "<svg onload=alert(1)>", "<!--", "-->", "```", "\n\n", "[x](", ")", "![a](",
           "<iframe src=", "<style>", "\"", "'", "`", "&#106;", "<", ">", "=", "on", "word ",
           "<div>", "</div>", "\n", " ", "<math><mi xlink:href=\"javascript:1\">", "<details open ontoggle=x>"]


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(HTMLISH), max_size=30).map("".join))
def test_any_markdown_renders_to_harmless_html(tmp_path_factory, text):
    resolver = ImageResolver(tmp_path_factory.getbasetemp(), tmp_path_factory.getbasetemp())
    html = str(render_markdown(text, resolver))
    assert dangers(html) == [], (text, html)


# ---------------------------------------------------------------- one rule, one place


def test_one_image_rule_for_what_is_ocred_and_what_is_shown(settings, content):
    """`![](/img/x.png)` is from the content folder, `![](../media/m1)` is media file m1:
    the indexer OCRs both and the page shows both (it once did only one of each)."""
    write(content, "lectures/pictures.md",
          "# Pictures\n\n![](/img/x.png)\n\n===\n\n![](../media/m1)\n\n===\n\n![](../../outside.png)\n")
    (content / "img").mkdir(exist_ok=True)
    (content / "img" / "x.png").write_bytes(text_png("zebra crossing"))
    (content / "media").mkdir(exist_ok=True)
    (content / "media" / "m1").write_bytes(text_png("walrus tusk"))
    (content.parent / "outside.png").write_bytes(text_png("secret outside"))
    reindex(settings)
    client = create_app(settings).test_client()
    zebra = client.get("/api/search?q=zebra").get_json()["hits"]
    walrus = client.get("/api/search?q=walrus").get_json()["hits"]
    assert [(h["anchor"], h["snippet_field"], h["thumbnail"]) for h in zebra] == [
        ("0", "ocr", "/api/asset/img/x.png")]
    assert [(h["anchor"], h["snippet_field"], h["thumbnail"]) for h in walrus] == [
        ("1", "ocr", "/api/media/m1")]
    assert client.get("/api/search?q=secret").get_json()["total"] == 0
    page = soup_of(client.get("/decks/lectures/pictures"))
    shown = {anchor: [i["src"] for i in s.select("img")] for anchor, s in sections(page).items()}
    assert shown == {"0": ["/api/asset/img/x.png"], "1": ["/api/media/m1"], "2": []}
    for src in shown["0"] + shown["1"]:
        assert client.get(src).mimetype == "image/png"


@pytest.mark.parametrize("src, kind, name", [
    ("/img/x.png", "content", "img/x.png"), ("pic.png", "content", "lectures/pic.png"),
    ("../media/m1", "media", "m1"), ("/media/m1", "media", "m1"), ("/api/media/m1?x#y", "media", "m1"),
    ("../../outside.png", "none", None), ("/../outside.png", "none", None),
    ("/api/media/../m1", "none", None), ("https://example.org/a.png", "remote", None),
    ("//example.org/a.png", "remote", None), ("data:image/png;base64,AAAA", "data", None),
    ("", "none", None),
])
def test_image_rule_cases(tmp_path, src, kind, name):
    from kb.media import resolve_image
    content = tmp_path / "content"
    (content / "lectures").mkdir(parents=True)
    source = resolve_image(src, content / "lectures", content)
    assert (source.kind, source.name) == (kind, name)
    assert (source.problem is None) == (kind == "data")  # nothing here exists: each says so


def test_url_builder():
    assert urls.slide_url("a b", "3", "hazard ratio") == "/decks/a%20b?q=hazard+ratio#/3"
    assert urls.slide_url("courses/EPI101/week02", "2/1") == "/decks/courses/EPI101/week02#/2/1"
    assert urls.deck_url("x", query="") == "/decks/x"
    assert urls.decks_url() == "/decks/" and urls.decks_url("EPI 101") == "/decks/?tag=EPI+101"
    assert urls.search_url() == "/search"
    assert urls.search_url("cox", ["A", "B"], "d/e", "2019", 3) == \
        "/search?q=cox&tag=A&tag=B&deck=d%2Fe&year=2019&page=3"
    assert urls.search_url("cox", page=1, fragment=True) == "/search/results?q=cox"
    assert urls.media_url("km plot") == "/api/media/km%20plot"
    assert urls.asset_url("img/a b.png") == "/api/asset/img/a%20b.png"
    assert urls.static_url("kb.js", 7) == "/static/kb.js?v=7"


def test_every_built_url_reaches_its_route(site):
    """The builder and the blueprints' routes agree (a renamed route fails here)."""
    routes = site["app"].url_map.bind("localhost")
    built = {urls.home_url(): "search.search_page", urls.search_url("x"): "search.search_page",
             urls.search_url("x", fragment=True): "search.results_fragment",
             urls.decks_url("T"): "decks.deck_list", urls.deck_url("a/b", "q"): "decks.deck_page",
             urls.slide_url("a/b", "2/1"): "decks.deck_page", urls.media_url("m"): "media.media",
             urls.asset_url("img/x.png"): "media.asset", urls.static_url("kb.js"): "static"}
    for url, endpoint in built.items():
        assert routes.match(url.split("#")[0].split("?")[0])[0] == endpoint, url


ROOT = Path(__file__).resolve().parent.parent
KB_PATH = re.compile(r"""(?:href|src|action)=["']/(?!/)|["'`]/(?:search|decks|api)\b""")


def test_no_template_or_script_writes_a_kb_path_itself():
    """Every kb URL comes from kb/urls.py: templates call it, kb.js reads rendered URLs."""
    files = sorted((ROOT / "templates").glob("*.html")) + [ROOT / "kb" / "static" / "kb.js"]
    found = [(f.name, m.group(0)) for f in files for m in KB_PATH.finditer(f.read_text())]
    assert found == []


def test_the_web_server_imports_no_writer_or_ocr_code():
    code = ("import sys, kb.web, kb.results, kb.urls; "
            "print(sorted(m for m in ('kb.index', 'kb.manifest', 'kb.ocr', 'kb.ocr_prep', "
            "'pytesseract') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    code = "import sys, kb.urls, kb.media; print('flask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the URL builder and image rule need no web framework


def test_deck_page_counts_the_hits_the_results_page_listed(client, site):
    """The deck page says how many of this query's hits are on it, and marks words on
    those slides only (issue 12)."""
    ident = site["ids"]["cohorts"]
    listed = [h for h in client.get("/api/search?q=censored&per_page=100").get_json()["hits"]
              if h["deck"] == ident]
    data = client.get(f"/api/decks/{ident}?q=censored").get_json()
    assert data["hits"]["count"] == len(listed) >= 1
    assert data["hits"]["anchors"] == [h["anchor"] for h in listed]
    page = html_of(client.get(f"/decks/{ident}?q=censored"))
    assert f"<strong>{len(listed)}</strong> hit" in page and "data-hits=" in page


def test_results_say_what_was_ignored_and_list_a_deck_once(client):
    data = client.get("/api/search?q=date:notadate hazard").get_json()
    assert any("ignored date:notadate" in n for n in data["notices"])
    assert "ignored date:notadate" in html_of(client.get("/search?q=date:notadate hazard"))
    deck_rows = client.get("/api/search?q=EPI101").get_json()["hits"]
    assert len({h["deck"] for h in deck_rows}) == len(deck_rows)  # one row per deck
    assert all(h["kind"] in ("slide", "deck") and h["more"] >= 0 for h in deck_rows)


def test_the_results_fragment_reads_the_last_word_as_a_prefix(client):
    fragment = html_of(client.get("/search/results?q=hazard obser"))
    assert "No slide matches" not in fragment and "<mark>observations</mark>" in fragment.lower()
    assert client.get("/api/search?q=hazard obser&live=1").get_json()["hits"]
