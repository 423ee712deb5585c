"""The deck reader against every rule of docs/deck-format.md, with small decks written here."""

import datetime as dt

from helpers import write
from kb.deck import deck_id, find_deck_files, read_deck
from kb.urls import slide_url


def read(content, text, name="deck.md"):
    path = write(content, name, text)
    return read_deck(path, content)


def anchors(deck):
    return [s.anchor for s in deck.slides]


def test_frontmatter_keys_and_iso_date(content):
    deck, problems = read(content, """
        ---
        title: Cohort studies
        date: '2019-10-23T00:00:00.000Z'
        type: reveal
        tag:
          - EPI101
          - cohorts
        room: B12
        ---
        # First
        """)
    assert problems == []
    assert deck.title == "Cohort studies"
    assert deck.date == dt.datetime(2019, 10, 23)
    assert deck.tags == ("EPI101", "cohorts")
    assert deck.meta["room"] == "B12"


def test_yaml_date_and_comma_tags(content):
    deck, _ = read(content, """
        ---
        date: 2021-03-04
        tags: EPI101, survival ,  EPI101
        ---
        # Hello
        """)
    assert deck.date == dt.datetime(2021, 3, 4)
    assert deck.tags == ("EPI101", "survival")


def test_broken_frontmatter_is_a_warning_and_body_is_kept(content):
    deck, problems = read(content, """
        ---
        title: [unclosed
        date: x
        ---
        # Kaplan–Meier curves

        The survival function.
        """)
    assert len(problems) == 1
    assert "frontmatter is not valid YAML" in problems[0].message
    assert problems[0].file == "deck.md" and problems[0].line >= 2
    assert deck.title == "Kaplan–Meier curves"  # falls back to the first heading
    assert "survival function" in deck.slides[0].body


def test_title_falls_back_to_file_name(content):
    deck, _ = read(content, "just some words\n", name="week01/intro-notes.md")
    assert deck.title == "intro-notes"
    assert deck.id == "week01/intro-notes"


def test_horizontal_and_vertical_positions(content):
    deck, _ = read(content, """
        # A

        --

        # A1

        --

        # A2

        ===

        # B

        ===

        # C

        --

        # C1
        """)
    assert anchors(deck) == ["0", "0/1", "0/2", "1", "2", "2/1"]
    assert [s.title for s in deck.slides] == ["A", "A1", "A2", "B", "C", "C1"]
    assert [(s.h, s.v) for s in deck.slides][-1] == (2, 1)


def test_separators_need_blank_lines_and_are_exactly_the_line(content):
    deck, _ = read(content, "one\n\n===\n\ntwo\n--\nstill two\n\n--\n\nthree\n\n=== \n\nstill three\n")
    assert anchors(deck) == ["0", "1", "1/1"]  # `=== ` (trailing space) is text, as in reveal.js
    assert "still two" in deck.slides[1].body and "still three" in deck.slides[2].body


def test_a_deck_setting_one_separator_gets_reveal_mds_default_for_the_other(content):
    deck, _ = read(content, "---\nseparator: '^~~~$'\n---\n# a\n\n----\n\n# a down\n~~~\n# b\n")
    assert anchors(deck) == ["0", "0/1", "1"]


def test_notes_start_at_a_line_initial_note_and_asides_are_notes(content):
    deck, _ = read(content, """
        # One

        text  note: not notes

          note: indented is text in reveal.js

        <aside class="notes">aside words</aside>

        Note: spoken words
        """)
    slide = deck.slides[0]
    assert "indented is text" in slide.body and "spoken" not in slide.body
    assert "spoken words" in slide.notes and "aside words" in slide.notes and "aside" not in slide.body


def test_setext_heading_is_not_a_separator(content):
    deck, _ = read(content, "Survival analysis\n===\n\nTime to event.\n\n===\n\nNext\n")
    assert anchors(deck) == ["0", "1"]
    assert deck.slides[0].title == "Survival analysis"
    assert "===" not in deck.slides[0].body


def test_setext_level_two_heading_is_a_title(content):
    deck, _ = read(content, "Hazards\n---\n\nratio\n")
    assert deck.slides[0].title == "Hazards"


def test_fenced_code_never_splits(content):
    deck, _ = read(content, """
        # SQL

        ```sql
        SELECT 1;

        --

        SELECT 2;

        ===

        ```

        ~~~
        --
        ~~~

        ===

        # After
        """)
    assert anchors(deck) == ["0", "1"]
    assert "SELECT 2" in deck.slides[0].body


