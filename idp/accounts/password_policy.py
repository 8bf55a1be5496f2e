"""Password rules per tenant: composition (the security policy's default) or NIST SP 800-63B.

The policy lives in `Tenant.settings["password_policy"]`; whatever a tenant leaves out
comes from the IDP_PASSWORD_* defaults. Checks return every reason a password is
refused, so the person sees all of them at once.
"""

from __future__ import annotations

import secrets
import string
import unicodedata
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.config import Config
from idp.errors import ValidationFailed
from idp.mfa.policy import has_factor
from idp.models.accounts import PasswordHistory, User
from idp.models.tenancy import Tenant
from idp.rbac.roles import ADMIN_ROLES

BLOCKLIST_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
# NIST SP 800-63B 5.1.1.2: at least 64 characters must be accepted.
MAX_LENGTH = 128
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i"})


@dataclass(frozen=True)
class PasswordPolicy:
    preset: str = "default"         # "default" or "nist"
    min_length: int = 8
    min_length_mfa: int = 8         # NIST: 8 when the person also has a second factor
    max_length: int = MAX_LENGTH
    require_upper: bool = True
    require_lower: bool = False
    require_digit: bool = True
    require_special: bool = True
    blocklist: bool = True
    history: int = 5                # previous passwords that may not be reused
    max_age_days: dict = field(default_factory=dict)  # role name -> days (0 = never)


def nist_preset(history: int = 5) -> PasswordPolicy:
    """NIST SP 800-63B: length 15 single-factor / 8 with MFA, no composition, no expiry."""
    return PasswordPolicy(preset="nist", min_length=15, min_length_mfa=8, require_upper=False,
                          require_digit=False, require_special=False, history=history,
                          max_age_days={})


def _composition_policy(config: Config) -> PasswordPolicy:
    days = config.password_max_age_admin_days
    return PasswordPolicy(min_length=config.password_min_length,
                          min_length_mfa=config.password_min_length,
                          history=config.password_history,
                          max_age_days={r: days for r in ADMIN_ROLES} if days else {})


def policy_for(config: Config, tenant: Tenant | None) -> PasswordPolicy:
    """The tenant's policy: its overrides on top of the preset it picks (or the default)."""
    overrides = dict(((tenant.settings or {}) if tenant else {}).get("password_policy") or {})
    preset = overrides.pop("preset", None) or config.password_policy
    if preset == "nist":
        base = nist_preset(config.password_history)
    else:
        base = _composition_policy(config)
    known = {f.name for f in fields(PasswordPolicy)} - {"preset"}
    policy = replace(base, **{k: v for k, v in overrides.items() if k in known})
    return replace(policy, max_length=max(64, policy.max_length))


def validate_policy_settings(raw: dict) -> dict:
    """Check an admin's per-tenant policy document; return it cleaned or raise."""
    known = {f.name for f in fields(PasswordPolicy)}
    unknown = set(raw) - known
    if unknown:
        raise ValidationFailed(f"Unknown password policy settings: {', '.join(sorted(unknown))}.",
                               field="password_policy." + sorted(unknown)[0])
    if raw.get("preset", "default") not in {"default", "nist"}:
        raise ValidationFailed("preset must be 'default' or 'nist'.",
                               field="password_policy.preset")
    for name in ("min_length", "min_length_mfa", "history"):
        if name in raw and (not _whole(raw[name]) or not 0 <= raw[name] <= 64):
            raise ValidationFailed(f"{name} must be a whole number from 0 to 64.",
                                   field=f"password_policy.{name}")
    if "max_length" in raw and (not _whole(raw["max_length"]) or raw["max_length"] < 64):
        raise ValidationFailed("max_length must be at least 64.",
                               field="password_policy.max_length")
    for name in ("require_upper", "require_lower", "require_digit", "require_special",
                 "blocklist"):
        if name in raw and not isinstance(raw[name], bool):
            raise ValidationFailed(f"{name} must be true or false.",
                                   field=f"password_policy.{name}")
    return raw


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@lru_cache(maxsize=1)
def _blocklist() -> frozenset[str]:
    lines = BLOCKLIST_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip())


