"""Image files: `/api/media/<id>` (the content's `media/` folder) and `/api/asset/<path>`
(an image a deck links by a path inside the content folder). Bytes decide the type; a file
is served only if its real location is where the URL says."""

import os
from pathlib import Path

from flask import Blueprint, abort, send_file

from kb.media import SAFE_MEDIA_ID, servable_asset, sniff_type
from kb.web.pages import site

bp = Blueprint("media", __name__)
# A media file is shown on its own only when someone opens it; an SVG must not run scripts.
MEDIA_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MEDIA_MAX_AGE = 3600


def serve_image_file(path: Path, parent: Path, require_image: bool = False):
    """A regular file whose real location is directly inside `parent`, or 404."""
    try:
        real = path.resolve(strict=True)
        if real.parent != parent.resolve() or not real.is_file():
            abort(404)
        with open(real, "rb") as handle:
            head = handle.read(4096)
    except (OSError, ValueError, RuntimeError):
        abort(404)
    mime = sniff_type(head)
    if mime is None and require_image:
        abort(404)
    response = send_file(real, mimetype=mime or "application/octet-stream", conditional=True,
                         etag=True, max_age=MEDIA_MAX_AGE, last_modified=os.stat(real).st_mtime)
    response.headers["Content-Security-Policy"] = MEDIA_CSP
    response.headers["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}"
    return response


@bp.get("/api/media/<path:media_id>")
def media(media_id: str):
    if not SAFE_MEDIA_ID.match(media_id) or ".." in media_id:
        abort(404)
    media_dir = site()["settings"].media
    return serve_image_file(media_dir / media_id, media_dir)


@bp.get("/api/asset/<path:rel>")
def asset(rel: str):
    """An image a deck links by relative path; only image files inside the content dir."""
    parts = rel.split("/")
    if any(not p or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        abort(404)
    content = site()["settings"].content
    path = content.joinpath(*parts)
    try:
        ok = servable_asset(path.resolve(), content.resolve()) == "/".join(parts)
    except (OSError, ValueError, RuntimeError):
        ok = False
    if not ok:
        abort(404)
    return serve_image_file(path, path.parent, require_image=True)
