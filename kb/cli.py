"""`kb`: a thin command line over the library — parse, call one function, print."""

import html
import json
import re
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
    if result.relaxed:
        say("No slide has all the words; these have most of them.")
    for hit in result.hits:
        title = clean(" · ".join(t for t in (hit.deck_title, hit.title) if t))
        click.echo(click.style(clean(hit.url), fg="cyan") + "  " + click.style(title, bold=True))
        label = "text found in image: " if hit.snippet_field == "ocr" else ""
        click.echo("    " + label + terminal_text(hit.snippet))
    shown = f"page {result.page} of {result.pages}, " if result.pages > 1 else ""
    say(f"{result.total} slides ({shown}query: {result.query!r})", err=True)
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

    def start_watching():  # in the main process, once the port is ours
        from kb.watch import Watcher
        log_to_stderr()
        Watcher(settings).start()

    def announce(url, workers, threads):
        if as_json:
            emit({"url": url, "workers": workers, "threads": threads})
        say(f"kb: serving {settings.content}/ on {url} ({workers} workers × {threads} threads; "
            "Ctrl-C to stop)", err=True)
        sys.stdout.flush()

    run_server(settings, host, port, workers, threads, announce,
               search_log=(not no_search_log, log_days),
               listening=start_watching if watch_content else None)


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


# ---------------------------------------------------------------- staff tools (issue 15)

@main.group()
def ocr():
    """Correct the text OCR read from an image; corrections survive every reindex.

    \b
    Example:
      kb ocr show km-plot
      kb ocr set km-plot --text "Kaplan-Meier survival curve"
      kb ocr reset km-plot
    """


@ocr.command("show")
@common
@click.argument("media_id")
def ocr_show(content, index_dir, as_json, media_id):
    """Show an image's OCR text, its correction and the decks that show it.

    \b
    Example:
      kb ocr show 2019-10-23t032650.743z
    """
    from kb import corrections
    from kb.index import ocr_cache_path
    from kb.ocr import ocr_files
    settings = settings_of(content, index_dir)
    try:
        media_id = corrections.checked_id(settings, media_id)
        read = ocr_files([settings.media / media_id], ocr_cache_path(settings)).results
        found = next(iter(read.values()))
        data = {"media_id": media_id, "ocr": found.text, "ocr_problem": found.problem,
                "correction": corrections.read_correction(settings, media_id),
                "decks": corrections.users(settings, media_id)}
    except KbError as err:
        fail(err, as_json)
    if as_json:
        emit(data)
        return
    used = ", ".join(data["decks"]) or "no indexed deck (run `kb reindex`)"
    click.echo(f"media/{media_id}, shown in: {printable(used)}")
    click.echo("OCR read:" + (f" ({found.problem})" if found.problem else ""))
    click.echo(indent(printable(found.text) or "(nothing)"))
    if data["correction"] is None:
        click.echo(f"No correction: search uses what OCR read (`kb ocr set {media_id} --text ...`).")
    else:
        click.echo("Correction (what search uses):")
        click.echo(indent(printable(data["correction"].strip()) or "(empty)"))


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


def printable(text: str) -> str:
    """Text from files made safe for a terminal: control characters (escapes) become �."""
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text)


@ocr.command("set")
@common
@click.argument("media_id")
@click.option("--text", default=None, help="The text the image shows.")
@click.option("--file", "text_file", type=click.File("r", encoding="utf-8"), default=None,
              help="Read the text from this file ('-' for standard input).")
def ocr_set(content, index_dir, as_json, media_id, text, text_file):
    """Replace what OCR read from an image; used from the next `kb reindex` on.

    \b
    Example:
      kb ocr set km-plot --text "Kaplan-Meier curve: survival by arm"
      kb ocr set km-plot --file fixed.txt
    """
    from kb import corrections
    settings = settings_of(content, index_dir)
    try:
        if (text is None) == (text_file is None):
            raise KbError("Give the corrected text with exactly one of --text TEXT or --file FILE.")
        if text_file is not None:
            try:
                text = text_file.read()
            except UnicodeDecodeError:
                raise KbError(f"{text_file.name} is not UTF-8 text: save it as UTF-8.") from None
        path = corrections.set_correction(settings, media_id, text)
    except KbError as err:
        fail(err, as_json)
    if as_json:
        emit({"media_id": media_id, "correction": str(path)})
        return
    click.echo(f"Saved {path}; run `kb reindex` (or let `kb watch` do it) to search it.")


@ocr.command("reset")
@common
@click.argument("media_id")
def ocr_reset(content, index_dir, as_json, media_id):
    """Drop an image's correction: search goes back to what OCR read.

    \b
    Example:
      kb ocr reset km-plot
    """
    from kb import corrections
    settings = settings_of(content, index_dir)
    try:
        removed = corrections.reset_correction(settings, media_id)
    except KbError as err:
        fail(err, as_json)
    if as_json:
        emit({"media_id": media_id, "removed": removed})
    elif removed:
        click.echo(f"Removed the correction of {media_id}; run `kb reindex` to use OCR's text again.")
    else:
        click.echo(f"{media_id} has no correction; nothing to do.")


STATS_SECTIONS = (("top", "Most frequent searches"),
                  ("zero_results", "Searches that found nothing (add slides or OCR corrections)"),
                  ("relaxed_only", "Searches that found only some of their words"))


@main.command()
@common
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Only searches from this day on (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Queries per list.")
def stats(content, index_dir, as_json, since, limit):
    """What students searched for, and what they did not find (from `kb serve`'s search log).

    \b
    Example:
      kb stats --since 2026-09-01
      kb stats --json
    """
    from kb.stats import stats as read_stats
    try:
        data = read_stats(settings_of(content, index_dir).index, since and since.date(), limit)
    except KbError as err:
        fail(err, as_json)
    if as_json:
        emit(data)
        return
    span = f"{data['first_day']} to {data['last_day']}" if data["searches"] else "no searches yet"
    click.echo(f"{data['searches']} searches ({span})")
    for key, heading in STATS_SECTIONS:
        click.echo(f"\n{heading}:")
        for row in data[key]:
            click.echo(f"  {row['count']:6}  {printable(row['query'])}")
        if not data[key]:
            click.echo("  (none)")


@main.command()
@common
@click.option("--settle", type=click.FloatRange(0.05, 600), default=1.0, show_default=True,
              help="Seconds without a change before reindexing.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Parallel processes for parsing and OCR (default: all cores).")
@click.option("--poll", is_flag=True, help="Poll for changes (network drives, no inotify).")
def watch(content, index_dir, as_json, settle, jobs, poll):
    """Reindex whenever decks or media change, so uploads become searchable by themselves.

    Run it beside `kb serve`; a `kb reindex` by hand meanwhile is safe (they take turns).

    \b
    Example:
      kb watch --content ./content --index ./index
    """
    from kb.watch import Watcher
    log_to_stderr()
    settings = settings_of(content, index_dir)
    try:
        watcher = Watcher(settings, settle=settle, jobs=jobs, poll=poll).start()
    except KbError as err:
        fail(err, as_json)
    click.echo(f"kb: watching {settings.content}/ (Ctrl-C to stop)", err=True)
    try:
        watcher.wait()
    except KeyboardInterrupt:
        watcher.stop()


def log_to_stderr() -> None:
    import logging
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)


if __name__ == "__main__":
    main()
