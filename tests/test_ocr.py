"""OCR: real tesseract and rapidocr on slides rendered by tests/images.py, their merge,
bad inputs, the cache, jobs, and kb without rapidocr."""

import io
import re
import struct
import zlib

import pytest
from PIL import Image

import images
from kb import ocr, ocr_rapid
from kb.check import check
from kb.index import reindex

ENCODINGS = ["PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"]
MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp",
         "TIFF": "image/tiff", "BMP": "image/bmp"}
WORDS = ["hazard", "ratio", "censoring", "cohort"]
SLIDES = ["clean", "light-on-dark", "transparent", "small", "chart", "diagram",
          "photo-caption", "noisy", "tiny-chart"]
SEEDS = {"noisy": 2}  # seed 2's grain hides the whole page from tesseract unless smoothed
HARD = [(kind, seed) for kind in images.HARD for seed in (0, 1)]


def sample(kind):
    return images.make(kind, SEEDS.get(kind, 0))


def recall(slide, text):
    want = images.words_in(" ".join(slide.words))
    return len(want & images.words_in(text)) / len(want), sorted(want - images.words_in(text))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Generated slides and small word images as files (no extensions, as in media/)."""
    root = tmp_path_factory.mktemp("media")
    files = {}
    for kind in SLIDES:
        slide = sample(kind)
        files[kind] = root / slide.name
        files[kind].write_bytes(slide.data)
    for kind, seed in HARD:
        slide = images.make(kind, seed)
        files[slide.name] = root / slide.name
        files[slide.name].write_bytes(slide.data)
    for fmt in ENCODINGS:
        files[fmt] = root / f"words-{fmt.lower()}"
        files[fmt].write_bytes(images.word_image(WORDS, fmt))
    animation = Image.open(io.BytesIO(images.word_image(WORDS))).convert("RGB")
    files["animated"] = root / "words-animated"
    files["animated"].write_bytes(images.animated(animation))
    return files


@pytest.fixture(scope="module")
def read(folder, tmp_path_factory):
    """Everything in `folder` OCRed once, in two processes (each loads rapidocr once)."""
    cache = tmp_path_factory.mktemp("index") / "ocr.sqlite"
    done = []
    batch = ocr.ocr_files(folder.values(), cache, jobs=2, progress=done.append)
    files = set(folder.values())  # photo-caption-0 is both a slide kind and a hard case
    assert batch.ran == len(files) and batch.cached == 0 and batch.warning is None
    assert sum(done) == len(files)
    return {key: batch.results[path] for key, path in folder.items()}


# --- words recovered ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["clean", "light-on-dark", "transparent", "diagram"])
def test_every_word_of_clear_slides(read, kind):
    result = read[kind]
    assert result.problem is None
    assert recall(sample(kind), result.text) == (1.0, [])


@pytest.mark.parametrize("kind", ["small", "chart", "photo-caption", "noisy"])
def test_most_words_of_hard_slides(read, kind):
    found, missed = recall(sample(kind), read[kind].text)
    assert found >= 0.9, missed


def test_tiny_chart(read):
    """A chart exported at 500x320: labels 7-10 px tall (plain tesseract reads ~40%)."""
    found, missed = recall(sample("tiny-chart"), read["tiny-chart"].text)
    assert found >= 0.8, missed


def test_chart_rotated_axis_label_and_ticks(read):
    slide = images.make("chart")
    text = images.words_in(read["chart"].text)
    # builder order: title(3) ticks(6) months(5) x label(2) y label(2) legend(1)
    y_label = slide.words[16:18]
    assert set(y_label) <= text
    assert {"0.2", "0.4", "0.6", "0.8", "1.0", "12", "24", "36", "48", "60"} <= text


def test_hard_cases(read):
    """Outlined captions on photos, hand-lettered capitals on colour, coloured line labels,
    accented words: what tesseract alone misses on real slides (it reads ~65% of these)."""
    found = total = 0
    missed = []
    for kind, seed in HARD:
        slide = images.make(kind, seed)
        want = images.words_in(" ".join(slide.words))
        got = want & images.words_in(read[slide.name].text)
        found, total = found + len(got), total + len(want)
        missed += sorted(want - got)
    assert found / total >= 0.97, missed
    accented = images.make("accented", 0).name
    assert {"primærnøglen", "informação"} <= images.words_in(read[accented].text)


def tokens(text):
    """Every run of letters and digits, of any length, case-folded (what the index sees)."""
    return set(re.findall(r"[^\W_]+", text.casefold()))


def test_merge_adds_words_and_no_short_junk(read, monkeypatch):
    """The same images read by tesseract alone (rapidocr switched off in this process) and
    by both engines (the workers of `read`): rapidocr adds words of the slides, and no
    token of one or two characters that is not on them."""
    monkeypatch.setattr(ocr_rapid, "_loaded", {"missing": "switched off for this test"})
    added_words, junk = set(), []
    for kind in images.HARD:
        slide = images.make(kind, 0)
        alone = ocr.ocr_image(slide.data).text
        both = read[slide.name].text
        truth = tokens(" ".join(slide.words))
        added_words |= (images.words_in(both) - images.words_in(alone)) & truth
        junk += [t for t in tokens(both) - tokens(alone) if len(t) <= 2 and t not in truth]
    assert len(added_words) >= 10, added_words
    assert junk == []


def test_generated_slides_are_deterministic():
    first, again = images.samples((0,)), images.samples((0,))
    assert [s.data for s in first] == [s.data for s in again]
    assert [s.words for s in first] == [s.words for s in again]
    assert len({s.data for s in first}) == len(first)


def test_text_keeps_the_slide_lines_in_order(read):
    """The first line is the slide title (kb uses it to title image-only slides)."""
    slide = images.make("clean")
    lines = read["clean"].text.splitlines()
    assert lines[0].split() == list(slide.words[:3])


@pytest.mark.parametrize("fmt", ENCODINGS + ["animated"])
def test_each_encoding(read, fmt):
    assert read[fmt].problem is None
    assert images.words_in(read[fmt].text) >= set(WORDS)


def test_sixteen_bit_greyscale():
    image = Image.open(io.BytesIO(images.word_image(WORDS))).convert("L")
    deep = image.point(lambda v: v * 257, "I").convert("I;16")
    out = io.BytesIO()
    deep.save(out, "PNG")
    result = ocr.ocr_image(out.getvalue())
    assert result.problem is None and images.words_in(result.text) >= set(WORDS)


# --- types and bad inputs -----------------------------------------------------------

@pytest.mark.parametrize("fmt", ENCODINGS)
def test_sniff_type(fmt):
    assert ocr.sniff_type(images.word_image(WORDS, fmt)) == MIMES[fmt]


@pytest.mark.parametrize("data", [
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>x</text></svg>',
    b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- made by hand -->\n<!DOCTYPE svg>\n<svg>',
    b"  \n<SVG width='1'/>",
])
def test_sniff_svg(data):
    assert ocr.sniff_type(data) == "image/svg+xml"


@pytest.mark.parametrize("data", [b"", b"BMI by cohort", b"<html><svg></svg></html>",
                                  b"\x00" * 64, b"%PDF-1.7", "naïve".encode()])
def test_sniff_garbage(data):
    assert ocr.sniff_type(data) is None


def png_header(width, height):
    """A PNG that declares a canvas of width x height and holds almost nothing."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def lone_pixels(width, height):
    out = io.BytesIO()
    Image.new("1", (width, height), 1).save(out, "PNG")
    return out.getvalue()


