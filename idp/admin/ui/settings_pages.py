"""Console pages for roles, groups, tenants, clients, keys and the CSV import."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from idp.accounts import groups as group_ops
from idp.accounts.tenants import query_tenant
from idp.admin.api import clients as clients_api
from idp.admin.api import roles as roles_api
from idp.admin.api import tenants as tenants_api
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.admin.ui import bp
from idp.admin.ui.common import done, page
from idp.errors import Forbidden, ValidationFailed
from idp.extensions import db
from idp.http import services


@bp.get("/roles")
@require("users:read")
def roles():
    from idp.accounts.roles import PERMISSIONS

    return page("admin/roles.html", roles=roles_api.list_roles()["items"],
                permissions=PERMISSIONS)


@bp.post("/roles")
@require("roles:write")
def create_role():
    caller = resolve_caller(check_csrf=False)
    perms = request.form.getlist("permissions")
    if not set(perms) <= set(caller.access.permissions):
        raise Forbidden("A custom role cannot carry rights you do not hold.")
    role = group_ops.create_role(db.session, admin_context(),
                                 query_tenant(db.session, str(caller.tenant_id)),
                                 {"name": request.form.get("name"), "permissions": perms,
                                  "description": request.form.get("description", "")})
    db.session.commit()
    return done(f"Role {role.name} was created.", "admin_ui.roles")


@bp.post("/roles/<role_id>")
@require("roles:write")
def edit_role(role_id):
    role = roles_api.edit_role(role_id, {"permissions": request.form.getlist("permissions")})
    return done(f"Role {role.name} was changed.", "admin_ui.roles")


@bp.get("/groups")
@require("users:read")
def groups():
    from idp.models.accounts import User

    items = roles_api.list_groups()["items"]
    ids = {m for g in items for m in g["members"]}
    names = dict(db.session.execute(select(User.id, User.username).where(
        User.id.in_([_uuid(i) for i in ids]))).all()) if ids else {}
    usernames = {str(k): v for k, v in names.items()}
    return page("admin/groups.html", groups=items, usernames=usernames,
                roles=[r["name"] for r in roles_api.list_roles()["items"]])


def _uuid(value: str):
    import uuid

    return uuid.UUID(value)


@bp.post("/groups/<group_id>/members/<user_id>/remove")
@require("roles:write")
def remove_group_member(group_id, user_id):
    group = roles_api.load_group(group_id)
    user = roles_api._member(group, user_id)
    group_ops.remove_member(db.session, admin_context(), group, user)
    db.session.commit()
    return done(f"{user.username} left {group.name}.", "admin_ui.groups")


@bp.post("/groups")
@require("roles:write")
def create_group():
    caller = resolve_caller(check_csrf=False)
    group = group_ops.create_group(db.session, admin_context(),
                                   query_tenant(db.session, str(caller.tenant_id)),
                                   {"name": request.form.get("name"),
                                    "description": request.form.get("description", "")})
    db.session.commit()
    return done(f"Group {group.name} was created.", "admin_ui.groups")


@bp.post("/groups/<group_id>/members")
@require("roles:write")
def add_group_member(group_id):
    from idp.accounts.users import query_user

    group = roles_api.load_group(group_id)
    user = query_user(db.session, request.form.get("user", ""), group.tenant_id)
    group_ops.add_member(db.session, admin_context(), group, user)
    db.session.commit()
    return done(f"{user.username} joined {group.name}.", "admin_ui.groups")


@bp.post("/groups/<group_id>/roles")
@require("roles:write")
def add_group_role(group_id):
    group = roles_api.load_group(group_id)
    role = roles_api._grantable_role(request.form.get("role", ""), group.tenant_id)
    group_ops.set_group_role(db.session, admin_context(), group, role, True)
    db.session.commit()
    return done(f"{group.name} now grants {role.name}.", "admin_ui.groups")


@bp.get("/tenants")
@require("users:read")
def tenants():
    return page("admin/tenants.html", tenants=tenants_api.list_tenants()["items"])


@bp.post("/tenants")
@require("tenants:write")
def create_tenant():
    from idp.accounts.tenant_admin import create_tenant as create

    tenant = create(db.session, admin_context(), {"slug": request.form.get("slug"),
                                                  "name": request.form.get("name")})
    db.session.commit()
    return done(f"Tenant {tenant.slug} was created.", "admin_ui.tenants")


@bp.post("/tenants/<tenant_id>")
@require("tenants:write")
def edit_tenant(tenant_id):
    import json

    from idp.accounts.tenant_admin import update_tenant

    data = {"name": request.form.get("name", "")}
    raw = request.form.get("settings", "").strip()
    if raw:
        try:
            data["settings"] = json.loads(raw)
        except ValueError:
            raise ValidationFailed("Settings must be a JSON object, e.g. "
                                   '{"registration": "invite"}.', field="settings") from None
    tenant = update_tenant(db.session, admin_context(), tenants_api.load_tenant(tenant_id), data)
    db.session.commit()
    return done(f"Tenant {tenant.slug} was changed.", "admin_ui.tenants")


@bp.get("/clients")
@require("clients:write", "audit:read", any_of=True)
def clients():
    return page("admin/clients.html", clients=clients_api.list_clients()["items"],
                roles=[r["name"] for r in roles_api.list_roles()["items"]])


@bp.post("/clients")
@require("clients:write")
def create_service_client():
    """A client-credentials service client (the product's API key); secret shown once."""
    days = request.form.get("expires_days", "").strip()
    if days and not days.isdigit():
        raise ValidationFailed("Expiry must be a whole number of days.", field="expires_days")
    data = {"name": request.form.get("name", "").strip(),
            "grant_types": ["client_credentials"],
            "scopes": request.form.get("scopes", "").split(),
            "audiences": request.form.get("audiences", "").split(),
            "roles": request.form.getlist("roles"),
            "token_alg": request.form.get("token_alg") or "RS256"}
    if days:
        data["expires_in"] = int(days) * 86400
    made = clients_api.register_client(data)
    return page("admin/client_detail.html",
                client=clients_api.get_client(made["client_id"]),
                secret=made["client_secret"])


@bp.get("/clients/<client_id>")
@require("clients:write", "audit:read", any_of=True)
def client_detail(client_id):
    return page("admin/client_detail.html", client=clients_api.get_client(client_id),
                secret=None)


@bp.post("/clients/<client_id>/delete")
@require("clients:write")
def delete_service_client(client_id):
    from idp.oauth.clients import delete_client

    client = clients_api.load_client(client_id)
    name = client.name
    delete_client(db.session, admin_context(), client)
    db.session.commit()
    return done(f"Client {name} was deleted.", "admin_ui.clients")


@bp.post("/clients/<client_id>/rotate")
@require("clients:write")
def rotate_client(client_id):
    from idp.oauth.clients import rotate_client_secret

    client = clients_api.load_client(client_id)
    secret = rotate_client_secret(db.session, admin_context(), services().keyring, client,
                                  request.form.get("grace", 0, type=int) or 0)
    db.session.commit()
    return page("admin/client_detail.html", client=clients_api.get_client(client_id),
                secret=secret)


@bp.post("/clients/<client_id>/revoke")
@require("clients:write")
def revoke_client(client_id):
    from idp.oauth.clients import revoke_client as revoke

    revoke(db.session, admin_context(), clients_api.load_client(client_id))
    db.session.commit()
    return done("The client was revoked.", "admin_ui.client_detail", client_id=client_id)


@bp.get("/keys")
@require("keys:write")
def keys():
    from idp.models.keys import SigningKey

    rows = db.session.execute(select(SigningKey).order_by(SigningKey.created_at.desc())).scalars()
    return page("admin/keys.html", keys=list(rows))


@bp.post("/keys/rotate")
@require("keys:write")
def rotate_keys():
    from idp.oauth.signing_keys import rotate_signing_keys

    if not resolve_caller(check_csrf=False).access.all_tenants:
        raise Forbidden("Signing keys serve every tenant; only a superadmin rotates them.")
    rotate_signing_keys(db.session, services().keyring, admin_context(),
                        services().config.max_token_ttl)
    db.session.commit()
    services().keys.invalidate()
    return done("Signing keys were rotated.", "admin_ui.keys")


@bp.route("/import", methods=["GET", "POST"])
@require("users:write")
def import_users():
    from idp.accounts.bulk import import_users as run_import
    from idp.accounts.bulk import read_csv

    if request.method == "GET":
        return page("admin/import.html", report=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed("Choose a CSV file to upload.")
    rows = read_csv(upload.read().decode("utf-8-sig", errors="replace"))
    caller = resolve_caller(check_csrf=False)
    report = run_import(db.session, admin_context(), query_tenant(db.session, str(caller.tenant_id)),
                        rows, dry_run=bool(request.form.get("dry_run")))
    db.session.commit()
    return page("admin/import.html", report=report)
