"""Screenshots of deck slides at desktop (1280x800) and phone (390x844) size, for a person to
look at: /tmp/shots/<name>-<viewport>.png. Prints the files and, per shot, whether the slide's
content lies inside reveal.js's slide canvas.

Usage:
  .venv/bin/python benchmarks/screenshots.py        # a generated deck: math, code, image, columns
  .venv/bin/python benchmarks/screenshots.py --content DIR \
      --shot gis-math=gis-02-remote-sensing#/9 --shot sql-code=zc-intro-to-sql#/5/1

The content folder is indexed into a temporary folder (it is only read).
"""

import argparse
import io
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import DESKTOP, PHONE, chromium, serve_kb, write  # noqa: E402
from test_presenter import CODE, COLUMNS, MATH  # noqa: E402

from kb.index import reindex  # noqa: E402
from kb.settings import Settings  # noqa: E402

# The presenter tests' slides, with a wide formula, a taller code block and images added.
EVI = r"$${\mbox{EVI}} = G \times \frac{NIR - Red}{NIR + C_1 \times Red - C_2 \times Blue + L}$$"
DECK = "\n\n===\n\n".join([
    "---\ntitle: Screenshots\n---\n" + MATH + "\n\n" + EVI,
    CODE.replace("```python [2]", "```python [2-3]").replace("    return 3.14 * r * r",
                                                               "    pi = 3.14159\n    return pi * r * r\n\nprint(area(2))"),
    "# A tall figure\n\nMeasured every year since 1990.\n\n![tall](img/tall.png)",
    COLUMNS.replace("Right side text", "Right side text\n\n![wide](img/wide.png)"),
]) + "\n"
GENERATED = {"math": "shots#/0", "code": "shots#/1", "image": "shots#/2", "columns": "shots#/3"}
VIEWPORTS = {"desktop": (DESKTOP, {}), "phone": (PHONE, {"is_mobile": True, "has_touch": True})}

# Whether the current slide lies inside reveal.js's canvas: across, its content (a range: a
# formula's box is the slide's width while the formula runs past it); down, its height (a
# heading's glyph box pokes above its line, which is no overflow).
INSIDE = """() => {
    const canvas = Reveal.getSlidesElement().getBoundingClientRect(), slide = Reveal.getCurrentSlide();
    const range = document.createRange();
    range.selectNodeContents(slide);
    const c = range.getBoundingClientRect(), s = slide.getBoundingClientRect();
    const out = [c.left < canvas.left - 1 && 'left', c.right > canvas.right + 1 && 'right',
                 s.top < canvas.top - 1 && 'top',
                 slide.scrollHeight > Reveal.getConfig().height + 1 && 'bottom'].filter(Boolean);
    return {out, top: s.top};
}"""


def png(size, colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def generated(root: Path) -> Path:
    content = root / "content"
    write(content, "shots.md", DECK)
    (content / "img").mkdir()
    (content / "img" / "tall.png").write_bytes(png((400, 1200), "steelblue"))
    (content / "img" / "wide.png").write_bytes(png((1200, 500), "darkseagreen"))
    return content


def shoot(settings: Settings, shots: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with serve_kb(settings) as base, chromium() as browser:
        for viewport_name, (viewport, options) in VIEWPORTS.items():
            context = browser.new_context(base_url=base, viewport=viewport, **options)
            page = context.new_page()
            for name, target in shots.items():
                deck, _, anchor = target.partition("#")
                page.goto("about:blank")  # a fresh load each time, as a followed link is
                page.goto(f"{base}/decks/{deck}#{anchor or '/0'}")
                page.wait_for_function("() => window.Reveal && Reveal.isReady()")
                page.wait_for_load_state("load")  # the images, then fit() and reveal.js's layout
                page.wait_for_timeout(300)
                file = out / f"{name}-{viewport_name}.png"
                page.screenshot(path=str(file))
                check = page.evaluate(INSIDE)
                where = "inside the slide" if not check["out"] else "past the slide's " + "/".join(check["out"])
                print(f"{file}  ({target}: content {where}, slide top at {check['top']:.0f}px)")
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--content", type=Path, help="a content folder (default: a generated deck)")
    parser.add_argument("--shot", action="append", default=[], metavar="NAME=DECK#/h[/v]",
                        help="a slide to shoot (default: the generated deck's four)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots"))
    args = parser.parse_args()
    if args.content and not args.shot:
        parser.error("--content needs at least one --shot NAME=DECK#/h")
    shots = dict(s.split("=", 1) for s in args.shot) if args.shot else GENERATED
    with tempfile.TemporaryDirectory() as tmp:
        content = args.content or generated(Path(tmp))
        settings = Settings(content=content, index=Path(tmp) / "index")
        reindex(settings)
        shoot(settings, shots, args.out)


if __name__ == "__main__":
    main()
