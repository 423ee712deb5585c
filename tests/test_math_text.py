"""Slides read as the lecture platform shows them (reveal.js's markdown, then its math plugin,
KaTeX's auto-render): inline `$ … $` with spaces inside is math, and the stray `</br>` that
decks write is a line break. Found by benchmarks/reveal_agreement.py on real decks."""

import re

from helpers import write
from kb.deck import read_deck

DECK = r"""# Functional dependencies

If two tuples agree on $ a_1, a_2, \ldots a_n $ , they agree on $b_1, \ldots b_m$ too.

* title, year $ \rightarrow $ length
* holds when ($ a_1, \ldots, a_n $) then there is a set of values among the ($ b_1, b_m $) alone

Code keeps its dollars: `$ \ldots $` and

```sh
$ echo $HOME $
```

===

## Anomalies

* **Redundancy**</br> repeated in several tuples
* **Update anomalies**</br>We change information in one tuple
"""


def test_inline_math_with_spaces_inside_is_math_and_the_text_around_stays_words(tmp_path):
    write(tmp_path, "fd.md", DECK)
    deck, problems = read_deck(tmp_path / "fd.md", tmp_path)
    slide = deck.slides[0]
    assert slide.html.count('<math display="inline"') == 5
    shown = re.sub(r"<(pre|code)\b.*?</\1>", "", slide.html, flags=re.S)
    assert "\\ldots" not in shown and "\\rightarrow" not in shown  # no LaTeX outside code
    assert "then there is a set of values among the" in slide.body  # not one formula across two
    assert "year → length" in slide.body
    assert "<code>$ \\ldots $</code>" in slide.html and "$ echo $HOME $" in slide.body  # code is code


def test_stray_end_br_is_a_line_break_as_in_a_browser(tmp_path):
    write(tmp_path, "fd.md", DECK)
    deck, _ = read_deck(tmp_path / "fd.md", tmp_path)
    slide = deck.slides[1]
    assert slide.html.count("<br>") == 2
    assert "Update anomalies\nWe change" in slide.body and "anomaliesWe" not in slide.body
