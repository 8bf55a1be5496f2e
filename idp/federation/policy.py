"""A tenant that requires single sign-on: its people sign in through a provider, not with a
password here; full administrators keep the password (break-glass, when the IdP is down)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from idp.models.accounts import User
from idp.models.tenancy import Tenant
from idp.rbac.roles import ADMIN_ROLES, user_role_names


def password_sign_in_allowed(db: Session, user: User) -> bool:
    """False when the person's tenant sets `require_sso` and they are no administrator."""
    tenant = db.get(Tenant, user.tenant_id)
    if not (tenant and (tenant.settings or {}).get("require_sso") is True):
        return True
    return bool(set(ADMIN_ROLES) & set(user_role_names(db, user)))
