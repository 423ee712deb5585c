"""Hostile and broken input: property tests of the deck reader and of the query path
(in-process and over HTTP), a corpus of broken decks, and broken or hostile images.

KB_SLOW=1 runs more hypothesis examples and a 10 MB deck of prose (the default 10 MB deck
is mostly an embedded data: URI, which costs little to index).
"""

import itertools
import json
import os
import re
import socket
import struct
import subprocess
import zlib
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st

from kb.deck import read_deck
from kb.index import reindex
from kb.search import SearchResult, SlideIndex, search
from kb.settings import Settings
from test_crash import KbServer, kb_cmd, png_with_words, reap

SLOW = os.environ.get("KB_SLOW") == "1"
EXAMPLES = 1000 if SLOW else 120
HTTP_EXAMPLES = 400 if SLOW else 60
PROPS = hsettings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HTTP_PROPS = hsettings(max_examples=HTTP_EXAMPLES, deadline=None, database=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------- the deck reader

CONTENT = Path("/nonexistent-kb-content")  # read_deck gets the bytes; nothing is on disk
DECK = CONTENT / "deck.md"


def check_slides(deck) -> None:
    """reveal.js positions: (0,0) first, then either the next stack or one further down."""
    assert deck.slides, "a deck has at least one slide"
    anchors = [s.anchor for s in deck.slides]
    assert len(anchors) == len(set(anchors)), f"anchors not unique: {anchors}"
    prev = None
    for slide in deck.slides:
        assert slide.anchor == (f"{slide.h}" if slide.v == 0 else f"{slide.h}/{slide.v}")
        if prev is None:
            assert (slide.h, slide.v) == (0, 0)
        else:
            assert (slide.h, slide.v) in ((prev.h + 1, 0), (prev.h, prev.v + 1)), anchors
            assert slide.line >= prev.line, [s.line for s in deck.slides]
        assert slide.line >= 1
        for text in (slide.title, slide.body, slide.notes, slide.markdown, slide.alt):
            assert isinstance(text, str)
        prev = slide
    if deck.type != "reveal":
        assert anchors == ["0"]
    assert isinstance(deck.title, str) and deck.title.strip()
    assert all(isinstance(t, str) and t for t in deck.tags)


def read(data: bytes):
    deck, problems = read_deck(DECK, CONTENT, data=data)
    assert all(p.file == "deck.md" and p.message for p in problems)
    if deck is not None:
        check_slides(deck)
    return deck, problems


LINES = st.sampled_from([
    "", "===", "--", "=== ", "--\t", "---", "...", "```", "~~~", "````", "```python [1,3]",
    "# Title", "## Sub ##", "Title", "=====", "-----", "note:", "Notes: speaker", "NOTE: x",
    "<!-- .slide: data-background=\"x\" -->", "<!--", "-->", "![alt](/api/media/m1)",
    "![](../../etc/passwd)", "<img src=\"/api/media/../x\">", "<img data-src='a.png' alt=x>",
    "- item", "  - nested", "> quote", "| a | b |", "|---|---|", "[link](javascript:alert(1))",
    "<script>alert(1)</script>", "title: x", "separator: '^'", "type: note", "\ufeff", "\t",
    "    indented code", "&amp; &#0; &#x110000;", "\\===", "`===`", "*", "_", "[", "]("])
MARKDOWNISH = st.lists(st.one_of(LINES, st.text(max_size=12)), max_size=40).map("\n".join)


@PROPS
@given(st.one_of(st.text(), MARKDOWNISH, MARKDOWNISH.map(lambda t: t.replace("\n", "\r\n"))))
def test_any_text_is_read_with_consistent_anchors(text):
    read(text.encode("utf-8"))


@PROPS
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_skipped_with_a_problem(data):
    deck, problems = read(data)
    if deck is None:
        assert problems and problems[0].level == "error"


YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
              st.text(max_size=20), st.dates(), st.datetimes()),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=12)
META = st.dictionaries(
    st.sampled_from(["title", "date", "type", "tag", "tags", "separator", "verticalSeparator",
                     "theme", "notes"]),
    st.one_of(YAML_VALUES, st.sampled_from(["reveal", "note", "^---$", r"\n--\n", "(", "(?=x)",
                                            "^", "$", "", ".", "(?P<h>x)", "(?x)a", "\\"])),
    max_size=6)


