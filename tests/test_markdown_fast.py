"""kb.markdown_ext.PlainText: text that no inline pattern can match skips Python-Markdown's
inline pass, and the HTML is exactly what Python-Markdown alone writes."""

import random

import markdown

from kb.markdown_ext import INLINE_PATTERNS, converter

PIECES = ["word", "Über", "x1", " ", " ", "\n", "\n\n", "  \n", "*", "**", "_", "__", "`", "``",
          "[", "]", "(", ")", "![", "<", ">", "&", "&amp;", "&#42;", "\\", "!", "- ", "1. ",
          "# ", "| a | b |\n|---|---|\n| c | d |\n", "> ", "    ", "<b>", "</b>", "http://x.org",
          "<http://x.org>", "<a@b.c>", "~", "$", ":", "\x02", "'", '"']


def test_the_inline_patterns_are_the_ones_plaintext_knows():
    md = converter()
    assert tuple(item.name for item in md.inlinePatterns._priority) == INLINE_PATTERNS, (
        "Python-Markdown's inline patterns changed: check INLINE_TRIGGER against each of them")
    assert "kb-plain-text" in md.treeprocessors


def test_same_html_as_python_markdown_alone():
    plain = markdown.Markdown(extensions=["tables", "sane_lists", "fenced_code"],
                              output_format="html")
    fast = converter()
    rng = random.Random(7)
    skipped = 0
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30)))
        assert fast.reset().convert(text) == plain.reset().convert(text), repr(text)
        skipped += not any(c in text for c in "`\\[<&*_\x02") and "  \n" not in text
    assert skipped > 50  # the fast path was taken, not only the slow one


SLIDE_LINES = ["# Heading", "## Sub *heading*", "Some text with **bold**, `code` and a [link](http://x.org).",
               "- item one", "- item two with _em_", "  - nested", "1. first", "2. second",
               "| a | b |\n|---|---|\n| 1 | 2 |", "```python\nprint('x')\n```", "![chart](media/a.png)",
               "<div class='col1'>\n\nLeft *side*\n\n</div>", "<span class='big'>big</span> words",
               "> a quote", "Line with &amp; entity and 3 < 4", "<u>underlined</u> and <sub>2</sub>",
               "Über naïve café", "<script>alert(1)</script>", "<b>bold</b><i>it</i>"]


def test_render_without_the_tree_pass_is_the_same_for_wellformed_slides(monkeypatch):
    """kb.render skips its first tree pass when the HTML has none of what that pass acts on;
    for HTML Python-Markdown and well-formed decks write, the result is what it was."""
    import re

    import kb.render as render
    rng = random.Random(11)
    slides = ["\n\n".join(rng.sample(SLIDE_LINES, rng.randint(1, 6))) for _ in range(400)]
    fast = [render.render_slide(s) for s in slides]
    skipping = sum(not render.NEEDS_TREE.search(render.to_html(s)[0]) for s in slides)
    monkeypatch.setattr(render, "NEEDS_TREE", re.compile(""))  # every slide takes the pass
    assert [render.render_slide(s) for s in slides] == fast
    assert skipping > 100  # the shortcut was taken, not only the pass
