"""Authentication context classes (acr) and methods (amr, RFC 8176).

Classes are ordered, so a requested class is met by any class at least as strong
(OpenID Connect Core 1.0 section 3.1.2.1, acr_values).
"""

from __future__ import annotations

ACR_PWD = "urn:idp:acr:pwd"
ACR_MFA = "urn:idp:acr:mfa"
ACR_LEVELS = {ACR_PWD: 1, ACR_MFA: 2}
ACR_VALUES_SUPPORTED = list(ACR_LEVELS)
SECOND_FACTORS = {"otp", "hwk"}


def has_second_factor(amr: list[str] | None) -> bool:
    """True when these methods (RFC 8176 amr values) include a second factor."""
    return bool(SECOND_FACTORS & set(amr or []))


def session_has_second_factor(session) -> bool:
    """True when a browser session (UserSession) was opened with a second factor."""
    return session is not None and has_second_factor(session.amr)


def acr_for(amr: list[str]) -> str:
    """The class a login with these methods reached."""
    return ACR_MFA if has_second_factor(amr) else ACR_PWD


def required_level(acr_values: str | None, default_acr_values: list[str] | None = None) -> int:
    """The weakest level that satisfies the request (unknown values are ignored)."""
    values = (acr_values or "").split() or list(default_acr_values or [])
    levels = [ACR_LEVELS[v] for v in values if v in ACR_LEVELS]
    return min(levels) if levels else 0


def satisfies(session_acr: str | None, level: int) -> bool:
    """True when a session's acr meets the required level."""
    return ACR_LEVELS.get(session_acr or "", 0) >= level
