#!/usr/bin/env python3
"""Generate the sample corpus's slide images into sample/content/media/ (deterministic).

Every image here is drawn from scratch with Pillow: the words in it are ours and exist only
in the image (the slides that show them have no other text), so they are reachable only
through OCR. The files are named like media ids on the lecture platform, without extension;
kb sniffs their type from their bytes.

    python sample/make_media.py            # (re)writes sample/content/media/*
    python sample/make_media.py --check    # also runs tesseract on each raster image

Fonts: DejaVu / Liberation from /usr/share/fonts when present, else Pillow's scalable
built-in font (Pillow >= 10.1). Same fonts + same Pillow → byte-identical files.
"""

import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

MEDIA = Path(__file__).resolve().parent / "content" / "media"

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"),
             Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF")]
FONT_FILES = {
    "sans": ["DejaVuSans.ttf", "LiberationSans-Regular.ttf"],
    "bold": ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"],
    "mono": ["DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"],
    "serif": ["DejaVuSerif.ttf", "LiberationSerif-Regular.ttf"],
}


def font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    for name in FONT_FILES[kind]:
        for folder in FONT_DIRS:
            if (folder / name).is_file():
                return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size=size)


def centered(draw: ImageDraw.ImageDraw, box, text: str, fnt, fill) -> None:
    """Draw `text` centred in box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    draw.text(((x0 + x1) / 2, (y0 + y1) / 2), text, font=fnt, fill=fill, anchor="mm")


def arrow(draw: ImageDraw.ImageDraw, start, end, fill, width=6, head=22) -> None:
    """A straight arrow from start to end with a filled triangular head."""
    import math
    (x0, y0), (x1, y1) = start, end
    draw.line([start, end], fill=fill, width=width)
    angle = math.atan2(y1 - y0, x1 - x0)
    left = (x1 - head * math.cos(angle - 0.45), y1 - head * math.sin(angle - 0.45))
    right = (x1 - head * math.cos(angle + 0.45), y1 - head * math.sin(angle + 0.45))
    draw.polygon([end, left, right], fill=fill)


# --- the images ---------------------------------------------------------------------------

def diagram() -> Image.Image:
    """EPI101 week02: labelled causal diagram (PNG, RGB, dark on white)."""
    img = Image.new("RGB", (1280, 720), "white")
    d = ImageDraw.Draw(img)
    title, label, small = font("bold", 52), font("bold", 44), font("sans", 34)
    centered(d, (0, 20, 1280, 100), "Why the crude estimate misleads", title, "#1a1a1a")
    boxes = {
        "top": (440, 150, 840, 290),
        "left": (60, 470, 460, 610),
        "right": (820, 470, 1220, 610),
    }
    for box in boxes.values():
        d.rounded_rectangle(box, radius=18, outline="#1f4e79", width=5, fill="#e8f0f8")
    centered(d, (440, 150, 840, 225), "CONFOUNDER", label, "#1a1a1a")
    centered(d, (440, 220, 840, 285), "smoking", small, "#1a1a1a")
    centered(d, (60, 470, 460, 545), "EXPOSURE", label, "#1a1a1a")
    centered(d, (60, 540, 460, 605), "coffee", small, "#1a1a1a")
    centered(d, (820, 470, 1220, 545), "OUTCOME", label, "#1a1a1a")
    centered(d, (820, 540, 1220, 605), "lung cancer", small, "#1a1a1a")
    arrow(d, (520, 292), (330, 466), "#1f4e79")
    arrow(d, (760, 292), (950, 466), "#1f4e79")
    # dashed "spurious" arrow between exposure and outcome
    for x in range(466, 800, 40):
        d.line([(x, 540), (x + 22, 540)], fill="#b03030", width=6)
    d.polygon([(816, 540), (794, 528), (794, 552)], fill="#b03030")
    centered(d, (460, 640, 820, 700), "association, not cause", small, "#b03030")
    return img


def bar_chart() -> Image.Image:
    """EPI101 week03: bar chart with title and axis labels (PNG, RGB)."""
    img = Image.new("RGB", (1280, 800), "white")
    d = ImageDraw.Draw(img)
    title, axis, tick = font("bold", 48), font("sans", 36), font("sans", 32)
    centered(d, (0, 15, 1280, 90), "Deaths and withdrawals by year", title, "#111111")
    x0, y0, x1, y1 = 200, 170, 1180, 640  # plot area
    d.line([(x0, y0), (x0, y1), (x1, y1)], fill="#111111", width=4)
    deaths = [14, 11, 9, 6, 4]
    withdrawals = [5, 8, 10, 12, 7]
    top = 16
    for i, value in enumerate(range(0, top + 1, 4)):
        y = y1 - (y1 - y0) * value / top
        d.line([(x0 - 12, y), (x0, y)], fill="#111111", width=3)
        d.text((x0 - 20, y), str(value), font=tick, fill="#111111", anchor="rm")
    group = (x1 - x0) / len(deaths)
    for i, (a, b) in enumerate(zip(deaths, withdrawals)):
        gx = x0 + i * group
        for j, (value, colour) in enumerate([(a, "#2f6db5"), (b, "#e39b2d")]):
            bx = gx + 40 + j * 70
            d.rectangle([bx, y1 - (y1 - y0) * value / top, bx + 64, y1 - 2], fill=colour)
        d.text((gx + group / 2 - 10, y1 + 20), str(i + 1), font=tick, fill="#111111", anchor="mt")
    centered(d, (x0, 690, x1, 740), "Year of follow-up", axis, "#111111")
    d.text((40, 96), "Patients", font=axis, fill="#111111")
    # legend
    d.rectangle([800, 110, 836, 146], fill="#2f6db5")
    d.text((850, 128), "deaths", font=tick, fill="#111111", anchor="lm")
    d.rectangle([800, 160, 836, 196], fill="#e39b2d")
    d.text((850, 178), "withdrawals", font=tick, fill="#111111", anchor="lm")
    return img


def dark_slide() -> Image.Image:
    """STAT200 week01: light text on a dark background (PNG, RGB)."""
    img = Image.new("RGB", (1280, 720), "#14213d")
    d = ImageDraw.Draw(img)
    centered(d, (0, 220, 1280, 330), "Fit the line,", font("bold", 80), "#f5f5f5")
    centered(d, (0, 340, 1280, 450), "then study the leftovers", font("bold", 72), "#f5f5f5")
    centered(d, (0, 560, 1280, 620), "STAT200 week 1", font("sans", 40), "#9fb3d9")
    return img


def banner_slide() -> Image.Image:
    """STAT200 diagnostics: white text on a coloured banner across a light slide (PNG)."""
    img = Image.new("RGB", (1280, 720), "#fafafa")
    d = ImageDraw.Draw(img)
    d.rectangle([0, 200, 1280, 420], fill="#d35400")
    centered(d, (0, 200, 1280, 310), "Check homoscedasticity", font("bold", 72), "white")
    centered(d, (0, 310, 1280, 410), "equal spread at every fitted value", font("sans", 48), "white")
    centered(d, (0, 520, 1280, 600), "Plot residuals against fitted values", font("sans", 44), "#333333")
    return img


def table_screenshot() -> Image.Image:
    """DB210 joins: a small table, as if screenshotted from a query tool (PNG, RGB)."""
    rows = [("order_id", "customer", "total"),
            ("1001", "Okafor", "42.50"),
            ("1002", "Lindqvist", "17.00"),
            ("1003", "Tanaka", "88.25"),
            ("1004", "NULL", "9.99")]
    widths = [260, 340, 220]
    row_h, pad = 76, 30
    w = sum(widths) + 2 * pad
    h = row_h * len(rows) + 2 * pad + 70
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, pad), "orders", font=font("bold", 44), fill="#222222")
    head, cell = font("bold", 38), font("mono", 38)
    top = pad + 70
    for r, row in enumerate(rows):
        y = top + r * row_h
        if r == 0:
            d.rectangle([pad, y, w - pad, y + row_h], fill="#dfe6ee")
        x = pad
        for c, (text, width) in enumerate(zip(row, widths)):
            d.rectangle([x, y, x + width, y + row_h], outline="#8899aa", width=2)
            d.text((x + 16, y + row_h / 2), text, font=head if r == 0 else cell,
                   fill="#222222", anchor="lm")
            x += width
    return img


def terminal() -> Image.Image:
    """CS150 retries: a terminal screenshot, light monospace on black (PNG, RGB)."""
    lines = [("$ python fetch_prices.py", "#8ae234"),
             ("attempt 1 failed: timed out", "#d0d0d0"),
             ("attempt 2 failed: timed out", "#d0d0d0"),
             ("attempt 3 failed: timed out", "#d0d0d0"),
             ("RuntimeError: gave up after 3 attempts", "#ff7b72"),
             ("$", "#8ae234")]
    img = Image.new("RGB", (1280, 520), "#000000")
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 1280, 44], fill="#2d2d2d")
    for i, colour in enumerate(["#ff5f56", "#ffbd2e", "#27c93f"]):
        d.ellipse([20 + i * 36, 12, 40 + i * 36, 32], fill=colour)
    mono = font("mono", 40)
    for i, (text, colour) in enumerate(lines):
        d.text((36, 80 + i * 68), text, font=mono, fill=colour)
    return img


def transparent() -> Image.Image:
    """DB210 normalization: dark text on a fully transparent background (PNG, RGBA).

    The transparent pixels are (0, 0, 0, 0): a reader that drops the alpha channel sees
    black text on black; compositing onto white is the safe way to read it.
    """
    img = Image.new("RGBA", (1200, 560), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    centered(d, (0, 40, 1200, 140), "First normal form", font("bold", 68), (20, 20, 20, 255))
    d.rounded_rectangle([80, 180, 1120, 500], radius=24, outline=(40, 60, 90, 255), width=5)
    body = font("sans", 50)
    centered(d, (80, 200, 1120, 290), "atomic values in every cell", body, (20, 20, 20, 255))
    centered(d, (80, 290, 1120, 380), "no repeating groups", body, (20, 20, 20, 255))
    centered(d, (80, 380, 1120, 470), "one key per row", body, (20, 20, 20, 255))
    return img


def whiteboard_jpeg() -> Image.Image:
    """EPI101 week02: a 'photo' of a whiteboard, saved as JPEG (off-white, slight noise)."""
    rng = random.Random(101)
    w, h = 1024, 576
    img = Image.new("RGB", (w, h), "#efeee8")
    d = ImageDraw.Draw(img)
    for y in range(0, h, 4):  # soft vertical shading, like uneven room light
        shade = 239 - int(14 * y / h)
        d.rectangle([0, y, w, y + 4], fill=(shade, shade - 1, shade - 6))
    for _ in range(900):  # specks
        x, y = rng.randrange(w), rng.randrange(h)
        g = rng.randrange(200, 235)
        d.point((x, y), fill=(g, g, g))
    d.rectangle([0, 0, w - 1, h - 1], outline="#9a9a9a", width=10)
    marker = "#1c3f94"
    centered(d, (0, 90, w, 180), "Beware immortal time bias", font("bold", 60), marker)
    body = font("sans", 44)
    centered(d, (0, 250, w, 320), "count follow-up from the", body, marker)
    centered(d, (0, 320, w, 390), "same start date for everyone", body, marker)
    d.line([(200, 440), (824, 440)], fill="#b22222", width=6)
    return img


def broadcasting_gif() -> Image.Image:
    """CS150 numpy: palette GIF explaining broadcasting (few flat colours)."""
    img = Image.new("RGB", (1200, 600), "#fffdf5")
    d = ImageDraw.Draw(img)
    centered(d, (0, 20, 1200, 110), "Broadcasting rules", font("bold", 64), "#202020")
    body = font("mono", 46)
    d.text((80, 170), "shape (3, 1)  +  shape (4,)", font=body, fill="#202020")
    d.text((80, 260), "stretches to   (3, 4)", font=body, fill="#202020")
    centered(d, (0, 400, 1200, 470), "sizes must match or be one", font("sans", 50), "#7a1f1f")
    return img.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)


def vectorise_webp() -> Image.Image:
    """CS150 numpy: a WebP slide (lossless), dark text on pale green."""
    img = Image.new("RGB", (1200, 560), "#e6f4ea")
    d = ImageDraw.Draw(img)
    centered(d, (0, 120, 1200, 240), "Vectorise, do not iterate", font("bold", 68), "#0b3d20")
    centered(d, (0, 300, 1200, 380), "one array expression beats", font("sans", 50), "#0b3d20")
    centered(d, (0, 380, 1200, 460), "a million interpreted steps", font("sans", 50), "#0b3d20")
    return img


SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="800" height="480" viewBox="0 0 800 480">
  <rect width="800" height="480" fill="white"/>
  <text x="400" y="40" font-family="sans-serif" font-size="28" text-anchor="middle">Survival staircase</text>
  <line x1="80" y1="420" x2="760" y2="420" stroke="black" stroke-width="2"/>
  <line x1="80" y1="60" x2="80" y2="420" stroke="black" stroke-width="2"/>
  <polyline fill="none" stroke="#2f6db5" stroke-width="4"
    points="80,80 200,80 200,140 330,140 330,220 470,220 470,260 600,260 600,330 760,330"/>
  <g stroke="black" stroke-width="2">
    <line x1="260" y1="130" x2="260" y2="150"/>
    <line x1="400" y1="210" x2="400" y2="230"/>
    <line x1="540" y1="250" x2="540" y2="270"/>
    <line x1="690" y1="320" x2="690" y2="340"/>
  </g>
  <text x="420" y="460" font-family="sans-serif" font-size="20" text-anchor="middle">months since enrolment</text>
</svg>
"""

