"""OCR corrections: `kb ocr show|set|reset`, the reindex using them, `kb check` about them.

Real tesseract on PNGs made with Pillow, a real index on disk, the CLI through CliRunner.
"""

import io
import json

import pytest
from click.testing import CliRunner
from PIL import Image

from kb import corrections
from kb.cli import main
from kb.index import ocr_cache_path, reindex
from kb.schema import manifest_path
from kb.search import SlideIndex, search
from tests.helpers import text_png, write

SHOWS_PLOT = """
---
title: Survival
tags: EPI101
---

# Survival

![plot](/api/media/km-plot)

===

![blank](/api/media/blank)
"""

OTHER = """
---
title: Other deck
tags: EPI101
---

# Other

Nothing to do with images.
"""


def blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 120), "white").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def site(content, settings):
    write(content, "survival.md", SHOWS_PLOT)
    write(content, "other.md", OTHER)
    write(content, "more/third.md", OTHER.replace("Other deck", "Third deck"))
    (content / "media" / "km-plot").write_bytes(text_png("Kaplan Meier curve"))
    (content / "media" / "blank").write_bytes(blank_png())
    first = reindex(settings, jobs=1)
    assert first.ocr_run == 2
    return settings


def kb(settings, *args, input=None):
    return CliRunner().invoke(main, [*args, "--content", str(settings.content),
                                     "--index", str(settings.index)], input=input)


def found(settings, words: str) -> list[str]:
    """What a reader opened now finds (a server's reader swaps to a new commit in the
    background, which tests/test_matcher.py covers)."""
    return [f"{h.deck}#/{h.anchor}" for h in search(SlideIndex(settings), words).hits]


def test_correction_is_searched_and_only_its_decks_are_redone(site):
    result = kb(site, "ocr", "set", "blank", "--text", "zebra crossing diagram")
    assert result.exit_code == 0, result.output
    assert (site.content / "media" / ".ocr" / "blank.txt").read_text() == "zebra crossing diagram\n"
    report = reindex(site, jobs=1)
    assert (report.updated, report.unchanged, report.added) == (1, 2, 0)
    assert report.ocr_run == 0  # a corrected image is not OCRed at all
    assert report.decks == 3  # the correction file is not taken for a deck
    assert found(site, "zebra") == ["survival#/1"]
    assert found(site, "kaplan") == ["survival#/0"]  # the other image keeps OCR's text

    # Editing the correction redoes that deck again; nothing else.
    kb(site, "ocr", "set", "blank", "--text", "okapi crossing")
    report = reindex(site, jobs=1)
    assert (report.updated, report.unchanged) == (1, 2)
    assert found(site, "okapi") == ["survival#/1"] and found(site, "zebra") == []
    assert reindex(site, jobs=1).updated == 0  # and then it is done


def test_correction_replaces_what_ocr_read(site):
    assert found(site, "kaplan") == ["survival#/0"]
    kb(site, "ocr", "set", "km-plot", "--text", "Survival by treatment arm")
    reindex(site, jobs=1)
    assert found(site, "kaplan") == []
    assert found(site, "treatment arm") == ["survival#/0"]


def test_correction_survives_full_reindex_and_lost_ocr_cache(site):
    kb(site, "ocr", "set", "blank", "--text", "zebra crossing")
    reindex(site, jobs=1)
    ocr_cache_path(site).unlink()
    report = reindex(site, full=True, jobs=1)
    assert report.ocr_run == 1  # km-plot again; the corrected image never
    assert found(site, "zebra") == ["survival#/1"]


def test_reset_goes_back_to_ocr(site):
    kb(site, "ocr", "set", "km-plot", "--text", "quokka")
    reindex(site, jobs=1)
    result = kb(site, "ocr", "reset", "km-plot")
    assert result.exit_code == 0 and "Removed" in result.output
    report = reindex(site, jobs=1)
    assert (report.updated, report.unchanged) == (1, 2)
    assert found(site, "quokka") == [] and found(site, "kaplan") == ["survival#/0"]
    again = kb(site, "ocr", "reset", "km-plot")
    assert again.exit_code == 0 and "no correction" in again.output


