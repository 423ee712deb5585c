"""A deck's frontmatter → `Meta` (title, date, tags, type, separators), never raising.

YAML gives values of any type; each field takes what makes sense for it, and anything else
(a list as title, a dict as tag, `date: 2021-13-45`) is a warning naming the file and line,
with a fallback, so the deck is still indexed.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import yaml
from frontmatter.default_handlers import YAMLHandler

from kb.problem import Problem

MAX_META_ITEMS = 5000
SCALARS = (str, int, float, bool)


class MetaLoader(yaml.SafeLoader):
    """YAML's safe loader, but dates stay text: parse_date reads them (and can say what is
    wrong with `2021-13-45`, which YAML's own timestamp constructor raises on)."""


MetaLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


@dataclass(frozen=True)
class Meta:
    raw: dict = field(default_factory=dict)
    title: str = ""  # "" when missing or unusable: the reader falls back to a heading
    date: dt.datetime | None = None
    tags: tuple[str, ...] = ()
    type: str = "reveal"
    separator: str | None = None
    vertical: str | None = None


def split_frontmatter(text: str, name: str) -> tuple[Meta, str, int, list[Problem]]:
    """Returns (metadata, body, line number where the body starts, problems)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return Meta(), text, 1, []
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        return Meta(), text, 1, [Problem(name, "frontmatter opened with '---' is never closed; "
                                               "read as slide text", line=1, level="error")]
    block, body = lines[1:end], "\n".join(lines[end + 1 :])
    raw, problems = load_yaml("\n".join(block), name)
    return read_meta(raw, block, name, problems), body, end + 2, problems


def load_yaml(block: str, name: str) -> tuple[dict, list[Problem]]:
    try:
        raw = YAMLHandler().load(block, Loader=MetaLoader) if block.strip() else {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        reason = getattr(err, "problem", None) or "invalid YAML"
        return {}, [Problem(name, f"frontmatter is not valid YAML ({reason}); it was skipped, "
                                  "the slides are indexed", line=line, level="error")]
    except (ValueError, TypeError, OverflowError, RecursionError) as err:  # e.g. `!!int abc`
        return {}, [Problem(name, f"frontmatter has a value YAML cannot build ({err}); it was "
                                  "skipped, the slides are indexed", line=2, level="error")]
    if not isinstance(raw, dict):
        return {}, [Problem(name, "frontmatter is not a YAML mapping of keys; skipped",
                            line=2, level="error")]
    if expanded_size(raw) > MAX_META_ITEMS:  # YAML aliases can nest into a "billion laughs"
        return {}, [Problem(name, "frontmatter expands to too many values "
                                  "(nested YAML aliases?); skipped", line=2, level="error")]
    return raw, []


def expanded_size(value, budget: int = 10_000) -> int:
    """How many values `value` holds once aliases are expanded, counting up to `budget`."""
    stack, count = [value], 0
    while stack and count <= budget:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
    return count


def key_line(block: list[str], key: str) -> int:
    """The file line of `key:` in the frontmatter (its first line is line 2)."""
    pattern = re.compile(rf"""^(['"]?){re.escape(key)}\1\s*:""")
    return next((i + 2 for i, line in enumerate(block) if pattern.match(line)), 2)


def kind_of(value) -> str:
    return {dict: "a mapping", list: "a list"}.get(type(value), f"a {type(value).__name__}")


def read_meta(raw: dict, block: list[str], name: str, problems: list[Problem]) -> Meta:
    """The fields kb uses, each from a value of any type; `problems` gets the warnings."""
    def warn(key: str, message: str) -> None:
        problems.append(Problem(name, f"{key}: {message}", line=key_line(block, key)))

    def text(key: str, default, what: str):
        value = raw.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, SCALARS):
            return str(value).strip()
        warn(key, f"should be text, not {kind_of(value)}; {what}")
        return default

    tag_key = "tags" if "tags" in raw else "tag"
    date_key = "date"
    date, message = parse_date(raw.get(date_key))
    if message:
        warn(date_key, message)
    return Meta(
        raw=raw,
        title=text("title", "", "used the first heading (or the file name) instead"),
        date=date,
        tags=parse_tags(raw.get(tag_key), lambda m: warn(tag_key, m)),
        type=text("type", "reveal", "read as 'reveal'").lower() or "reveal",
        separator=text("separator", None, "used the default '==='"),
        vertical=text("verticalSeparator", None, "used the default '--'"),
    )


def parse_date(value) -> tuple[dt.datetime | None, str | None]:
    """An ISO 8601 date → (naive UTC datetime, None), or (None, why)."""
    if value is None or value == "":
        return None, None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None, (f"{str(value)[:80]!r} is not a date such as 2019-10-23 or "
                          "'2019-10-23T00:00:00.000Z'; the deck is indexed without a date")
    else:
        return None, f"should be a date, not {kind_of(value)}; the deck is indexed without a date"
    if when.tzinfo is not None:
        try:
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
        except OverflowError:
            return None, f"{value!r} is out of range; the deck is indexed without a date"
    return when, None


def parse_tags(raw, warn) -> tuple[str, ...]:
    """Tags from a list or a comma-separated text; numbers count as text, the case of the
    first spelling wins; anything else is a warning and left out."""
    if raw is None:
        return ()
    if isinstance(raw, SCALARS):
        items = str(raw).split(",")
    elif isinstance(raw, list):
        items = raw
    else:
        warn(f"should be a list or comma-separated text, not {kind_of(raw)}; no tags read")
        return ()
    tags = []
    for item in items:
        if not isinstance(item, SCALARS):
            if item is not None:
                warn(f"a tag should be text, not {kind_of(item)}; left out")
            continue
        tag = str(item).strip()
        if tag and tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    return tuple(tags)
