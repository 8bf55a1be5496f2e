"""Who must use MFA.

Policy lives in `Tenant.settings`: `mfa_required` (everyone in the tenant) and
`mfa_required_roles` (default: the admin roles).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from idp.models.accounts import User
from idp.models.mfa import TotpCredential, WebAuthnCredential
from idp.models.tenancy import Tenant
from idp.rbac.roles import MFA_REQUIRED_ROLES, user_role_names


def has_factor(db: Session, user: User) -> bool:
    """A confirmed authenticator app or a passkey (backup codes alone are not a factor)."""
    totp = exists().where(TotpCredential.user_id == user.id, TotpCredential.confirmed_at.is_not(None))
    passkey = exists().where(WebAuthnCredential.user_id == user.id)
    return bool(db.execute(select(totp | passkey)).scalar())


def required_roles(tenant: Tenant | None) -> set[str]:
    settings = (tenant.settings or {}) if tenant else {}
    roles = settings.get("mfa_required_roles")
    return set(MFA_REQUIRED_ROLES if roles is None else roles)


def mfa_required_for(db: Session, user: User) -> bool:
    """Tenant-wide requirement, or a role that requires MFA."""
    tenant = db.get(Tenant, user.tenant_id)
    if tenant is not None and (tenant.settings or {}).get("mfa_required"):
        return True
    return bool(required_roles(tenant) & set(user_role_names(db, user)))
