"""Self-service profile edits: the OpenID Connect standard claims a person may change."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import ValidationFailed
from idp.models.accounts import User
from idp.request_context import RequestContext

# OIDC Core 1.0 section 5.1; email, username and the enterprise fields (department,
# manager, location) are managed by administrators.
EDITABLE = ("name", "given_name", "family_name", "middle_name", "nickname", "profile",
            "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "phone_number")
URL_FIELDS = ("profile", "picture", "website")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{4,30}(;ext=[0-9]{1,10})?$")


def _clean(name: str, value: str | None):
    value = (value or "").strip()
    if not value:
        return None
    if name in URL_FIELDS and urlsplit(value).scheme not in {"http", "https"}:
        raise ValidationFailed(f"{name} must be an http(s) URL.", field=name)
    if name == "birthdate":
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationFailed("Birthdate must look like 1990-12-31.", field=name) from None
    if name == "zoneinfo":
        import zoneinfo

        if value not in zoneinfo.available_timezones():
            raise ValidationFailed("Time zone must be like Europe/Paris.", field=name)
    if name == "locale" and not _LOCALE.match(value):
        raise ValidationFailed("Locale must look like en-US.", field=name)
    if name == "phone_number" and not _PHONE.match(value):
        raise ValidationFailed("Phone number must look like +1 555 0100.", field=name)
    return value


def update_profile(db: Session, ctx: RequestContext, user: User, values: dict) -> list[str]:
    """Apply the editable fields present in `values`; audit and return what changed."""
    changed = []
    for name in EDITABLE:
        if name not in values:
            continue
        value = _clean(name, values[name])
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
