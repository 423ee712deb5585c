"""The `kb` command: exit codes, JSON on stdout, one-line errors. Run in-process through
click's CliRunner (the code a user's `kb` runs), and once as a real subprocess."""

import re
import json
import os
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from helpers import serve_kb, write


def kb(settings, *args):
    """`kb ARGS` (with --content and --index of `settings`) in-process; the click Result."""
    if args and args[0] in ("reindex", "search", "check", "serve"):
        args = [*args, "--content", str(settings.content), "--index", str(settings.index)]
    return CliRunner().invoke(main, list(args))


def one_line_error(result, code: int = 1) -> str:
    """The result is exit `code` with exactly one line on stderr, `Error: …`, and no
    traceback (CliRunner keeps an escaped exception in result.exception)."""
    assert result.exit_code == code, (result.exit_code, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


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
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["decks"] == 2 and report["slides"] == 3 and report["added"] == 2
    assert report["warnings"][0]["file"] == "broken.md"

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
    assert "<mark>" not in found.stdout and "\x1b" not in found.stdout


def test_errors_are_one_line_not_tracebacks(settings, content, tmp_path):
    assert "No index" in one_line_error(kb(settings, "search", "x"))
    assert "No index" in json.loads(kb(settings, "search", "x", "--json").stdout)["error"]
    assert kb(settings, "search", "x", "--limit", "nope").exit_code == 2
    gone = CliRunner().invoke(main, ["reindex", "--content", str(tmp_path / "nowhere")])
    assert "does not exist" in one_line_error(gone)

    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    under_file = CliRunner().invoke(main, ["reindex", "--content", str(content), "--index",
                                           str(a_file / "index"), "--json"])
    message = one_line_error(under_file)
    assert str(a_file) in message and "Not a directory" in message
    assert json.loads(under_file.stdout)["error"] == message.removeprefix("Error: ")


def read_only_folder(tmp_path) -> Path:
    """A folder kb may not write to; root ignores file modes, so for root one of the
    kernel's (which refuses new files even to root)."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_a_read_only_index_folder_is_one_line(content, tmp_path):
    make_content(content)
    folder = read_only_folder(tmp_path)
    for command in ("reindex", "check"):
        result = CliRunner().invoke(main, [command, "--content", str(content), "--index",
                                           str(folder)])
        if command == "reindex":
            assert str(folder) in one_line_error(result)
        else:  # check only reads the index folder (its OCR cache), and may not write one
            assert result.exit_code in (0, 1) and "Traceback" not in result.stderr, result.stderr


def test_bad_frontmatter_values_are_warnings_with_lines(settings, content):
    """Every value of the wrong type: a warning naming file and line; the deck indexed."""
    write(content, "dates.md", "---\ntitle: Dates\ndate: 2021-13-45\n---\n# A\n\ndateword\n")
    write(content, "range.md", "---\ntitle: R\ndate: 9999-12-31T23:59:59-05:00\n---\nrangeword\n")
    write(content, "kinds.md", """
        ---
        title: [a, list]
        date: {a: dict}
        tags:
          - {a: dict}
          - 2021
          - 3.5
          - [nested]
        type: [x]
        separator: {x: 1}
        ---
        # Kinds heading

        kindword
        """)
    write(content, "tagdict.md", "---\ntitle: T\ntags: {a: b}\n---\ntagdictword\n")
    write(content, "numbers.md", "---\ntitle: 2021\ndate: 2019-10-23\ntags: 101, 202\n---\nnumword\n")
    write(content, "yamlint.md", "---\ntitle: T\ndate: !!int abc\n---\nyamlintword\n")
    done = kb(settings, "reindex", "--json")
    assert done.exit_code == 0, done.stderr
    warned = {(w["file"], w["line"], w["message"].split(":")[0]) for w in
              json.loads(done.stdout)["warnings"]}
    assert {("dates.md", 3, "date"), ("range.md", 3, "date"), ("kinds.md", 2, "title"),
            ("kinds.md", 3, "date"), ("kinds.md", 4, "tags"), ("kinds.md", 9, "type"),
            ("kinds.md", 10, "separator"), ("tagdict.md", 3, "tags")} <= warned
    assert any(f == "yamlint.md" for f, _, _ in warned)
    for word in ("dateword", "rangeword", "kindword", "tagdictword", "numword", "yamlintword"):
        assert json.loads(kb(settings, "search", word, "--json").stdout)["total"] == 1, word
    kinds = json.loads(kb(settings, "search", "kindword", "--json").stdout)["hits"][0]
    assert kinds["deck_title"] == "Kinds heading" and kinds["tags"] == ["2021", "3.5"]
    numbers = json.loads(kb(settings, "search", "numword", "--json").stdout)["hits"][0]
    assert (numbers["deck_title"], numbers["tags"]) == ("2021", ["101", "202"])
    assert numbers["date"].startswith("2019-10-23")
    checked = kb(settings, "check")
    assert checked.exit_code == 1 and "dates.md:3: date:" in checked.stdout  # 1 for yamlint.md


def test_control_characters_never_reach_the_terminal(settings, content):
    write(content, "esc.md", "---\ntitle: \"\\e]0;owned\\aTitle \\e[2J\\u202e\"\n"
                             "tags: \"\\e[31mRED\"\n---\n# Hi \x1b[2J\n\nescword \x1b]0;x\x07 \x9b31m\n")
    outputs = [kb(settings, "reindex"), kb(settings, "search", "escword"), kb(settings, "check")]
    data = kb(settings, "search", "escword", "--json")
    for result in outputs + [data]:
        for text in (result.stdout, result.stderr):
            assert not any(c in text for c in "\x1b\x07\x9b\u202e"), repr(text)
    assert "Title" in outputs[1].stdout and "escword" in outputs[1].stdout
    hit = json.loads(data.stdout)["hits"][0]  # JSON keeps the data, escaped
    assert "\x1b" in hit["deck_title"] and "\u202e" in hit["deck_title"]


def test_check_reports_and_exits_1_on_errors(settings, content):
    make_content(content)
    write(content, "empty-slide.md", "---\ntitle: T\n---\n# a\n\n===\n\n\n")
    write(content, "img.md", "---\ntitle: I\n---\n![x](/api/media/nope)\n")
    done = kb(settings, "check", "--json")
    assert done.exit_code == 1
    findings = json.loads(done.stdout)["findings"]
    messages = {(f["file"], f.get("anchor"), f["level"], f["message"].split(" (")[0]) for f in findings}
    assert ("img.md", "0", "error", "missing media file media/nope") in messages
    assert ("empty-slide.md", "1", "warning", "empty slide") in messages
    assert any(f["file"] == "broken.md" and "frontmatter" in f["message"] for f in findings)
    assert any(f["file"] == "img.md" and "no date, tags" in f["message"] for f in findings)


def test_help_has_examples_and_version_is_the_package_version():
    for command in ("reindex", "search", "serve", "check"):
        out = CliRunner().invoke(main, [command, "--help"]).stdout
        assert "Example:" in out and f"kb {command}" in out
    assert CliRunner().invoke(main, ["--version"]).stdout.strip() == f"kb {version('kb')}"


def test_serve_refuses_a_port_in_use_and_a_bad_host_in_one_line(settings, content):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = kb(settings, "serve", "--port", str(port))
        assert "already in use" in one_line_error(result) and "serving" not in result.output
    for host in ("no-such-host.invalid", "10.255.255.1", "::::"):
        result = kb(settings, "serve", "--host", host, "--port", "0")
        assert "--host" in one_line_error(result) and "serving" not in result.output
    assert kb(settings, "serve", "--port", "70000").exit_code == 2


def test_kb_as_a_subprocess_serves_on_the_port_it_prints(settings, content):
    """The smoke test: the `kb` a shell runs, `kb serve --port 0` printing its real port."""
    make_content(content)
    done = subprocess.run([sys.executable, "-m", "kb.cli", "reindex", "--content",
                           str(content), "--index", str(settings.index)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    log = []
    with serve_kb(settings, log=log) as url:
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
    assert "Traceback" not in "".join(log)


@pytest.mark.parametrize("args", [["--workers", "0"], ["--threads", "0"]])
def test_serve_options_are_checked(settings, args):
    assert kb(settings, "serve", *args).exit_code == 2
