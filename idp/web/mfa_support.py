"""Helpers shared by the MFA pages: WebAuthn challenges, recent login, notices."""

from __future__ import annotations

import time

from flask import Response, session
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from idp.http import services, settings
from idp.mfa.notices import notify_factor_change
from idp.mfa.passkeys import Ceremony, RelyingParty

CHALLENGE_KEY = "webauthn"
CHALLENGE_MAX_AGE = 300
REAUTH_KEY = "mfa_reauth"
RECENT_LOGIN = 600  # seconds: changing sign-in methods needs a login this recent


def relying_party() -> RelyingParty:
    return RelyingParty.from_issuer(settings().issuer)


def options_response(ceremony: Ceremony, purpose: str, **bind) -> Response:
    """Keep the challenge in the signed flow cookie (one at a time) and send the options."""
    session[CHALLENGE_KEY] = {"purpose": purpose, "challenge": bytes_to_base64url(ceremony.challenge),
                              "at": time.time(), **bind}
    response = Response(ceremony.options_json, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def take_challenge(purpose: str, **bind) -> bytes | None:
    """The stored challenge for this ceremony, removed so it is used at most once."""
    entry = session.pop(CHALLENGE_KEY, None)
    if not entry or entry.get("purpose") != purpose or time.time() - entry["at"] > CHALLENGE_MAX_AGE:
        return None
    if any(entry.get(k) != v for k, v in bind.items()):
        return None
    return base64url_to_bytes(entry["challenge"])


def is_recent(user_session, now) -> bool:
    """Logged in (or re-confirmed the password) within RECENT_LOGIN seconds."""
    if (now - user_session.auth_time).total_seconds() <= RECENT_LOGIN:
        return True
    mark = session.get(REAUTH_KEY) or {}
    return mark.get("sid") == str(user_session.id) and time.time() - mark.get("at", 0) <= RECENT_LOGIN


def mark_reauthenticated(user_session) -> None:
    session[REAUTH_KEY] = {"sid": str(user_session.id), "at": time.time()}


def notify(user, change: str, what: str = "", detail: str = "") -> None:
    """Email the person about a change to their sign-in methods (after the commit)."""
    notify_factor_change(services().mailer, user, change, what, detail)