@PROPS
@given(META, MARKDOWNISH)
def test_any_frontmatter_is_read_with_consistent_anchors(meta, body):
    front = yaml.safe_dump(meta, allow_unicode=True)
    read(f"---\n{front}---\n{body}".encode("utf-8"))


# Simple decks: blocks that never separate (paragraphs, closed fences holding `===` and `--`
# lines between blank lines, setext headings, lists, notes) and real separators between.
WORD = st.sampled_from(["alpha", "beta", "cohort", "hazard", "x", "1", "**b**", "`c`", "ratio",
                        "===x", "--y", "a===", "-- not"])
PARAGRAPH = st.lists(WORD, min_size=1, max_size=6).map(" ".join)
FENCE_LINE = st.sampled_from(["===", "--", "", "---", "code()", "  ===  ", "note: x", "# hash"])
FENCES = [("```", "```"), ("~~~", "~~~"), ("````", "````"), ("```python", "```"),
          ("~~~~ js", "~~~~")]
FENCE = st.tuples(st.sampled_from(FENCES), st.lists(FENCE_LINE, max_size=6)).map(
    lambda t: "\n".join([t[0][0], *t[1], t[0][1]]))
SETEXT = st.tuples(PARAGRAPH, st.sampled_from(["===", "---", "--", "=====", "==="])).map("\n".join)
BLOCK = st.one_of(PARAGRAPH, FENCE, SETEXT, st.just("- item\n- other"), st.just("note: said"),
                  st.just("![a chart](/api/media/m)"), st.just("> quoted"))
SLIDE = st.lists(BLOCK, max_size=4).map("\n\n".join)
SEPARATOR = st.sampled_from(["===", "--", "===  ", "--\t", "=== \t"])


@PROPS
@given(st.lists(SLIDE, min_size=1, max_size=12), st.data(), st.booleans(), st.booleans(),
       st.booleans())
def test_simple_decks_split_exactly_at_their_separators(slides, data, crlf, bom, front):
    seps = data.draw(st.lists(SEPARATOR, min_size=len(slides) - 1, max_size=len(slides) - 1))
    body = slides[0] + "".join(f"\n\n{sep}\n\n{slide}" for sep, slide in zip(seps, slides[1:]))
    text = ("---\ntitle: T\n---\n" if front else "") + body + "\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    deck, problems = read((("\ufeff" if bom else "") + text).encode("utf-8"))
    assert deck is not None
    assert all("missing media" in p.message for p in problems), problems
    want, h, v = [(0, 0)], 0, 0
    for sep in seps:  # only the exact line separates; `=== ` is text, as in reveal.js
        if sep in ("===", "--"):
            h, v = (h + 1, 0) if sep == "===" else (h, v + 1)
            want.append((h, v))
    assert [(s.h, s.v) for s in deck.slides] == want


def test_an_unclosed_fence_is_not_a_fence():
    deck, _ = read(b"# A\n\n```\ncode\n\n===\n\n# B\n\nafter\n")
    assert [s.anchor for s in deck.slides] == ["0", "1"]  # as reveal.js splits it


# ---------------------------------------------------------------------------- the query path

QUERY_TOKENS = st.sampled_from([
    '"', "(", ")", "*", "?", "~", "~2", "-", "+", "^", "^3", "OR", "AND", "NOT", "AND NOT",
    "tag:", "tags:", "deck:", "date:", "title:", "year:", "ocr:", "notes:", "body:", "words:",
    "date:[", "date:[2019 to]", "date:[to 2020]", "date:[2019-01-01 to 2020-06-30]",
    "date:2019", "date:yesterday", "date:99999", "[", "]", "{", "}", "to", "TO", ":", "\\",
    "/", "'", "hazard", "cohort*", "haz*", "*ard", "a*", "h?z", "surviv~", "ratio~9",
    "EPI101", "tag:epi101", "deck:epi/week1", "\x00", "\ufffd", "é", "ﬁ", "🙂", "<script>",
    "&amp;", "%", "%00", "' OR 1=1 --", "*:*", "**", "((((((((", "))))))))", '"""'])
QUERIES = st.one_of(
    st.text(max_size=80),
    st.lists(QUERY_TOKENS, max_size=12).map(" ".join),
    st.lists(QUERY_TOKENS, max_size=12).map("".join),
    st.text(max_size=3).map(lambda t: t * 400),
)


