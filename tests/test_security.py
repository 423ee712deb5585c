"""Web security (SPEC §5) against a real `kb serve`: XSS payloads in every place a deck can
carry text and in queries — checked in the HTML and in headless Chromium with the page's
Content-Security-Policy switched off, so that escaping and sanitizing alone must hold —
path traversal and symlink escapes, oversized input, and error pages that leak nothing.
"""

import html.parser
import json
import re
import socket
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from kb.index import reindex
from kb.settings import Settings
from test_crash import KbServer, png_with_words

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SECRET = "TOPSECRET-7f3a"

# Every payload, if it ran, would set window.__pwned (or open a dialog).
P = "window.__pwned"
DECK = f"""---
title: "<script>{P}='title'</script><img src=x onerror=\\"{P}='title-img'\\"> xsstitle"
date: '2020-01-02T00:00:00.000Z'
tags: ["<script>{P}='tag'</script>", "x\\" onmouseover=\\"{P}='tag-attr'", "XSS101"]
---
# <img src=x onerror="{P}='h1'"> heading xsspayload

xsspayload body <script>{P}='body-script'</script>
<img src=x onerror="{P}='raw-img'">
<svg onload="{P}='svg-onload'"><script>{P}='svg-script'</script></svg>
<iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>
<a href="javascript:{P}='a-href'">js link</a> <a href=" JaVaScRiPt:{P}='a-case'">case</a>
[md link](javascript:{P}='md-link') [entity link](jav&#x09;ascript:{P}='entity-link')
[data link](data:text/html,<script>alert('data-link')</script>) [vb](vbscript:msgbox)
[titled](https://example.com "<img src=/api/media/pic onerror={P}='title-attr'>")
<abbr title="<img src=x onerror={P}='abbr'>">abbr</abbr>
<form action="javascript:{P}='form'"><button formaction="javascript:{P}='fa'">go</button></form>
<object data="javascript:{P}='object'"></object><embed src="javascript:{P}='embed'">
<base href="javascript:/"><meta http-equiv="refresh" content="0;url=javascript:{P}='meta'">
<style>body{{background:url("javascript:{P}='style'")}}</style>
<math><mtext><table><mglyph><style><img src=x onerror="{P}='mxss'"></style></mglyph></table></mtext></math>
</textarea></title></noscript></style></script><script>{P}='breakout'</script>
<div style="background:url(javascript:alert(1))" onclick="{P}='div-click'">div</div>
<details open ontoggle="{P}='details'">d</details><video><source onerror="{P}='video'"></video>
&lt;script&gt;{P}='entity-script'&lt;/script&gt; xsssnippet &lt;img src=x onerror={P}=1&gt;
\\<script>{P}='escaped-md'\\</script> {{{{ 7777*7 }}}} {{% raw %}} ${{7777*7}}
<!-- --><script>{P}='comment'</script> -->

![alt" onerror="{P}='alt'](/api/media/pic)
![<script>{P}='alt2'</script>](javascript:{P}='img-src')
<img src="data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>">
<img src="/api/media/evil" alt="svg as image">
<img data-src="javascript:{P}='data-src'">

```html
<script>{P}='code-block'</script>
```

===

# Second <script>{P}='h1-2'</script>

![chart](/api/media/evil)

note: <script>{P}='notes'</script> <img src=x onerror="{P}='notes-img'"> [n](javascript:{P}='notes-link') xssnotes
"""

SVG = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{P}=\'svg-media-onload\'">'
       f'<script>{P}="svg-media"; alert("svg")</script><text y="20">svg</text></svg>').encode()