def test_reveal_md_separator_overrides(content):
    deck, _ = read(content, """
        ---
        separator: '^---$'
        verticalSeparator: '^\\+\\+\\+$'
        ---
        # One
        ---
        # Two
        +++
        # Two down
        """)
    assert anchors(deck) == ["0", "1", "1/1"]
    assert deck.slides[2].title == "Two down"


def test_invalid_separator_regex_falls_back(content):
    deck, problems = read(content, "---\nseparator: '(['\n---\n# a\n\n===\n\n# b\n")
    assert anchors(deck) == ["0", "1"]
    assert any("separator regex" in p.message for p in problems)


def test_speaker_notes_in_any_case(content):
    deck, _ = read(content, """
        # Slide

        Visible words.

        - Note: this line is visible
        **Note**: so is this

        NOTES: spoken only
        more spoken

        ===

        note: only notes here

        ===

        Notes:
        third notes
        """)
    first = deck.slides[0]
    assert "Visible words" in first.body and "this line is visible" in first.body
    assert "so is this" in first.body
    assert "spoken" not in first.body
    assert first.notes.startswith("spoken only") and "more spoken" in first.notes
    assert deck.slides[1].notes == "only notes here" and deck.slides[1].body == ""
    assert "third notes" in deck.slides[2].notes


def test_html_comments_are_not_text(content):
    deck, _ = read(content, """
        <!-- .slide: data-background="#003d73"
             data-state="dark" -->
        # Confounding <!-- .element: class="fragment" -->

        A third variable. <!-- secret words -->
        """)
    slide = deck.slides[0]
    assert slide.title == "Confounding"
    assert "slide" not in slide.body and "secret" not in slide.body and "003d73" not in slide.body


def test_titles_atx_with_inline_code_and_fallbacks(content):
    deck, _ = read(content, """
        ## Guardrails for `Task.WhenAll`  

        ===

        #NoSpace is a paragraph

        ===

        | a | b |
        |---|---|
        | 1 | 2 |
        """)
    assert deck.slides[0].title == "Guardrails for Task.WhenAll"
    assert deck.slides[1].title == "#NoSpace is a paragraph"
    assert deck.slides[2].title == "a b"


