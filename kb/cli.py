"""`kb`: a thin command line over the library — parse, call one function, print."""

import html
import json
import os
import re
import signal
import subprocess
import sys

import click

from kb.errors import KbError
from kb.settings import Settings

# Deck text is printed to terminals: escape sequences (CSI, OSC), other control characters and
# bidi overrides could retitle the window, clear the screen or disguise what is shown.
ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)?")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Text safe to print on a terminal: no escape sequences or control characters."""
    return CONTROL.sub("", ESCAPE_SEQUENCE.sub("", str(text)))


def say(text: str, err: bool = False) -> None:
    click.echo(clean(text), err=err)


def remember_json(ctx, _param, value):
    ctx.find_root().meta["kb.json"] = value
    return value


def common(command):
    """--content, --index and --json, shared by every command."""
    command = click.option("--json", "as_json", is_flag=True, callback=remember_json,
                           help="Print one JSON document.")(command)
    command = click.option("--index", "index_dir", envvar="KB_INDEX", default="index",
                           show_default=True, help="Index folder (env KB_INDEX).")(command)
    return click.option("--content", envvar="KB_CONTENT", default="content", show_default=True,
                        help="Folder of decks and media/ (env KB_CONTENT).")(command)


def settings_of(content, index_dir) -> Settings:
    return Settings.from_env(content, index_dir)


def emit(data: dict) -> None:
    """One JSON document on stdout; C1 controls and bidi overrides (which json leaves as they
    are) are written as \\u escapes, so the data stays exact and the terminal safe."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    click.echo(CONTROL.sub(lambda m: f"\\u{ord(m[0]):04x}", text))


def os_message(err: OSError) -> str:
    where = f" {err.filename}" if err.filename else ""
    return (f"Cannot use{where}: {err.strerror or err}; check that the path is a folder you may "
            "write to (--index, --content).")


def report_error(message: str, as_json: bool) -> None:
    if as_json:
        emit({"error": message})
    say(f"Error: {message}", err=True)


def fail(err: KbError, as_json: bool) -> None:
    """Report `err` as one line `Error: …` (with --json also as JSON) and exit 1."""
    report_error(str(err), as_json)
    sys.exit(1)


class KbGroup(click.Group):
    """Every error a user can fix ends as one line `Error: …` (and exit 1), never a traceback;
    with --json the same message is also the JSON document on stdout."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KbError as err:
            message = str(err)
        except OSError as err:
            message = os_message(err)
        report_error(message, ctx.meta.get("kb.json", False))
        ctx.exit(1)


def progress_bar(label, total):
    """A progress bar on stderr when it is a terminal; silence otherwise."""
    from kb.index import null_progress
    if not sys.stderr.isatty() or not total:
        return null_progress(label, total)
    return click.progressbar(length=total, label=label, file=sys.stderr)


@click.group(cls=KbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kb", message="kb %(version)s")
def main():
    """kb: search lecture slides, down to the slide.

    \b
    Example:
      kb reindex --content ./content
      kb search "hazard ratio" --tag EPI101
      kb serve --port 5000
    """


@main.command()
@common
@click.option("--full", is_flag=True, help="Rebuild every deck (the OCR cache is kept).")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Parallel processes for parsing and OCR (default: all cores).")
@click.option("--wait", type=click.FloatRange(0), default=None,
              help="Seconds to wait for another running reindex (default: as long as it takes).")
def reindex(content, index_dir, as_json, full, jobs, wait):
    """Bring the index in line with the content folder (incremental).

    \b
    Example:
      kb reindex --content ./content --jobs 2
    """
    from kb.index import reindex as run_reindex
    report = run_reindex(settings_of(content, index_dir), full=full, jobs=jobs, wait=wait,
                         progress=progress_bar)
    if as_json:
        emit(report.as_dict())
        return
    for problem in report.warnings:
        say(f"warning: {problem}", err=True)
    say(f"{report.decks} decks, {report.slides} slides: {report.added} added, "
        f"{report.updated} updated, {report.removed} removed, {report.unchanged} unchanged; "
        f"{report.images} images ({report.ocr_run} OCRed, {report.ocr_cached} from cache); "
        f"{len(report.warnings)} warnings; {report.seconds:.2f} s")


@main.command()
@common
@click.argument("query", nargs=-1)
@click.option("--tag", "tags", multiple=True, help="Only slides with this tag (repeatable).")
@click.option("--deck", default=None, help="Only this deck id (or folder of decks).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
def search(content, index_dir, as_json, query, tags, deck, limit, page):
    """Search the slides; every hit is a deep link to its slide.

    \b
    Example:
      kb search censoring --tag EPI101
      kb search '"hazard ratio" -cox date:2019' --json
    """
    from kb.results import search_document
    from kb.search import SlideIndex, search as run_search
    settings = settings_of(content, index_dir)
    result = run_search(SlideIndex(settings), " ".join(query), tags, deck, page, limit)
    if as_json:
        emit(search_document(result, settings))
        return
    print_result(result)


def print_result(result) -> None:
    """Search results for a terminal: one block per hit, the deep link first."""
    for notice in result.notices:
        say(f"Note: {notice}", err=True)
    if result.relaxed:
        say("No slide has all the words; these have most of them.")
    for hit in result.hits:
        title = clean(" · ".join(t for t in (hit.deck_title, hit.title) if t))
        click.echo(click.style(clean(hit.url), fg="cyan") + "  " + click.style(title, bold=True))
        label = "text found in image: " if hit.snippet_field == "ocr" else ""
        click.echo("    " + label + terminal_text(hit.snippet))
        if hit.more:
            plural = "s" if hit.more > 1 else ""
            click.echo(f"    and {hit.more} more slide{plural} of this deck (by its title or tags)")
    shown = f"page {result.page} of {result.pages}, " if result.pages > 1 else ""
    say(f"{result.total} results, {result.slides} slides "
        f"({shown}query: {result.query!r})", err=True)
    if result.suggestion:
        say(f"Did you mean: {result.suggestion}", err=True)


def terminal_text(snippet: str) -> str:
    """A snippet's HTML as terminal text: kb's <mark> highlights become bold (on a tty), and
    whatever the deck text holds is unescaped and then cleaned of control characters."""
    parts = re.split(r"(</?mark>)", snippet)
    bold = {"<mark>": "\x1b[1m", "</mark>": "\x1b[0m"}
    text = "".join(bold.get(part) or clean(html.unescape(part)) for part in parts)
    return text if sys.stdout.isatty() else click.unstyle(text)


@main.command()
@common
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every network).")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True,
              help="Port to listen on (0: a free one, printed).")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Worker processes (default: one per core).")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Threads per worker process.")
