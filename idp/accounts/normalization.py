"""Canonical forms for identifiers, so `Ｊｏｅ@Example.com` and `joe@example.com` collide."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from idp.errors import ValidationFailed


def normalize_identifier(value: str) -> str:
    """NFKC then casefold (then NFKC again, as casefolding can denormalise)."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def validate_email_address(value: str, *, allow_localhost: bool = False) -> str:
    """Return the address in its normalised display form, or raise ValidationFailed.

    `allow_localhost` admits `x@localhost` (the bootstrap admin's default address), which
    email-validator rejects as a special-use domain; the local part is still checked.
    """
    value = value.strip()
    local, _at, domain = value.rpartition("@")
    if allow_localhost and domain.lower() == "localhost" and local:
        checked = validate_email(f"{local}@example.com", check_deliverability=False)
        return f"{checked.local_part}@localhost"
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(_("Invalid email address: %(reason)s", reason=exc), field="email") from None
    return result.normalized


def validate_username(value: str) -> str:
    """A username: 1-150 printable characters, no '@' (that marks an email), no spaces."""
    value = unicodedata.normalize("NFKC", value.strip())
    if not 1 <= len(value) <= 150:
        raise ValidationFailed(_("Username must be 1 to 150 characters."), field="username")
    if "@" in value or any(c.isspace() or not c.isprintable() for c in value):
        raise ValidationFailed(
            _("Username may not contain '@', spaces or control characters."), field="username"
        )
    return value
