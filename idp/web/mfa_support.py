"""Helpers shared by the MFA pages: WebAuthn challenges, recent login, notices."""

from __future__ import annotations

import time

from flask import Response, render_template, session
from flask_babel import lazy_gettext as _l
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from idp.extensions import db
from idp.http import services, settings
from idp.mfa import totp
from idp.mfa.acr import has_second_factor
from idp.mfa.notices import notify_factor_change
from idp.mfa.passkeys import Ceremony, RelyingParty
from idp.mfa.policy import has_factor

CHALLENGE_KEY = "webauthn"
CHALLENGE_MAX_AGE = 300
WRONG_CODE = _l("That code is not valid. Check your authenticator app and try again.")
REAUTH_KEY = "mfa_reauth"
# Seconds: adding or removing a sign-in method needs the password, and the second factor
# when the person has one, confirmed this recently (at the login or on the reauth page).
FRESH = 300


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


def _proves_enough(amr, need_factor: bool) -> bool:
    return "pwd" in (amr or []) and (not need_factor or has_second_factor(amr))


def is_fresh(user_session, user, now) -> bool:
    """Password (and second factor, if the person has one) confirmed within FRESH seconds."""
    need_factor = has_factor(db.session, user)
    if (now - user_session.auth_time).total_seconds() <= FRESH and \
            _proves_enough(user_session.amr, need_factor):
        return True
    mark = session.get(REAUTH_KEY) or {}
    if mark.get("sid") != str(user_session.id) or time.time() - mark.get("at", 0) > FRESH:
        return False
    return _proves_enough(mark.get("amr"), need_factor)


def mark_reauthenticated(user_session, amr: list[str]) -> None:
    session[REAUTH_KEY] = {"sid": str(user_session.id), "at": time.time(), "amr": list(amr)}


def notify(user, change: str, kind: str = "totp", name: str | None = None) -> None:
    """Email the person about a change to their sign-in methods (after the commit)."""
    notify_factor_change(services().mailer, user, change, kind, name)


def totp_enrol_page(user, secret, form, *, action: str, at_login: bool, error=None, status=200,
                    **extra):
    """The page that shows a new TOTP secret (QR code and grouped text), at login or on /account."""
    uri = totp.provisioning_uri(secret, user.email or user.username, relying_party().name)
    return render_template("mfa/totp_enrol.html", qr=totp.qr_svg_data_uri(uri),
                           secret=totp.group_secret(secret), form=form, error=error,
                           at_login=at_login, action=action, **extra), status