@click.option("--no-search-log", is_flag=True, help="Keep no log of searches (for `kb stats`).")
@click.option("--log-days", type=click.IntRange(1), default=90, show_default=True,
              help="Days the search log keeps a search.")
@click.option("--watch", "watch_content", is_flag=True,
              help="Also reindex whenever decks or media change (as `kb watch`).")
def serve(content, index_dir, as_json, host, port, workers, threads, no_search_log, log_days,
          watch_content):
    """Serve the web app on a production WSGI server (gunicorn, threaded workers; Linux).

    \b
    Example:
      kb serve --content ./content --port 5000 --workers 4
    """
    from kb.serve import serve as run_server
    settings = settings_of(content, index_dir)
    if watch_content:
        from kb.watch import check_content
        check_content(settings)  # before serving: the watcher's own error would come too late
    watcher = []

    def start_watching():  # once the port is ours
        # `kb watch` in a process of its own: gunicorn forks its workers from this one, and a
        # fork copies no other thread, only the locks a reindexing thread holds (imports…).
        watcher.append(subprocess.Popen([  # -P: not a kb/ of the working directory
            sys.executable, "-P", "-m", "kb.cli", "watch", "--content", str(settings.content),
            "--index", str(settings.index), "--parent", str(os.getpid())]))

    def announce(url, workers, threads):
        if as_json:
            emit({"url": url, "workers": workers, "threads": threads})
        say(f"kb: serving {settings.content}/ on {url} ({workers} workers × {threads} threads; "
            "Ctrl-C to stop)", err=True)
        sys.stdout.flush()

    try:
        run_server(settings, host, port, workers, threads, announce,
                   search_log=(not no_search_log, log_days),
                   listening=start_watching if watch_content else None)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # gunicorn's is gone with it
        for process in watcher:
            stop_watcher(process)


def stop_watcher(process: subprocess.Popen) -> None:
    """Stop `kb serve --watch`'s watcher: at once, or after its reindex under way if it
    ends soon; a second Ctrl-C does not wait."""
    process.terminate()
    try:
        process.wait(2)
    except subprocess.TimeoutExpired:
        say("kb: waiting for the watcher's reindex (Ctrl-C again to stop it now)", err=True)
        try:
            process.wait()
        except KeyboardInterrupt:
            process.kill()
            process.wait()


@main.command()
@common
def check(content, index_dir, as_json):
    """Report data-quality problems in the content folder; exit 1 on errors.

    \b
    Example:
      kb check --content ./content
    """
    from kb.check import check as run_check
    findings = run_check(settings_of(content, index_dir))
    errors = sum(1 for f in findings if f.level == "error")
    if as_json:
        emit({"errors": errors, "warnings": len(findings) - errors,
              "findings": [f.as_dict() for f in findings]})
    else:
        for finding in findings:
            say(f"{finding.level}: {finding}")
        say(f"{errors} errors, {len(findings) - errors} warnings", err=True)
    sys.exit(1 if errors else 0)


def log_to_stderr() -> None:
    import logging
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)


# The staff commands (kb ocr, kb stats, kb watch) live beside: importing them adds them to `main`.
from kb import cli_staff  # noqa: E402,F401


if __name__ == "__main__":
    # `python -m kb.cli`: run the imported kb.cli, the one the staff commands were added to.
    from kb.cli import main as kb_main
    kb_main()
