"""The search a web page shows, read forgivingly from its query string, and the URLs that
change one part of it (facet links, filter chips, pages)."""

import re
from dataclasses import dataclass, replace

from kb.search import MAX_PAGE, MAX_QUERY
from kb.urls import search_url

MAX_TAGS = 10
MAX_TAG = 100


def to_int(text, default: int, low: int, high: int) -> int:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high)


@dataclass(frozen=True)
class SearchForm:
    """The search a page shows, read forgivingly from the query string."""

    q: str = ""
    tags: tuple[str, ...] = ()
    deck: str | None = None
    year: str | None = None
    page: int = 1
    per_page: int = 10

    @classmethod
    def from_args(cls, args, per_page: int) -> "SearchForm":
        tags = []
        for tag in args.getlist("tag"):
            tag = " ".join(tag.split())[:MAX_TAG]
            if tag and tag.lower() not in (t.lower() for t in tags):
                tags.append(tag)
        year = (args.get("year") or "").strip()
        return cls(
            q=(args.get("q") or "").replace("\x00", " ")[:MAX_QUERY],
            tags=tuple(tags[:MAX_TAGS]),
            deck=(args.get("deck") or "").strip()[:400] or None,
            year=year if re.fullmatch(r"\d{4}", year) else None,
            page=to_int(args.get("page"), 1, 1, MAX_PAGE),
            per_page=to_int(args.get("per_page") or args.get("limit"), per_page, 1, 100),
        )

    @property
    def active(self) -> bool:
        return bool(self.q.strip() or self.tags or self.deck or self.year)

    @property
    def text(self) -> str:
        """What kb.search gets: the words, plus the year filter as a `year:` term."""
        return f"{self.q} year:{self.year}".strip() if self.year else self.q

    def url(self, **changes) -> str:
        """/search with this form's parameters, some changed (page resets unless given)."""
        changes.setdefault("page", 1)
        form = replace(self, **changes)
        return search_url(form.q, form.tags, form.deck, form.year, form.page)

    def toggle_tag(self, tag: str) -> str:
        low = tag.lower()
        if low in (t.lower() for t in self.tags):
            return self.url(tags=tuple(t for t in self.tags if t.lower() != low))
        return self.url(tags=self.tags + (tag,))

    def toggle_year(self, year: str) -> str:
        return self.url(year=None if self.year == str(year) else str(year))
