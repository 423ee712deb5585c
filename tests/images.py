"""Evaluation slides rendered with Pillow, each knowing the words a person reads on it.

The tests and benchmarks/ocr_bench.py import this. Everything is seeded: the same seed
gives the same images on the same Pillow and fonts. The text is ordinary lecture
vocabulary of our own. Fonts: DejaVu (Debian's fonts-dejavu-core, on Debian images by
default) and Pillow's built-in scalable font.
"""

import io
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "builtin": None,  # Pillow's own scalable font (Aileron)
}

VOCAB = """
hazard ratio censoring cohort regression survival baseline exposure outcome incidence
prevalence odds randomised trial placebo covariate mortality sensitivity specificity
likelihood variance estimate median follow logistic proportional stratified matching
confounding selection measurement interval confidence sample population treatment
control analysis model effect risk screening diagnosis lecture week summary methods
results discussion evidence dataset variable predictor residual correlation bias
normalization transaction database query index schema primary foreign table column
record student course module assignment deadline reading chapter example question
answer definition theorem proof probability distribution binomial poisson normal
mean standard deviation error hypothesis significance power study design case
retrospective prospective observational experimental outcome event time death
smoking vaccine infection hospital patient clinical protocol consent ethics review
""".split()

WHITE, BLACK = (255, 255, 255), (20, 20, 20)


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes  # the encoded image file
    words: tuple  # ground truth: the words a person reads on it
    kind: str


