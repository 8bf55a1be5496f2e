"""Running a test with the WSGI fast paths in front of Flask, or with Flask alone."""

from __future__ import annotations

from idp.fast_paths import FastPaths
from idp.oauth.fast.introspection import IntrospectionFastPath
from idp.oauth.fast.token import ClientCredentialsFastPath

FAST_PATHS = (FastPaths, IntrospectionFastPath, ClientCredentialsFastPath)


def without_fast_paths(app) -> None:
    """Unlink the fast paths from the app's WSGI chain: every request reaches Flask."""
    while isinstance(app.wsgi_app, FAST_PATHS):
        app.wsgi_app = app.wsgi_app.app
    outer = app.wsgi_app
    while hasattr(outer, "app"):
        while isinstance(outer.app, FAST_PATHS):
            outer.app = outer.app.app
        outer = outer.app


def expected_dispatch(path: str, fast_answer: bool) -> list[str]:
    """What flask_dispatches records: nothing when the fast path is on and answers."""
    return [] if fast_answer and path == "fast" else ["flask"]