FILENAME_PAYLOAD = f"x\"><img src=x onerror={P}='filename'>"
QUERY_PAYLOADS = [
    f"<script>{P}='q'</script>", f'"><img src=x onerror={P}=\'q-attr\'>',
    f"'><svg onload={P}='q-svg'>", f"</script><script>{P}='q-breakout'</script>",
    f"javascript:{P}='q-js'", "{{7777*7}}", f"xsspayload <img src=x onerror={P}='q-mark'>",
    f"xsssnippet\" onfocus=\"{P}='q-focus'\" autofocus=\"",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("security")
    settings = Settings(content=root / "content", index=root / "index")
    content = settings.content
    (content / "xss").mkdir(parents=True)
    (content / "media" / "sub").mkdir(parents=True)
    (content / "xss" / "all.md").write_text(DECK, "utf-8")
    (content / f"{FILENAME_PAYLOAD}.md").write_text("plain text filenamepayload\n", "utf-8")
    (content / "plain.md").write_text("# Plain\n\nplainword hazard\n", "utf-8")
    (content / "media" / "evil").write_bytes(SVG)
    (content / "media" / "evilhtml").write_bytes(f"<html><script>{P}='html-media'</script>".encode())
    png_with_words(content / "media" / "pic", "PICTURE")
    (content / "media" / "sub" / "inner").write_bytes(b"inner")
    png_with_words(content / "xss" / "chart.png", "CHART")
    # Secrets outside the content folder, and ways that point at them.
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "secret.md").write_text(f"# Secret deck\n\n{SECRET} secretdeckword\n")
    png_with_words(outside / "secret.png", "CONFIDENTIAL")
    (content / "media" / "escape").symlink_to(outside / "secret.png")
    (content / "media" / "escape_txt").symlink_to(outside / "secret.txt")
    (content / "media" / "etc_passwd").symlink_to("/etc/passwd")
    (content / "media" / "escape_dir").symlink_to(outside, target_is_directory=True)
    (content / "escape.md").symlink_to(outside / "secret.md")
    (content / "escdir").symlink_to(outside, target_is_directory=True)
    (content / "xss" / "link.png").symlink_to(outside / "secret.png")
    (content / ".hidden").mkdir()
    (content / ".hidden" / "x.md").write_text("# Hidden\n\nhiddenword\n")
    reindex(settings, jobs=2)
    with KbServer(settings) as server:
        yield {"settings": settings, "server": server, "root": root, "outside": outside}


# ---------------------------------------------------------------------------- XSS in the HTML

URL_ATTRS = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background",
             "srcset", "ping", "cite", "srcdoc"}
BANNED_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet", "svg", "math",
               "portal", "template", "style"}