def words_in(text: str) -> set:
    """Search-relevant tokens: case-folded words and numbers of two characters or more."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "").replace("'", "")
    return {t for t in re.findall(r"[^\W_]+(?:[.,]\d+)*", text) if len(t) >= 2}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    if FONTS[name] is None:
        return ImageFont.load_default(size=size)
    path = FONT_DIR / FONTS[name]
    if not path.exists():  # the expected figures depend on these exact fonts
        raise FileNotFoundError(f"{path} is missing: apt-get install fonts-dejavu-core")
    return ImageFont.truetype(str(path), size)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """The image as file bytes in `fmt` (PNG, JPEG, GIF, WEBP, TIFF, BMP)."""
    if fmt in ("JPEG", "BMP") and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if fmt == "GIF" and image.mode != "P":
        image = image.convert("RGB").quantize(64)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def phrase(rng: random.Random, n: int) -> list:
    return rng.sample(VOCAB, n)


def fitted(name: str, size: int, text: str, width: float) -> ImageFont.FreeTypeFont:
    """The font at `size`, or smaller until `text` fits in `width` pixels (no word of the
    ground truth may run off the image or out of its box)."""
    while size > 8 and font(name, size).getlength(text) > width:
        size -= 1
    return font(name, size)


def text_block(draw, xy, lines, face, px, fill, spacing=1.5, right=None):
    """Draw lines of words in font `face` at `px` from xy downwards, shrinking a line that
    would pass `right`; returns the words drawn."""
    x, y = xy
    right = right or draw.im.size[0] - 10
    drawn = []
    for words in lines:
        text = " ".join(words)
        draw.text((x, y), text, font=fitted(face, px, text, right - x), fill=fill)
        y += round(px * spacing)
        drawn += words
    return drawn


# --- builders: each returns (image, words) -------------------------------------------

def slide(rng, size=(1280, 720), face="sans", fg=BLACK, bg=WHITE, title_px=None,
          body_px=None, bullets=3):
    """A title and bullet points, as an exported lecture slide."""
    width, height = size
    title_px = title_px or height // 12
    body_px = body_px or height // 22
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    words = text_block(draw, (width // 16, height // 12), [phrase(rng, 3)],
                       face if face == "builtin" else face.split("-")[0] + "-bold", title_px, fg)
    lines = [phrase(rng, rng.randint(3, 5)) for _ in range(bullets)]
    words += text_block(draw, (width // 10, height // 12 + title_px * 2), lines,
                        face, body_px, fg, spacing=1.8)
    return image, words


def banner(rng, size=(1280, 720)):
    """White bold title on a coloured banner, dark body text below (mixed polarity)."""
    width, height = size
    colour = rng.choice([(25, 80, 160), (180, 30, 40), (20, 120, 90), (110, 40, 140)])
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 4), fill=colour)
    words = text_block(draw, (width // 16, height // 12), [phrase(rng, 3)],
                       "sans-bold", height // 12, WHITE)
    lines = [phrase(rng, 4) for _ in range(3)]
    words += text_block(draw, (width // 12, height // 3), lines, "serif", height // 22,
                        BLACK, spacing=1.8)
    box = (width * 3 // 5, height * 3 // 4, width - width // 16, height - height // 16)
    draw.rounded_rectangle(box, radius=12, fill=colour)
    words += text_block(draw, (box[0] + 20, box[1] + 20), [phrase(rng, 2)],
                        "sans", height // 20, WHITE, right=box[2] - 20)
    return image, words


def light_on_dark(rng, size=(1280, 720)):
    """Pale text on a dark slide theme."""
    bg = rng.choice([(15, 30, 60), (30, 30, 30), (60, 10, 40)])
    fg = rng.choice([(250, 250, 250), (250, 230, 120), (170, 220, 250)])
    return slide(rng, size, face=rng.choice(["sans", "serif"]), fg=fg, bg=bg)


def terminal(rng, size=(960, 300)):
    """A terminal screenshot: light monospace text on black, one line in red."""
    image = Image.new("RGB", size, (12, 12, 12))
    draw = ImageDraw.Draw(image)
    face = font("mono", 18)
    a, b, c = phrase(rng, 3)
    lines = [(f"$ python {a}.py --{b} {c}.csv", (220, 220, 220)),
             (" ".join(phrase(rng, 4)), (120, 220, 120)),
             ("ValueError: " + " ".join(phrase(rng, 3)), (240, 90, 80)),
             (" ".join(phrase(rng, 5)), (200, 200, 200))]
    y, words = 20, []
    for text, colour in lines:
        draw.text((20, y), text, font=face, fill=colour)
        words += words_in(text)
        y += 40
    return image, sorted(words)


def diagram(rng, size=(1280, 720)):
    """Labelled boxes and arrows, dark text on pastel fills, scattered over the page."""
    width, height = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    face_name = rng.choice(["sans", "serif"])
    face = font(face_name, height // 24)
    words, centres = [], []
    for row in range(2):
        for col in range(3):
            label = phrase(rng, rng.randint(1, 2))
            x0 = width // 14 + col * width // 3
            y0 = height // 6 + row * height * 2 // 5
            box = (x0, y0, x0 + width // 4, y0 + height // 6)
            fill = rng.choice([(200, 230, 200), (250, 220, 170), (190, 215, 245), (240, 200, 210)])
            ink = BLACK
            if (row, col) == (1, 2):  # a "button": white text on a saturated fill
                fill, ink = rng.choice([(120, 180, 60), (40, 110, 190), (200, 60, 60)]), WHITE
            draw.rounded_rectangle(box, radius=16, fill=fill, outline=(90, 90, 90), width=2)
            draw.text(((box[0] + box[2]) // 2, (box[1] + box[3]) // 2), " ".join(label),
                      font=fitted(face_name, face.size, " ".join(label), width // 4 - 24),
                      fill=ink, anchor="mm")
            centres.append((box[2], (box[1] + box[3]) // 2))
            words += label
    for (x, y) in centres[:2] + centres[3:5]:
        draw.line((x + 5, y, x + width // 12 - 5, y), fill=(90, 90, 90), width=3)
    return image, words


def chart(rng, size=(1000, 640)):
    """A line chart: tick numbers, axis titles, a rotated y-axis label, a legend."""
    width, height = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    small, label = font("sans", 18), font("sans", 22)
    left, top, right, bottom = 120, 70, width - 40, height - 100
    draw.rectangle((left, top, right, bottom), outline=BLACK, width=2)
    words = text_block(draw, (left, 20), [phrase(rng, 3)], "sans-bold", 26, BLACK)
    ticks = [f"{v / 10:.1f}" for v in range(0, 11, 2)]
    for i, tick in enumerate(ticks):  # y ticks, 0.0 .. 1.0
        y = bottom - i * (bottom - top) // (len(ticks) - 1)
        draw.line((left - 8, y, left, y), fill=BLACK, width=2)
        draw.text((left - 12, y), tick, font=small, fill=BLACK, anchor="rm")
    years = [str(v) for v in range(0, 61, 12)]
    for i, tick in enumerate(years):  # x ticks, months
        x = left + i * (right - left) // (len(years) - 1)
        draw.line((x, bottom, x, bottom + 8), fill=BLACK, width=2)
        draw.text((x, bottom + 12), tick, font=small, fill=BLACK, anchor="mt")
    xlabel = phrase(rng, 2)
    draw.text(((left + right) // 2, bottom + 50), " ".join(xlabel), font=label, fill=BLACK,
              anchor="mt")
    ylabel = phrase(rng, 2)  # written bottom-to-top, as charting tools do
    strip = Image.new("L", label.getbbox(" ".join(ylabel))[2:], 0)
    ImageDraw.Draw(strip).text((0, 0), " ".join(ylabel), font=label, fill=255)
    strip = strip.rotate(90, expand=True)
    image.paste(BLACK, (25, (top + bottom - strip.height) // 2), strip)
    points = [(left + i * (right - left) // 12, top + 20 + int((bottom - top - 40) * (i / 12) ** 0.7))
              for i in range(13)]
    draw.line(points, fill=(30, 90, 200), width=3)
    legend = phrase(rng, 1)
    draw.line((right - 190, top + 30, right - 150, top + 30), fill=(30, 90, 200), width=3)
    draw.text((right - 140, top + 30), legend[0], font=small, fill=BLACK, anchor="lm")
    return image, words + ticks + years[1:] + xlabel + ylabel + legend


def photo_caption(rng, size=(800, 560)):
    """A 'photo' (blurred blotches and grain) with white outlined captions, meme-style."""
    width, height = size
    image = Image.new("RGB", size, (120, 110, 100))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(30, 160)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=tuple(rng.randrange(40, 230) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(12))
    image = grain(rng, image, 0.12)
    draw = ImageDraw.Draw(image)
    words = []
    for y, anchor in ((20, "mt"), (height - 20, "mb")):
        caption = phrase(rng, 3)
        text = " ".join(caption).upper()
        px = 44
        while font("sans-bold", px).getlength(text) > width * 0.92:
            px -= 2
        draw.text((width // 2, y), text, font=font("sans-bold", px), fill=WHITE,
                  anchor=anchor, stroke_width=3, stroke_fill=BLACK)
        words += caption
    return image, words


def transparent(rng, size=(900, 500)):
    """Dark text on a transparent background whose hidden pixels are black."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((600, 150, 880, 430), fill=(250, 200, 60, 255))
    words = text_block(draw, (30, 30), [phrase(rng, 3), phrase(rng, 2), phrase(rng, 2)],
                       rng.choice(["sans", "serif"]), 32, (10, 10, 10, 255), spacing=2,
                       right=580)
    label = phrase(rng, 1)
    draw.text((740, 290), label[0], font=font("sans-bold", 30), fill=(10, 10, 10, 255), anchor="mm")
    return image, words + label


