"""The index folder on the write side: which Whoosh index a reindex writes, and the switch.

    index/live -> whoosh-<fingerprint>   what readers open (kb.schema.whoosh_dir)
    index/whoosh-<fingerprint>/          one folder per schema (fields and analyzers)
    index/manifest.json, ocr-cache.sqlite3, reindex.lock

A schema change (kb.schema.schema_fingerprint) builds the new folder beside the live one; the
link is replaced in one rename only after the new index committed. So readers, and a kill at
any moment, find the old complete index or the new complete one. The other folders (older
schemas, the `whoosh/` of kb versions before the link, a killed rebuild) go after a switch.
"""

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from kb.schema import live_link, make_schema, schema_fingerprint, whoosh_dir
from kb.settings import Settings


@dataclass(frozen=True)
class Target:
    """The index a reindex writes: the live one, or a new one to build for a new schema."""

    ix: whoosh_index.FileIndex
    folder: Path
    rebuilding: bool


def open_for_writing(settings: Settings) -> Target:
    folder = settings.index / f"whoosh-{schema_fingerprint()}"
    live = whoosh_dir(settings)
    if live.resolve() == folder.resolve() and whoosh_index.exists_in(str(folder)):
        return Target(whoosh_index.open_dir(str(folder)), folder, rebuilding=False)
    # A new schema. Its generations continue the live index's, so an open reader sees a
    # newer generation after the switch and reopens (Whoosh compares generation numbers).
    start = live_generation(live)
    if folder.exists():  # what a killed rebuild left: start afresh
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    TOC(make_schema(), [], start).write(FileStorage(str(folder)), "MAIN")
    first = not whoosh_index.exists_in(str(live))
    if first:  # nothing to keep answering: readers see the first commit as it lands
        switch_to(settings, folder)
    return Target(whoosh_index.open_dir(str(folder)), folder, rebuilding=not first)


def live_generation(live: Path) -> int:
    try:
        return max(0, whoosh_index.open_dir(str(live)).latest_generation())
    except (whoosh_index.EmptyIndexError, OSError):
        return 0


def switch_to(settings: Settings, folder: Path) -> None:
    """Point index/live at `folder` in one rename (a relative link: the index may move)."""
    link = live_link(settings)
    tmp = link.with_name(f".live.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(folder.name, target_is_directory=True)
    os.replace(tmp, link)
    descriptor = os.open(settings.index, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the rename itself reaches the disk
    finally:
        os.close(descriptor)


def remove_others(settings: Settings, keep: Path) -> None:
    """Remove every index folder but `keep` (called under the reindex lock, after a commit)."""
    for entry in settings.index.iterdir():
        if entry.name != keep.name and not entry.is_symlink() and entry.is_dir() and (
                entry.name == "whoosh" or entry.name.startswith("whoosh-")):
            shutil.rmtree(entry, ignore_errors=True)
