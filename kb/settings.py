"""Settings: where the content and the index live, built once and passed down."""

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Everything kb's stages need to know about the installation."""

    content: Path = Path("content")
    index: Path = Path("index")
    per_page: int = 10

    @property
    def media(self) -> Path:
        return self.content / "media"

    @classmethod
    def from_env(cls, content=None, index=None) -> "Settings":
        """Arguments win over KB_CONTENT / KB_INDEX, which win over the defaults."""
        return cls(
            content=Path(content or os.environ.get("KB_CONTENT") or "content"),
            index=Path(index or os.environ.get("KB_INDEX") or "index"),
        )