@pytest.fixture(scope="module")
def query_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("queries")
    settings = Settings(content=root / "content", index=root / "index")
    decks = {
        "epi/week1": ("EPI101, methods", "2019-10-23", "# Hazard ratios\n\nhazard ratio cohort"
                      "\n\n===\n\n# Survival\n\nsurvival curves censoring\n\nnote: say hazard"),
        "epi/week2": ("EPI101", "2020-03-01", "# Cohorts\n\ncohort studies follow people"),
        "stat/lm": ("STAT200", "2021-01-05", "# Regression\n\nlinear models résumé naïve"),
    }
    for ident, (tags, date, body) in decks.items():
        path = settings.content / f"{ident}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: {ident}\ndate: {date}\ntags: {tags}\n---\n{body}\n")
    reindex(settings, jobs=1)
    return settings, SlideIndex(settings)


def check_result(result, per_page_asked) -> None:
    assert isinstance(result, SearchResult)
    assert result.total >= len(result.hits) >= 0
    assert len(result.hits) <= max(1, min(per_page_asked, 100))
    for hit in result.hits:
        assert hit.url.startswith("/decks/")
        assert "<" not in re.sub(r"</?mark>", "", hit.snippet), hit.snippet


# Found by these properties; kept as explicit examples so every run tries them.
KNOWN_QUERIES = ["AND NOT AND NOT", "survival~9 hazard~9"]


@PROPS
@given(QUERIES, st.lists(st.text(max_size=15), max_size=3),
       st.one_of(st.none(), st.text(max_size=20)),
       st.integers(min_value=-10**12, max_value=10**12), st.integers(-5, 10**6))
@example(text=KNOWN_QUERIES[0], tags=[], deck=None, page=1, per_page=10)
@example(text=KNOWN_QUERIES[1], tags=[], deck=None, page=1, per_page=10)
def test_any_query_returns_a_result(query_index, text, tags, deck, page, per_page):
    settings, _ = query_index
    index = SlideIndex(settings)  # a fresh one: no answer cached from an earlier example
    result = search(index, text, tags=tags, deck=deck, page=page, per_page=per_page)
    check_result(result, per_page)


@pytest.fixture(scope="module")
def query_server(query_index, tmp_path_factory):
    settings, _ = query_index
    with KbServer(settings) as server:
        yield server


UNCACHED = itertools.count()


@HTTP_PROPS
@given(QUERIES, st.lists(st.text(max_size=15), max_size=3), st.text(max_size=12),
       st.sampled_from(["/search", "/api/search", "/"]))
@example(text=KNOWN_QUERIES[0], tags=[], page="1", route="/api/search")
@example(text=KNOWN_QUERIES[1], tags=[], page="1", route="/search")
def test_any_query_over_http_is_never_a_server_error(query_server, text, tags, page, route):
    # A per_page never asked before, so that the server's answer cache never hides the work.
    params = [("q", text), *[("tag", t) for t in tags], ("page", page),
              ("per_page", str(10 + next(UNCACHED) % 90))]
    path = route + "?" + urlencode(params)
    status, headers, body = query_server.get(path)
    assert status < 500, (path, status, body[:500])
    if route == "/api/search" and status == 200:
        data = json.loads(body)
        assert data["total"] >= len(data["hits"])


@HTTP_PROPS
@given(st.text(min_size=1, max_size=40), st.sampled_from(["/decks/", "/api/decks/",
                                                         "/api/media/", "/api/asset/"]))
def test_any_path_over_http_is_never_a_server_error(query_server, text, route):
    path = route + quote(text, safe="/")
    status, _, body = query_server.get(path)
    assert status < 500, (path, status, body[:500])