PNG = images.word_image(WORDS)
JPEG = images.word_image(WORDS, "JPEG")


@pytest.mark.parametrize("data", [
    b"",                                    # zero bytes
    b"lecture notes, not a picture",        # not an image
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",  # served, never OCRed
    PNG[:len(PNG) // 2],                    # truncated PNG
    JPEG[:len(JPEG) // 3],                  # truncated JPEG
    PNG[:8] + b"\x00" * 200,                # PNG signature, garbage after it
    b"GIF89a" + b"\xff" * 20,               # GIF signature, garbage after it
    png_header(100_000, 100_000),           # decompression bomb (Pillow's own limit)
    lone_pixels(8000, 7000),                # 56 MP: over kb's limit, under Pillow's
], ids=["empty", "text", "svg", "truncated-png", "truncated-jpeg", "bad-png", "bad-gif",
        "bomb", "over-limit"])
def test_bad_input_gives_a_problem(data):
    result = ocr.ocr_image(data)
    assert result.problem and result.text == ""


def test_timeout_gives_a_problem(monkeypatch):
    monkeypatch.setattr(ocr, "IMAGE_TIMEOUT", 0.05)
    result = ocr.ocr_image(images.make("clean").data)
    assert result.problem and "OCR stopped" in result.problem


# --- cache and processes ------------------------------------------------------------

def test_cache_runs_each_content_once(tmp_path):
    one, same, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    one.write_bytes(PNG)
    same.write_bytes(PNG)
    other.write_bytes(images.word_image(["survival", "baseline"]))
    cache = tmp_path / "index" / "ocr.sqlite"
    done = []
    first = ocr.ocr_files([one, same, other], cache, progress=done.append)
    assert (first.ran, first.cached, sum(done)) == (2, 0, 3)
    assert first.results[one] == first.results[same]
    assert images.words_in(first.results[other].text) >= {"survival", "baseline"}
    done.clear()
    again = ocr.ocr_files([one, same, other], cache, progress=done.append)
    assert (again.ran, again.cached, sum(done)) == (0, 3, 3)
    assert again.results == first.results


def test_cache_key_includes_ocr_version(tmp_path, monkeypatch):
    image = tmp_path / "a"
    image.write_bytes(b"not an image")  # no tesseract needed
    cache = tmp_path / "ocr.sqlite"
    assert ocr.ocr_files([image], cache).ran == 1
    assert ocr.ocr_files([image], cache).cached == 1
    monkeypatch.setattr(ocr, "OCR_VERSION", ocr.OCR_VERSION + "-next")
    assert ocr.ocr_files([image], cache).ran == 1


def test_missing_file_and_missing_tesseract(tmp_path, monkeypatch):
    image = tmp_path / "a"
    image.write_bytes(PNG)
    gone = tmp_path / "gone"
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    cache = tmp_path / "ocr.sqlite"
    batch = ocr.ocr_files([image, gone], cache)
    assert "cannot read image" in batch.results[gone].problem
    assert batch.results[image].problem.startswith(ocr.TRANSIENT)
    # a missing tesseract is not remembered: once installed, the image is read
    monkeypatch.undo()
    batch = ocr.ocr_files([image], cache)
    assert batch.ran == 1 and images.words_in(batch.results[image].text) >= set(WORDS)


def test_two_jobs_read_the_same_as_one(folder, read, tmp_path):
    keys = ["PNG", "GIF", "animated", "small"]
    batch = ocr.ocr_files([folder[k] for k in keys], tmp_path / "ocr.sqlite", jobs=1)
    assert batch.ran == len(keys)
    assert {k: batch.results[folder[k]] for k in keys} == {k: read[k] for k in keys}


# --- without rapidocr ---------------------------------------------------------------

@pytest.fixture
def broken_rapidocr(tmp_path, monkeypatch):
    """A rapidocr that fails to import, first on the path that spawned OCR workers get
    from this process (as a broken onnxruntime or a wheel missing for the platform would)."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "rapidocr.py").write_text('raise ImportError("onnxruntime is broken (test)")\n')
    monkeypatch.syspath_prepend(str(fake))
    return fake


def test_without_rapidocr_tesseract_reads_alone_until_it_works(tmp_path, broken_rapidocr):
    image = tmp_path / "a"
    image.write_bytes(images.make("clean").data)
    cache = tmp_path / "ocr.sqlite"
    batch = ocr.ocr_files([image], cache)
    assert "rapidocr" in batch.warning and "onnxruntime is broken" in batch.warning
    assert recall(images.make("clean"), batch.results[image].text) == (1.0, [])
    # Read alone, it is cached apart: once rapidocr imports again, the image is read again.
    (broken_rapidocr / "rapidocr.py").unlink()
    again = ocr.ocr_files([image], cache)
    assert again.ran == 1 and again.warning is None


def test_reindex_and_check_without_rapidocr_warn_once(settings, content, broken_rapidocr):
    names = ["survival", "baseline", "exposure"]
    deck = ["---", "title: Pictures", "---", ""]
    for i, word in enumerate(names):
        (content / "media" / f"img{i}").write_bytes(images.word_image([word, "cohort"]))
        deck += [f"![slide](/api/media/img{i})", "", "===" if i < 2 else "", ""]
    (content / "pictures.md").write_text("\n".join(deck))
    report = reindex(settings, jobs=2)
    about_rapidocr = [w for w in report.warnings if "rapidocr" in w.message]
    assert len(about_rapidocr) == 1 and report.images == 3 and report.ocr_run == 3
    assert report.slides == 3
    # kb check, which reads the images again or from the cache, says it once too
    assert [p.file for p in check(settings) if "rapidocr" in p.message] == ["OCR"]
