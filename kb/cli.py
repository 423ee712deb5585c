"""`kb`: a thin command line over the library — parse, call one function, print."""

import html
import json
import sys

import click

from kb.errors import KbError
from kb.settings import Settings


def common(command):
    """--content, --index and --json, shared by every command."""
    command = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(command)
    command = click.option("--index", "index_dir", envvar="KB_INDEX", default="index",
                           show_default=True, help="Index folder (env KB_INDEX).")(command)
    return click.option("--content", envvar="KB_CONTENT", default="content", show_default=True,
                        help="Folder of decks and media/ (env KB_CONTENT).")(command)


def settings_of(content, index_dir) -> Settings:
    return Settings.from_env(content, index_dir)


def emit(data: dict) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(err: KbError, as_json: bool) -> None:
    if as_json:
        emit({"error": str(err)})
    click.echo(f"Error: {err}", err=True)
    sys.exit(1)


def progress_bar(label, total):
    """A progress bar on stderr when it is a terminal; silence otherwise."""
    from kb.index import null_progress
    if not sys.stderr.isatty() or not total:
        return null_progress(label, total)
    return click.progressbar(length=total, label=label, file=sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    try:
        report = run_reindex(settings_of(content, index_dir), full=full, jobs=jobs, wait=wait,
                             progress=progress_bar)
    except KbError as err:
        fail(err, as_json)
    if as_json:
        emit(report.as_dict())
        return
    for problem in report.warnings:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"{report.decks} decks, {report.slides} slides: {report.added} added, "
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
    try:
        result = run_search(SlideIndex(settings), " ".join(query), tags, deck, page, limit)
    except KbError as err:
        fail(err, as_json)
    if as_json:
        emit(search_document(result, settings))
        return
    print_result(result)


def print_result(result) -> None:
    """Search results for a terminal: one block per hit, the deep link first."""
    if result.relaxed:
        click.echo("No slide has all the words; these have most of them.")
    for hit in result.hits:
        title = " · ".join(t for t in (hit.deck_title, hit.title) if t)
        click.echo(click.style(hit.url, fg="cyan") + "  " + click.style(title, bold=True))
        label = "text found in image: " if hit.snippet_field == "ocr" else ""
        click.echo("    " + label + terminal_text(hit.snippet))
    shown = f"page {result.page} of {result.pages}, " if result.pages > 1 else ""
    click.echo(f"{result.total} slides ({shown}query: {result.query!r})", err=True)
    if result.suggestion:
        click.echo(f"Did you mean: {result.suggestion}", err=True)


def terminal_text(snippet: str) -> str:
    bold = snippet.replace("<mark>", "\x1b[1m").replace("</mark>", "\x1b[0m")
    text = html.unescape(bold)
    return text if sys.stdout.isatty() else click.unstyle(text)


@main.command()
@common
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
def serve(content, index_dir, as_json, host, port, threads):
    """Serve the web app on a production WSGI server (waitress).

    \b
    Example:
      kb serve --content ./content --port 5000
    """
    import waitress
    from kb.web import create_app
    settings = settings_of(content, index_dir)
    app = create_app(settings)
    click.echo(f"kb: serving {settings.content}/ on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="kb")


@main.command()
@common
def check(content, index_dir, as_json):
    """Report data-quality problems in the content folder; exit 1 on errors.

    \b
    Example:
      kb check --content ./content
    """
    from kb.check import check as run_check
    try:
        findings = run_check(settings_of(content, index_dir))
    except KbError as err:
        fail(err, as_json)
    errors = sum(1 for f in findings if f.level == "error")
    if as_json:
        emit({"errors": errors, "warnings": len(findings) - errors,
              "findings": [f.as_dict() for f in findings]})
    else:
        for finding in findings:
            click.echo(f"{finding.level}: {finding}")
        click.echo(f"{errors} errors, {len(findings) - errors} warnings", err=True)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
