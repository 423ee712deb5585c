"""Errors and headers for every response: an error page (or a JSON error under `/api/`),
never a traceback or a path; the security headers (SECURITY.md) on everything."""

import logging

from flask import Blueprint, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, NotFound

from kb.errors import KbError
from kb.urls import ASSET_PREFIX, MEDIA_PREFIX
from kb.web.search_views import NOT_READY

log = logging.getLogger(__name__)
bp = Blueprint("errors", __name__)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(code: int, title: str, message: str):
    if wants_json():
        return jsonify({"error": message, "status": code}), code
    return render_template("error.html", code=code, title=title, message=message), code


@bp.app_errorhandler(HTTPException)
def http_error(err: HTTPException):
    if err.code == 404:
        own = err.description and err.description != NotFound.description
        return error_response(404, "Not found", err.description if own
                              else "There is nothing at this address.")
    if err.code and err.code < 500:
        return error_response(err.code, err.name, err.name + ".")
    log.error("HTTP %s on %s", err.code, request.path)
    return error_response(err.code or 500, err.name, "Something went wrong on our side.")


@bp.app_errorhandler(KbError)
def kb_error(err: KbError):
    log.warning("%s: %s", request.path, err)  # the detail (paths included) goes to the log
    return error_response(503, "Not available", NOT_READY)


@bp.app_errorhandler(Exception)
def crash(err: Exception):
    log.exception("unhandled error on %s", request.path)
    return error_response(500, "Server error",
                          "Something went wrong on our side; it has been logged.")


@bp.after_app_request
def security_headers(response):
    headers = response.headers
    if request.path.startswith("/decks/") and request.path != "/decks/":
        # reveal.js's speaker view shows the deck in frames of its own (same origin only)
        headers.setdefault("Content-Security-Policy", CSP.replace("frame-ancestors 'none'",
                                                                  "frame-ancestors 'self'"))
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.path.startswith("/api/") and not request.path.startswith((MEDIA_PREFIX,
                                                                          ASSET_PREFIX)):
        headers.setdefault("Cache-Control", "no-store")
    return response
