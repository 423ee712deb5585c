"""Helpers for tests against the real thing: deck files written into a temporary content
folder, `kb serve` on a free loopback port (`serve_kb`), and a headless Chromium driven by
playwright (the system's /usr/bin/chromium; never `playwright install`, no network but
loopback).

Also a small command to look at the pages, e.g. on a real content folder:

    python -m tests.helpers --content DIR --index DIR --shots /tmp --path /search?q=normalization
"""

import argparse
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from kb.settings import Settings

CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


# ---------------------------------------------------------------- a small content folder

COHORTS = """
---
title: Cohort studies
date: '2019-10-23T00:00:00.000Z'
type: reveal
tag:
  - EPI101
  - Methods
---

# Cohort studies

Following people over time.

--

## Hazard ratio

The hazard ratio compares two groups.

Note: mention the zeppelin example here, in the notes only.

===

## Censoring

Censored observations leave the study early.

===

![figure](/api/media/km-plot)

--

## Annotated images

Annotations drawn on the images mislead models.

--

## Follow-up

Follow-up time and person-years.
"""

REGRESSION = """
---
title: Linear regression
date: 2021-03-01
tags: STA202, Methods
---

# Linear regression

Least squares fits a line.

===

## Residuals

![residual plot](img/residuals.png)

===

## Pictures elsewhere

![chart](https://example.org/chart.png)

![gone](img/missing.png)

```python [1,3]
def fit(x, y):
    return 0
```
"""

LOOSE = """
# Loose notes

A deck without frontmatter, about sampling.
"""

# Every way a deck could try to run script: none of them may survive rendering.
EVIL = """
---
title: "<script>window.__pwned=1</script>Evil deck"
date: 2020-01-01
tags: ["<img src=x onerror=window.__pwned=2>", "SEC101"]
---

# <img src=x onerror="window.__pwned=3"> Heading payload

<script>window.__pwned=4</script>

Body <b onmouseover="window.__pwned=5">bold</b> [click me](javascript:window.__pwned=6)
<a href="javascript:window.__pwned=7">raw link</a>

![<script>x</script>" onerror="window.__pwned=8](/api/media/km-plot)

<img src="x" onerror="window.__pwned=9">

<iframe src="javascript:window.__pwned=10"></iframe>

<svg><script>window.__pwned=11</script></svg>

<a href="JaVaScRiPt:window.__pwned=12">mixed</a> <a href="&#106;avascript:window.__pwned=13">entity</a>

<form action="javascript:window.__pwned=16"><button formaction="javascript:window.__pwned=17">go</button></form>

<style>body { display: none }</style>

<div style="position:fixed;top:0" class="slide current" id="/0">styled payload</div>

<object data="javascript:window.__pwned=18"></object>

Note: <script>window.__pwned=14</script> notes <img src=x onerror=window.__pwned=15>
"""

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b"<script>alert(1)</script><rect width='10' height='10'/></svg>")


def text_png(text: str, size=(900, 220)) -> bytes:
    """A PNG with `text` in large black letters (tesseract reads it)."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((30, 60), text, fill="black", font=ImageFont.load_default(size=64))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# The keys docs/web.md promises for every hit in the search JSON.
SPEC_HIT_KEYS = {"deck", "anchor", "h", "v", "url", "deck_title", "title", "snippet", "matched",
                 "tags", "date", "score"}


def write(root: Path, rel: str, text: str) -> Path:
    """Write a deck (or any text file) under root, dedenting the text."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def make_site(content: Path) -> dict:
    """Decks and media for the web tests; returns the deck ids by name."""
    write(content, "courses/EPI101/week02-cohorts.md", COHORTS)
    write(content, "courses/STA202/regression.md", REGRESSION)
    write(content, "loose.md", LOOSE)
    write(content, "evil.md", EVIL)
    media = content / "media"
    media.mkdir(parents=True, exist_ok=True)
    (media / "km-plot").write_bytes(text_png("Kaplan Meier curve"))
    (media / "diagram.svg").write_bytes(SVG)
    (media / "blob").write_bytes(b"just some bytes, not an image")
    (media / ".hidden").write_bytes(text_png("hidden"))
    img = content / "courses/STA202/img"
    img.mkdir(parents=True, exist_ok=True)
    (img / "residuals.png").write_bytes(text_png("residuals"))
    (img / "notes.txt.png").write_bytes(b"not really an image")
    return {"cohorts": "courses/EPI101/week02-cohorts", "regression": "courses/STA202/regression",
            "loose": "loose", "evil": "evil"}


# ---------------------------------------------------------------- server and browser

@contextlib.contextmanager
def serve_kb(settings: Settings, workers: int = 1, threads: int = 4, log: list | None = None,
             kb: list[str] | None = None, cwd: Path | None = None):
    """`kb serve --port 0` — gunicorn, as users run it — in its own process on loopback;
    yields the base URL it printed (`http://127.0.0.1:PORT`). The server's stderr lines go
    to `log` (if given) and are shown if it does not start. `kb`: the command to run (default:
    this Python's kb).

    Given an app made by create_app instead (a test that looks inside the app), it is served
    in this process by a threaded WSGI server on a free loopback port."""
    if not isinstance(settings, Settings):
        with serve_app(settings) as base:
            yield base
        return
    cmd = [*(kb or [sys.executable, "-m", "kb.cli"]), "serve", "--content",
           str(settings.content), "--index", str(settings.index), "--port", "0",
           "--workers", str(workers), "--threads", str(threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=cwd)
    lines = [] if log is None else log
    try:
        for line in proc.stderr:  # until the line with the URL, or the end of the output
            lines.append(line)
            if found := re.search(r" on (http://\S+)/ ", line):
                break
        else:
            raise RuntimeError("kb serve did not start:\n" + "".join(lines))
        threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
        yield found.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def serve_app(app):
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kb-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def chromium():
    """A headless Chromium (playwright's sync API); yields the Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshots(settings: Settings, out: Path, paths: list[str]) -> list[Path]:
    """Full-page screenshots of `paths` at desktop and phone widths; returns the files."""
    made = []
    with serve_kb(settings) as base, chromium() as browser:
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page = browser.new_page(viewport=viewport)
            for i, path in enumerate(paths):
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                file = out / f"kb-{i}-{name}.png"
                page.screenshot(path=str(file), full_page=False)
                made.append(file)
            page.close()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--content", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--shots", default="/tmp")
    parser.add_argument("--path", action="append", default=None)
    args = parser.parse_args()
    settings = Settings(content=Path(args.content), index=Path(args.index))
    for file in screenshots(settings, Path(args.shots), args.path or ["/", "/search?q=normalization"]):
        print(file)


if __name__ == "__main__":
    main()
