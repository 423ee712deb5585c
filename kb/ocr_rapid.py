"""The second OCR engine: rapidocr (PP-OCR models run by onnxruntime), beside tesseract.

Its models ship inside the rapidocr wheel and are passed to it by path, so it never looks
for them on the network. It is loaded at most once per process (the first image an OCR
worker reads) and kept: loading costs ~0.5 s and ~200 MB, reading an image ~1 s.
If it cannot be imported, `engine()` is None and `missing()` says why; kb then reads
images with tesseract alone.
"""

import importlib.util
from pathlib import Path

# A line rapidocr reads with less confidence (0-1) than this is dropped: below it are
# specks, chart markers and logo fragments read as letters.
LINE_CONF = 0.8
# Words with fewer letters and digits than this are left to tesseract: alone they are
# what junk looks like (a circle read as "O"), and no one searches for them.
MIN_WORD = 2
# rapidocr's text detector works on the image shrunk to this long side. The reader then
# reads each line from the full-size image, so small text survives; 960 reads as well as
# 1280 on slides at two thirds of the time.
DETECT_SIDE = 960
MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
          "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}

_loaded = {}  # "engine" or "missing": this process's engine, loaded once


def installed() -> bool:
    """Whether rapidocr and onnxruntime are installed (a quick look, nothing imported)."""
    return all(importlib.util.find_spec(name) for name in ("rapidocr", "onnxruntime"))


def engine():
    """This process's rapidocr engine, loaded on first use; None if it cannot be."""
    if not _loaded:
        try:
            _loaded["engine"] = _load()
        except Exception as err:  # not installed, or a broken install: tesseract alone
            _loaded["missing"] = f"{type(err).__name__}: {err}"
    return _loaded.get("engine")


def missing() -> str | None:
    """Why this process has no rapidocr engine, or None when it has one."""
    engine()
    return _loaded.get("missing")


def _load():
    import rapidocr  # here, not at the top: it imports numpy, OpenCV and onnxruntime

    models = Path(rapidocr.__file__).parent / "models"
    params = {f"{stage}.model_path": str(models / name) for stage, name in MODELS.items()}
    for stage in MODELS:
        if not (models / MODELS[stage]).is_file():
            raise FileNotFoundError(f"{models / MODELS[stage]} is missing from the wheel")
    params.update({
        "Global.log_level": "error",
        # Slide text is upright: the 0/180 degree classifier only costs time.
        "Global.use_cls": False,
        "Det.limit_type": "max",
        "Det.limit_side_len": DETECT_SIDE,
        # kb runs one OCR worker per core: one thread each.
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })
    return rapidocr.RapidOCR(params=params)


def lines(reader, image) -> list[list[str]]:
    """The lines of words `reader` (from `engine()`) is sure of in a Pillow RGB image."""
    import numpy

    result = reader(numpy.asarray(image))
    found = []
    for text, score in zip(result.txts or (), result.scores or ()):
        if score >= LINE_CONF:
            words = [w for w in text.split() if sum(ch.isalnum() for ch in w) >= MIN_WORD]
            if words:
                found.append(words)
    return found