class Audit(html.parser.HTMLParser):
    """Every element that could run script, with why."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = [(k.lower(), v or "") for k, v in attrs]
        where = f"<{tag} {' '.join(k for k, _ in attrs)}>"
        if tag == "script":
            src = dict(attrs).get("src", "")
            if not src.startswith("/static/"):
                self.findings.append(f"script not from /static/: {where} src={src!r}")
            self.in_script = True
        if tag in BANNED_TAGS:
            self.findings.append(f"element {where}")
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            self.findings.append(f"meta refresh {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.findings.append(f"event handler {name}={value!r} on {where}")
            if name in URL_ATTRS:
                squashed = re.sub(r"[\x00-\x20]", "", value).lower()
                if squashed.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.findings.append(f"{name}={value!r} on {where}")
            if name == "style" and "javascript" in value.lower():
                self.findings.append(f"style={value!r}")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.findings.append(f"inline script text {data[:80]!r}")


def audit(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace")
    parser = Audit()
    parser.feed(text)
    parser.close()
    findings = parser.findings
    if "54439" in text:
        findings.append("template expression {{7777*7}} was evaluated")
    return findings


def xss_pages(site) -> list[str]:
    deck = "/decks/xss/all"
    named = "/decks/" + quote(FILENAME_PAYLOAD)
    pages = ["/", "/decks/", deck, named, f"{deck}?q=xsspayload", "/search?q=xsspayload",
             "/search?q=xsssnippet", "/search?q=xssnotes", "/search?q=xsstitle",
             "/search?q=filenamepayload", "/search?q=picture", "/search?tag=XSS101",
             "/decks/?tag=" + quote(f"<script>{P}='tag-q'</script>"),
             "/search?" + urlencode({"q": "x", "year": f"<script>{P}='year'</script>"}),
             "/search?" + urlencode({"q": "x", "tag": f"\"><script>{P}='tagp'</script>"}),
             "/search?" + urlencode({"q": "x", "deck": f"\"><script>{P}='deckp'</script>"}),
             "/decks/" + quote(f"<script>{P}='404'</script>"),
             "/nope/" + quote(f"<script>{P}='404-route'</script>")]
    for payload in QUERY_PAYLOADS:
        pages.append("/search?" + urlencode({"q": payload}))
        pages.append(f"{deck}?" + urlencode({"q": payload}))
    # the results fragment live search swaps in, for every search above
    return pages + [p.replace("/search?", "/search/results?", 1) for p in pages
                    if p.startswith("/search?")]


def test_the_payload_deck_is_indexed(site):
    """The pages below only prove something if the payloads are really on them."""
    server = site["server"]
    for word in ("xsspayload", "xsssnippet", "xssnotes", "xsstitle", "filenamepayload"):
        data = json.loads(server.get("/api/search?" + urlencode({"q": word}))[2])
        assert data["total"] >= 1, word
    status, _, body = server.get("/decks/xss/all")
    assert status == 200 and b"xsspayload" in body and b"pwned" in body


def test_xss_payloads_are_inert_in_the_html(site):
    server = site["server"]
    found = {}
    for path in xss_pages(site):
        status, headers, body = server.get(path)
        assert status < 500, (path, status)
        assert headers.get("Content-Type", "").startswith("text/html"), (path, headers)
        findings = audit(body)
        if findings:
            found[path] = findings
    assert not found, json.dumps(found, indent=1)


def test_xss_payloads_are_inert_in_the_json(site):
    """JSON is never served as HTML, and snippets hold no tag but <mark>."""
    server = site["server"]
    for payload in QUERY_PAYLOADS + ["xsspayload", "xsssnippet", "xssnotes", "xsstitle"]:
        status, headers, body = server.get("/api/search?" + urlencode({"q": payload}))
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert headers.get("X-Content-Type-Options") == "nosniff"
        for hit in json.loads(body)["hits"]:
            assert "<" not in re.sub(r"</?mark>", "", hit["snippet"]), hit["snippet"]
    status, headers, body = server.get("/api/decks/xss/all")
    assert headers["Content-Type"].startswith("application/json")
    for slide in json.loads(body)["slides"]:
        assert not audit((slide["html"] + slide["notes_html"]).encode()), slide["anchor"]


def test_media_is_never_served_as_a_page_that_runs_script(site):
    server = site["server"]
    status, headers, _ = server.get("/api/media/evil")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert "sandbox" in headers.get("Content-Security-Policy", "")
    status, headers, _ = server.get("/api/media/evilhtml")
    assert "html" not in headers.get("Content-Type", "") and headers["X-Content-Type-Options"] == "nosniff"


# ---------------------------------------------------------------------------- XSS in Chromium


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Visitor:
    """One Chromium tab that records dialogs and popups; `visit` reports what ran."""

    def __init__(self, context):
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self.on_dialog)
        self.page.on("popup", lambda popup: self.dialogs.append(f"popup {popup.url}"))

    def on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def visit(self, url: str, actions=None) -> tuple[object, list[str]]:
        """Open url; return window.__pwned (of the page or any frame) and the dialogs."""
        self.dialogs.clear()
        try:
            self.page.goto(url, wait_until="load", timeout=30_000)
        except Exception as err:  # noqa: BLE001
            if "Download is starting" in str(err):  # saved as a file, never rendered
                return None, list(self.dialogs)
            raise
        if actions:
            actions(self.page)
        self.page.wait_for_timeout(100)
        found = []
        for frame in self.page.frames:
            try:
                found.append(frame.evaluate(
                    "() => window.__pwned === undefined ? null : String(window.__pwned)"))
            except Exception:  # noqa: BLE001 — a detached or opaque frame ran nothing of ours
                pass
        return next((f for f in found if f), None), list(self.dialogs)


def walk_deck(page):
    """Step through every slide and open the notes, as a reader would."""
    page.keyboard.press("Home")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
    for summary in page.query_selector_all("details summary"):
        if summary.is_visible():
            summary.click()
    page.mouse.move(200, 300)


def live_search(word):
    def act(page):
        box = page.query_selector("#q") or page.query_selector("#top-q")
        box.fill(word)
        page.wait_for_timeout(600)  # the live search's debounce and fetch
    return act


@pytest.mark.browser
def test_xss_payloads_do_not_run_in_chromium_even_without_csp(site, browser):
    """With the page's CSP bypassed, nothing but escaping and sanitizing stands between a
    payload and the browser: no payload may run, no dialog may open."""
    base = site["server"].base
    context = browser.new_context(bypass_csp=True)
    tab = Visitor(context)
    ran = {}
    try:
        for path in xss_pages(site):
            deck = path.startswith("/decks/xss/all") or path.startswith("/decks/x%22")
            pwned, dialogs = tab.visit(base + path, walk_deck if deck else None)
            if pwned or dialogs:
                ran[path] = (pwned, dialogs)
        for word in ("xsssnippet", "xsspayload", "xssnotes", QUERY_PAYLOADS[1]):
            pwned, dialogs = tab.visit(base + "/", live_search(word))
            if pwned or dialogs:
                ran[f"live search {word}"] = (pwned, dialogs)
        for fragment in (f"#/<img src=x onerror={P}='hash'>", "#/0/<svg onload=alert(1)>",
                         "#/javascript:alert(1)", "#/99", "#/1/5"):
            pwned, dialogs = tab.visit(base + "/decks/xss/all" + quote(fragment, safe="#/"))
            if pwned or dialogs:
                ran[f"hash {fragment}"] = (pwned, dialogs)
    finally:
        context.close()
    assert not ran, ran


@pytest.mark.browser
def test_svg_media_scripts_do_not_run_in_chromium(site, browser):
    """An SVG opened on its own (its URL is in every deck page) is sandboxed by its CSP."""
    context = browser.new_context()
    tab = Visitor(context)
    try:
        base = site["server"].base
        for path in ("/api/media/evil", "/api/media/evilhtml", "/decks/xss/all#/1"):
            pwned, dialogs = tab.visit(base + path)
            assert not pwned and not dialogs, (path, pwned, dialogs)
    finally:
        context.close()


# ---------------------------------------------------------------------------- traversal, symlinks


def raw_get(port: int, target: bytes, extra: bytes = b"", timeout: float = 600):
    """A GET with the target sent byte for byte (no client normalizes `..` or `%2e`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra
                     + b"Connection: close\r\n\r\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


TRAVERSALS = [
    b"/api/media/../../outside/secret.txt", b"/api/media/..%2f..%2foutside%2fsecret.txt",
    b"/api/media/%2e%2e/%2e%2e/outside/secret.txt", b"/api/media/..%252f..%252fsecret.txt",
    b"/api/media/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt", b"/api/media/..\\..\\outside\\secret.txt",
    b"/api/media/%5c..%5c..%5coutside%5csecret.txt", b"/api/media/..;/..;/outside/secret.txt",
    b"/api/media/escape", b"/api/media/escape_txt", b"/api/media/etc_passwd",
    b"/api/media/escape_dir/secret.txt", b"/api/media/escape_dir%2fsecret.txt",
    b"/api/media/sub/inner", b"/api/media/sub%2finner", b"/api/media/", b"/api/media/.",
    b"/api/media/%00", b"/api/media/pic%00.png", b"/api/media/pic/..", b"/api/media//etc/passwd",
    b"/api/media/%2fetc%2fpasswd", b"/api/media/file:%2f%2f%2fetc%2fpasswd",
    b"/api/asset/../outside/secret.png", b"/api/asset/%2e%2e/outside/secret.png",
    b"/api/asset/xss/link.png", b"/api/asset/xss/all.md", b"/api/asset/media/pic",
    b"/api/asset/.hidden/x.md", b"/api/asset//etc/passwd", b"/api/asset/%2fetc%2fpasswd",
    b"/api/asset/escdir/secret.png", b"/api/asset/escdir%2fsecret.png",
    b"/decks/../outside/secret", b"/decks/..%2foutside%2fsecret", b"/decks/%2e%2e/outside/secret",
    b"/decks/escape", b"/decks/escdir/secret", b"/decks/escdir%2fsecret", b"/decks/.hidden/x",
    b"/decks//etc/passwd", b"/decks/%2fetc%2fpasswd", b"/decks/xss/../../outside/secret",
    b"/decks/xss/..%2f..%2foutside%2fsecret", b"/api/decks/escape", b"/api/decks/escdir/secret",
    b"/api/decks/..%2foutside%2fsecret", b"/decks/media/evil", b"/decks/%00",
    b"/static/../../outside/secret.txt", b"/static/..%2f..%2f..%2foutside%2fsecret.txt",
    b"/static/%2e%2e/%2e%2e/kb/web.py",
]


def test_traversal_and_symlink_escapes_are_404(site):
    server = site["server"]
    leaks = {}
    for target in TRAVERSALS:
        status, head, body = raw_get(server.port, target)
        for _ in range(3):  # werkzeug turns `//` into `/` with a redirect: follow it
            location = re.search(rb"\r\nLocation: ([^\r]*)", head, re.IGNORECASE)
            if status not in (301, 302, 307, 308) or not location:
                break
            where = location.group(1).removeprefix(b"http://127.0.0.1")
            assert where.startswith(b"/") and not where.startswith(b"//"), (target, where)
            status, head, body = raw_get(server.port, where)
        if status not in (400, 404) or SECRET.encode() in body or b"root:x:0:0" in body \
                or b"def create_app" in body or body.startswith(b"\x89PNG"):
            leaks[target.decode()] = (status, body[:120])
    assert not leaks, json.dumps({k: [v[0], v[1].decode("utf-8", "replace")]
                                  for k, v in leaks.items()}, indent=1)
    # The legitimate neighbours work, so the 404s above are not an accident.
    assert raw_get(server.port, b"/api/media/pic")[0] == 200
    assert raw_get(server.port, b"/api/asset/xss/chart.png")[0] == 200
    assert raw_get(server.port, b"/decks/xss/all")[0] == 200


def test_nothing_outside_the_content_folder_becomes_searchable(site):
    """A deck or image that is a symlink to a file outside the content folder is refused by
    the web routes; the indexer must not let its text out through search either."""
    server = site["server"]
    leaked = {}
    for word in (SECRET, "secretdeckword", "confidential"):
        status, _, body = server.get("/api/search?" + urlencode({"q": word}))
        data = json.loads(body)
        if data["total"]:
            leaked[word] = [(h["deck"], h["anchor"], h["snippet"][:60]) for h in data["hits"]]
    assert not leaked, leaked


# ---------------------------------------------------------------------------- oversized input


OVERSIZED = [
    "/search?q=" + "a" * 100_000, "/api/search?q=" + quote("hazard " * 15_000),
    "/api/search?" + urlencode({"q": "(" * 20_000 + "hazard"}),
    "/api/search?" + urlencode({"q": "*" * 20_000}),
    "/api/search?" + urlencode({"q": "h" + "?" * 5000}),
    "/api/search?" + urlencode({"q": " OR ".join(f"w{i}*" for i in range(3000))}),
    "/api/search?q=hazard&per_page=1000000000&page=1000000000",
    "/api/search?q=hazard&per_page=99999999999999999999999&page=-99999999999999999999",
    "/search?" + "tag=t&" * 4000 + "q=x", "/api/search?" + "tag=EPI101&" * 4000,
    "/search?" + urlencode({"q": "x", "deck": "d/" * 20_000}),
    "/decks/" + "a/" * 20_000, "/api/decks/xss/all?anchor=" + "9" * 50_000,
    "/decks/xss/all?q=" + quote("hazard " * 15_000),
    "/decks/xss/all?q=" + quote("(" * 30_000),
    "/decks/?tag=" + "x" * 100_000,
]


def test_oversized_queries_and_parameters_are_bounded(site):
    server = site["server"]
    problems = {}
    for path in OVERSIZED:
        status, _, body = raw_get(server.port, path.encode(), timeout=600)  # a hang guard
        if status >= 500 or len(body) > 2_000_000:
            problems[path[:70]] = (status, len(body))
        if path.startswith("/api/search") and status == 200:
            assert len(json.loads(body)["hits"]) <= 100
    assert not problems, problems


def test_oversized_requests_are_refused(site):
    server = site["server"]
    cases = {
        "request line of 1 MB": (b"/search?q=" + b"a" * 1_000_000, b""),
        "300 headers of 4 KB": (b"/", b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 4000)
                                               for i in range(300))),
    }
    for name, (target, extra) in cases.items():
        try:
            status, _, _ = raw_get(server.port, target, extra, timeout=600)
        except (ConnectionResetError, BrokenPipeError):
            status = 400  # the server hung up on it: also a refusal
        assert status < 500, (name, status)
    # A big POST to a GET route is turned away without reading a 5 MB body.
    with socket.create_connection(("127.0.0.1", server.port), timeout=600) as sock:
        sock.sendall(b"POST /api/search?q=x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 5000000\r\nConnection: close\r\n\r\n")
        try:
            sock.sendall(b"x" * 5_000_000)
        except (ConnectionResetError, BrokenPipeError):
            pass
        status = int(sock.recv(4096).split(b" ", 2)[1])
    assert status in (405, 413)
    assert server.get("/healthz")[0] == 200  # and the server is still fine


