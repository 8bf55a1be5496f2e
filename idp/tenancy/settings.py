"""The schema of `Tenant.settings`: every key a policy reads, with its type, in one place.

The admin API and the console both store settings through `clean_settings`, so a value
of the wrong type (`"mfa_required_roles": "tenant_admin"`, `"idle_timeout": "abc"`, a
negative timeout) is a 422 naming the field and is never stored. `null` for a key means
"use the default".
"""

from __future__ import annotations

from collections.abc import Callable

from idp.accounts.password_policy import validate_policy_settings
from idp.errors import ValidationFailed
from idp.tenancy.branding import clean_branding

MAX_ROLES = 100
SESSION_KEYS = ("idle_timeout", "absolute_timeout", "max_per_user")
MAX_SECONDS = 366 * 24 * 3600
MAX_SESSIONS = 1000
# What a SCIM DELETE /Users/{id} does (idp/scim/users.py): the first is the default.
SCIM_DEPROVISIONING = ("disable", "erase")


def _fail(field: str, message: str):
    raise ValidationFailed(f"{field}: {message}", field=field)


def _registration(field: str, value):
    if value not in {"open", "invite", "off"}:
        _fail(field, "must be 'open', 'invite' or 'off'.")
    return value


# Signing in before the address is confirmed: "allow" (the default) or "require" a
# confirmed address first (idp/web/self_service_views.py, a login step).
EMAIL_VERIFICATION = ("allow", "require")


def _email_verification(field: str, value):
    if value not in EMAIL_VERIFICATION:
        _fail(field, "must be 'allow' (sign in before confirming) or 'require'.")
    return value


def verified_email_required(settings: dict | None) -> bool:
    """Whether the tenant requires a confirmed address before sign-in."""
    return (settings or {}).get("email_verification") == "require"


def _scim_deprovisioning(field: str, value):
    if value not in SCIM_DEPROVISIONING:
        _fail(field, "must be 'disable' (the default) or 'erase' (GDPR erasure).")
    return value


def scim_deprovisioning(settings: dict | None) -> str:
    """The tenant's choice for a SCIM DELETE; the default when unset."""
    value = (settings or {}).get("scim_deprovisioning")
    return value if value in SCIM_DEPROVISIONING else SCIM_DEPROVISIONING[0]


def _flag(field: str, value):
    if not isinstance(value, bool):
        _fail(field, "must be true or false.")
    return value


def _role_names(field: str, value):
    if not isinstance(value, list) or len(value) > MAX_ROLES or not all(
            isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        _fail(field, "must be a list of role names.")
    return value


def _positive(field: str, value, maximum: int):
    # bool is an int in Python; `true` is not a number of seconds.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        _fail(field, f"must be a whole number from 1 to {maximum}.")
    return value


def _session(field: str, value):
    if not isinstance(value, dict):
        _fail(field, "must be an object with " + ", ".join(SESSION_KEYS) + ".")
    for key in value:
        if key not in SESSION_KEYS:
            _fail(f"{field}.{key}", "is not a session setting.")
    for key, item in value.items():
        _positive(f"{field}.{key}", item, MAX_SESSIONS if key == "max_per_user" else MAX_SECONDS)
    idle, absolute = value.get("idle_timeout"), value.get("absolute_timeout")
    if idle and absolute and idle > absolute:
        _fail(f"{field}.idle_timeout", "must not exceed absolute_timeout.")
    return value


def _password_policy(field: str, value):

    if not isinstance(value, dict):
        _fail(field, "must be an object.")
    try:
        return validate_policy_settings(value)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=f"settings.{exc.field}" if exc.field
                               else field) from None


SCHEMA: dict[str, Callable] = {
    "registration": _registration,
    "mfa_required": _flag,
    "mfa_required_roles": _role_names,
    "password_policy": _password_policy,
    "session": _session,
    "require_sso": _flag,  # idp/federation/policy.py: no password sign-in but for admins
    "branding": clean_branding,  # idp/tenancy/branding.py: name, logo, colour, mail sender
    "scim_deprovisioning": _scim_deprovisioning,  # SCIM DELETE: disable or GDPR erasure
    "email_verification": _email_verification,  # sign in before confirming the address?
}


def clean_settings(value) -> dict:
    """The settings document checked against SCHEMA; ValidationFailed names the field."""
    if not isinstance(value, dict):
        _fail("settings", "must be a JSON object.")
    for key in value:
        if key not in SCHEMA:
            _fail(f"settings.{key}", "is not a tenant setting (known: "
                  + ", ".join(sorted(SCHEMA)) + ").")
    return {key: None if item is None else SCHEMA[key](f"settings.{key}", item)
            for key, item in value.items()}
