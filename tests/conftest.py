"""Shared fixtures: a content folder in tmp_path and settings pointing at it."""

import pytest

from kb.settings import Settings


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
