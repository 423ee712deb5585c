"""One context per page, two renderings (datasette's model): a view builds one context
dict; the HTML route renders it with the page's template, the `/api/` twin turns the same
context into its JSON document with the page's `to_json`. No page is written twice."""

from typing import Callable

from flask import Blueprint, current_app, jsonify, render_template


def site() -> dict:
    """The running app's `settings`, `index` and `catalog`."""
    return current_app.extensions["kb"]


def page(bp: Blueprint, rules: list[str], api_rules: list[str], template: str,
         to_json: Callable[[dict], dict]):
    """Register a context-building view as an HTML page at `rules` and as its JSON twin at
    `api_rules`; the view takes the URL's variables and returns the context."""

    def register(build: Callable[..., dict]):
        def html(**kwargs):
            return render_template(template, **build(**kwargs))

        def api(**kwargs):
            return jsonify(to_json(build(**kwargs)))

        for rule in rules:
            bp.add_url_rule(rule, build.__name__, html)
        for rule in api_rules:
            bp.add_url_rule(rule, build.__name__ + "_json", api)
        return build

    return register
