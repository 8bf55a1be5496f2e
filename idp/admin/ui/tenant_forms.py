"""The tenant settings form: the settings document as fields, checked by the same schema
as the API (accounts.tenant_settings); an error is shown at its field with the input kept."""

from __future__ import annotations

import base64

from flask import request

from idp.accounts.registration import MODES
from idp.admin import operations as ops
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.admin.ui import bp
from idp.admin.ui.common import done, page, refused_input
from idp.errors import ValidationFailed
from idp.extensions import db
from idp.tenancy.admin import update_tenant
from idp.tenancy.branding import MAX_LOGO_BYTES
from idp.tenancy.settings import (
    MAX_SECONDS,
    MAX_SESSIONS,
    SCIM_DEPROVISIONING,
    SESSION_KEYS,
)

SESSION_LIMITS = {k: (1, MAX_SESSIONS if k == "max_per_user" else MAX_SECONDS)
                  for k in SESSION_KEYS}
POLICY_NUMBERS = ("min_length", "min_length_mfa", "history")
BRANDING_TEXT = ("display_name", "primary_color", "mail_from_name", "mail_from_address")
POLICY_SWITCHES = ("require_upper", "require_lower", "require_digit", "require_special",
                   "blocklist")


def _number(name: str):
    """'' is the default (None), digits a number; anything else goes to the schema as typed,
    which refuses it with this field's name."""
    raw = request.form.get(name, "").strip()
    return None if not raw else int(raw) if raw.isdigit() else raw


def _switch(name: str):
    return {"yes": True, "no": False}.get(request.form.get(name, ""))


def settings_from_form() -> dict:
    """The settings document the form describes (None: the default for that key)."""
    session = {k: _number(f"session.{k}") for k in SESSION_LIMITS}
    policy = {k: _number(f"password_policy.{k}") for k in POLICY_NUMBERS}
    policy |= {k: _switch(f"password_policy.{k}") for k in POLICY_SWITCHES}
    policy["preset"] = request.form.get("password_policy.preset") or None
    policy = {k: v for k, v in policy.items() if v is not None}
    session = {k: v for k, v in session.items() if v is not None}
    return {"registration": request.form.get("registration") or None,
            "email_verification": request.form.get("email_verification") or None,
            "mfa_required": bool(request.form.get("mfa_required")),
            "mfa_required_roles": request.form.getlist("mfa_required_roles"),
            "session": session or None, "password_policy": policy or None,
            "scim_deprovisioning": request.form.get("scim_deprovisioning") or None}


def branding_from_form(tenant) -> dict | None:
    """The branding object the form describes; an uploaded logo replaces the stored one,
    "remove logo" drops it, otherwise the stored logo is kept."""
    branding = {k: request.form.get(f"branding.{k}", "").strip() or None for k in BRANDING_TEXT}
    stored = ((tenant.settings or {}).get("branding") or {}).get("logo")
    upload = request.files.get("branding.logo")
    if upload is not None and upload.filename:
        data = upload.read(MAX_LOGO_BYTES + 1)
        # The schema checks the type by its bytes and the size; the declared type is ignored.
        branding["logo"] = "data:image;base64," + base64.b64encode(data).decode()
    elif stored and not request.form.get("branding.remove_logo"):
        branding["logo"] = stored
    branding = {k: v for k, v in branding.items() if v is not None}
    return branding or None


def form_values(tenant) -> dict:
    """The stored document as the form's flat field names."""
    settings = tenant.settings or {}
    values = {"name": tenant.name, "registration": settings.get("registration") or "",
              "mfa_required": bool(settings.get("mfa_required")),
              "scim_deprovisioning": settings.get("scim_deprovisioning") or "",
              "email_verification": settings.get("email_verification") or ""}
    for key, value in (settings.get("session") or {}).items():
        values[f"session.{key}"] = value
    branding = settings.get("branding") or {}
    for key in BRANDING_TEXT:
        values[f"branding.{key}"] = branding.get(key) or ""
    values["branding.has_logo"] = bool(branding.get("logo"))
    for key, value in (settings.get("password_policy") or {}).items():
        values[f"password_policy.{key}"] = (
            {True: "yes", False: "no"}[value] if isinstance(value, bool) else value)
    return values


def _form(tenant, values: dict, mfa_roles, error=None):
    from idp.mfa.policy import required_roles

    roles = [r.name for r in ops.list_roles(db.session, resolve_caller(check_csrf=False))]
    return page("admin/tenant_settings.html", 422 if error else 200, tenant=tenant,
                values=values, error=error, modes=MODES, roles=roles,
                mfa_roles=required_roles(tenant) if mfa_roles is None else set(mfa_roles),
                session_limits=SESSION_LIMITS, switches=POLICY_SWITCHES,
                numbers=POLICY_NUMBERS, deprovisioning=SCIM_DEPROVISIONING)


@bp.get("/tenants/<tenant_id>/settings")
@require("tenants:write")
def tenant_settings(tenant_id):
    tenant = ops.load_tenant(db.session, resolve_caller(), tenant_id)
    return _form(tenant, form_values(tenant), None)


@bp.post("/tenants/<tenant_id>/settings")
@require("tenants:write")
def save_tenant_settings(tenant_id):
    tenant = ops.load_tenant(db.session, resolve_caller(), tenant_id)
    try:
        update_tenant(db.session, admin_context(), tenant,
                      {"name": request.form.get("name", ""),
                       "settings": {**settings_from_form(), "branding": branding_from_form(tenant)}})
    except ValidationFailed as exc:
        refused_input(exc)
        tenant = ops.load_tenant(db.session, resolve_caller(), tenant_id)
        # The schema names fields as the API body does (settings.session.idle_timeout);
        # the form's inputs are named without the prefix.
        error = ValidationFailed(exc.message, field=(exc.field or "").removeprefix("settings."))
        return _form(tenant, request.form.to_dict(), request.form.getlist("mfa_required_roles"),
                     error)
    db.session.commit()
    return done(f"Settings of {tenant.slug} were saved.", "admin_ui.tenant_settings",
                tenant_id=tenant_id)
