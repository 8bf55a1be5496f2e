"""Profile claims: the one rule set for every writer (admin API, console, CSV import and
the person on /account), and the self-service edit of the OIDC standard claims."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import ValidationFailed
from idp.models.accounts import User
from idp.request_context import RequestContext

# Profile fields, with their maximum length (None: not a string). OIDC Core 1.0 5.1
# plus the enterprise fields (department, manager, location, employee number).
PROFILE_FIELDS = {
    "name": 200, "given_name": 100, "family_name": 100, "middle_name": 100, "nickname": 100,
    "profile": 500, "picture": 500, "website": 500, "gender": 50, "zoneinfo": 64,
    "locale": 35, "phone_number": 40, "department": 200, "manager": 200, "location": 200,
    "employee_number": 100, "birthdate": None, "address": None, "phone_number_verified": None,
}
# What a person may change themselves; email, username and the enterprise fields are
# managed by administrators.
EDITABLE = ("name", "given_name", "family_name", "middle_name", "nickname", "profile",
            "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "phone_number")
URL_FIELDS = ("profile", "picture", "website")
# OIDC Core 5.1.1: the address claim's members.
ADDRESS_KEYS = {"formatted", "street_address", "locality", "region", "postal_code", "country"}
# RFC 5646 2.1 (BCP 47) language tag: language-extlang-script-region-variant-extension-x.
_LOCALE = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?"
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*(-[0-9A-WY-Za-wy-z](-[A-Za-z0-9]{2,8})+)*"
    r"(-x(-[A-Za-z0-9]{1,8})+)?$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{4,30}(;ext=[0-9]{1,10})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:

    return frozenset(zoneinfo.available_timezones())


def _text(key: str, value) -> str:
    limit = PROFILE_FIELDS[key]
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        raise ValidationFailed(_("%(field)s must be text of at most %(num)d characters.",
                                 field=key, num=limit), field=key)
    return value.strip()


def _check_url(key: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or " " in value \
            or "@" in parts.netloc:
        raise ValidationFailed(_("%(field)s must be an http(s) URL.", field=key), field=key)


def _check_text_claim(key: str, value: str) -> None:
    if key in URL_FIELDS:
        _check_url(key, value)
    elif key == "zoneinfo" and value not in _zones():
        raise ValidationFailed(_("Time zone must be an IANA zone like Europe/Paris."), field=key)
    elif key == "locale" and not _LOCALE.match(value):
        raise ValidationFailed(_("Locale must be a BCP 47 tag like en-US."), field=key)
    elif key == "phone_number" and not _PHONE.match(value):
        raise ValidationFailed(_("Phone number must look like +1 555 0100."), field=key)


def _clean_value(key: str, value):
    if key == "birthdate":
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValidationFailed(_("Birthdate must look like 1990-12-31."), field=key) from None
    if key == "address":
        if not isinstance(value, dict) or set(value) - ADDRESS_KEYS or not all(
                isinstance(v, str) and len(v) <= 500 for v in value.values()):
            raise ValidationFailed(f"address must be an object of strings with keys among "
                                   f"{sorted(ADDRESS_KEYS)}.", field=key)
        return value
    if key == "phone_number_verified":
        if not isinstance(value, bool):
            raise ValidationFailed(_("%(field)s must be true or false.", field=key), field=key)
        return value
    value = _text(key, value)
    if value:
        _check_text_claim(key, value)
    return value or None


def clean_profile(data: dict) -> dict:
    """Checked profile values for the known fields in `data` (empty values become None)."""
    out: dict = {}
    for key, value in data.items():
        if key not in PROFILE_FIELDS:
            continue
        if value is None or value == "":
            out[key] = False if key == "phone_number_verified" else None
        else:
            out[key] = _clean_value(key, value)
    return out


def update_profile(db: Session, ctx: RequestContext, user: User, values: dict) -> list[str]:
    """Apply the editable fields present in `values`; audit and return what changed."""
    changed = []
    cleaned = clean_profile({name: values[name] for name in EDITABLE if name in values})
    for name, value in cleaned.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if "phone_number" in changed:
        user.phone_number_verified = False
    if changed:
        db.flush()
        record(db, ctx, EventType.PROFILE_UPDATED, subject_id=user.id, tenant_id=user.tenant_id,
               username=user.username, details={"fields": changed})
    return changed