def test_images_resolve_to_media_and_relative_files(content):
    (content / "media" / "2019-10-23t032650.743z").write_bytes(b"\x89PNG\r\n\x1a\n")
    (content / "figs").mkdir()
    (content / "figs" / "km.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    deck, problems = read(content, """
        ![image.png](/api/media/2019-10-23t032650.743z)

        --

        ![Kaplan-Meier curve](../figs/km.png "A title")
        <img data-src="../figs/km.png" alt="second copy" height=300 />

        --

        ![remote](https://example.org/kitten.png)

        --

        ![gone](/api/media/does-not-exist)
        """, name="week/deck.md")
    image_slide, rel_slide, remote, missing = deck.slides
    assert image_slide.image_only and image_slide.images[0].media_id == "2019-10-23t032650.743z"
    assert image_slide.images[0].path == content / "media" / "2019-10-23t032650.743z"
    assert image_slide.alt == ""  # a file name is not alt text worth searching
    assert rel_slide.images[0].path == (content / "figs" / "km.png").resolve()
    assert rel_slide.alt == "Kaplan-Meier curve second copy"
    assert remote.images[0].path is None
    messages = [(p.anchor, p.message) for p in problems]
    assert ("0/2", "remote image 'https://example.org/kitten.png' is not fetched (not OCRed)") in messages
    assert any(a == "0/3" and "missing media file media/does-not-exist" in m for a, m in messages)


def test_image_paths_cannot_escape_content(content, tmp_path):
    (tmp_path / "secret.png").write_bytes(b"x")
    deck, problems = read(content, "![x](../secret.png)\n\n--\n\n![y](/api/media/..%2F..%2Fsecret.png)\n")
    assert all(i.path is None for s in deck.slides for i in s.images)
    assert len(problems) == 2


def test_paths_and_urls_are_not_words(content):
    deck, _ = read(content, """
        # Injection

        Read [the paper](https://example.org/kitten-drop-table.html) and <https://x.org/cat>.
        See https://example.com/kitten/about too.
        ![](./img/sql-injection-kitteh.jpeg)
        """)
    body = deck.slides[0].body
    assert "kitten" not in body and "kitteh" not in body and "example" not in body
    assert "the paper" in body


def test_markdown_syntax_is_not_text(content):
    deck, _ = read(content, """
        # Terms

        A **hazard** is _instantaneous_; ***both*** and `max_retries` with
        <span style="color:salmon">salmon words</span> &amp; `np.linalg.norm`.
        """)
    body = deck.slides[0].body
    assert "**" not in body and "_instantaneous_" not in body and "style" not in body
    assert "hazard" in body and "instantaneous" in body and "both" in body
    assert "salmon words & " in body and "max_retries" in body and "np.linalg.norm" in body


def test_crlf_and_bom(content):
    path = content / "win.md"
    path.write_bytes("\ufeff---\r\ntitle: Windows\r\n---\r\n# A\r\n\r\n===\r\n\r\n# B\r\n".encode())
    deck, problems = read_deck(path, content)
    assert problems == [] and deck.title == "Windows"
    assert [s.title for s in deck.slides] == ["A", "B"]


def test_binary_and_invalid_utf8_are_skipped_with_a_warning(content):
    binary = content / "photo.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    latin = content / "latin.txt"
    latin.write_bytes(b"# ok\n\ncaf\xe9\n")
    deck, problems = read_deck(binary, content)
    assert deck is None and "not a text file" in problems[0].message
    deck, problems = read_deck(latin, content)
    assert deck is None and "UTF-8" in problems[0].message and problems[0].line == 3


def test_non_reveal_type_is_one_document(content):
    deck, _ = read(content, "---\ntype: article\n---\n# Reading\n\n===\n\nstill the same doc\n")
    assert anchors(deck) == ["0"]
    assert "still the same doc" in deck.slides[0].body


def test_empty_file_and_empty_slides(content):
    deck, problems = read(content, "")
    assert problems == [] and anchors(deck) == ["0"]
    deck, _ = read(content, "# a\n\n--\n\n===\n\n# b\n", name="e.md")
    assert anchors(deck) == ["0", "0/1", "1"]
    assert deck.slides[1].body == ""


def test_deck_files_and_ids(content):
    for name in ("a.md", "b/c.markdown", "b/d.txt", "media/x.md", ".hidden/y.md", "notes.pdf"):
        write(content, name, "x")
    files = find_deck_files(content)
    assert [deck_id(p, content) for p in files] == ["a", "b/c", "b/d"]


def test_slide_url_is_reveal_hash():
    assert slide_url("courses/EPI101/week02", "2/1") == "/decks/courses/EPI101/week02#/2/1"
    assert slide_url("a b", "3", "hazard ratio") == "/decks/a%20b?q=hazard+ratio#/3"


def test_underscores_inside_words_are_not_emphasis(content):
    deck, _ = read(content, "# The np.nan_to_num trick\n\nSet max_retries and base_delay; _really_ do.\n")
    slide = deck.slides[0]
    assert slide.title == "The np.nan_to_num trick"
    assert "max_retries and base_delay; really do." in slide.body


def test_images_inside_code_are_text_not_images(content):
    deck, problems = read(content, """
        Embed with `![alt](/api/media/some-id)` or `<img src="pic.png">`.

        ```python
        url = "![x](/api/media/nope)"
        ```
        """)
    slide = deck.slides[0]
    assert slide.images == () and problems == []
    assert "![alt](/api/media/some-id)" in slide.body and "/api/media/nope" in slide.body


def test_multiline_img_tag_is_an_image_not_text(content):
    (content / "media" / "fig").write_bytes(b"\x89PNG\r\n\x1a\n")
    deck, _ = read(content, '<img\n  src="/api/media/fig"\n  alt="">\n')
    slide = deck.slides[0]
    assert slide.image_only and slide.body == "" and slide.images[0].media_id == "fig"


def test_backticks_closed_on_one_line_do_not_open_a_fence(content):
    deck, _ = read(content, "```np.nan``` is a float\n\n===\n\n# two\n\n===\n\n# three\n")
    assert anchors(deck) == ["0", "1", "2"]


def test_type_is_case_insensitive(content):
    deck, _ = read(content, "---\ntype: Reveal\n---\n# a\n\n===\n\n# b\n")
    assert anchors(deck) == ["0", "1"]


def test_separator_regex_that_could_backtrack_forever_is_refused(content):
    deck, problems = read(content, "---\nseparator: '(a+)+$'\n---\n# a\n\n===\n\n" + "a" * 60 + "b\n")
    assert anchors(deck) == ["0", "1"]
    assert "too complex" in problems[0].message


def test_media_symlink_out_of_media_is_not_followed(content, tmp_path):
    (tmp_path / "outside.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (content / "media" / "escape").symlink_to(tmp_path / "outside.png")
    deck, problems = read(content, "![x](/api/media/escape)\n")
    assert deck.slides[0].images[0].path is None
    assert "links outside media/" in problems[0].message


def test_yaml_alias_bomb_is_skipped(content):
    rows = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    deck, problems = read(content, "---\n" + "\n".join(rows) + "\ntitle: *i\n---\n# Laughs\n")
    assert deck.title == "Laughs" and "too many values" in problems[0].message
