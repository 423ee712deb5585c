"""Does kb split and read each deck of a content folder as reveal.js does? For every deck: kb's
slide count and reveal.js's (its own markdown plugin, kb/static/vendor, in headless Chromium),
the anchors only one of them has, and the anchors whose heading or text differ.

reveal.js is given the separators as kb reads them (docs/deck-format.md): `===` / `--` between
blank lines, or the deck's own `separator` / `verticalSeparator` (reveal-md's default for the
one it does not set). The other deliberate difference, a separator inside fenced code, is
counted per deck. Text is compared as a reader sees it: on reveal.js's side without speaker
notes, `<script>`/`<style>` and text the deck hides (visibility: hidden); URLs are not words on
either side (kb's rule, kb/html_text.py); reveal.js's markdown leaves math as LaTeX (the
platform's math plugin typesets it), so a formula is compared by its words (kb renders
MathML). LaTeX commands left in kb's text are reported too.

Usage: .venv/bin/python benchmarks/reveal_agreement.py --content DIR [--show N]
"""

import argparse
import html
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import chromium  # noqa: E402

from kb.deck import decode, find_deck_files, read_deck  # noqa: E402
from kb.html_text import BARE_URL  # noqa: E402
from kb.markdown_ext import MATH, math_words  # noqa: E402
from kb.meta import split_frontmatter  # noqa: E402
from kb.separators import fenced_lines  # noqa: E402

VENDOR = Path(__file__).resolve().parent.parent / "kb" / "static" / "vendor" / "reveal"
DEFAULT = (r"^\r?\n===\r?\n$", r"^\r?\n--\r?\n$")
LATEX = re.compile(r"\\[A-Za-z]{2,}")

# What reveal.js shows on each slide, as kb's Slide fields name it.
READ = r"""() => Reveal.getSlides().map(s => {
    const i = Reveal.getIndices(s), copy = s.cloneNode(true);
    copy.querySelectorAll('aside.notes, script, style').forEach(n => n.remove());
    const hidden = el => /visibility:\s*hidden|display:\s*none/.test(el.getAttribute('style') || '');
    copy.querySelectorAll('[style]').forEach(n => hidden(n) && n.remove());
    const h = copy.querySelector('h1,h2,h3,h4,h5,h6');
    const heading = h ? h.textContent.trim() : '';
    /* blocks end words: textContent runs "…</pre><p>Next" together */
    copy.querySelectorAll('p,li,pre,div,h1,h2,h3,h4,h5,h6,td,th,tr,br,blockquote,table')
        .forEach(n => n.after(document.createTextNode(' ')));
    /* code is set apart: the math plugin leaves it alone (its ignoredTags) */
    const code = [];
    copy.querySelectorAll('pre, code').forEach(n => {
        if (n.parentElement.closest('pre, code')) return;  /* the outermost only */
        code.push(n.textContent);
        n.replaceWith(document.createTextNode('\u0001' + (code.length - 1) + '\u0001'));
    });
    return {anchor: i.v ? i.h + '/' + i.v : String(i.h), heading, code,
            text: copy.textContent.replace(/\s+/g, ' ').trim()};
})"""


def reveal_page(tmp: Path, body: str, separator: str, vertical: str) -> Path:
    """A page where reveal.js's markdown plugin splits and renders `body` (escaped, so the
    textarea's text is the deck's markdown character for character)."""
    page = tmp / "deck.html"
    page.write_text(f"""<!doctype html><html><head><meta charset="utf-8"></head><body>
<div class="reveal"><div class="slides">
<section data-markdown data-separator="{html.escape(separator)}" data-separator-vertical="{html.escape(vertical)}">
<textarea data-template>{html.escape(body, quote=False)}</textarea></section></div></div>
<script src="{VENDOR.as_uri()}/reveal.js"></script>
<script src="{VENDOR.as_uri()}/plugin/markdown.js"></script>
<script>Reveal.initialize({{plugins: [RevealMarkdown], hash: true}});</script>
</body></html>""", encoding="utf-8")
    return page


def separators(meta) -> tuple[str, str]:
    if meta.separator or meta.vertical:
        return meta.separator or r"\r?\n---\r?\n", meta.vertical or r"\r?\n----\r?\n"
    return DEFAULT