def raw_request(port: int, target: bytes, timeout: float = 600) -> bytes:
    """Send a request line as raw bytes (no client-side validation); the status line back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0]


RAW_TARGETS = [
    b"/search?q=%", b"/search?q=%zz", b"/search?q=%ff%fe%00", b"/api/search?q=%C0%AF",
    b"/search?q=\xff\xfe", b"/search?q=a&page=-1", b"/search?q=a&page=1e309",
    b"/search?q=a&page=99999999999999999999999999", b"/api/search?q=a&per_page=0",
    b"/api/search?q=a&per_page=-5&limit=abc", b"/search?q=a&year=%00", b"/search?" + b"tag=x&" * 2000,
    b"/search?q=" + b"hazard+" * 3000, b"/api/search?q=" + b"%22" * 5000,
    b"/decks/%2e%2e/%2e%2e/etc/passwd", b"/decks/..%2f..%2fetc%2fpasswd", b"/decks/%00",
    b"/api/media/%00", b"/api/media/..%5c..%5cetc%5cpasswd", b"/decks/" + b"a/" * 2000,
    b"/api/decks/epi/week1?anchor=%00", b"/api/decks/epi/week1?anchor=" + b"9" * 5000,
    b"/decks/epi/week1?q=" + b"(" * 3000, b"//etc/passwd", b"/./././search?q=a",
]


def test_malformed_requests_are_never_a_server_error(query_server):
    for target in RAW_TARGETS:
        status = raw_request(query_server.port, target)
        assert status.startswith(b"HTTP/1.1 "), (target[:80], status)
        code = int(status.split()[1])
        assert code < 500, (target[:80], status)


# ---------------------------------------------------------------------------- broken decks


def write_bytes(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def data_uri_deck(megabytes: int) -> bytes:
    """A deck of `megabytes` MB, almost all of it one embedded base64 image."""
    blob = "iVBORw0KGgo" * (megabytes * 1_000_000 // 11)
    return (f"---\ntitle: Ten megabytes\n---\n# Big deck\n\ntenmegaword\n\n===\n\n"
            f"![inline](data:image/png;base64,{blob})\n\n===\n\n# Last\n\ntenmegaend\n").encode()


def prose_deck(megabytes: int) -> bytes:
    words = [f"w{i}" for i in range(3000)]
    slides, size, i = [], 0, 0
    while size < megabytes * 1_000_000:
        text = f"# Prose {i}\n\n" + " ".join(words[(i * 7 + k) % 3000] for k in range(1200))
        slides.append(text)
        size += len(text) + 7
        i += 1
    return ("\n\n===\n\n".join(slides) + "\n\n===\n\n# End\n\ntenmegaend\n").encode()


def broken_corpus(content: Path) -> dict[str, tuple[str, str]]:
    """Write the broken decks; returns word → (deck id, anchor) that must be found."""
    (content / "media").mkdir(parents=True, exist_ok=True)
    found = {}
    for i in range(5):
        write_bytes(content, f"good/good{i}.md", f"# Good {i}\n\ngoodword{i}\n".encode())
        found[f"goodword{i}"] = (f"good/good{i}", "0")
    decks = {
        "bad_yaml.md": b"---\ntitle: [oops\ndate: {\n---\n# Still here\n\nbrokenyamlword\n",
        "yaml_list.md": b"---\n- a\n- b\n---\n# Listed\n\nyamllistword\n",
        "yaml_tabs.md": b"---\ntitle:\tx\n\t- y: [\n---\nyamltabword\n",
        "unclosed_front.md": b"---\ntitle: never closed\n# Body\n\nunclosedfrontword\n",
        "weird_types.md": (b"---\ntitle: 12\ndate: [1, 2]\ntags: {a: b}\ntag: 7\n"
                           b"separator: '('\nverticalSeparator: 5\n---\nweirdtypeword\n"),
        "binary.md": bytes(range(256)) * 64,
        "invalid_utf8.md": b"# Title\n\n\xff\xfe\xfd not utf8 invalidutf8word\n",
        "latin1.md": "# Café\n\nlatin1word déjà\n".encode("latin-1"),
        "huge_line.md": b"# Huge line\n\n" + b"word " * 400_000 + b"hugelineend\n",
        "long_token.md": b"# Long token\n\n" + b"z" * 300_000 + b"\n\nlongtokenword\n",
        "nested.md": ("\n".join("  " * i + "- level" for i in range(600)) + "\n\n"
                      + ">" * 3000 + " deep\n\n" + "[" * 1000 + "x" + "](y)" * 1000
                      + "\n\n" + "[" * 3000 + "*" * 5000 + "\n\nnestedword\n").encode(),
        "unclosed_fence.md": b"# A\n\n```\nfencedword\n\n===\n\n# B\n\nafterfenceword\n",
        "unclosed_comment.md": b"# Comment\n\nbeforecommentword\n\n<!-- never closed\n\nhidden\n",
        "only_separators.md": b"===\n\n===\n\n--\n\n===\n",
        "many_separators.md": b"\n\n===\n\n" * 3000 + b"\n\n--\n\n" * 3000,
        "empty.md": b"",
        "bom_only.md": b"\xef\xbb\xbf",
        "whitespace.md": b"   \n\t\n\r\n  ",
        "front_only.md": b"---\ntitle: Only frontmatter\n---\n",
        "crlf.md": b"# CRLF\r\n\r\ncrlfone\r\n\r\n===\r\n\r\n# Two\r\n\r\ncrlftwo\r\n",
        "cr_only.md": b"# CR\r\rcronly\r\r===\r\r# Two\r\rcrtwo\r",
        "late_nul.md": b"# Late NUL\n\n" + b"x " * 5000 + b"\x00 latenulword\n",
        "control.md": "# Ctrl\n\n\x1b[31m \x07 \x0c \x0b \u2028 \u2029 ctrlword\n".encode(),
        "missing_images.md": ("# Images\n\nmissingimagesword\n\n" + "\n".join(
            f"![m{i}](/api/media/nope{i}) ![r](http://example.invalid/{i}.png)"
            for i in range(2000))).encode(),
        "sp ace & <b>.md": b"# Odd name\n\noddnameword\n",
        "\u00fcn\u00efcode/d\u00e9ck.md": b"# Unicode path\n\nunicodepathword\n",
        "a#b?c.md": b"# Hash name\n\nhashnameword\n",
        "/".join(f"d{i}" for i in range(40)) + "/deep.md": b"# Deep\n\ndeepdirword\n",
        ".hidden/secret.md": b"# Hidden\n\nhiddenword\n",
        "media/notadeck.md": b"# In media\n\ninmediaword\n",
        "big.md": prose_deck(10) if SLOW else data_uri_deck(10),
        "many.md": "\n\n===\n\n".join(f"# s{i}\n\nmanyslides w{i}" for i in range(20_000)).encode(),
    }
    for rel, data in decks.items():
        write_bytes(content, rel, data)
    found.update({
        "brokenyamlword": ("bad_yaml", "0"), "yamllistword": ("yaml_list", "0"),
        "yamltabword": ("yaml_tabs", "0"), "unclosedfrontword": ("unclosed_front", "0"),
        "weirdtypeword": ("weird_types", "0"), "hugelineend": ("huge_line", "0"),
        "longtokenword": ("long_token", "0"), "nestedword": ("nested", "0"),
        "afterfenceword": ("unclosed_fence", "1"), "beforecommentword": ("unclosed_comment", "0"),
        "crlftwo": ("crlf", "1"), "crtwo": ("cr_only", "1"), "ctrlword": ("control", "0"),
        "missingimagesword": ("missing_images", "0"), "oddnameword": ("sp ace & <b>", "0"),
        "unicodepathword": ("\u00fcn\u00efcode/d\u00e9ck", "0"), "hashnameword": ("a#b?c", "0"),
        "deepdirword": ("/".join(f"d{i}" for i in range(40)) + "/deep", "0"),
        "tenmegaend": ("big", "2" if not SLOW else None), "w19999": ("many", "19999"),
    })
    os.mkfifo(content / "fifo.md")  # reading it would block forever
    (content / "dangling.md").symlink_to(content / "nowhere.md")
    (content / "loop").symlink_to(content, target_is_directory=True)
    return found


SKIPPED = {"binary.md", "invalid_utf8.md", "latin1.md"}
WARNED = SKIPPED | {"bad_yaml.md", "yaml_list.md", "yaml_tabs.md", "unclosed_front.md",
                    "weird_types.md", "missing_images.md"}


def hits_of(index: SlideIndex, word: str) -> list[tuple[str, str]]:
    return [(h.deck, h.anchor) for h in search(index, word, per_page=20).hits]


def test_broken_decks_reindex_with_warnings_and_nothing_else_lost(tmp_path):
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    found = broken_corpus(settings.content)
    proc = subprocess.Popen(kb_cmd(settings, "reindex", "--json"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=600 if SLOW else 240)
    finally:
        reap(proc)
    assert proc.returncode == 0 and b"Traceback" not in err, err.decode()[-3000:]
    report = json.loads(out)
    warned = {w["file"] for w in report["warnings"]}
    assert WARNED <= warned, f"no warning for {WARNED - warned}"
    for name in SKIPPED:
        assert any(w["file"] == name and w.get("level") == "error" for w in report["warnings"])

    index = SlideIndex(settings)
    lost = {}
    for word, (deck, anchor) in found.items():
        hits = hits_of(index, word)
        if not (len(hits) == 1 and hits[0][0] == deck and anchor in (None, hits[0][1])):
            lost[word] = hits
    assert not lost, f"words not found exactly once where written: {lost}"
    for word in ("hiddenword", "inmediaword", "invalidutf8word", "latin1word"):
        assert hits_of(index, word) == [], word
    assert search(index, "manyslides").total == 20_000

    # `kb check` reads the same corpus: findings, no traceback.
    check = subprocess.run(kb_cmd(settings, "check", "--json"), capture_output=True,
                           timeout=600 if SLOW else 240)
    assert check.returncode in (0, 1) and b"Traceback" not in check.stderr
    assert json.loads(check.stdout)["errors"] >= len(SKIPPED)

    # Every deck page and its JSON answer, none a server error.
    manifest = json.loads((settings.index / "manifest.json").read_text("utf-8"))
    errors = {}
    with KbServer(settings) as server:
        for ident in sorted(manifest["decks"]):
            for route in ("/decks/", "/api/decks/") if ident != "many" else ("/decks/",):
                path = route + quote(ident, safe="/")
                try:
                    status, _, body = server.get(path)
                except OSError as err:  # the hang guard fired
                    status, body = None, repr(err).encode()
                if status != (404 if manifest["decks"][ident]["slides"] == 0 else 200):
                    errors[path] = (status, body[:200])
        for path in ("/decks/", "/api/decks", "/search?q=manyslides", "/search?q=w19999",
                     "/api/search?q=hugelineend"):
            status, _, body = server.get(path)
            if status != 200:
                errors[path] = (status, body[:200])
        log = server.output()
    assert not errors, errors
    assert "Traceback" not in log, log[-3000:]


def run_with_timeout(settings: Settings, seconds: float, *args):
    proc = subprocess.Popen(kb_cmd(settings, *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=seconds)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        return None, b"", b""
    finally:
        reap(proc)


YAML_BOMB = "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi")
) + "title: *i\ntags: *i\ndate: *i\n---\n# Laughs\n\nbillionword\n"

REDOS = "---\nseparator: '(a+)+$'\n---\n# Backtracking\n\nredosword\n\n" + "a" * 40 + "b\n"


@pytest.mark.parametrize("name,text", [("yaml_bomb", YAML_BOMB), ("redos", REDOS)],
                         ids=["yaml_bomb", "redos"])
def test_a_hostile_deck_does_not_stall_reindex_or_the_server(tmp_path, name, text):
    """YAML aliases that expand to a billion items, and a `separator` regex that backtracks
    catastrophically: kb must not hang on them (the deck may be read or skipped)."""
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    write_bytes(settings.content, f"{name}.md", text.encode())
    write_bytes(settings.content, "good.md", b"# Good\n\ngoodword\n")
    rc, out, err = run_with_timeout(settings, 20, "reindex", "--json")
    assert rc == 0, f"kb reindex on {name}.md: " + ("still running after 20 s" if rc is None
                                                    else err.decode()[-2000:])
    assert hits_of(SlideIndex(settings), "goodword") == [("good", "0")]
    with KbServer(settings) as server:
        conn = server.connection()
        conn.timeout = 15
        try:
            status, _, _ = server.get(f"/decks/{name}", conn)
        except OSError as err:
            pytest.fail(f"/decks/{name} did not answer within 15 s: {err}")
        finally:
            conn.close()
        assert status in (200, 404)


# ---------------------------------------------------------------------------- broken images


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height blank pixels: small on disk, huge decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def png_claiming(width: int, height: int) -> bytes:
    """Only a header that claims a huge canvas, and a scrap of data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def image_bytes(kind: str, tmp: Path) -> bytes:
    from PIL import Image
    import io
    good = tmp / "good.png"
    png_with_words(good, "WALRUS")
    data = good.read_bytes()
    if kind == "good":
        return data
    if kind == "truncated_png":
        return data[: len(data) // 3]
    if kind == "zero_bytes":
        return b""
    if kind == "png_bomb":
        return png_bomb(40_000, 40_000)
    if kind == "png_claiming_huge":
        return png_claiming(200_000, 200_000)
    if kind == "gif_claiming_huge":
        return (b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x80\x00\x00"
                + b"\x00" * 6 + b",\x00\x00\x00\x00" + struct.pack("<HH", 65535, 65535)
                + b"\x00\x02\x02\x44\x01\x00;")
    if kind == "text_not_image":
        return b"just some text, not an image\n"
    if kind == "html_not_image":
        return b"<html><script>window.__pwned=1</script></html>"
    if kind == "svg_script":
        return (b'<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned=1</script>'
                b'<text x="0" y="20">svgtext</text></svg>')
    if kind == "jpeg_header_only":
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    if kind == "png_bad_crc":
        return data[:40] + bytes([data[40] ^ 0xFF]) + data[41:]
    if kind == "gif_truncated":
        buf = io.BytesIO()
        Image.new("P", (50, 50)).save(buf, format="GIF")
        return buf.getvalue()[:20]
    if kind == "webp_truncated":
        buf = io.BytesIO()
        Image.new("RGB", (50, 50), "white").save(buf, format="WEBP")
        return buf.getvalue()[:30]
    if kind == "tiff_garbage":
        return b"II*\x00" + os.urandom(200)
    if kind == "thin_strip":
        buf = io.BytesIO()
        Image.new("L", (20_000, 1), 255).save(buf, format="PNG")
        return buf.getvalue()
    if kind == "one_pixel":
        buf = io.BytesIO()
        Image.new("RGB", (1, 1)).save(buf, format="PNG")
        return buf.getvalue()
    if kind == "sixteen_bit":
        buf = io.BytesIO()
        Image.open(good).convert("I;16").save(buf, format="PNG")
        return buf.getvalue()
    if kind == "cmyk_jpeg":
        buf = io.BytesIO()
        Image.open(good).convert("CMYK").save(buf, format="JPEG")
        return buf.getvalue()
    raise ValueError(kind)


BAD_IMAGES = ["truncated_png", "zero_bytes", "png_bomb", "png_claiming_huge", "gif_claiming_huge",
              "text_not_image", "html_not_image", "svg_script", "jpeg_header_only", "gif_truncated",
              "webp_truncated", "tiff_garbage"]
ODD_IMAGES = ["png_bad_crc", "thin_strip", "one_pixel", "sixteen_bit", "cmyk_jpeg"]


def test_broken_and_hostile_images_reindex_with_warnings(tmp_path):
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    content = settings.content
    (content / "media").mkdir(parents=True)
    for kind in ["good"] + BAD_IMAGES + ODD_IMAGES:
        write_bytes(content, f"media/{kind}", image_bytes(kind, tmp_path))
        write_bytes(content, f"img/{kind}.md",
                    f"# Deck {kind}\n\ndeck{kind.replace('_', '')}\n\n===\n\n"
                    f"![{kind}](/api/media/{kind})\n".encode())
    # A picture outside the content folder, reached through a symlink in media/ and
    # through paths that climb out: its text must not become searchable.
    png_with_words(tmp_path / "outside.png", "ZUCCHINI")
    (content / "media" / "escape").symlink_to(tmp_path / "outside.png")
    write_bytes(content, "img/escape.md", b"# Escape\n\n![x](/api/media/escape)\n\n===\n\n"
                b"![y](../../outside.png)\n\n![z](/api/media/../../outside.png)\n\n"
                b"![w](file:///etc/passwd) ![v](" + str(tmp_path / "outside.png").encode() + b")\n")
    rc, out, err = run_with_timeout(settings, 240, "reindex", "--json", "--jobs", "2")
    assert rc == 0, "reindex did not finish" if rc is None else err.decode()[-3000:]
    report = json.loads(out)
    warned = {w["file"] for w in report["warnings"]}
    missing = {f"img/{k}.md" for k in BAD_IMAGES} - warned
    assert not missing, f"no warning for {missing}: {report['warnings']}"
    index = SlideIndex(settings)
    walrus = set(hits_of(index, "walrus"))  # the good image, and its 16-bit and CMYK copies
    assert {("img/good", "1"), ("img/sixteen_bit", "1"), ("img/cmyk_jpeg", "1")} <= walrus
    assert walrus <= {("img/good", "1"), ("img/sixteen_bit", "1"), ("img/cmyk_jpeg", "1"),
                      ("img/png_bad_crc", "1")}
    for kind in ["good"] + BAD_IMAGES + ODD_IMAGES:
        word = f"deck{kind.replace('_', '')}"
        assert hits_of(index, word) == [(f"img/{kind}", "0")], f"deck with {kind} lost"
    assert hits_of(index, "zucchini") == [], "text of an image outside the content folder"
    assert hits_of(index, "svgtext") == []
