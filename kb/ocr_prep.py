"""Image bytes → the Pillow images that kb's OCR passes read (decoding and preprocessing).

Pillow only: tesseract itself is driven from kb/ocr.py.
"""

import io
import warnings

from PIL import Image, ImageChops, ImageFilter

# A slide image larger than this is refused rather than decoded: a small file can declare
# a huge canvas (a "decompression bomb") that would take gigabytes to decode.
MAX_PIXELS = 50_000_000

# tesseract reads best when lower-case letters are ~20-40 px tall; slide images exported
# for the web are often 400-900 px wide with 10-14 px text, so small images are enlarged
# until their long side reaches UPSCALE_TO (at most MAX_UPSCALE times)...
UPSCALE_TO = 1500
MAX_UPSCALE = 3.0
# ...and huge ones (camera photos) are shrunk: their text is big, and tesseract's time
# grows with the pixel count.
DOWNSCALE_TO = 4000

# A pixel is "light" when even its darkest channel is this bright (white, cream, pale
# yellow; not saturated red or blue).
LIGHT_LEVEL = 200
# A page whose median pixel is at least this light is a dark-on-white slide: it gets no
# light-text pass.
LIGHT_PAGE = 190


class Unreadable(Exception):
    """The bytes cannot be decoded into an image that kb is willing to OCR."""


def decode(data: bytes) -> Image.Image:
    """The first frame of the image as RGB, with any transparency composited onto white."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Unreadable(f"image too large to OCR: {width}x{height} pixels "
                                 f"(limit {MAX_PIXELS // 1_000_000} megapixels)")
            image.seek(0)  # animations: the first frame is what the slide shows first
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise Unreadable(f"image too large to OCR: {err}") from None
    except Unreadable:
        raise
    except Exception as err:  # truncated, corrupt, or a format Pillow cannot decode
        raise Unreadable(f"image could not be read: {err}") from None
    return on_white(image)


def on_white(image: Image.Image) -> Image.Image:
    """RGB with transparency composited onto white.

    Transparent pixels often store black (RGB 0,0,0): dropping alpha instead would put
    dark lettering on a black page.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit and float grey
        low, high = image.getextrema()
        span = (high - low) or 1
        image = image.point(lambda v: (v - low) * 255 / span).convert("L")
    rgba = image.convert("RGBA")
    page = Image.new("RGBA", rgba.size, "white")
    page.alpha_composite(rgba)
    return page.convert("RGB")


def resize_for_ocr(image: Image.Image) -> Image.Image:
    """Enlarge small images (and shrink huge ones) to the size tesseract reads best."""
    long_side = max(image.size)
    if long_side < UPSCALE_TO:
        scale = min(MAX_UPSCALE, UPSCALE_TO / long_side)
    elif long_side > DOWNSCALE_TO:
        scale = DOWNSCALE_TO / long_side
    else:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def darkest_channel(image: Image.Image) -> Image.Image:
    """Per pixel, the minimum of R, G and B: high only for white-ish pixels."""
    red, green, blue = image.split()
    return ImageChops.darker(ImageChops.darker(red, green), blue)


def without_tints(image: Image.Image) -> Image.Image:
    """Greyscale from each pixel's brightest channel: tinted fills turn near-white and only
    dark (black, grey, dark-coloured) ink stays dark."""
    red, green, blue = image.split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def page_is_light(image: Image.Image) -> bool:
    """Whether the page is white-ish (a plain slide) rather than dark, coloured or a photo.

    Judged on the median of a shrunken copy, so that grain and JPEG noise on a white
    page do not make it look dark.
    """
    thumb = image.copy()
    thumb.thumbnail((256, 256), Image.Resampling.BOX)
    histogram = darkest_channel(thumb).histogram()
    half, count = sum(histogram) / 2, 0
    for level, n in enumerate(histogram):
        count += n
        if count >= half:
            return level >= LIGHT_PAGE
    return True


def light_text(image: Image.Image) -> Image.Image:
    """White-ish pixels as black ink on white, everything else blank.

    For white captions on photos and white labels on coloured buttons or banners:
    tesseract's own binarisation picks one threshold for the whole image and loses them.
    """
    ink = darkest_channel(image).point(lambda v: 0 if v >= LIGHT_LEVEL else 255)
    # Specks of light grain would otherwise become thousands of blobs for tesseract to
    # try as letters (minutes per image).
    return ink.filter(ImageFilter.MedianFilter(3))


def turn_clockwise(image: Image.Image) -> Image.Image:
    """Turned a quarter clockwise, so y-axis labels (written bottom-to-top) read across."""
    return image.transpose(Image.Transpose.ROTATE_270)
