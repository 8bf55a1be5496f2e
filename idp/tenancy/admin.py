"""Creating tenants and changing their name and settings, audited."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import Conflict, ValidationFailed
from idp.models.tenancy import Tenant
from idp.request_context import RequestContext
from idp.tenancy.settings import clean_settings

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _name(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValidationFailed("name must be 1-200 characters.", field="name")
    return value.strip()


def create_tenant(db: Session, ctx: RequestContext, data: dict) -> Tenant:
    slug = data.get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise ValidationFailed("slug must be lowercase letters, digits and dashes.", field="slug")
    if db.execute(select(Tenant.id).where(Tenant.slug == slug)).first():
        raise Conflict(f"A tenant {slug!r} exists.")
    tenant = Tenant(slug=slug, name=_name(data.get("name", slug)),
                    settings=clean_settings(data.get("settings", {})), created_at=ctx.now)
    db.add(tenant)
    db.flush()
    record(db, ctx, EventType.TENANT_CREATED, tenant_id=tenant.id, details={"slug": slug})
    return tenant


def update_tenant(db: Session, ctx: RequestContext, tenant: Tenant, data: dict) -> Tenant:
    unknown = set(data) - {"name", "settings"}
    if unknown:
        raise ValidationFailed(f"These fields cannot be set: {sorted(unknown)}.",
                               field=sorted(unknown)[0])
    if "name" in data:
        tenant.name = _name(data["name"])
    if "settings" in data:
        tenant.settings = {**(tenant.settings or {}), **clean_settings(data["settings"])}
    db.flush()
    record(db, ctx, EventType.TENANT_UPDATED, tenant_id=tenant.id,
           details={"fields": sorted(data)})
    return tenant