# ---------------------------------------------------------------------------- error pages


def leaks_in(body: bytes, *paths: Path) -> list[str]:
    text = body.decode("utf-8", "replace")
    found = [m for m in ("Traceback", 'File "', "site-packages", "/work/", "werkzeug",
                         "/tmp/", "/root/") if m in text]
    for path in paths:
        for form in {str(path), str(path.resolve())}:
            if form in text:
                found.append(form)
    return found


def test_error_pages_reveal_no_stack_trace_or_path(site):
    server, settings, root = site["server"], site["settings"], site["root"]
    requests = [("GET", "/decks/nope"), ("GET", "/api/decks/nope"), ("GET", "/nope"),
                ("GET", "/api/decks/xss/all?anchor=99"), ("POST", "/"), ("POST", "/api/search"),
                ("DELETE", "/decks/xss/all"), ("GET", "/api/media/nope"),
                ("GET", "/api/search?" + urlencode({"q": "AND NOT AND NOT"})),
                ("GET", "/search?" + urlencode({"q": "AND NOT AND NOT"})),
                ("GET", "/static/nope.js")]
    leaked = {}
    for method, path in requests:
        conn = server.connection()
        try:
            conn.request(method, path)
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        found = leaks_in(body, settings.content, settings.index, root)
        if found:
            leaked[f"{method} {path}"] = (response.status, found)
    assert not leaked, leaked


def test_without_an_index_errors_reveal_no_path(tmp_path):
    settings = Settings(content=tmp_path / "content", index=tmp_path / "index")
    (settings.content / "media").mkdir(parents=True)
    leaked = {}
    with KbServer(settings) as server:
        for path in ("/search?q=x", "/api/search?q=x", "/healthz", "/decks/", "/decks/x",
                     "/api/decks"):
            status, _, body = server.get(path)
            assert status < 500 or status == 503, (path, status)
            found = leaks_in(body, settings.content, settings.index, tmp_path)
            if found:
                leaked[path] = (status, found, body[:200])
    assert not leaked, leaked
