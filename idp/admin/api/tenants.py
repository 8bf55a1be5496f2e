"""/api/v1/tenants: a superadmin sees and creates every tenant; others see their own."""

from __future__ import annotations

from sqlalchemy import select

from idp.accounts.tenant_admin import create_tenant, update_tenant
from idp.admin.api import body, bp
from idp.admin.api.paging import arg_uuid, page
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.admin.schemas import tenant_json
from idp.errors import NotFound, ValidationFailed
from idp.extensions import db
from idp.models.tenancy import Tenant


def load_tenant(tenant_id: str) -> Tenant:
    """A tenant the caller may see; 404 otherwise."""
    try:
        tenant = db.session.get(Tenant, arg_uuid("id", tenant_id))
    except ValidationFailed:
        tenant = None
    if tenant is None or not resolve_caller().sees_tenant(tenant.id):
        raise NotFound("Not found.")
    return tenant


@bp.get("/tenants")
@require("users:read")
def list_tenants():
    scope = resolve_caller().tenant_scope
    stmt = select(Tenant).order_by(Tenant.created_at, Tenant.slug)
    if scope is not None:
        stmt = stmt.where(Tenant.id == scope)
    return page([tenant_json(t) for t in db.session.execute(stmt).scalars()], None)


@bp.post("/tenants")
@require("tenants:write")
def create_tenant_route():
    tenant = create_tenant(db.session, admin_context(), body())
    db.session.commit()
    return tenant_json(tenant), 201


@bp.get("/tenants/<tenant_id>")
@require("users:read")
def get_tenant(tenant_id):
    return tenant_json(load_tenant(tenant_id))


@bp.patch("/tenants/<tenant_id>")
@require("tenants:write")
def update_tenant_route(tenant_id):
    tenant = update_tenant(db.session, admin_context(), load_tenant(tenant_id), body())
    db.session.commit()
    return tenant_json(tenant)