def test_manifest_from_before_corrections_still_notices_one(site):
    # Entries written before corrections existed have no correction states.
    data = json.loads(manifest_path(site).read_text())
    for entry in data["decks"].values():
        entry["media"] = {k: v for k, v in entry["media"].items() if ".ocr" not in k}
    manifest_path(site).write_text(json.dumps(data))
    kb(site, "ocr", "set", "blank", "--text", "zebra")
    assert reindex(site, jobs=1).updated == 1
    assert found(site, "zebra") == ["survival#/1"]


def test_set_from_file_and_stdin(site, tmp_path):
    text = tmp_path / "fixed.txt"
    text.write_text("Flamingo legend\r\nsecond line\n", encoding="utf-8")
    assert kb(site, "ocr", "set", "blank", "--file", str(text)).exit_code == 0
    assert corrections.read_correction(site, "blank") == "Flamingo legend\nsecond line\n"
    assert kb(site, "ocr", "set", "blank", "--file", "-", input="pelican\n").exit_code == 0
    reindex(site, jobs=1)
    assert found(site, "pelican") == ["survival#/1"]


def test_show(site):
    result = kb(site, "ocr", "show", "km-plot", "--json")
    data = json.loads(result.output)
    assert "Kaplan" in data["ocr"] and data["correction"] is None
    assert data["decks"] == ["survival"]
    kb(site, "ocr", "set", "km-plot", "--text", "fixed \x1b[31mtext")
    shown = kb(site, "ocr", "show", "/api/media/km-plot")
    assert shown.exit_code == 0
    assert "Correction (what search uses):" in shown.output and "fixed" in shown.output
    assert "\x1b" not in shown.output  # a terminal escape in a correction is not echoed


@pytest.mark.parametrize("args, says", [
    (("set", "no-such-image", "--text", "x"), "No image"),
    (("show", "no-such-image"), "No image"),
    (("reset", "no-such-image"), "No image"),
    (("set", "../survival.md", "--text", "x"), "is not a media id"),
    (("set", "blank"), "exactly one of --text"),
    (("set", "blank", "--text", "a", "--file", "-"), "exactly one of --text"),
])
def test_bad_input_is_one_clear_line(site, args, says):
    result = kb(site, "ocr", *args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in lines[0]
    assert "Traceback" not in result.output
    assert not (site.content / "media" / ".ocr").exists()  # nothing was written


def test_file_not_utf8(site, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9")
    result = kb(site, "ocr", "set", "blank", "--file", str(bad))
    assert result.exit_code == 1 and "not UTF-8" in result.output


def test_check_lists_candidates_and_stale_corrections(site):
    result = json.loads(kb(site, "check", "--json").output)
    messages = {f["file"]: f["message"] for f in result["findings"]}
    assert "kb ocr set blank" in messages["media/blank"]  # no text: a candidate
    assert "survival.md #/1" in messages["media/blank"]  # and where it is shown
    assert "media/km-plot" not in messages  # OCR read it

    kb(site, "ocr", "set", "blank", "--text", "zebra")
    result = json.loads(kb(site, "check", "--json").output)
    assert "media/blank" not in {f["file"] for f in result["findings"]}  # corrected

    (site.content / "media" / "blank").unlink()
    result = kb(site, "check", "--json")
    assert result.exit_code == 1
    stale = [f for f in json.loads(result.output)["findings"]
             if f["file"] == "media/.ocr/blank.txt"]
    assert len(stale) == 1 and stale[0]["level"] == "error"
    assert "kb ocr reset blank" in stale[0]["message"]
    # The way out that check names works although the image is gone.
    assert kb(site, "ocr", "reset", "blank").exit_code == 0
    assert not (site.content / "media" / ".ocr" / "blank.txt").exists()


def test_unreadable_correction_never_stops_a_reindex(site):
    folder = site.content / "media" / ".ocr"
    folder.mkdir()
    (folder / "km-plot.txt").write_bytes(b"\xff\xfe broken")
    report = reindex(site, jobs=1)  # falls back to OCR's text
    assert report.decks == 3
    assert found(site, "kaplan") == ["survival#/0"]
    result = json.loads(kb(site, "check", "--json").output)
    assert any(f["file"] == "media/.ocr/km-plot.txt" and "UTF-8" in f["message"]
               for f in result["findings"])