# media id → (maker, format, save options)
IMAGES = {
    "2024-02-13t101512.345z": (diagram, "PNG", {"optimize": True}),
    "2024-02-13t102240.559z": (whiteboard_jpeg, "JPEG", {"quality": 82}),
    "2024-02-20t093044.812z": (bar_chart, "PNG", {"optimize": True}),
    "2024-01-16t140233.071z": (dark_slide, "PNG", {"optimize": True}),
    "2024-03-05t111830.502z": (banner_slide, "PNG", {"optimize": True}),
    "2023-10-10t091205.377z": (broadcasting_gif, "GIF", {}),
    "2023-10-10t091733.640z": (vectorise_webp, "WEBP", {"lossless": True, "method": 6}),
    "2023-10-24t160712.904z": (terminal, "PNG", {"optimize": True}),
    "2024-09-17t084501.220z": (table_screenshot, "PNG", {"optimize": True}),
    "2024-10-01t120915.118z": (transparent, "PNG", {"optimize": True}),
}
SVG_ID = "2024-02-20t094501.003z"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="OCR each raster image with tesseract")
    args = parser.parse_args()
    MEDIA.mkdir(exist_ok=True)
    for media_id, (make, fmt, options) in IMAGES.items():
        make().save(MEDIA / media_id, format=fmt, **options)
    (MEDIA / SVG_ID).write_text(SVG, encoding="utf-8")
    total = 0
    for path in sorted(MEDIA.iterdir()):
        size = path.stat().st_size
        total += size
        print(f"{path.name}  {size / 1024:7.1f} KB")
    print(f"total {total / 1024:.1f} KB")
    if args.check:
        if not shutil.which("tesseract"):
            print("tesseract not found; skipping --check", file=sys.stderr)
            return 1
        for media_id in IMAGES:
            with Image.open(MEDIA / media_id) as image:  # composite onto white, as kb does
                page = Image.new("RGBA", image.size, "white")
                page.alpha_composite(image.convert("RGBA"))
                tmp = MEDIA.parent / f".ocr-{media_id}.png"
                page.convert("L").save(tmp)
            out = subprocess.run(["tesseract", str(tmp), "-"], capture_output=True, text=True)
            tmp.unlink()
            words = " ".join(out.stdout.split())
            print(f"--- {media_id}: {words}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