def _forms(password: str) -> set[str]:
    """The password as typed, de-leeted, and with decorations at either end stripped."""
    lowered = password.casefold()
    deleet = lowered.translate(_LEET)
    strip = string.digits + string.punctuation + " "
    return {lowered, deleet, lowered.strip(strip), deleet.strip(strip)} - {""}


def _personal_reasons(forms: set[str], username: str | None, email: str | None) -> list[str]:
    words = {w.casefold() for w in (username, email, (email or "").split("@")[0]) if w}
    for word in words:
        if len(word) >= 3 and any(word in f for f in forms):
            return [_("It must not contain your username or email address.")]
    return []


def check_password(policy: PasswordPolicy, password: str, *, username: str | None = None,
                   email: str | None = None, has_mfa: bool = False) -> list[str]:
    """Every reason `password` breaks the policy (empty list: acceptable)."""
    password = unicodedata.normalize("NFKC", password)
    reasons = []
    minimum = policy.min_length_mfa if has_mfa else policy.min_length
    if len(password) < minimum:
        reasons.append(_("Use at least %(num)d characters.", num=minimum))
    if len(password) > policy.max_length:
        reasons.append(_("Use at most %(num)d characters.", num=policy.max_length))
    if policy.require_upper and not any(c.isupper() for c in password):
        reasons.append(_("Include an upper-case letter."))
    if policy.require_lower and not any(c.islower() for c in password):
        reasons.append(_("Include a lower-case letter."))
    if policy.require_digit and not any(c.isdigit() for c in password):
        reasons.append(_("Include a digit."))
    if policy.require_special and all(c.isalnum() for c in password):
        reasons.append(_("Include a special character (such as ! or #)."))
    forms = _forms(password)
    if policy.blocklist and forms & _blocklist():
        reasons.append(_("This password is too common; choose another."))
    reasons += _personal_reasons(forms, username, email)
    return reasons


def generate_password() -> str:
    """A random password every policy accepts (20+ characters, all four character classes)."""

    return f"{secrets.token_urlsafe(15)}-{secrets.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}" \
           f"{secrets.choice('abcdefghjkmnpqrstuvwxyz')}{secrets.randbelow(10)}!"


def check_new_password(config: Config, tenant: Tenant, password: str, *, username: str | None,
                       email: str | None) -> None:
    """The tenant's policy for a first password (creation, bootstrap); ValidationFailed if not."""
    enforce_password(policy_for(config, tenant), password,
                     _UserLike(username=username, email=email))


@dataclass(frozen=True)
class _UserLike:
    username: str | None
    email: str | None


def enforce_password(policy: PasswordPolicy, password: str, user_like, *,
                     has_mfa: bool = False) -> None:
    """Raise ValidationFailed listing every reason the password is refused."""
    reasons = check_password(policy, password, username=getattr(user_like, "username", None),
                             email=getattr(user_like, "email", None), has_mfa=has_mfa)
    if reasons:
        raise ValidationFailed(" ".join(reasons), field="password")


def user_has_mfa(db: Session, user: User) -> bool:
    """True when the person has a confirmed second factor (the NIST 8-character rule)."""

    return has_factor(db, user)


def recent_hashes(db: Session, user: User, count: int) -> list[str]:
    """The current hash and the `count - 1` before it (together: the last `count`)."""
    if count <= 0:
        return []
    current = [user.credential.hash] if user.credential else []
    older = db.execute(
        select(PasswordHistory.hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
        .limit(max(0, count - len(current)))
    ).scalars().all()
    return current + list(older)


def max_age_for(policy: PasswordPolicy, role_names: list[str]) -> int | None:
    """The strictest maximum age (days) over the person's roles, or None."""
    ages = [policy.max_age_days.get(r) for r in role_names]
    ages = [a for a in ages if a]
    return min(ages) if ages else None


def password_expired(user: User, policy: PasswordPolicy, role_names: list[str],
                     now: datetime) -> bool:
    """True when the password is older than the maximum age of the person's roles."""
    days = max_age_for(policy, role_names)
    if days is None or user.credential is None:
        return False
    changed = user.password_changed_at or user.credential.created_at
    return changed is not None and now - changed > timedelta(days=days)
