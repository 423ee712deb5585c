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
