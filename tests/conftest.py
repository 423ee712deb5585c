"""Shared fixtures: a content folder in tmp_path and settings pointing at it."""

import textwrap

import pytest

from kb.settings import Settings

# The keys SPEC §5 promises for every hit in the search JSON.
SPEC_HIT_KEYS = {"deck", "anchor", "h", "v", "url", "deck_title", "title", "snippet", "matched",
                 "tags", "date", "score"}


def write(root, rel, text):
    """Write a deck (or any text file) under root, dedenting the text."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def content(tmp_path):
    root = tmp_path / "content"
    (root / "media").mkdir(parents=True)
    return root


@pytest.fixture
def settings(tmp_path, content):
    return Settings(content=content, index=tmp_path / "index")


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a failure: the set-up must bring tesseract and Chromium."""
    import os
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get("CI") and reporter and reporter.stats.get("skipped"):
        session.exitstatus = 1
