"""The `kb` command as a user runs it: a real subprocess, exit codes, JSON on stdout."""

import re
import json
import subprocess
import sys

from helpers import write


def kb(settings, *args, env=None):
    cmd = [sys.executable, "-m", "kb.cli", *args]
    if args and args[0] in ("reindex", "search", "check"):
        cmd += ["--content", str(settings.content), "--index", str(settings.index)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def make_content(content):
    write(content, "EPI101/week03.md", """
        ---
        title: Survival analysis
        date: '2020-02-03T00:00:00.000Z'
        tag: EPI101
        ---
        # Censoring

        Right censoring happens when follow-up ends.

        ===

        # Hazard ratio

        Ratio of hazards.
        """)
    write(content, "broken.md", "---\ntitle: [no\n---\n# Still here\n\ncensoring again\n")


def test_reindex_json_then_search_json(settings, content):
    make_content(content)
    done = kb(settings, "reindex", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["decks"] == 2 and report["slides"] == 3 and report["added"] == 2
    assert report["warnings"][0]["file"] == "broken.md"
    assert "Traceback" not in done.stderr

    found = kb(settings, "search", "censoring", "--tag", "epi101", "--json")
    data = json.loads(found.stdout)
    assert data["total"] == 1
    hit = data["hits"][0]
    assert (hit["deck"], hit["anchor"]) == ("EPI101/week03", "0")
    assert re.fullmatch(r"/decks/EPI101/week03\?s=[0-9a-f]{8}#/0", hit["url"])
    assert data["facets"]["tags"] == {"EPI101": 1}


def test_human_output(settings, content):
    make_content(content)
    done = kb(settings, "reindex")
    assert "2 decks, 3 slides" in done.stdout and "warning: broken.md" in done.stderr
    found = kb(settings, "search", "hazard")
    assert re.search(r"/decks/EPI101/week03\?s=[0-9a-f]{8}#/1", found.stdout) and "Hazard ratio" in found.stdout
    assert "<mark>" not in found.stdout


def test_errors_are_messages_not_tracebacks(settings, content):
    missing = kb(settings, "search", "x")
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: No index") and "Traceback" not in missing.stderr
    usage = kb(settings, "search", "x", "--limit", "nope")
    assert usage.returncode == 2
    gone = subprocess.run([sys.executable, "-m", "kb.cli", "reindex", "--content", "/nonexistent/kb"],
                          capture_output=True, text=True)
    assert gone.returncode == 1 and "does not exist" in gone.stderr


def test_check_reports_and_exits_1_on_errors(settings, content):
    make_content(content)
    write(content, "empty-slide.md", "---\ntitle: T\n---\n# a\n\n===\n\n\n")
    write(content, "img.md", "---\ntitle: I\n---\n![x](/api/media/nope)\n")
    done = kb(settings, "check", "--json")
    assert done.returncode == 1
    findings = json.loads(done.stdout)["findings"]
    messages = {(f["file"], f.get("anchor"), f["level"], f["message"].split(" (")[0]) for f in findings}
    assert ("img.md", "0", "error", "missing media file media/nope") in messages
    assert ("empty-slide.md", "1", "warning", "empty slide") in messages
    assert any(f["file"] == "broken.md" and "frontmatter" in f["message"] for f in findings)
    assert any(f["file"] == "img.md" and "no date, tags" in f["message"] for f in findings)


def test_help_has_examples():
    for command in ("reindex", "search", "serve", "check"):
        out = subprocess.run([sys.executable, "-m", "kb.cli", command, "--help"],
                             capture_output=True, text=True).stdout
        assert "Example:" in out and f"kb {command}" in out
