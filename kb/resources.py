"""Where kb's templates and static files are, whether kb runs from a checkout or a wheel.

The checkout keeps templates at its top (`templates/`); pyproject.toml maps that folder into
the wheel as `kb/templates`, so an installed kb carries them inside the package.
"""

from pathlib import Path

PACKAGE = Path(__file__).parent


def templates_dir() -> Path:
    """kb/templates when installed from a wheel; the checkout's templates/ otherwise."""
    packaged = PACKAGE / "templates"
    return packaged if packaged.is_dir() else PACKAGE.parent / "templates"


def static_dir() -> Path:
    return PACKAGE / "static"