def fenced_separators(body: str) -> int:
    """Separator lines kb does not split at because they are inside fenced code."""
    lines = body.split("\n")
    fenced = fenced_lines(lines)
    return sum(1 for i, line in enumerate(lines) if fenced[i] and line in ("===", "--")
               and (i == 0 or not lines[i - 1].strip()) and (i + 1 == len(lines) or not lines[i + 1].strip()))


def reader_text(slide: dict) -> str:
    """reveal.js's slide text as kb reads text: no URLs, a formula's words for its LaTeX
    (outside code)."""
    def one(match):
        return " " + math_words(next(g for g in match.groups() if g is not None)) + " "
    text = MATH.sub(one, slide["text"])
    return BARE_URL.sub(" ", re.sub("\x01(\\d+)\x01", lambda m: slide["code"][int(m.group(1))], text))


def latex_outside_code(html_text: str):
    """A LaTeX command in what a slide shows outside code (kb promises never to show one)."""
    shown = re.sub(r"<(pre|code)\b.*?</\1>", " ", html_text, flags=re.S)
    return LATEX.search(html.unescape(re.sub(r"<[^>]+>", " ", shown)))


def words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text).split()


def first_difference(ours: str, theirs: str, width: int = 6) -> str:
    a, b = words(ours), words(theirs)
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"kb …{' '.join(a[max(0, i - 2):i + width])}… | reveal.js …{' '.join(b[max(0, i - 2):i + width])}…"


def compare(browser, tmp: Path, path: Path, content: Path) -> dict:
    deck, _ = read_deck(path, content)
    text, _ = decode(path.read_bytes(), path.name)
    meta, body, _, _ = split_frontmatter(text, path.name)
    name = path.relative_to(content).as_posix()
    if deck is None or meta.type != "reveal":
        return {"deck": name, "skipped": "not a reveal deck"}
    page = browser.new_page()
    page.goto(reveal_page(tmp, body, *separators(meta)).as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    theirs = {s["anchor"]: s for s in page.evaluate(READ)}
    page.close()
    ours = {s.anchor: s for s in deck.slides}
    headings, texts = [], []
    for anchor in sorted(ours.keys() & theirs.keys()):
        slide, their = ours[anchor], theirs[anchor]
        if slide.heading.split() != their["heading"].split():
            headings.append(f"#/{anchor}: heading kb {slide.heading!r} | reveal.js {their['heading']!r}")
        seen = reader_text(their)
        if words(slide.body) != words(seen):
            texts.append(f"#/{anchor}: {first_difference(slide.body, seen)}")
        latex = latex_outside_code(slide.html) or LATEX.search(slide.title)
        if latex:
            texts.append(f"#/{anchor}: LaTeX in kb's text: {latex.group(0)}")
    return {"deck": name, "kb": len(ours), "reveal": len(theirs),
            "only_kb": sorted(ours.keys() - theirs.keys()), "only_reveal": sorted(theirs.keys() - ours.keys()),
            "differences": headings + texts,
            "fenced": 0 if meta.separator or meta.vertical else fenced_separators(body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--content", type=Path, required=True)
    parser.add_argument("--show", type=int, default=5, help="differences shown per deck")
    args = parser.parse_args()
    decks = agree = 0
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        for path in find_deck_files(args.content):
            r = compare(browser, Path(tmp), path, args.content)
            if "skipped" in r:
                print(f"{r['deck']}: skipped ({r['skipped']})")
                continue
            decks += 1
            mismatches = len(r["only_kb"]) + len(r["only_reveal"]) + len(r["differences"])
            agree += not mismatches and r["kb"] == r["reveal"]
            note = f"; {r['fenced']} separator line(s) inside code fences (kb does not split there)" if r["fenced"] else ""
            print(f"{r['deck']}: kb {r['kb']} slides, reveal.js {r['reveal']}; {mismatches} mismatch(es){note}")
            for label in ("only_kb", "only_reveal"):
                if r[label]:
                    print(f"  anchors {label.replace('_', ' ')}: {' '.join(r[label][:20])}")
            for line in r["differences"][: args.show]:
                print("  " + line)
    print(f"{agree} of {decks} decks agree with reveal.js")


if __name__ == "__main__":
    main()
