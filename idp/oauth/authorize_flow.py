"""What an authorization request needs next: login, consent, or the code.

OpenID Connect Core 3.1.2.1: prompt (none/login/consent), max_age, id_token_hint, acr_values;
a pending request that has been through a fresh login or consent is not sent back
there again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from authlib.oauth2.rfc6749 import scope_to_list

from idp.mfa.acr import required_level, satisfies


class Step(StrEnum):
    LOGIN = "login"
    CONSENT = "consent"
    ISSUE = "issue"


@dataclass(frozen=True)
class Decision:
    step: Step
    error: str | None = None  # an OIDC error to return instead (prompt=none)
    description: str = ""


def _prompts(params: dict) -> set[str]:
    return set((params.get("prompt") or "").split())


def needs_login(params: dict, session, hint_sub: str | None, fresh_since: float | None,
                now: datetime, default_acr_values: list[str] | None = None) -> bool:
    """True when the person must (re-)authenticate before a code is issued."""
    if session is None:
        return True
    if hint_sub is not None and hint_sub != str(session.user_id):
        return True
    fresh = fresh_since is not None and session.auth_time.timestamp() >= fresh_since
    if "login" in _prompts(params) and not fresh:
        return True
    max_age = params.get("max_age")
    if max_age is not None and not fresh:
        age = (now - session.auth_time).total_seconds()
        if age > int(max_age):
            return True
    # acr_values (or the client's default): a weaker session steps up. A fresh login is
    # not sent back again; its acr tells the client what was reached.
    level = required_level(params.get("acr_values"), default_acr_values)
    if level and not fresh and not satisfies(session.acr, level):
        return True
    return False


def needs_consent(params: dict, client, consented_scopes: set[str], scope: str,
                  consented_now: bool) -> bool:
    """Third-party clients need the person's consent for every scope (remembered after)."""
    if client.first_party or consented_now:
        return False
    if "consent" in _prompts(params):
        return True
    return not set(scope_to_list(scope) or []) <= consented_scopes


def decide(params: dict, *, login_needed: bool, consent_needed: bool) -> Decision:
    """Turn the two checks into the next step, honouring prompt=none."""
    none = "none" in _prompts(params)
    if login_needed:
        if none:
            return Decision(Step.LOGIN, "login_required", "The person is not logged in.")
        return Decision(Step.LOGIN)
    if consent_needed:
        if none:
            return Decision(Step.CONSENT, "consent_required", "Consent is required.")
        return Decision(Step.CONSENT)
    return Decision(Step.ISSUE)


def validate_max_age(params: dict) -> str | None:
    """An error description when max_age is not a non-negative integer."""
    value = params.get("max_age")
    if value is None:
        return None
    if not value.isdigit() or len(value) > 10:
        return "'max_age' must be a non-negative integer."
    return None
