"""The staff commands: `kb ocr` (corrections to what OCR read), `kb stats` (what students
search for and do not find) and `kb watch` (reindex when the content folder changes)."""

import signal

import click

from kb.cli import common, emit, fail, log_to_stderr, main, settings_of
from kb.errors import KbError


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
@click.option("--parent", type=int, default=None, hidden=True,
              help="Stop when the process with this id ends (`kb serve --watch` runs kb watch).")
def watch(content, index_dir, as_json, settle, jobs, poll, parent):
    """Reindex whenever decks or media change, so uploads become searchable by themselves.

    Run it beside `kb serve`; a `kb reindex` by hand meanwhile is safe (they take turns).
    Ctrl-C or SIGTERM stops it (a reindex it cuts short leaves the index as it was).

    \b
    Example:
      kb watch --content ./content --index ./index
    """
    from kb.watch import Watcher
    log_to_stderr()
    settings = settings_of(content, index_dir)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a service manager's stop
    try:
        watcher = Watcher(settings, settle=settle, jobs=jobs, poll=poll).start()
    except KbError as err:
        fail(err, as_json)
    click.echo(f"kb: watching {settings.content}/ (Ctrl-C to stop)", err=True)
    try:
        watcher.wait(parent)
    except KeyboardInterrupt:
        pass
    for stop in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the stop short
        signal.signal(stop, signal.SIG_IGN)
    watcher.stop()
