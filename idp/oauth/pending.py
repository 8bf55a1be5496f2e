"""Authorization requests waiting for login or consent, kept in the signed flow cookie.

The parameters are stored once, at /authorize; login and consent pages refer to them by
an opaque id, and resuming re-validates them from scratch, so nothing the browser sends
later can change what the client asked for.
"""

from __future__ import annotations

import secrets
import time

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import request, session

KEY = "authz"
MAX_PENDING = 3
MAX_AGE = 1800


class StoredAuthorizationRequest(OAuth2Request):
    """An OAuth2Request rebuilt from stored parameters."""

    def __init__(self, params: dict):
        super().__init__("GET", request.base_url, headers={})
        self.payload = BasicOAuth2Payload(params)
        self._params = params

    @property
    def args(self):
        return self._params

    @property
    def form(self):
        return {}


def save_pending(params: dict) -> str:
    """Remember an authorization request; returns its id."""
    pending = {k: v for k, v in session.get(KEY, {}).items()
               if time.time() - v["created"] < MAX_AGE}
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["created"]))
    rid = secrets.token_urlsafe(12)
    pending[rid] = {"params": params, "created": time.time(), "consented": False}
    session[KEY] = pending
    return rid


def load_pending(rid: str | None) -> dict | None:
    """The stored request with this id, if it is still fresh."""
    entry = session.get(KEY, {}).get(rid or "")
    if entry is None or time.time() - entry["created"] >= MAX_AGE:
        return None
    return entry


def mark_consented(rid: str) -> None:
    pending = session.get(KEY, {})
    if rid in pending:
        pending[rid]["consented"] = True
        session[KEY] = pending


def drop_pending(rid: str) -> None:
    pending = session.get(KEY, {})
    if pending.pop(rid, None) is not None:
        session[KEY] = pending


def request_params() -> dict:
    """The authorization request's parameters (query for GET, form for POST), single-valued."""
    source = request.form if request.method == "POST" else request.args
    return {k: source.get(k) for k in source.keys()}
