"""First start: default tenant, built-in roles, signing keys, and the bootstrap admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.accounts.password_policy import generate_password
from idp.accounts.users import create_user
from idp.config import Config, ConfigError
from idp.errors import ValidationFailed
from idp.keyring import Keyring
from idp.models.accounts import User
from idp.oauth.keys.signing import ensure_signing_keys
from idp.rbac.roles import assign_role, ensure_builtin_roles
from idp.request_context import system_context
from idp.tenancy.tenants import ensure_default_tenant


@dataclass(frozen=True)
class BootstrapResult:
    admin_email: str | None = None
    admin_password: str | None = None  # shown once, only when generated now


def bootstrap(db: Session, config: Config, keyring: Keyring) -> BootstrapResult:
    """Idempotent; commits. Creates the first admin only when no user exists."""
    tenant = ensure_default_tenant(db)
    ensure_builtin_roles(db)
    ensure_signing_keys(db, keyring, system_context())
    result = BootstrapResult()
    if db.execute(select(func.count()).select_from(User)).scalar_one() == 0:
        generated = config.bootstrap_admin_password is None
        password = config.bootstrap_admin_password or generate_password()
        try:
            admin = create_user(db, system_context(), tenant, email=config.bootstrap_admin_email,
                                username="admin", password=password, email_verified=True,
                                allow_localhost=True, config=config)
        except ValidationFailed as exc:
            db.rollback()
            variable = "PASSWORD" if exc.field == "password" else "EMAIL"
            raise ConfigError(f"IDP_BOOTSTRAP_ADMIN_{variable}: {exc.message}") from None
        admin.must_change_password = generated
        assign_role(db, system_context(), admin, "superadmin", tenant)
        result = BootstrapResult(config.bootstrap_admin_email, password if generated else None)
    db.commit()
    return result