def grain(rng, image, amount):
    """Seeded uniform noise blended in (Pillow's effect_noise is not seedable)."""
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    return Image.blend(image, noise.convert(image.mode), amount)


def noisy(rng):
    image, words = slide(rng, (1024, 576), face="serif")
    return grain(rng, image.filter(ImageFilter.GaussianBlur(1.0)), 0.3), words


def tilted(rng):
    image, words = slide(rng, (1024, 576))
    angle = rng.choice([-3, -2, 2, 3])
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=WHITE), words


def small(rng):
    """A thumbnail-sized export: a slide shrunk to 400x225, its body text ~10 px tall."""
    image, words = slide(rng, (800, 450), face="sans", title_px=36, body_px=21)
    return image.resize((400, 225), Image.Resampling.BILINEAR), words


def tiny_chart(rng):
    """A chart exported small: tick labels and axis titles 7-10 px tall."""
    image, words = chart(rng)
    return image.resize((500, 320), Image.Resampling.LANCZOS), words


def builtin(rng):
    return slide(rng, (1024, 576), face="builtin", bg=(215, 230, 245))


def animated(image):
    """A two-frame GIF whose first frame is the slide (what kb must read)."""
    first = image.convert("RGB").quantize(64)
    second = Image.new("RGB", image.size, WHITE).quantize(64)
    out = io.BytesIO()
    first.save(out, "GIF", save_all=True, append_images=[second], duration=500, loop=0)
    return out.getvalue()


