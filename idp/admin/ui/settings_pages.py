"""Console pages for roles, groups, tenants, keys and the CSV import."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from idp.admin import operations as ops
from idp.admin.permissions import (
    admin_context,
    load_group,
    load_role,
    require,
    resolve_caller,
)
from idp.admin.schemas import group_json, role_json
from idp.admin.ui import bp
from idp.admin.ui.common import done, page, refused_input
from idp.errors import Forbidden, ValidationFailed
from idp.extensions import db
from idp.http import services
from idp.rbac import groups as group_ops
from idp.tenancy.tenants import query_tenant


@bp.get("/roles")
@require("users:read")
def roles():
    from idp.rbac.roles import PERMISSIONS

    return page("admin/roles.html", roles=_roles(), permissions=PERMISSIONS)


def _roles() -> list[dict]:
    return [role_json(r) for r in ops.list_roles(db.session, resolve_caller(check_csrf=False))]


@bp.post("/roles")
@require("roles:write")
def create_role():
    role = ops.create_role(db.session, admin_context(), resolve_caller(check_csrf=False),
                           {"name": request.form.get("name"),
                            "permissions": request.form.getlist("permissions"),
                            "description": request.form.get("description", "")})
    db.session.commit()
    return done(f"Role {role.name} was created.", "admin_ui.roles")


@bp.post("/roles/<role_id>")
@require("roles:write")
def edit_role(role_id):
    role = ops.edit_role(db.session, admin_context(), resolve_caller(),
                         load_role(role_id, "roles:write"),
                         {"permissions": request.form.getlist("permissions")})
    db.session.commit()
    return done(f"Role {role.name} was changed.", "admin_ui.roles")


@bp.get("/groups")
@require("users:read")
def groups():
    from idp.models.accounts import User

    caller = resolve_caller(check_csrf=False)
    items = [group_json(db.session, g) for g in ops.list_groups(db.session, caller)]
    ids = {m for g in items for m in g["members"]}
    names = dict(db.session.execute(select(User.id, User.username).where(
        User.id.in_([_uuid(i) for i in ids]))).all()) if ids else {}
    usernames = {str(k): v for k, v in names.items()}
    return page("admin/groups.html", groups=items, usernames=usernames,
                roles=[r["name"] for r in _roles()])


def _uuid(value: str):
    import uuid

    return uuid.UUID(value)


@bp.get("/groups/<group_id>/members/<user_id>/remove")
@require("roles:write")
def confirm_remove_group_member(group_id, user_id):
    from flask import url_for

    group = load_group(group_id, "roles:write")
    user = ops.group_member(db.session, resolve_caller(), group, user_id)
    return page("admin/confirm_step.html", title=f"Remove {user.username} from {group.name}",
                subject=f"{user.name or user.username} ({user.email or user.username})",
                text=f"{user.username} loses the roles the group grants "
                     f"({', '.join(group_json(db.session, group)['roles']) or 'none'}).",
                button="Remove member", danger=True, grace=None,
                cancel=url_for("admin_ui.groups"),
                action=url_for("admin_ui.remove_group_member", group_id=group_id,
                               user_id=user_id))


@bp.post("/groups/<group_id>/members/<user_id>/remove")
@require("roles:write")
def remove_group_member(group_id, user_id):
    group = load_group(group_id, "roles:write")
    user = ops.group_member(db.session, resolve_caller(), group, user_id)
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
    group = load_group(group_id, "roles:write")
    user = ops.member_by_name(db.session, resolve_caller(), group, request.form.get("user", ""))
    group_ops.add_member(db.session, admin_context(), group, user)
    db.session.commit()
    return done(f"{user.username} joined {group.name}.", "admin_ui.groups")


@bp.post("/groups/<group_id>/roles")
@require("roles:write")
def add_group_role(group_id):
    group = load_group(group_id, "roles:write")
    role = ops.grantable_role(db.session, resolve_caller(), request.form.get("role", ""),
                              group.tenant_id, group)
    group_ops.set_group_role(db.session, admin_context(), group, role, True)
    db.session.commit()
    return done(f"{group.name} now grants {role.name}.", "admin_ui.groups")


@bp.get("/tenants")
@require("users:read")
def tenants():
    from idp.admin.schemas import tenant_json

    rows = ops.list_tenants(db.session, resolve_caller(check_csrf=False))
    return page("admin/tenants.html", tenants=[tenant_json(t) for t in rows])


@bp.post("/tenants")
@require("tenants:write")
def create_tenant():
    from idp.tenancy.admin import create_tenant as create

    tenant = create(db.session, admin_context(), {"slug": request.form.get("slug"),
                                                  "name": request.form.get("name")})
    db.session.commit()
    return done(f"Tenant {tenant.slug} was created.", "admin_ui.tenants")


@bp.post("/tenants/<tenant_id>")
@require("tenants:write")
def edit_tenant(tenant_id):
    from idp.input_limits import loads_bounded
    from idp.tenancy.admin import update_tenant

    data = {"name": request.form.get("name", "")}
    raw = request.form.get("settings", "").strip()
    if raw:
        try:
            data["settings"] = loads_bounded(raw)
        except ValueError:
            raise ValidationFailed("Settings must be a JSON object, e.g. "
                                   '{"registration": "invite"}.', field="settings") from None
    tenant = ops.load_tenant(db.session, resolve_caller(), tenant_id)
    tenant = update_tenant(db.session, admin_context(), tenant, data)
    db.session.commit()
    return done(f"Tenant {tenant.slug} was changed.", "admin_ui.tenants")


@bp.get("/keys")
@require("keys:write")
def keys():
    from idp.models.keys import SigningKey

    rows = db.session.execute(select(SigningKey).order_by(SigningKey.created_at.desc())).scalars()
    return page("admin/keys.html", keys=list(rows))


@bp.post("/keys/rotate")
@require("keys:write")
def rotate_keys():
    from idp.oauth.keys.signing import rotate_signing_keys

    if not resolve_caller(check_csrf=False).access.all_tenants:
        raise Forbidden("Signing keys serve every tenant; only a superadmin rotates them.")
    rotate_signing_keys(db.session, services().keyring, admin_context(),
                        services().config.max_token_ttl, force=bool(request.form.get("force")))
    db.session.commit()
    services().keys.invalidate()
    return done("Signing keys were rotated.", "admin_ui.keys")


def _allow_large_uploads() -> None:
    """The import form may send up to IMPORT_MAX_BYTES (the CSRF check, which runs first,
    already reads the form): every other request keeps the 1 MB limit."""
    from idp.accounts.import_jobs import IMPORT_MAX_BYTES

    if request.endpoint == "admin_ui.import_users":
        request.max_content_length = IMPORT_MAX_BYTES


bp.record_once(lambda state: state.app.before_request_funcs.setdefault(None, []).insert(
    0, _allow_large_uploads))


@bp.route("/import", methods=["GET", "POST"])
@require("users:write")
def import_users():
    """Upload a CSV: the import runs as a background job, then its page shows progress."""
    from idp.accounts.import_jobs import create_job

    if request.method == "GET":
        return page("admin/import.html", job=None)
    upload = request.files.get("file")
    caller = resolve_caller(check_csrf=False)
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed("Choose a CSV file to upload.", field="file")
        job = create_job(db.session, caller, query_tenant(db.session, str(caller.tenant_id)),
                         upload.read().decode("utf-8-sig", errors="replace"),
                         dry_run=bool(request.form.get("dry_run")))
    except ValidationFailed as exc:
        refused_input(exc)
        return page("admin/import.html", 422, job=None, error=exc.message)
    return _start_import(job)


def _start_import(job):
    from flask import current_app, redirect, url_for

    from idp.admin.import_runner import import_runner

    db.session.commit()
    import_runner(current_app).start(job.id, resolve_caller(check_csrf=False), admin_context())
    return redirect(url_for("admin_ui.import_job", job_id=str(job.id)))


@bp.get("/import/<job_id>")
@require("users:write")
def import_job(job_id):
    job = _watched_job(job_id)
    return page("admin/import.html", job=job, shown_errors=job.errors[:200],
                section="import_users")


def _watched_job(job_id):
    """The job; one whose worker died is taken over and resumed (idp.admin.import_runner)."""
    from flask import current_app

    from idp.accounts.import_jobs import query_job
    from idp.admin.import_runner import import_runner

    job = query_job(db.session, resolve_caller(check_csrf=False), job_id)
    import_runner(current_app).resume_if_stale(job, admin_context())
    return job


@bp.get("/import/<job_id>/status")
@require("users:write")
def import_job_status(job_id):
    from idp.accounts.import_jobs import job_json

    return job_json(_watched_job(job_id))


@bp.get("/import/<job_id>/errors.csv")
@require("users:write")
def import_job_errors(job_id):
    from flask import Response

    from idp.accounts.import_jobs import errors_csv, query_job

    job = query_job(db.session, resolve_caller(check_csrf=False), job_id)
    return Response(errors_csv(job), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'})


@bp.post("/import/<job_id>/commit")
@require("users:write")
def commit_import_job(job_id):
    from idp.accounts.import_jobs import commit_dry_run, query_job

    caller = resolve_caller()
    return _start_import(commit_dry_run(db.session, caller, query_job(db.session, caller,
                                                                       job_id)))


@bp.post("/import/<job_id>/restart")
@require("users:write")
def restart_import_job(job_id):
    from idp.accounts.import_jobs import query_job, restart_job

    return _start_import(restart_job(db.session, query_job(db.session, resolve_caller(),
                                                           job_id)))
