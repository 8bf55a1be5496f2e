"""Where a person goes once signed in: back to the app that sent them (the pending
authorization, `rid`) or to the page they asked for (`next`, kept by web/login.py's
remember_return under idp.http.local_path's rule).

Mail links (email verification, password reset) carry the pending authorization's
parameters sealed with the cookie key, so the link also works in another browser: there
the request is stored again and the person signs in and continues. Resuming re-validates
the parameters from scratch (oauth/authorize_flow.py), so the seal only keeps them intact.
"""

from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from idp.oauth import pending

SALT = "idp-continue"


def wanted_path() -> str | None:
    """The page asked for (path and query) on a GET, to reopen after signing in."""
    if request.method != "GET":
        return None
    return request.full_path.rstrip("?")


def live_rid(rid: str | None) -> str | None:
    """The id if it names a fresh pending authorization in this browser."""
    return rid if rid and pending.load_pending(rid) else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def seal(rid: str | None) -> str | None:
    """The pending authorization's parameters, signed, for a mail link."""
    entry = pending.load_pending(rid)
    return _serializer().dumps(entry["params"]) if entry else None


def unseal(sealed: str | None, max_age: int) -> str | None:
    """Store the sealed authorization request in this browser; returns its id."""
    if not sealed or len(sealed) > 8000:
        return None
    try:
        params = _serializer().loads(sealed, max_age=max_age)
    except BadData:
        return None
    if not isinstance(params, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                               for k, v in params.items()):
        return None
    return pending.save_pending(params)
