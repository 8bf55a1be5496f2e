"""/api/v1/tenants: a superadmin sees and creates every tenant; others see their own."""

from __future__ import annotations

from idp.admin import operations as ops
from idp.admin.api import body, bp
from idp.admin.api.paging import page
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.admin.schemas import tenant_json
from idp.extensions import db
from idp.tenancy.admin import create_tenant, update_tenant


@bp.get("/tenants")
@require("users:read")
def list_tenants():
    return page([tenant_json(t) for t in ops.list_tenants(db.session, resolve_caller())], None)


@bp.post("/tenants")
@require("tenants:write")
def create_tenant_route():
    tenant = create_tenant(db.session, admin_context(), body())
    db.session.commit()
    return tenant_json(tenant), 201


@bp.get("/tenants/<tenant_id>")
@require("users:read")
def get_tenant(tenant_id):
    return tenant_json(ops.load_tenant(db.session, resolve_caller(), tenant_id))


@bp.patch("/tenants/<tenant_id>")
@require("tenants:write")
def update_tenant_route(tenant_id):
    tenant = ops.load_tenant(db.session, resolve_caller(), tenant_id)
    tenant = update_tenant(db.session, admin_context(), tenant, body())
    db.session.commit()
    return tenant_json(tenant)
