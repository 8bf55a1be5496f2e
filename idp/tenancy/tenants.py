"""Tenant lookup; the default tenant is created on first start."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.errors import NotFound
from idp.models.tenancy import DEFAULT_TENANT_SLUG, Tenant


def ensure_default_tenant(db: Session) -> Tenant:
    """Return the default tenant, creating it when missing."""
    tenant = db.execute(select(Tenant).where(Tenant.slug == DEFAULT_TENANT_SLUG)).scalar_one_or_none()
    if tenant is None:
        tenant = Tenant(slug=DEFAULT_TENANT_SLUG, name="Default", settings={})
        db.add(tenant)
        db.flush()
    return tenant


def query_tenant(db: Session, slug_or_id: str | None) -> Tenant:
    """The tenant named by slug or id; the default one when None."""
    if not slug_or_id:
        return ensure_default_tenant(db)
    tenant = db.execute(select(Tenant).where(Tenant.slug == slug_or_id)).scalar_one_or_none()
    if tenant is None:
        try:

            tenant = db.get(Tenant, uuid.UUID(slug_or_id))
        except ValueError:
            tenant = None
    if tenant is None:
        raise NotFound(f"No tenant {slug_or_id!r}.")
    return tenant
