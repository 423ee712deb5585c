"""A `Problem`: something wrong with the content, reported against a file (and slide)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """Something wrong with the content, reported against a file (and slide)."""

    file: str
    message: str
    anchor: str | None = None
    line: int | None = None
    level: str = "warning"  # or "error"

    def as_dict(self) -> dict:
        out = {"file": self.file, "message": self.message}
        if self.anchor is not None:
            out["anchor"] = self.anchor
        if self.line is not None:
            out["line"] = self.line
        out["level"] = self.level
        return out

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        where += f" #/{self.anchor}" if self.anchor is not None else ""
        return f"{where}: {self.message}"
