"""Deck body → slide texts at the `===` / `--` separators, or at a deck's own regexes."""

import re
import warnings

# A backtick fence's info string has no backtick (```x``` on one line is inline code).
FENCE = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")


def fenced_lines(lines: list[str]) -> list[bool]:
    """For each line, whether it is inside (or delimits) a fenced code block. A fence that
    is never closed is not a fence: its lines split as reveal.js splits them."""
    flags = [False] * len(lines)
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match:
            opener = match.group(1)
            end = next((j for j in range(i + 1, len(lines)) if closes(lines[j], opener)), None)
            if end is not None:
                flags[i:end + 1] = [True] * (end + 1 - i)
                i = end
        i += 1
    return flags


def closes(line: str, opener: str) -> bool:
    match = FENCE.match(line)
    return bool(match) and match.group(1)[0] == opener[0] and \
        len(match.group(1)) >= len(opener) and not line.strip().lstrip(opener[0])


def split_default(body: str) -> list[tuple[int, int, int, str]]:
    """Split on lines that are exactly `===` / `--` (as reveal.js's regexes read them: a
    trailing space makes it text) standing between blank lines, outside code fences.

    Returns (h, v, line offset, markdown) for each slide.
    """
    lines = body.split("\n")
    fenced = fenced_lines(lines) if "```" in body or "~~~" in body else None
    slides, h, v, start = [], 0, 0, 0
    for i in [i for i, line in enumerate(lines) if line == "===" or line == "--"]:
        kind = lines[i]
        if fenced and fenced[i]:
            continue
        blank_before = i == 0 or not lines[i - 1].strip()
        blank_after = i == len(lines) - 1 or not lines[i + 1].strip()
        if not (blank_before and blank_after):
            continue
        slides.append((h, v, start, "\n".join(lines[start:i])))
        h, v = (h + 1, 0) if kind == "===" else (h, v + 1)
        start = i + 1
    slides.append((h, v, start, "\n".join(lines[start:])))
    return slides


# A repeated group that itself repeats or alternates, e.g. (a+)+ or (a|aa)+, can take
# exponential time to fail on a line of text.
NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[*+}|](?:[^()\\]|\\.)*\)[*+{]")


def safe_separator(pattern: str) -> bool:
    """Whether a deck's own separator regex is simple enough to run on its whole text."""
    return len(pattern) <= 100 and not NESTED_REPEAT.search(pattern) \
        and not re.search(r"\\[1-9]|\(\?<?[=!]", pattern)


def split_custom(body: str, separator: str, vertical: str | None) -> list[tuple[int, int, int, str]]:
    """Split as reveal.js's markdown plugin does with the deck's own separator regexes."""
    with warnings.catch_warnings():  # a deck's regex is not ours: Python's hints are noise
        warnings.simplefilter("ignore", FutureWarning)
        pattern = re.compile(f"(?P<h>{separator})" + (f"|(?P<v>{vertical})" if vertical else ""),
                             re.M)
    lines = body.split("\n")
    fenced = fenced_lines(lines)
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line) + 1)
    slides, h, v, pos, start_line = [], 0, 0, 0, 0
    for match in pattern.finditer(body):
        if match.end() == match.start():
            continue
        line_no = body.count("\n", 0, match.start() + (1 if body[match.start()] == "\n" else 0))
        if line_no < len(fenced) and fenced[line_no]:
            continue
        slides.append((h, v, start_line, body[pos : match.start()]))
        h, v = (h + 1, 0) if match.group("h") is not None else (h, v + 1)
        pos = match.end()
        start_line = body.count("\n", 0, pos)
    slides.append((h, v, start_line, body[pos:]))
    return slides
