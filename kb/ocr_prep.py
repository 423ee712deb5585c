"""Image bytes → the Pillow images that kb's OCR passes read (decoding and preprocessing).

Pillow only: tesseract itself is driven from kb/ocr.py.
"""

import io
import warnings

from PIL import Image, ImageChops, ImageFilter, ImageStat

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
DOWNSCALE_TO = 2000

# Mean distance of pixels from their 3x3 median above which an image counts as grainy.
GRAIN_LEVEL = 12
# A pixel is "light" when even its darkest channel is this bright (white, cream, pale
# yellow; not saturated red or blue).
LIGHT_LEVEL = 200
# Images whose solid dark or saturated areas cover at least this share get a light-text
# pass (text-only slides have none).
BLOCKS_SHARE = 0.01


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
            return on_white(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise Unreadable(f"image too large to OCR: {err}") from None
    except Unreadable:
        raise
    except Exception as err:  # truncated, corrupt, or a mode Pillow cannot convert
        raise Unreadable(f"image could not be read: {err}") from None


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


def without_grain(image: Image.Image) -> Image.Image:
    """A grainy image (a scan, a noisy photo of a slide) with the grain smoothed away.

    Grain is measured as how far pixels are, on average, from the median of their
    neighbourhood: about 0-5 for clean exports (line art up to ~10), 15+ for grain that
    makes tesseract lose the whole page. Clean images are left alone: the median filter
    would eat the strokes of small text.
    """
    grey = image.convert("L")
    grain = ImageStat.Stat(ImageChops.difference(grey, grey.filter(ImageFilter.MedianFilter(3))))
    if grain.mean[0] < GRAIN_LEVEL:
        return image
    return image.filter(ImageFilter.MedianFilter(3))


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


def _thumbnail(image: Image.Image) -> Image.Image:
    thumb = image.copy()
    thumb.thumbnail((256, 256), Image.Resampling.BOX)
    return thumb


def _solid(thumb: Image.Image) -> Image.Image:
    """Darkest channel of a thumbnail with thin dark strokes (lines of text) removed."""
    return darkest_channel(thumb).filter(ImageFilter.MaxFilter(3))


def has_colour_blocks(image: Image.Image) -> bool:
    """Whether the image has solid dark or saturated areas (banners, buttons, dark themes,
    photos) where light text may sit.

    Judged on a shrunken copy in which lines of ordinary dark text thin out to nothing
    and grain averages away; what stays dark there is a block of colour.
    """
    histogram = _solid(_thumbnail(image)).histogram()
    return sum(histogram[:128]) >= BLOCKS_SHARE * sum(histogram)


def light_text(image: Image.Image, big: Image.Image) -> Image.Image:
    """White-ish pixels of `big` (`image` resized) as black ink on white.

    For white captions on photos and white labels on coloured buttons or banners:
    tesseract's own binarisation picks one threshold for the whole image and loses them.
    On a white page only the light pixels inside colour blocks count, or the page itself
    would turn into one black sheet.
    """
    ink = darkest_channel(big).point(lambda v: 0 if v >= LIGHT_LEVEL else 255)
    thumb = _solid(_thumbnail(image))
    if _median(thumb) >= LIGHT_LEVEL:
        # Blocks, with the light text inside them filled in (a closing), as a mask.
        blocks = thumb.filter(ImageFilter.MinFilter(7)).filter(ImageFilter.MaxFilter(7))
        outside = blocks.point(lambda v: 255 if v >= 128 else 0)
        ink = ImageChops.lighter(ink, outside.resize(big.size, Image.Resampling.NEAREST))
    # Specks of light grain would otherwise become thousands of blobs for tesseract to
    # try as letters (minutes per image).
    return ink.filter(ImageFilter.MedianFilter(3))


def _median(grey: Image.Image) -> int:
    histogram, count = grey.histogram(), 0
    for level, n in enumerate(histogram):
        count += n
        if count * 2 >= grey.width * grey.height:
            return level
    return 255


def turn_clockwise(image: Image.Image) -> Image.Image:
    """Turned a quarter clockwise, so y-axis labels (written bottom-to-top) read across."""
    return image.transpose(Image.Transpose.ROTATE_270)