# --- hard cases: kinds tesseract alone reads poorly on real slides ---------------------

ACCENTED = """
primærnøglen informação fremmednøgle tabellen række kolonne forespørgsel relação
índice transação consulta função não está ação dados chave estrangeira während
größe schlüssel übersicht données clé requête élève année fenêtre señal años
""".split()


def busy_photo(rng, size):
    """A 'photo' with sharp texture (fur, fabric, foliage): strokes of every colour."""
    image = Image.new("RGB", size, tuple(rng.randrange(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y, r = rng.randrange(size[0]), rng.randrange(size[1]), rng.randrange(40, 200)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(30, 240) for _ in range(3)))
    image = image.filter(ImageFilter.GaussianBlur(6))
    draw = ImageDraw.Draw(image)
    for _ in range(900):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        shade = rng.randrange(0, 255)
        draw.line((x, y, x + rng.randrange(-14, 15), y + rng.randrange(4, 18)),
                  fill=(shade, shade, shade), width=rng.choice([1, 2]))
    return grain(rng, image, 0.15)


def meme(rng, size=(560, 400)):
    """An outlined caption (thin black edge, mixed case, punctuation) on a sharp photo."""
    width, height = size
    image = busy_photo(rng, size)
    draw = ImageDraw.Draw(image)
    words = []
    for y, anchor in ((14, "mt"), (height - 14, "mb")):
        caption = phrase(rng, 3)
        text = "... " + " ".join(caption[:2]).capitalize() + "'; " + caption[2].upper() + ";"
        face = fitted("sans-bold", 30, text, width * 0.94)
        draw.text((width // 2, y), text, font=face, fill=WHITE, anchor=anchor,
                  stroke_width=2, stroke_fill=BLACK)
        words += caption
    return image, words


def hand_lettered(rng, size=(600, 440)):
    """Capitals drawn one by one, each turned and sized a little differently, in dark ink
    on wobbly boxes of saturated colour (red, yellow, orange), as in a sketched diagram."""
    width, height = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    words = []
    for row in range(3):
        word = rng.choice([w for w in VOCAB if 4 <= len(w) <= 9])
        top = 20 + row * (height - 40) // 3
        corners = [(20 + rng.randrange(-8, 9), top + rng.randrange(-6, 7)),
                   (width - 20 + rng.randrange(-8, 9), top + rng.randrange(-6, 7)),
                   (width - 20 + rng.randrange(-8, 9), top + 110 + rng.randrange(-6, 7)),
                   (20 + rng.randrange(-8, 9), top + 110 + rng.randrange(-6, 7))]
        draw.polygon(corners, fill=rng.choice([(225, 25, 60), (245, 200, 40), (230, 110, 40)]),
                     outline=BLACK, width=3)
        x = 50
        for letter in word.upper():
            glyph = Image.new("L", (80, 90), 0)
            ImageDraw.Draw(glyph).text((40, 45), letter, anchor="mm", fill=255,
                                       font=font(rng.choice(["sans", "mono"]), rng.randrange(52, 64)))
            glyph = glyph.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BICUBIC)
            image.paste((25, 20, 20), (x - 20, top + 12 + rng.randrange(-5, 6)), glyph)
            x += rng.randrange(44, 54)
        words.append(word)
    return image, words


def line_labels(rng, size=(900, 560)):
    """A chart whose lines are labelled in their own colours just above them, over grey
    bands (as spectra and growth curves are drawn)."""
    width, height = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = 80, 40, width - 30, height - 70
    for band in range(3):
        x = left + 60 + band * 250
        draw.rectangle((x, top, x + 90, bottom), fill=(215, 215, 215), outline=(60, 60, 60))
    draw.rectangle((left, top, right, bottom), outline=BLACK, width=2)
    small = font("sans", 20)
    ticks = [str(v) for v in range(0, 51, 10)]
    for i, tick in enumerate(ticks):
        y = bottom - i * (bottom - top) // (len(ticks) - 1)
        draw.text((left - 10, y), tick, font=small, fill=BLACK, anchor="rm")
    words = ticks[1:]
    colours = [(150, 75, 30), (30, 40, 160), (30, 90, 30), (200, 40, 120)]
    labels = rng.sample([w for w in VOCAB if len(w) >= 5], len(colours))
    label_font = font("sans", 24)
    for i, (colour, label) in enumerate(zip(colours, labels)):
        base = top + 80 + i * (bottom - top - 110) // len(colours)
        phase = rng.uniform(0, 6.3)
        points = [(x, base + round(18 * math.sin(x / 70 + phase))) for x in range(left, right, 6)]
        draw.line(points, fill=colour, width=4)
        text = label.capitalize()
        start = rng.randrange(left + 10, right - 10 - round(label_font.getlength(text)))
        span = [y for x, y in points if start <= x <= start + label_font.getlength(text)]
        draw.text((start, min(span) - 8), text, font=label_font, fill=colour, anchor="lb")
        words.append(label)
    return image, words


def accented(rng, size=(1100, 620)):
    """A slide in Danish, Portuguese, German or French: letters tesseract's eng model lacks."""
    width, height = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    title = rng.sample(ACCENTED[2:], 2)
    words = text_block(draw, (60, 50), [title], "sans-bold", 52, BLACK)
    lines = [["primærnøglen", "informação"]] + [rng.sample(ACCENTED[2:], 3) for _ in range(3)]
    words += text_block(draw, (80, 170), lines, rng.choice(["sans", "serif"]), 34, BLACK,
                        spacing=2.0)
    return image, words


# (name, builder, encoding): every kind of slide and every format kb reads.
SET = [
    ("clean", slide, "PNG"),
    ("banner", banner, "WEBP"),
    ("light-on-dark", light_on_dark, "PNG"),
    ("terminal", terminal, "PNG"),
    ("diagram", diagram, "GIF"),
    ("chart", chart, "PNG"),
    ("photo-caption", photo_caption, "JPEG"),
    ("transparent", transparent, "PNG"),
    ("noisy", noisy, "JPEG"),
    ("tilted", tilted, "TIFF"),
    ("small", small, "PNG"),
    ("builtin-font", builtin, "BMP"),
    ("animated", light_on_dark, "GIF-ANIMATED"),
    ("serif-webp", lambda rng: slide(rng, face="serif", bg=(250, 245, 225)), "WEBP"),
    ("tiny-chart", tiny_chart, "JPEG"),
    ("meme", meme, "JPEG"),
    ("hand-lettered", hand_lettered, "PNG"),
    ("line-labels", line_labels, "PNG"),
    ("accented", accented, "PNG"),
]
HARD = ["meme", "hand-lettered", "line-labels", "accented", "photo-caption"]

ENCODE_OPTIONS = {"JPEG": {"quality": 60}, "WEBP": {"quality": 70}, "TIFF": {"compression": "tiff_lzw"}}


def make(name: str, seed: int = 0) -> Sample:
    """One sample of the evaluation set by kind name."""
    for index, (kind, build, fmt) in enumerate(SET):
        if kind == name:
            rng = random.Random(seed * 1000 + index)
            image, words = build(rng)
            data = animated(image) if fmt == "GIF-ANIMATED" else encode(
                image, fmt, **ENCODE_OPTIONS.get(fmt, {}))
            return Sample(f"{kind}-{seed}", data, tuple(words), kind)
    raise KeyError(name)


def samples(seeds=(0,)) -> list:
    """The evaluation set: every kind once per seed."""
    return [make(kind, seed) for seed in seeds for kind, _, _ in SET]


def word_image(words, fmt="PNG", size=(640, 160), px=40, face="sans") -> bytes:
    """A small image of a few words, for quick encoding and cache tests."""
    image = Image.new("RGB", size, WHITE)
    ImageDraw.Draw(image).text((20, size[1] // 2), " ".join(words), font=font(face, px),
                               fill=BLACK, anchor="lm")
    return encode(image, fmt)
